// SPDX-License-Identifier: Apache-2.0
// The libunbound options an administrator may set (checker.resolver_options,
// forcetls-check --resolver-option): local zones and data, transport and
// cache sizing. Nothing that touches DNSSEC validation (module-config,
// val-*, trust anchors, domain-insecure, harden-*) is on the list, so a
// resolver option can never weaken the verdicts silently. One list for the
// configuration loader and the resolver, which both refuse the others.
#pragma once

#include <string_view>

namespace forcetls {

inline constexpr std::string_view kUnboundOptionsAllowedList[] = {
    "local-zone",
    "local-data",
    "local-data-ptr",
    "do-ip4",
    "do-ip6",
    "prefer-ip4",
    "prefer-ip6",
    "outgoing-interface",
    "edns-buffer-size",
    "so-rcvbuf",
    "so-sndbuf",
    "msg-cache-size",
    "rrset-cache-size",
    "key-cache-size",
    "cache-max-ttl",
    "cache-max-negative-ttl",
    "infra-host-ttl",
    "outgoing-range",
    "jostle-timeout",
    "num-queries-per-thread",
    "qname-minimisation",
    "use-caps-for-id",
    "root-hints",
    "do-not-query-address",
};

/// For messages: the list above, comma-separated.
inline constexpr std::string_view kUnboundOptionsAllowed =
    "local-zone, local-data, local-data-ptr, do-ip4, do-ip6, prefer-ip4, prefer-ip6, "
    "outgoing-interface, edns-buffer-size, so-rcvbuf, so-sndbuf, msg-cache-size, "
    "rrset-cache-size, key-cache-size, cache-max-ttl, cache-max-negative-ttl, infra-host-ttl, "
    "outgoing-range, jostle-timeout, num-queries-per-thread, qname-minimisation, "
    "use-caps-for-id, root-hints, do-not-query-address";

/// Whether `name` (with or without its trailing ':') is on the list.
constexpr bool unbound_option_allowed(std::string_view name) {
  if (name.ends_with(':')) {
    name.remove_suffix(1);
  }
  for (std::string_view allowed : kUnboundOptionsAllowedList) {
    if (name == allowed) {
      return true;
    }
  }
  return false;
}

}  // namespace forcetls
