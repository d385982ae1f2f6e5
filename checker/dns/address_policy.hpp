// SPDX-License-Identifier: Apache-2.0
// Which MX addresses the prober may connect to: the safety filter that keeps
// a hostile domain from pointing the prober at internal hosts, and the
// choice of address families this host can reach. Pure data and functions;
// any thread (host_has_route() opens and closes a socket, sends nothing).
#pragma once

#include <asio/ip/address.hpp>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace forcetls::checker {

/// Why an address is special (IANA IPv4/IPv6 Special-Purpose Address Registries).
enum class AddressClass {
  global,         ///< none of the below: a public unicast address
  loopback,       ///< 127/8, ::1
  private_use,    ///< RFC 1918, unique local fc00::/7, deprecated site-local
  shared,         ///< 100.64/10, carrier-grade NAT (RFC 6598)
  link_local,     ///< 169.254/16, fe80::/10
  documentation,  ///< TEST-NET-1/2/3, 2001:db8::/32, 3fff::/20
  benchmarking,   ///< 198.18/15, 2001:2::/48
  reserved,       ///< IETF protocol assignments, discard-only, 240/4, NAT64 local use
  unspecified,    ///< 0/8, ::
  multicast,      ///< 224/4, ff00::/8
  broadcast,      ///< 255.255.255.255
};

std::string_view address_class_name(AddressClass c);

/// One row of the special-range table.
struct SpecialRange {
  std::string_view prefix;  ///< "10.0.0.0/8"
  AddressClass address_class;
  std::string_view source;  ///< the RFC that assigns it
  /// True where no SMTP server can live at all (unspecified, multicast,
  /// broadcast, 240/4): refused even with allow_private.
  bool never_a_host;
};

/// The table the policy uses, for reports and documentation.
std::span<const SpecialRange> special_ranges();

/// The most specific special range containing `address` (IPv4-mapped
/// ::ffff:a.b.c.d, NAT64 64:ff9b::/96 and 6to4 2002::/16 addresses are
/// judged by the IPv4 address they embed), or nullopt for a global address.
std::optional<SpecialRange> find_special_range(const asio::ip::address& address);

/// The safety filter. By default only global unicast addresses pass;
/// `allow_private` (for labs) admits loopback, private, shared, link-local,
/// documentation, benchmarking and reserved ranges, but never addresses that
/// cannot be a host (unspecified, multicast, broadcast, 240/4).
struct AddressPolicy {
  bool allow_private = false;

  /// nullopt when the address may be probed; otherwise a one-line reason
  /// such as "192.168.1.5 is private-use (RFC 1918)".
  std::optional<std::string> refusal(const asio::ip::address& address) const;
  bool allows(const asio::ip::address& address) const { return !refusal(address); }
};

/// Which address families to look up and probe.
enum class FamilyChoice {
  ipv4,       ///< IPv4 only
  ipv6,       ///< IPv6 only
  both,       ///< both, whatever the routing table says
  automatic,  ///< the families this host has a route for
};

/// Parses "ipv4", "ipv6", "both", "auto".
Result<FamilyChoice> parse_family_choice(std::string_view text);
std::string_view family_choice_name(FamilyChoice choice);

/// The families actually used.
struct Families {
  bool ipv4 = true;
  bool ipv6 = true;
  friend bool operator==(const Families&, const Families&) = default;
};

/// Whether the kernel has a route to `target`: connect() on a UDP socket
/// selects a route and sends no packet.
bool host_has_route(const asio::ip::address& target);

/// Resolves a choice. `automatic` asks `has_route` about the documentation
/// addresses 192.0.2.1 and 2001:db8::1 (RFC 5737, RFC 3849: routed by a
/// default route, never used by anyone); if neither family has a route (an
/// isolated host or namespace) both are kept, so probes fail visibly as
/// unreachable instead of the domain silently having no addresses.
Families select_families(
    FamilyChoice choice,
    const std::function<bool(const asio::ip::address&)>& has_route = host_has_route);

}  // namespace forcetls::checker
