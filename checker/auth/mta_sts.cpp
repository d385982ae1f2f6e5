// SPDX-License-Identifier: Apache-2.0
// MTA-STS / TLSRPT parsing. The grammars are RFC 8461 §3.1 (TXT), §3.2
// (policy) and RFC 8460 §3 (TLSRPT TXT); keys and fixed values are
// case-sensitive there (%s"..."), host names are not.
#include "checker/auth/mta_sts.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

namespace forcetls::checker {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
bool is_wsp(char c) { return c == ' ' || c == '\t'; }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

// ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
// (RFC 8461 §3.1 sts-ext-name, §3.2 sts-policy-ext-name, RFC 8460 tlsrpt-ext-name).
bool is_ext_name(std::string_view s) {
  if (s.empty() || s.size() > 32 || !is_alnum(s[0])) {
    return false;
  }
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return is_alnum(c) || c == '_' || c == '-' || c == '.'; });
}

// ext-value = 1*(%x21-3A / %x3C / %x3E-7E): visible characters except ';' and '='.
bool is_ext_value(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u >= 0x21 && u <= 0x3A) || u == 0x3C || (u >= 0x3E && u <= 0x7E);
  });
}

// Domain (RFC 5321 §4.1.2): sub-domain *("." sub-domain), sub-domain =
// Let-dig [Ldh-str]; plus the DNS limits (63-octet labels, 253 in all).
bool is_domain(std::string_view s) {
  if (s.empty() || s.size() > 253) {
    return false;
  }
  std::size_t start = 0;
  while (true) {
    std::size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63 || !is_alnum(label.front()) || !is_alnum(label.back())) {
      return false;
    }
    if (!std::all_of(label.begin(), label.end(), [](char c) { return is_alnum(c) || c == '-'; })) {
      return false;
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    start = dot + 1;
  }
}

std::string_view trim_wsp(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_wsp(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// Splits a TXT record on `sep-char` with optional WSP around it (RFC 8461
// sts-sep, RFC 8460 field-delim); a trailing separator is allowed, an empty
// field in the middle is not (the caller sees an empty field).
std::vector<std::string_view> split_fields(std::string_view record) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (start <= record.size()) {
    std::size_t semi = record.find(';', start);
    std::string_view field =
        record.substr(start, semi == std::string_view::npos ? semi : semi - start);
    fields.push_back(trim_wsp(field));
    if (semi == std::string_view::npos) {
      break;
    }
    start = semi + 1;
  }
  if (fields.size() > 1 && fields.back().empty()) {
    fields.pop_back();  // the optional trailing separator
  }
  return fields;
}

// A record "begins with" the version tag when the tag is followed by the
// end, white space or ';' (so "v=STSv10" is another version, not ours).
bool begins_with_tag(std::string_view record, std::string_view tag) {
  if (!record.starts_with(tag)) {
    return false;
  }
  return record.size() == tag.size() || is_wsp(record[tag.size()]) || record[tag.size()] == ';';
}

std::string line_error(std::size_t line, const std::string& what) {
  return "line " + std::to_string(line) + ": " + what;
}

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 40)) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7F || c == '"' || c == '\\') {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  if (s.size() > 40) {
    out += "...";
  }
  return out;
}

// sts-policy-record = field *WSP *(term field *WSP) [term]: split on LF,
// drop one CR before each LF, and allow one final terminator.
std::vector<std::string_view> policy_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t lf = text.find('\n', start);
    std::string_view line = text.substr(start, lf == std::string_view::npos ? lf : lf - start);
    if (lf != std::string_view::npos && line.ends_with('\r')) {
      line.remove_suffix(1);
    }
    lines.push_back(line);
    if (lf == std::string_view::npos) {
      break;
    }
    start = lf + 1;
  }
  return lines;
}

// What is wrong with one policy line (line_error() adds its number), or
// nullopt when it is good.
using LineProblem = std::optional<std::string>;

