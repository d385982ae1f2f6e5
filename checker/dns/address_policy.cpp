// SPDX-License-Identifier: Apache-2.0
// Address safety filter and family selection; see address_policy.hpp.
#include "checker/dns/address_policy.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <vector>

#include "common/c_handle.hpp"

namespace forcetls::checker {

namespace {

// Special-purpose ranges. Sources: the IANA IPv4 and IPv6 Special-Purpose
// Address Registries (RFC 6890) and the RFC named on each row. Deliberately
// absent: 192.88.99.0/24 (6to4 relay anycast, deprecated by RFC 7526 and
// returned to the pool), 2001::/23 and Teredo 2001::/32 (globally routed or
// tunnels to public addresses), 5f00::/16 (SRv6 SIDs, not hosts).
constexpr std::array kSpecialRanges = {
    SpecialRange{"0.0.0.0/8", AddressClass::unspecified, "RFC 1122 §3.2.1.3", true},
    SpecialRange{"10.0.0.0/8", AddressClass::private_use, "RFC 1918", false},
    SpecialRange{"100.64.0.0/10", AddressClass::shared, "RFC 6598", false},
    SpecialRange{"127.0.0.0/8", AddressClass::loopback, "RFC 1122 §3.2.1.3", false},
    SpecialRange{"169.254.0.0/16", AddressClass::link_local, "RFC 3927", false},
    SpecialRange{"172.16.0.0/12", AddressClass::private_use, "RFC 1918", false},
    SpecialRange{"192.0.0.0/24", AddressClass::reserved, "RFC 6890 §2.2.2", false},
    SpecialRange{"192.0.2.0/24", AddressClass::documentation, "RFC 5737", false},
    SpecialRange{"192.168.0.0/16", AddressClass::private_use, "RFC 1918", false},
    SpecialRange{"198.18.0.0/15", AddressClass::benchmarking, "RFC 2544", false},
    SpecialRange{"198.51.100.0/24", AddressClass::documentation, "RFC 5737", false},
    SpecialRange{"203.0.113.0/24", AddressClass::documentation, "RFC 5737", false},
    SpecialRange{"224.0.0.0/4", AddressClass::multicast, "RFC 5771", true},
    SpecialRange{"240.0.0.0/4", AddressClass::reserved, "RFC 1112 §4", true},
    SpecialRange{"255.255.255.255/32", AddressClass::broadcast, "RFC 919, RFC 8190", true},
    SpecialRange{"::/128", AddressClass::unspecified, "RFC 4291 §2.5.2", true},
    SpecialRange{"::1/128", AddressClass::loopback, "RFC 4291 §2.5.3", false},
    SpecialRange{"::/96", AddressClass::reserved, "RFC 4291 §2.5.5.1 (IPv4-compatible)", false},
    SpecialRange{"64:ff9b:1::/48", AddressClass::reserved, "RFC 8215 (local-use NAT64)", false},
    SpecialRange{"100::/64", AddressClass::reserved, "RFC 6666 (discard-only)", false},
    SpecialRange{"2001:2::/48", AddressClass::benchmarking, "RFC 5180", false},
    SpecialRange{"2001:db8::/32", AddressClass::documentation, "RFC 3849", false},
    SpecialRange{"3fff::/20", AddressClass::documentation, "RFC 9637", false},
    SpecialRange{"fc00::/7", AddressClass::private_use, "RFC 4193", false},
    SpecialRange{"fe80::/10", AddressClass::link_local, "RFC 4291 §2.5.6", false},
    SpecialRange{"fec0::/10", AddressClass::private_use, "RFC 3879 (site-local)", false},
    SpecialRange{"ff00::/8", AddressClass::multicast, "RFC 4291 §2.7", true},
};

/// A table row with its prefix parsed to bytes.
struct ParsedRange {
  bool v4 = false;
  std::array<unsigned char, 16> bytes{};
  unsigned length = 0;  ///< prefix length in bits
  const SpecialRange* row = nullptr;
};

const std::vector<ParsedRange>& parsed_ranges() {
  static const std::vector<ParsedRange> ranges = [] {
    std::vector<ParsedRange> out;
    for (const auto& row : kSpecialRanges) {
      const auto slash = row.prefix.find('/');
      const std::string addr(row.prefix.substr(0, slash));
      ParsedRange p;
      p.row = &row;
      p.length = static_cast<unsigned>(std::stoul(std::string(row.prefix.substr(slash + 1))));
      const auto parsed = asio::ip::make_address(addr);
      p.v4 = parsed.is_v4();
      if (p.v4) {
        const auto b = parsed.to_v4().to_bytes();
        std::copy(b.begin(), b.end(), p.bytes.begin());
      } else {
        p.bytes = parsed.to_v6().to_bytes();
      }
      out.push_back(p);
    }
    return out;
  }();
  return ranges;
}

bool prefix_matches(const unsigned char* a, const unsigned char* prefix, unsigned bits) {
  const unsigned whole = bits / 8;
  if (std::memcmp(a, prefix, whole) != 0) {
    return false;
  }
  const unsigned rest = bits % 8;
  if (rest == 0) {
    return true;
  }
  const auto mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[whole] & mask) == (prefix[whole] & mask);
}

std::optional<SpecialRange> lookup(bool v4, const unsigned char* bytes) {
  const ParsedRange* best = nullptr;
  for (const auto& p : parsed_ranges()) {
    if (p.v4 == v4 && prefix_matches(bytes, p.bytes.data(), p.length) &&
        (best == nullptr || p.length > best->length)) {
      best = &p;
    }
  }
  if (best == nullptr) {
    return std::nullopt;
  }
  return *best->row;
}

/// The IPv4 address an IPv6 address stands for, if it is of a kind that
/// reaches that IPv4 address: IPv4-mapped (RFC 4291 §2.5.5.2), NAT64
/// well-known prefix (RFC 6052 §2.1) or 6to4 (RFC 3056 §2).
std::optional<asio::ip::address_v4> embedded_v4(const asio::ip::address_v6& v6) {
  const auto b = v6.to_bytes();
  asio::ip::address_v4::bytes_type v4{};
  static constexpr std::array<unsigned char, 12> kMapped = {0, 0, 0, 0, 0,    0,
                                                            0, 0, 0, 0, 0xff, 0xff};
  static constexpr std::array<unsigned char, 12> kNat64 = {0, 0x64, 0xff, 0x9b, 0, 0,
                                                           0, 0,    0,    0,    0, 0};
  if (std::equal(kMapped.begin(), kMapped.end(), b.begin()) ||
      std::equal(kNat64.begin(), kNat64.end(), b.begin())) {
    std::copy(b.begin() + 12, b.end(), v4.begin());
    return asio::ip::address_v4(v4);
  }
  if (b[0] == 0x20 && b[1] == 0x02) {
    std::copy(b.begin() + 2, b.begin() + 6, v4.begin());
    return asio::ip::address_v4(v4);
  }
  return std::nullopt;
}

}  // namespace

