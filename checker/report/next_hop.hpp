// SPDX-License-Identifier: Apache-2.0
// ReportTarget: what one report is about, and the text that keys it in the
// cache, the refresh engine and the logs. A mail domain is probed through
// its MX hosts; a server (a bracketed `[host]` next hop, as Postfix's
// transport_maps and relayhost write it) is probed itself, without an MX
// lookup. Either on port 25 or on the port a next hop names: a port-25
// report says nothing about port 2525. Pure functions, any thread.
//
//   example.com            the domain's MX hosts, port 25
//   example.com:2525       the same MX hosts, port 2525
//   [mx.example.com]       the host's own addresses, port 25
//   [mx.example.com]:2525  the same, port 2525
//   [192.0.2.1]            one address (IPv6: [2001:db8::1], no "ipv6:" tag)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace forcetls::checker {

struct ReportTarget {
  enum class Kind : std::uint8_t {
    domain,  ///< a mail domain: its MX hosts (or its own address, RFC 5321 §5.1)
    server,  ///< one host name or IP address, probed directly
  };
  Kind kind = Kind::domain;
  /// normalize_host(), or normalize_address() for a server named by an
  /// address. (A key is what the cache holds; whether a name is a mail
  /// domain at all is normalize_domain()'s question, asked where names come in.)
  std::string name;
  std::uint16_t port = 25;
  bool address() const;  ///< a server named by an IP address

  /// The key text (see the table above): port 25 is never written.
  std::string key() const;
  bool operator==(const ReportTarget&) const = default;
};

/// Parses a key in the form key() writes, also accepting what an MTA or an
/// admin writes for it: any case, a trailing dot, IDN in UTF-8, `:25`, and
/// Postfix's `[ipv6:2001:db8::1]`. Errc::invalid_argument with a one-line
/// message for anything else (a port of 0 or over 65535, an empty name,
/// text after `]` that is not `:port`).
Result<ReportTarget> parse_report_key(std::string_view key);

/// parse_report_key(key).key(): the one spelling of a key.
Result<std::string> normalize_report_key(std::string_view key);

/// An IPv4 or IPv6 address in its canonical text form (inet_ntop: "2001:db8::1").
Result<std::string> normalize_address(std::string_view address);

}  // namespace forcetls::checker