LineProblem read_mode(std::string_view value, StsMode& mode) {
  if (value == "enforce") {
    mode = StsMode::enforce;
  } else if (value == "testing") {
    mode = StsMode::testing;
  } else if (value == "none") {
    mode = StsMode::none;
  } else {
    return "bad mode \"" + printable(value) + "\"";
  }
  return std::nullopt;
}

LineProblem read_max_age(std::string_view value, std::int64_t& max_age) {
  // sts-policy-max-age-value = 1*10(DIGIT)
  if (value.empty() || value.size() > 10 || !std::all_of(value.begin(), value.end(), is_digit)) {
    return "bad max_age \"" + printable(value) + "\"";
  }
  std::int64_t age = 0;
  std::from_chars(value.data(), value.data() + value.size(), age);
  if (age > kStsMaxAge) {
    return "max_age " + std::string(value) + " above " + std::to_string(kStsMaxAge);
  }
  max_age = age;
  return std::nullopt;
}

LineProblem read_mx(std::string_view value, std::vector<std::string>& mx) {
  // sts-policy-mx-value = ["*."] Domain
  std::string_view domain = value.starts_with("*.") ? value.substr(2) : value;
  if (!is_domain(domain)) {
    return "bad mx pattern \"" + printable(value) + "\"";
  }
  mx.push_back(to_lower(value));
  return std::nullopt;
}

// The policy read so far, line by line.
struct PolicyReader {
  StsPolicy policy;
  bool have_mode = false;
  bool have_max_age = false;

  // Line i (from 0) of the policy.
  LineProblem line(std::size_t i, std::string_view line) {
    if (line.empty()) {
      return "empty line";
    }
    for (char c : line) {
      auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u >= 0x7F) {
        return "control or non-ASCII byte in \"" + printable(line) + "\"";
      }
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return "no \"key:\" in \"" + printable(line) + "\"";
    }
    std::string_view key = line.substr(0, colon);
    // field-delim = ":" *WSP; the field may be followed by *WSP.
    std::string_view value = trim_wsp(line.substr(colon + 1));
    if (i == 0 && key != "version") {
      return "the first field must be version, not \"" + printable(key) + "\"";
    }
    return field(i, key, value);
  }

  LineProblem field(std::size_t i, std::string_view key, std::string_view value) {
    if (key == "version") {
      if (i != 0) {
        return "version repeated";
      }
      if (value != "STSv1") {
        return "bad version \"" + printable(value) + "\"";
      }
      return std::nullopt;
    }
    if (key == "mode") {
      if (have_mode) {
        return "mode repeated";
      }
      have_mode = true;
      return read_mode(value, policy.mode);
    }
    if (key == "max_age") {
      if (have_max_age) {
        return "max_age repeated";
      }
      have_max_age = true;
      return read_max_age(value, policy.max_age);
    }
    if (key == "mx") {
      return read_mx(value, policy.mx);
    }
    if (!is_ext_name(key)) {
      return "bad key \"" + printable(key) + "\"";
    }
    if (value.empty()) {
      return "empty value of " + std::string(key);
    }
    // Any other well-formed key is an extension: ignored (RFC 8461 §3.2).
    return std::nullopt;
  }
};

}  // namespace

Result<StsPolicy> parse_sts_policy(std::string_view text) {
  if (text.size() > kStsMaxPolicyBytes) {
    return fail(Errc::protocol,
                "policy larger than " + std::to_string(kStsMaxPolicyBytes) + " bytes");
  }
  if (text.empty()) {
    return fail(Errc::protocol, line_error(1, "empty policy"));
  }
  const std::vector<std::string_view> lines = policy_lines(text);
  PolicyReader reader;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (LineProblem problem = reader.line(i, lines[i])) {
      return fail(Errc::protocol, line_error(i + 1, *problem));
    }
  }
  const StsPolicy& policy = reader.policy;
  if (!reader.have_mode) {
    return fail(Errc::protocol, line_error(lines.size(), "no mode"));
  }
  if (!reader.have_max_age) {
    return fail(Errc::protocol, line_error(lines.size(), "no max_age"));
  }
  if (policy.mx.empty() && policy.mode != StsMode::none) {
    return fail(Errc::protocol, line_error(lines.size(), "no mx (required unless mode is none)"));
  }
  return policy;
}

