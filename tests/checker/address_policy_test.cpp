// SPDX-License-Identifier: Apache-2.0
// Tests for checker/dns/address_policy: the special-range table and family choice.
#include "checker/dns/address_policy.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace forcetls::checker;

namespace {

struct Case {
  const char* address;
  AddressClass want;
  bool allowed_by_default;
  bool allowed_with_private;
};

}  // namespace

TEST_CASE("address classes and the safety filter", "[checker]") {
  const Case c = GENERATE(values<Case>({
      // global
      {"8.8.8.8", AddressClass::global, true, true},
      {"1.1.1.1", AddressClass::global, true, true},
      {"100.63.255.255", AddressClass::global, true, true},  // just below 100.64/10
      {"100.128.0.0", AddressClass::global, true, true},     // just above
      {"172.15.255.255", AddressClass::global, true, true},  // just below 172.16/12
      {"172.32.0.0", AddressClass::global, true, true},      // just above
      {"2a00:1450:4001::1", AddressClass::global, true, true},
      {"2001:4860::8888", AddressClass::global, true, true},
      {"::ffff:8.8.8.8", AddressClass::global, true, true},
      {"64:ff9b::808:808", AddressClass::global, true, true},  // NAT64 of 8.8.8.8
      {"2002:808:808::1", AddressClass::global, true, true},   // 6to4 of 8.8.8.8
      // private and friends: lifted by allow_private
      {"10.0.0.1", AddressClass::private_use, false, true},
      {"172.16.0.1", AddressClass::private_use, false, true},
      {"172.31.255.255", AddressClass::private_use, false, true},
      {"192.168.1.1", AddressClass::private_use, false, true},
      {"100.64.0.1", AddressClass::shared, false, true},
      {"100.127.255.255", AddressClass::shared, false, true},
      {"127.0.0.1", AddressClass::loopback, false, true},
      {"127.255.255.254", AddressClass::loopback, false, true},
      {"169.254.1.1", AddressClass::link_local, false, true},
      {"192.0.0.8", AddressClass::reserved, false, true},
      {"192.0.2.1", AddressClass::documentation, false, true},
      {"198.51.100.1", AddressClass::documentation, false, true},
      {"203.0.113.1", AddressClass::documentation, false, true},
      {"198.18.0.1", AddressClass::benchmarking, false, true},
      {"198.19.255.255", AddressClass::benchmarking, false, true},
      {"::1", AddressClass::loopback, false, true},
      {"fc00::1", AddressClass::private_use, false, true},
      {"fd12:3456::1", AddressClass::private_use, false, true},
      {"fe80::1", AddressClass::link_local, false, true},
      {"febf::1", AddressClass::link_local, false, true},
      {"fec0::1", AddressClass::private_use, false, true},
      {"2001:db8::1", AddressClass::documentation, false, true},
      {"3fff::1", AddressClass::documentation, false, true},
      {"2001:2::1", AddressClass::benchmarking, false, true},
      {"100::1", AddressClass::reserved, false, true},
      {"64:ff9b:1::1", AddressClass::reserved, false, true},
      {"::192.0.2.1", AddressClass::reserved, false, true},  // IPv4-compatible
      // IPv6 forms of IPv4 addresses are judged as IPv4
      {"::ffff:127.0.0.1", AddressClass::loopback, false, true},
      {"::ffff:10.1.2.3", AddressClass::private_use, false, true},
      {"64:ff9b::a00:1", AddressClass::private_use, false, true},    // NAT64 of 10.0.0.1
      {"2002:c0a8:101::1", AddressClass::private_use, false, true},  // 6to4 of 192.168.1.1
      // never a host: refused even for labs
      {"0.0.0.0", AddressClass::unspecified, false, false},
      {"0.1.2.3", AddressClass::unspecified, false, false},
      {"224.0.0.1", AddressClass::multicast, false, false},
      {"239.255.255.255", AddressClass::multicast, false, false},
      {"240.0.0.1", AddressClass::reserved, false, false},
      {"255.255.255.255", AddressClass::broadcast, false, false},
      {"::", AddressClass::unspecified, false, false},
      {"ff02::1", AddressClass::multicast, false, false},
      {"::ffff:0.0.0.0", AddressClass::unspecified, false, false},
      {"::ffff:224.0.0.1", AddressClass::multicast, false, false},
  }));
  INFO(c.address);
  const auto address = asio::ip::make_address(c.address);
  const auto range = find_special_range(address);
  const AddressClass got = range ? range->address_class : AddressClass::global;
  CHECK(address_class_name(got) == address_class_name(c.want));

  const AddressPolicy strict;
  const AddressPolicy lab{.allow_private = true};
  CHECK(strict.allows(address) == c.allowed_by_default);
  CHECK(lab.allows(address) == c.allowed_with_private);
  if (!c.allowed_by_default) {
    const auto why = strict.refusal(address);
    REQUIRE(why);
    CHECK_THAT(*why, Catch::Contains(std::string(address_class_name(c.want))));
    CHECK_THAT(*why, Catch::Contains("RFC"));
  }
}

