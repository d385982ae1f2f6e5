// SPDX-License-Identifier: Apache-2.0
// Domain normalisation and address parsing; see domain_name.hpp.
#include "checker/report/domain_name.hpp"

#include <arpa/inet.h>
#include <idn2.h>

#include <algorithm>
#include <cstdint>

#include "common/c_handle.hpp"

namespace forcetls::checker {

namespace {

// Inputs longer than this are refused before IDN processing: UTS #46 may
// delete characters (soft hyphens map to nothing), so the 253 limit can only
// be checked afterwards, but there is no reason to feed libidn2 kilobytes.
constexpr std::size_t kMaxInputLength = 1024;

void idn2_release(uint8_t* p) { idn2_free(p); }
using Idn2String = CHandle<uint8_t, idn2_release>;

/// The input as it may appear inside an error message: printable ASCII kept,
/// everything else as \xNN, cut after 80 characters.
std::string shown(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  std::size_t n = 0;
  for (unsigned char c : text) {
    if (++n > 80) {
      out += "...";
      break;
    }
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  out += '"';
  return out;
}

std::unexpected<Error> invalid(std::string_view input, std::string_view why) {
  return fail(Errc::invalid_argument,
              "invalid domain name " + shown(input) + ": " + std::string(why));
}

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

/// Letters, digits, hyphen (RFC 5321 §4.1.2) and underscore: Postfix accepts
/// `_` in the names it delivers to (valid_hostname), so a name with one must
/// be decided like any other, never skipped (a `require` rule would not see
/// it), and MX host names with `_` exist in DNS.
bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

std::string describe_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u > 0x20 && u < 0x7f) {
    return std::string("'") + c + "'";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 0xf];
}

/// IDNA conversion of a whole UTF-8 name (or of one ASCII A-label to verify
/// it): NFC input, UTS #46 non-transitional mapping, A-label output.
Result<std::string> idna_to_ascii(std::string_view name) {
  const std::string input(name);
  uint8_t* raw = nullptr;
  const int rc = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(input.c_str()), &raw,
                                IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
  Idn2String out{raw};
  if (rc != IDN2_OK) {
    return fail(Errc::invalid_argument, idn2_strerror(rc));
  }
  return std::string(reinterpret_cast<const char*>(out.get()));
}

/// Checks one label of an already lower-cased ASCII name. `mail_domain`
/// adds the rules for a mail domain (no hyphen at either end, A-labels that
/// decode); a host name as DNS gives it needs only the characters and sizes.
Result<void> check_label(std::string_view input, std::string_view label, bool mail_domain) {
  if (label.empty()) {
    return invalid(input, "empty label");
  }
  if (label.size() > kMaxLabelLength) {
    return invalid(input, "label longer than 63 octets");
  }
  for (char c : label) {
    if (!is_name_char(c)) {
      return invalid(input, "invalid character " + describe_char(c) +
                                " (letters, digits, hyphens and underscores only)");
    }
  }
  if (!mail_domain) {
    return {};
  }
  if (label.front() == '-' || label.back() == '-') {
    return invalid(input, "label starts or ends with a hyphen");
  }
  // An A-label must decode to a valid U-label; libidn2 checks the round trip.
  if (label.starts_with("xn--")) {
    if (auto ok = idna_to_ascii(label); !ok) {
      return invalid(input,
                     "invalid A-label \"" + std::string(label) + "\": " + ok.error().message);
    }
  }
  return {};
}

/// `body` (the input without its trailing dot, if it had one) in lower-case
/// ASCII: UTF-8 converted to A-labels. UTS #46 maps the ideographic full
/// stops to '.', so a trailing one shows up only after the conversion.
Result<std::string> ascii_form(std::string_view input, std::string_view body, bool stripped_dot) {
  if (is_ascii(body)) {
    return lower_ascii(body);
  }
  auto converted = idna_to_ascii(body);
  if (!converted) {
    return invalid(input, "not a valid internationalised name (" + converted.error().message + ")");
  }
  std::string name = std::move(*converted);
  if (!stripped_dot && !name.empty() && name.back() == '.') {
    name.pop_back();
  }
  return name;
}

bool all_digits(std::string_view label) {
  return !label.empty() &&
         std::all_of(label.begin(), label.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_ip_address(std::string_view text) {
  const std::string s(text);
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

Result<std::string> normalize_domain(std::string_view input) {
  if (input.empty()) {
    return fail(Errc::invalid_argument, "invalid domain name: empty");
  }
  if (input.size() > kMaxInputLength) {
    return invalid(input, "longer than 253 characters");
  }
  if (input.front() == '[') {
    return invalid(input, "an address literal is not a domain name");
  }
  for (char c : input) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return invalid(input, "contains a space or control character");
    }
  }
  std::string_view body = input;
  bool stripped_dot = false;
  if (body.back() == '.') {
    body.remove_suffix(1);
    stripped_dot = true;
  }
  if (body.empty()) {
    return invalid(input, "the root is not a mail domain");
  }
  if (is_ip_address(body)) {
    return invalid(input, "an IP address is not a domain name");
  }

  auto ascii = ascii_form(input, body, stripped_dot);
  if (!ascii) {
    return std::unexpected(ascii.error());
  }
  std::string name = std::move(*ascii);

  if (name.size() > kMaxDomainLength) {
    return invalid(input, "longer than 253 characters");
  }
  std::size_t labels = 0;
  std::string_view last;
  std::string_view rest = name;
  while (true) {
    const auto dot = rest.find('.');
    const std::string_view label = rest.substr(0, dot);
    if (auto ok = check_label(input, label, true); !ok) {
      return std::unexpected(ok.error());
    }
    ++labels;
    last = label;
    if (dot == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(dot + 1);
  }
  if (labels < 2) {
    return invalid(input, "a single-label name is a local name, not a mail domain");
  }
  // RFC 3696 §2: a top-level domain is never all-numeric; such a name is an
  // IP address in disguise (or a typo of one).
  if (all_digits(last)) {
    return invalid(input, "the top-level label is all-numeric");
  }
  return name;
}

Result<std::string> normalize_host(std::string_view input) {
  if (input.size() > kMaxInputLength) {
    return invalid(input, "longer than 253 characters");
  }
  std::string_view body = input;
  const bool stripped_dot = !body.empty() && body.back() == '.';
  if (stripped_dot) {
    body.remove_suffix(1);
  }
  if (body.empty()) {
    return invalid(input, "empty name");
  }
  auto ascii = ascii_form(input, body, stripped_dot);
  if (!ascii) {
    return std::unexpected(ascii.error());
  }
  std::string name = std::move(*ascii);
  if (name.empty() || name.size() > kMaxDomainLength) {
    return invalid(input, name.empty() ? "empty name" : "longer than 253 characters");
  }
  std::string_view rest = name;
  while (true) {
    const auto dot = rest.find('.');
    if (auto ok = check_label(input, rest.substr(0, dot), false); !ok) {
      return std::unexpected(ok.error());
    }
    if (dot == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(dot + 1);
  }
  return name;
}

namespace {

// Why an address has no domain, for domain_of_address()'s error message.
template <typename T>
using Parsed = std::expected<T, std::string_view>;

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Steps over quoted strings: true when s[k] belongs to one (its quotes
// included; a backslash inside one also takes the character after it).
bool in_quotes(std::string_view s, std::size_t& k, bool& quoted) {
  if (quoted) {
    if (s[k] == '\\') {
      ++k;  // the escaped character, whatever it is
    } else if (s[k] == '"') {
      quoted = false;
    }
    return true;
  }
  if (s[k] == '"') {
    quoted = true;
    return true;
  }
  return false;
}

// The path of a trimmed address, and whether its address literals' brackets
// were balanced.
struct MailPath {
  std::string_view path;
  bool brackets_balanced = true;
};

// Finds where the path ends: the '>' that closes '<', or (bare form) the
// first space, ignoring both inside quoted strings and address literals.
Parsed<MailPath> mail_path(std::string_view s) {
  const bool angle = !s.empty() && s.front() == '<';
  bool quoted = false;
  int brackets = 0;
  std::size_t end = std::string_view::npos;
  for (std::size_t i = angle ? 1 : 0; i < s.size(); ++i) {
    if (in_quotes(s, i, quoted)) {
      continue;
    }
    const char c = s[i];
    if (c == '[') {
      ++brackets;
    } else if (c == ']') {
      --brackets;
    } else if (brackets == 0 && ((angle && c == '>') || (!angle && (c == ' ' || c == '\t')))) {
      end = i;
      break;
    }
  }
  if (quoted) {
    return std::unexpected("unbalanced quote");
  }
  if (angle && end == std::string_view::npos) {
    return std::unexpected("missing closing '>'");
  }
  MailPath out;
  out.brackets_balanced = brackets == 0;
  if (angle) {
    out.path = s.substr(1, end - 1);
    const std::string_view after = s.substr(end + 1);
    if (!after.empty() && after.front() != ' ' && after.front() != '\t') {
      return std::unexpected("unexpected text after '>'");
    }
  } else {
    out.path = s.substr(0, end);
  }
  if (out.path.empty()) {
    return std::unexpected("the null address has no domain");
  }
  return out;
}

// Source route "@a.example,@b.example:mailbox": only the mailbox counts.
Parsed<std::string_view> without_source_route(std::string_view path) {
  if (path.front() != '@') {
    return path;
  }
  int depth = 0;
  for (std::size_t k = 0; k < path.size(); ++k) {
    if (path[k] == '[') {
      ++depth;
    } else if (path[k] == ']') {
      --depth;
    } else if (path[k] == ':' && depth == 0) {
      return path.substr(k + 1);
    }
  }
  return std::unexpected("source route without ':'");
}

// The last '@' outside a quoted string: it separates local part and domain.
Parsed<std::size_t> domain_at(std::string_view mailbox) {
  std::size_t at = std::string_view::npos;
  bool quoted = false;
  for (std::size_t k = 0; k < mailbox.size(); ++k) {
    if (!in_quotes(mailbox, k, quoted) && mailbox[k] == '@') {
      at = k;
    }
  }
  if (quoted) {
    return std::unexpected("unbalanced quote");
  }
  if (at == std::string_view::npos) {
    return std::unexpected("no domain (no '@')");
  }
  return at;
}

}  // namespace

Result<std::string_view> domain_of_address(std::string_view address) {
  auto bad = [&](std::string_view why) {
    return fail(Errc::invalid_argument,
                "invalid address " + shown(address) + ": " + std::string(why));
  };
  auto path = mail_path(trim_blanks(address));
  if (!path) {
    return bad(path.error());
  }
  auto mailbox = without_source_route(path->path);
  if (!mailbox) {
    return bad(mailbox.error());
  }
  auto at = domain_at(*mailbox);
  if (!at) {
    return bad(at.error());
  }
  if (*at == 0) {
    return bad("empty local part");
  }
  const std::string_view domain = mailbox->substr(*at + 1);
  if (domain.empty()) {
    return bad("empty domain");
  }
  if (!path->brackets_balanced || std::count(domain.begin(), domain.end(), '[') !=
                                      std::count(domain.begin(), domain.end(), ']')) {
    return bad("unbalanced brackets");
  }
  return domain;
}

Result<std::string> recipient_domain(std::string_view address) {
  auto domain = domain_of_address(address);
  if (!domain) {
    return std::unexpected(domain.error());
  }
  return normalize_domain(*domain);
}

}  // namespace forcetls::checker
