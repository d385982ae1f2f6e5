// SPDX-License-Identifier: Apache-2.0
// Tests for checker/report/next_hop: the one spelling of a report key.
#include "checker/report/next_hop.hpp"

#include <catch2/catch.hpp>

using namespace forcetls::checker;

TEST_CASE("parse_report_key: domains, servers, ports, one spelling", "[checker]") {
  using K = ReportTarget::Kind;
  struct Case {
    std::string input;
    std::string want;  ///< key(); empty: an error
    K kind = K::domain;
    std::uint16_t port = 25;
  };
  auto c = GENERATE(values<Case>({
      {"example.com", "example.com"},
      {"Example.COM.", "example.com"},
      {"example.com:25", "example.com"},
      {"example.com:2525", "example.com:2525", K::domain, 2525},
      {"x_y.example.com", "x_y.example.com"},
      {"b\xC3\xBC"
       "cher.example:587",
       "xn--bcher-kva.example:587", K::domain, 587},
      {"[mx.example.com]", "[mx.example.com]", K::server},
      {"[MX.Example.com.]:25", "[mx.example.com]", K::server},
      {"[mx.example.com]:2525", "[mx.example.com]:2525", K::server, 2525},
      {"[relay]", "[relay]", K::server},
      {"[192.0.2.1]", "[192.0.2.1]", K::server},
      {"[IPv6:2001:DB8:0::1]:26", "[2001:db8::1]:26", K::server, 26},
      {"[2001:db8::1]", "[2001:db8::1]", K::server},
      {"example.com:0", ""},
      {"example.com:65536", ""},
      {"example.com:", ""},
      {"example.com:+25", ""},
      {"example.com:25 ", ""},
      {"[mx.example.com", ""},
      {"[mx.example.com]x", ""},
      {"[mx.example.com]:", ""},
      {"[]", ""},
      {"", ""},
      {"a b.example", ""},
      {"2001:db8::1", ""},  // an address needs its brackets
  }));
  INFO(c.input);
  auto t = parse_report_key(c.input);
  if (c.want.empty()) {
    CHECK_FALSE(t.has_value());
    return;
  }
  REQUIRE(t.has_value());
  CHECK(t->key() == c.want);
  CHECK(t->kind == c.kind);
  CHECK(t->port == c.port);
  // The key is a fixed point: parsing it again gives the same target.
  auto again = parse_report_key(t->key());
  REQUIRE(again.has_value());
  CHECK(*again == *t);
}

TEST_CASE("ReportTarget::address tells a literal from a host name", "[checker]") {
  CHECK(parse_report_key("[192.0.2.1]")->address());
  CHECK(parse_report_key("[2001:db8::1]")->address());
  CHECK_FALSE(parse_report_key("[mx.example.com]")->address());
  CHECK_FALSE(parse_report_key("example.com")->address());
}