Result<std::string> parse_sts_txt(std::string_view record) {
  std::vector<std::string_view> fields = split_fields(record);
  if (fields.empty() || fields[0] != "v=STSv1") {
    return fail(Errc::protocol, "does not begin with v=STSv1");
  }
  if (fields.size() < 2) {
    return fail(Errc::protocol, "no id");
  }
  std::string id;
  for (std::size_t i = 1; i < fields.size(); ++i) {
    std::string_view f = fields[i];
    std::size_t eq = f.find('=');
    if (eq == std::string_view::npos) {
      return fail(Errc::protocol, "field \"" + printable(f) + "\" is not name=value");
    }
    std::string_view name = f.substr(0, eq);
    std::string_view value = f.substr(eq + 1);
    if (name == "id") {
      // sts-id = %s"id=" 1*32(ALPHA / DIGIT)
      if (!id.empty()) {
        return fail(Errc::protocol, "id repeated");
      }
      if (value.empty() || value.size() > 32 ||
          !std::all_of(value.begin(), value.end(), is_alnum)) {
        return fail(Errc::protocol, "bad id \"" + printable(value) + "\"");
      }
      id = value;
    } else if (!is_ext_name(name) || !is_ext_value(value)) {
      return fail(Errc::protocol, "bad field \"" + printable(f) + "\"");
    }
  }
  if (id.empty()) {
    return fail(Errc::protocol, "no id");
  }
  return id;
}

StsTxtChoice choose_sts_txt(const std::vector<std::string>& records) {
  StsTxtChoice out;
  std::vector<const std::string*> ours;
  for (const std::string& r : records) {
    if (begins_with_tag(r, "v=STSv1")) {
      ours.push_back(&r);
    }
  }
  if (ours.empty()) {
    out.failure = {StsProblem::no_txt, ""};
    return out;
  }
  if (ours.size() > 1) {
    out.record = *ours.front();
    out.failure = {StsProblem::bad_txt, std::to_string(ours.size()) + " v=STSv1 records"};
    return out;
  }
  out.record = *ours.front();
  auto id = parse_sts_txt(out.record);
  if (!id) {
    out.failure = {StsProblem::bad_txt, id.error().message};
    return out;
  }
  out.id = *id;
  return out;
}

bool mx_match(std::string_view pattern, std::string_view host) {
  if (host.ends_with('.')) {
    host.remove_suffix(1);
  }
  if (pattern.ends_with('.')) {
    pattern.remove_suffix(1);
  }
  auto iequal = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return lower(x) == lower(y); });
  };
  if (pattern.empty() || host.empty()) {
    return false;
  }
  if (pattern.starts_with("*.")) {
    std::string_view suffix = pattern.substr(1);  // ".example.com"
    if (host.size() <= suffix.size()) {
      return false;
    }
    std::string_view label = host.substr(0, host.size() - suffix.size());
    // Exactly one label in place of the '*' (RFC 8461 §4.1).
    return label.find('.') == std::string_view::npos &&
           iequal(host.substr(host.size() - suffix.size()), suffix);
  }
  return iequal(pattern, host);
}

