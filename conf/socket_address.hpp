// SPDX-License-Identifier: Apache-2.0
// Listening socket specifications in the OpenDKIM / Sendmail (libmilter)
// syntax: `inet:PORT@HOST`, `inet:PORT` (every IPv4 address), `inet6:PORT@HOST`,
// `unix:PATH` (also `local:PATH`), or `none` (not listening). Pure; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace forcetls::conf {

struct SocketAddress {
  enum class Kind : std::uint8_t { none, inet, inet6, unix_path };
  Kind kind = Kind::none;
  std::uint16_t port = 0;  ///< inet, inet6
  std::string host;        ///< inet, inet6: name or address literal; empty = any address
  std::string path;        ///< unix_path: absolute

  /// The canonical text, accepted by smfi_setconn(): `inet:8891@127.0.0.1`.
  std::string spec() const;
  /// True for inet/inet6 bound to a loopback literal or `localhost`, and for unix.
  bool is_local() const;
  bool operator==(const SocketAddress&) const = default;
};

/// Parses and validates a socket specification; the error names the
/// accepted forms.
Result<SocketAddress> parse_socket_address(std::string_view text);

/// Parses a resolver address `IP` or `IP@PORT` (unbound's forwarder syntax;
/// IPv4 or IPv6 literal, port 53 when omitted). Returns the canonical
/// `IP@PORT` form.
Result<std::string> parse_resolver_address(std::string_view text);

}  // namespace forcetls::conf
