// SPDX-License-Identifier: Apache-2.0
// Report keys (next_hop.hpp).
#include "checker/report/next_hop.hpp"

#include <arpa/inet.h>

#include <charconv>

#include "checker/report/domain_name.hpp"
#include "common/log.hpp"

namespace forcetls::checker {
namespace {

Result<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 ||
      value > 65535) {
    return fail(Errc::invalid_argument, "not a port: " + log::quote(text));
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

bool ReportTarget::address() const {
  return kind == Kind::server && !name.empty() &&
         (name.find(':') != std::string::npos ||
          name.find_first_not_of("0123456789.") == std::string::npos);
}

std::string ReportTarget::key() const {
  std::string out = kind == Kind::server ? "[" + name + "]" : name;
  if (port != 25) {
    out += ":" + std::to_string(port);
  }
  return out;
}

Result<ReportTarget> parse_report_key(std::string_view key) {
  ReportTarget t;
  std::string_view name = key;
  std::string_view port;
  if (key.starts_with('[')) {
    const std::size_t close = key.find(']');
    if (close == std::string_view::npos) {
      return fail(Errc::invalid_argument, "no closing ']' in " + log::quote(key));
    }
    t.kind = ReportTarget::Kind::server;
    name = key.substr(1, close - 1);
    const std::string_view rest = key.substr(close + 1);
    if (!rest.empty()) {
      if (!rest.starts_with(':')) {
        return fail(Errc::invalid_argument, "text after ']' in " + log::quote(key));
      }
      port = rest.substr(1);
    }
  } else if (const std::size_t colon = key.rfind(':'); colon != std::string_view::npos) {
    name = key.substr(0, colon);
    port = key.substr(colon + 1);
  }
  if (key.size() > 2 * kMaxDomainLength) {
    return fail(Errc::invalid_argument, "name too long");
  }
  if (!port.empty() || key.ends_with(':')) {
    auto p = parse_port(port);
    if (!p) {
      return std::unexpected(p.error());
    }
    t.port = *p;
  }
  if (t.kind == ReportTarget::Kind::domain) {
    auto d = normalize_host(name);
    if (!d) {
      return std::unexpected(d.error());
    }
    t.name = std::move(*d);
    return t;
  }
  std::string_view address = name;
  if (address.size() > 5 && (address.substr(0, 5) == "ipv6:" || address.substr(0, 5) == "IPv6:" ||
                             address.substr(0, 5) == "IPV6:")) {
    address.remove_prefix(5);
  }
  if (auto a = normalize_address(address)) {
    t.name = std::move(*a);
    return t;
  }
  auto h = normalize_host(name);
  if (!h) {
    return std::unexpected(h.error());
  }
  t.name = std::move(*h);
  return t;
}

Result<std::string> normalize_report_key(std::string_view key) {
  auto t = parse_report_key(key);
  if (!t) {
    return std::unexpected(t.error());
  }
  return t->key();
}

Result<std::string> normalize_address(std::string_view address) {
  if (address.empty() || address.size() > 45) {
    return fail(Errc::invalid_argument, "not an IP address");
  }
  std::string text(address);
  char buf[INET6_ADDRSTRLEN];
  unsigned char bin[16];
  if (inet_pton(AF_INET, text.c_str(), bin) == 1) {
    return std::string(inet_ntop(AF_INET, bin, buf, sizeof buf));
  }
  if (inet_pton(AF_INET6, text.c_str(), bin) == 1) {
    return std::string(inet_ntop(AF_INET6, bin, buf, sizeof buf));
  }
  return fail(Errc::invalid_argument, "not an IP address: " + log::quote(text));
}

}  // namespace forcetls::checker