std::string_view address_class_name(AddressClass c) {
  switch (c) {
    case AddressClass::global:
      return "global";
    case AddressClass::loopback:
      return "loopback";
    case AddressClass::private_use:
      return "private-use";
    case AddressClass::shared:
      return "shared (carrier-grade NAT)";
    case AddressClass::link_local:
      return "link-local";
    case AddressClass::documentation:
      return "documentation";
    case AddressClass::benchmarking:
      return "benchmarking";
    case AddressClass::reserved:
      return "reserved";
    case AddressClass::unspecified:
      return "unspecified";
    case AddressClass::multicast:
      return "multicast";
    case AddressClass::broadcast:
      return "broadcast";
  }
  return "reserved";
}

std::span<const SpecialRange> special_ranges() { return kSpecialRanges; }

std::optional<SpecialRange> find_special_range(const asio::ip::address& address) {
  if (address.is_v4()) {
    const auto b = address.to_v4().to_bytes();
    return lookup(true, b.data());
  }
  const auto v6 = address.to_v6();
  if (const auto v4 = embedded_v4(v6)) {
    const auto b = v4->to_bytes();
    return lookup(true, b.data());
  }
  const auto b = v6.to_bytes();
  return lookup(false, b.data());
}

std::optional<std::string> AddressPolicy::refusal(const asio::ip::address& address) const {
  const auto range = find_special_range(address);
  if (!range) {
    return std::nullopt;
  }
  if (allow_private && !range->never_a_host) {
    return std::nullopt;
  }
  std::string text = address.to_string();
  if (address.is_v6()) {
    if (const auto v4 = embedded_v4(address.to_v6())) {
      text += " (embedding " + v4->to_string() + ")";
    }
  }
  text += " is " + std::string(address_class_name(range->address_class)) + " (" +
          std::string(range->prefix) + ", " + std::string(range->source) + ")";
  if (!range->never_a_host) {
    text += "; allow_private admits it";
  }
  return text;
}

Result<FamilyChoice> parse_family_choice(std::string_view text) {
  if (text == "ipv4") {
    return FamilyChoice::ipv4;
  }
  if (text == "ipv6") {
    return FamilyChoice::ipv6;
  }
  if (text == "both") {
    return FamilyChoice::both;
  }
  if (text == "auto") {
    return FamilyChoice::automatic;
  }
  return fail(Errc::invalid_argument, "invalid address family \"" + std::string(text) +
                                          "\" (want ipv4, ipv6, both or auto)");
}

std::string_view family_choice_name(FamilyChoice choice) {
  switch (choice) {
    case FamilyChoice::ipv4:
      return "ipv4";
    case FamilyChoice::ipv6:
      return "ipv6";
    case FamilyChoice::both:
      return "both";
    case FamilyChoice::automatic:
      return "auto";
  }
  return "auto";
}

bool host_has_route(const asio::ip::address& target) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (target.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(25);
    const auto b = target.to_v4().to_bytes();
    std::memcpy(&sin->sin_addr, b.data(), b.size());
    len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(25);
    const auto b = target.to_v6().to_bytes();
    std::memcpy(&sin6->sin6_addr, b.data(), b.size());
    len = sizeof(sockaddr_in6);
  }
  Fd fd{::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (!fd) {
    return false;  // the family is not even configured
  }
  // A UDP connect() only picks a route and source address; nothing is sent.
  return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) == 0;
}

Families select_families(FamilyChoice choice,
                         const std::function<bool(const asio::ip::address&)>& has_route) {
  switch (choice) {
    case FamilyChoice::ipv4:
      return Families{.ipv4 = true, .ipv6 = false};
    case FamilyChoice::ipv6:
      return Families{.ipv4 = false, .ipv6 = true};
    case FamilyChoice::both:
      return Families{.ipv4 = true, .ipv6 = true};
    case FamilyChoice::automatic:
      break;
  }
  // Documentation addresses: routed like any remote address, used by nobody.
  const bool v4 = has_route(asio::ip::make_address("192.0.2.1"));
  const bool v6 = has_route(asio::ip::make_address("2001:db8::1"));
  if (!v4 && !v6) {
    return Families{.ipv4 = true, .ipv6 = true};
  }
  return Families{.ipv4 = v4, .ipv6 = v6};
}

}  // namespace forcetls::checker
