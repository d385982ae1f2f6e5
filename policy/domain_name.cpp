// Domain-name normalisation (temporary home, see the merge note in the header).
// Limits: RFC 1035 §2.3.4 (63-octet labels, 255-octet wire names, i.e. 253
// characters in text form without the trailing dot).
#include "policy/domain_name.hpp"

#include <idn2.h>

#include <cstdlib>

#include "common/c_handle.hpp"

namespace forcetls::policy {
namespace {

constexpr std::size_t kMaxLabel = 63;
constexpr std::size_t kMaxName = 253;

bool is_ascii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) {
      return false;
    }
  }
  return true;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

void free_idn(char* p) { idn2_free(p); }

/// Checks the LDH(+underscore) syntax of an ASCII name already lower-cased.
Result<std::string> check_ascii(std::string name, std::string_view original) {
  if (name.empty()) {
    return fail(Errc::invalid_argument, "empty domain name");
  }
  if (name.size() > kMaxName) {
    return fail(Errc::invalid_argument, "domain name longer than 253 characters: " +
                                            std::string(original.substr(0, 64)) + "...");
  }
  std::size_t label = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      if (label == 0) {
        return fail(Errc::invalid_argument,
                    "empty label in domain name '" + std::string(original) + "'");
      }
      if (label > kMaxLabel) {
        return fail(Errc::invalid_argument,
                    "label longer than 63 characters in '" + std::string(original) + "'");
      }
      label = 0;
      continue;
    }
    const char c = name[i];
    // Underscore is not a host-name character, but it appears in real MX and
    // service names; refusing it would make a rule unwritable, not safer.
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
      return fail(Errc::invalid_argument, "character '" + std::string(1, c) +
                                              "' not allowed in domain name '" +
                                              std::string(original) + "'");
    }
    ++label;
  }
  return name;
}

}  // namespace

Result<std::string> normalize_domain(std::string_view name) {
  std::string_view original = name;
  if (!name.empty() && name.back() == '.') {
    name.remove_suffix(1);
  }
  if (!name.empty() && name.front() == '[') {
    return fail(Errc::invalid_argument,
                "'" + std::string(original) + "' is an address literal, not a domain name");
  }
  if (name.find('\0') != std::string_view::npos) {
    return fail(Errc::invalid_argument, "NUL byte in domain name");
  }
  if (name.size() > 1024) {
    // Far beyond any valid name even in UTF-8; do not hand it to libidn2.
    return fail(Errc::invalid_argument, "domain name too long");
  }
  if (is_ascii(name)) {
    std::string out(name);
    for (char& c : out) {
      c = lower(c);
    }
    return check_ascii(std::move(out), original);
  }
  char* raw = nullptr;
  const std::string input(name);
  int rc = idn2_to_ascii_8z(input.c_str(), &raw, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
  CHandle<char, free_idn> owned{raw};
  if (rc != IDN2_OK || owned == nullptr) {
    return fail(Errc::invalid_argument, "invalid international domain name '" +
                                            std::string(original) + "': " + idn2_strerror(rc));
  }
  std::string out(owned.get());
  for (char& c : out) {
    c = lower(c);
  }
  return check_ascii(std::move(out), original);
}

Result<std::string> domain_of_address(std::string_view address) {
  std::string_view a = address;
  if (a.size() >= 2 && a.front() == '<' && a.back() == '>') {
    a = a.substr(1, a.size() - 2);
  }
  if (a.empty()) {
    return fail(Errc::invalid_argument, "empty address (null sender)");
  }
  std::size_t at = a.rfind('@');
  std::string_view domain = at == std::string_view::npos ? a : a.substr(at + 1);
  if (domain.empty()) {
    return fail(Errc::invalid_argument, "address '" + std::string(address) + "' has no domain");
  }
  return normalize_domain(domain);
}

}  // namespace forcetls::policy