TEST_CASE("every special range names its source", "[checker]") {
  for (const auto& row : special_ranges()) {
    INFO(row.prefix);
    CHECK_THAT(std::string(row.source), Catch::StartsWith("RFC"));
    CHECK(row.prefix.find('/') != std::string_view::npos);
  }
}

TEST_CASE("family choice parsing", "[checker]") {
  CHECK(parse_family_choice("ipv4").value() == FamilyChoice::ipv4);
  CHECK(parse_family_choice("ipv6").value() == FamilyChoice::ipv6);
  CHECK(parse_family_choice("both").value() == FamilyChoice::both);
  CHECK(parse_family_choice("auto").value() == FamilyChoice::automatic);
  auto bad = parse_family_choice("IPv4");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("ipv4, ipv6, both or auto"));
  CHECK(family_choice_name(FamilyChoice::automatic) == "auto");
}

TEST_CASE("family selection", "[checker]") {
  struct Case {
    FamilyChoice choice;
    bool v4_route;
    bool v6_route;
    Families want;
  };
  const Case c = GENERATE(values<Case>({
      {FamilyChoice::ipv4, false, true, {.ipv4 = true, .ipv6 = false}},
      {FamilyChoice::ipv6, true, false, {.ipv4 = false, .ipv6 = true}},
      {FamilyChoice::both, false, false, {.ipv4 = true, .ipv6 = true}},
      {FamilyChoice::automatic, true, true, {.ipv4 = true, .ipv6 = true}},
      {FamilyChoice::automatic, true, false, {.ipv4 = true, .ipv6 = false}},
      {FamilyChoice::automatic, false, true, {.ipv4 = false, .ipv6 = true}},
      {FamilyChoice::automatic, false, false, {.ipv4 = true, .ipv6 = true}},
  }));
  std::vector<std::string> asked;
  auto has_route = [&](const asio::ip::address& a) {
    asked.push_back(a.to_string());
    return a.is_v4() ? c.v4_route : c.v6_route;
  };
  CHECK(select_families(c.choice, has_route) == c.want);
  if (c.choice == FamilyChoice::automatic) {
    CHECK(asked == std::vector<std::string>{"192.0.2.1", "2001:db8::1"});
  } else {
    CHECK(asked.empty());
  }
}

TEST_CASE("host_has_route answers without sending", "[checker]") {
  // Loopback always has a route; this exercises the socket path (a UDP
  // connect sends nothing).
  CHECK(host_has_route(asio::ip::make_address("127.0.0.1")));
}

TEST_CASE("host_has_route says no when the kernel will not pick a route", "[checker]") {
  // Targets whose UDP connect() fails on any Linux host, whatever its routing
  // table: the limited broadcast address without SO_BROADCAST (EACCES), and an
  // IPv6 link-local address without a scope id (EINVAL; or no IPv6 socket at
  // all, which must read as no route too).
  for (const char* target : {"255.255.255.255", "fe80::1"}) {
    CAPTURE(target);
    CHECK_FALSE(host_has_route(asio::ip::make_address(target)));
  }
}