Result<TlsRptRecord> parse_tlsrpt_txt(std::string_view record) {
  std::vector<std::string_view> fields = split_fields(record);
  if (fields.empty() || fields[0] != "v=TLSRPTv1") {
    return fail(Errc::protocol, "does not begin with v=TLSRPTv1");
  }
  TlsRptRecord out;
  bool have_rua = false;
  for (std::size_t i = 1; i < fields.size(); ++i) {
    std::string_view f = fields[i];
    std::size_t eq = f.find('=');
    if (eq == std::string_view::npos) {
      return fail(Errc::protocol, "field \"" + printable(f) + "\" is not name=value");
    }
    std::string_view name = f.substr(0, eq);
    std::string_view value = f.substr(eq + 1);
    if (name == "rua") {
      if (have_rua) {
        return fail(Errc::protocol, "rua repeated");
      }
      have_rua = true;
      // tlsrpt-rua = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri); the
      // URIs senders must support are mailto: and https: (RFC 8460 §3).
      std::size_t start = 0;
      while (true) {
        std::size_t comma = value.find(',', start);
        std::string_view uri =
            trim_wsp(value.substr(start, comma == std::string_view::npos ? comma : comma - start));
        std::string scheme = to_lower(uri.substr(0, uri.find(':')));
        bool visible = !uri.empty() && std::all_of(uri.begin(), uri.end(), [](char c) {
          auto u = static_cast<unsigned char>(c);
          return u > 0x20 && u < 0x7F && c != ';';
        });
        if (!visible || uri.find(':') == std::string_view::npos ||
            (scheme != "mailto" && scheme != "https") || uri.size() == scheme.size() + 1) {
          return fail(Errc::protocol, "bad rua URI \"" + printable(uri) + "\"");
        }
        out.rua.emplace_back(uri);
        if (comma == std::string_view::npos) {
          break;
        }
        start = comma + 1;
      }
    } else if (!is_ext_name(name) || !is_ext_value(value)) {
      return fail(Errc::protocol, "bad field \"" + printable(f) + "\"");
    }
  }
  if (!have_rua) {
    return fail(Errc::protocol, "no rua");
  }
  return out;
}

TlsRptReport choose_tlsrpt_txt(const std::vector<std::string>& records) {
  TlsRptReport out;
  std::vector<const std::string*> ours;
  for (const std::string& r : records) {
    if (begins_with_tag(r, "v=TLSRPTv1")) {
      ours.push_back(&r);
    }
  }
  if (ours.empty()) {
    out.error = "no-txt";
    return out;
  }
  out.txt = *ours.front();
  if (ours.size() > 1) {
    out.error = "bad-txt(" + std::to_string(ours.size()) + " v=TLSRPTv1 records)";
    return out;
  }
  auto parsed = parse_tlsrpt_txt(out.txt);
  if (!parsed) {
    out.error = "bad-txt(" + parsed.error().message + ")";
    return out;
  }
  out.rua = std::move(parsed->rua);
  return out;
}

bool sts_policy_fresh(const MtaStsReport& previous, std::int64_t now) {
  return previous.mode && previous.fetched_at > 0 && now >= previous.fetched_at &&
         now - previous.fetched_at < previous.max_age;
}

bool sts_may_reuse(const MtaStsReport& previous, std::string_view current_id, std::int64_t now) {
  return sts_policy_fresh(previous, now) && !current_id.empty() && previous.id == current_id;
}

MtaStsReport sts_keep_cached(const MtaStsReport* previous, MtaStsReport fetched, std::int64_t now) {
  if (fetched.mode || previous == nullptr || !sts_policy_fresh(*previous, now)) {
    return fetched;
  }
  MtaStsReport kept = *previous;
  kept.mx_match.clear();                      // recomputed against today's MX hosts
  kept.failure = std::move(fetched.failure);  // sts_error() adds that the cached policy applies
  return kept;
}

Tri sts_enforce(MtaStsReport& sts, const std::vector<std::string>& mx_hosts) {
  sts.mx_match.clear();
  if (!sts.mode) {
    return sts_failure_transient(sts.failure) ? Tri::unknown : Tri::no;
  }
  bool all = !mx_hosts.empty();
  for (const std::string& host : mx_hosts) {
    bool matched = std::any_of(sts.mx_patterns.begin(), sts.mx_patterns.end(),
                               [&](const std::string& p) { return mx_match(p, host); });
    if (matched) {
      sts.mx_match.push_back(host);
    } else {
      all = false;
    }
  }
  return tri(sts.mode == StsMode::enforce && all);
}

}  // namespace forcetls::checker
