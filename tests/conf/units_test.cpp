// SPDX-License-Identifier: Apache-2.0
// Tests for conf/units and conf/socket_address.
#include "conf/units.hpp"

#include <catch2/catch.hpp>

#include "conf/socket_address.hpp"

using namespace forcetls::conf;
using namespace std::chrono_literals;

TEST_CASE("parse_duration", "[conf]") {
  struct Case {
    std::string input;
    long long want_ms;  // -1: error
    std::string want_error;
  };
  auto c = GENERATE(values<Case>({
      {"500ms", 500, ""},
      {"30s", 30000, ""},
      {"15m", 900000, ""},
      {"24h", 86400000, ""},
      {"7d", 604800000, ""},
      {"0s", 0, ""},
      {"30", -1, "missing unit"},
      {"", -1, "expected a number with a unit"},
      {"s", -1, "expected a number with a unit"},
      {"15x", -1, "unknown unit 'x'"},
      {"1.5h", -1, "unknown unit '.5h'"},
      {"-5s", -1, "expected a number"},
      {"30 s", -1, "unknown unit ' s'"},
      {"99999999999999999999s", -1, "expected a number"},
      {"9999999999999999d", -1, "too large"},
  }));
  INFO(c.input);
  auto got = parse_duration(c.input);
  if (c.want_ms < 0) {
    REQUIRE_FALSE(got.has_value());
    CHECK_THAT(got.error().message, Catch::Contains(c.want_error));
    CHECK_THAT(got.error().message,
               Catch::Contains("30s, 15m, 24h, 7d") || Catch::Contains("too large"));
  } else {
    REQUIRE(got.has_value());
    CHECK(got->count() == c.want_ms);
  }
}

TEST_CASE("parse_size", "[conf]") {
  struct Case {
    std::string input;
    long long want;  // -1: error
  };
  auto c = GENERATE(values<Case>({
      {"512M", 512LL << 20},
      {"1G", 1LL << 30},
      {"1g", 1LL << 30},
      {"64KB", 64LL << 10},
      {"2GiB", 2LL << 30},
      {"1T", 1LL << 40},
      {"4096", 4096},
      {"4096B", 4096},
      {"512Q", -1},
      {"M", -1},
      {"", -1},
      {"1.5G", -1},
      {"99999999999T", -1},
  }));
  INFO(c.input);
  auto got = parse_size(c.input);
  if (c.want < 0) {
    CHECK_FALSE(got.has_value());
  } else {
    REQUIRE(got.has_value());
    CHECK(*got == static_cast<std::uint64_t>(c.want));
  }
}

TEST_CASE("format_size gives the shortest exact form", "[conf]") {
  CHECK(format_size(512ULL << 20) == "512M");
  CHECK(format_size(1ULL << 30) == "1G");
  CHECK(format_size(1000) == "1000");
}

TEST_CASE("parse_socket_address", "[conf]") {
  struct Case {
    std::string input;
    std::string want_spec;  // empty: error
    std::string want_error;
    bool want_local = true;
  };
  auto c = GENERATE(values<Case>({
      {"inet:8891@127.0.0.1", "inet:8891@127.0.0.1", "", true},
      {"inet:8891@localhost", "inet:8891@localhost", "", true},
      {"inet:8891", "inet:8891", "", false},
      {"inet:8891@mail.example.com", "inet:8891@mail.example.com", "", false},
      {"inet6:8891@::1", "inet6:8891@::1", "", true},
      {"inet6:8891@[::1]", "inet6:8891@[::1]", "", true},
      {"unix:/run/forcetls/milter.sock", "unix:/run/forcetls/milter.sock", "", true},
      {"local:/run/forcetls/milter.sock", "unix:/run/forcetls/milter.sock", "", true},
      {"none", "none", "", true},
      {"inet:99999@127.0.0.1", "", "outside 1-65535"},
      {"inet:0@127.0.0.1", "", "outside 1-65535"},
      {"inet:port@127.0.0.1", "", "is not a number"},
      {"inet:@127.0.0.1", "", "is not a number"},
      {"inet:8891@", "", "empty host"},
      {"inet:8891@::1", "", "use inet6:"},
      {"inet:8891@bad host", "", "not an IPv4 address or host name"},
      {"inet6:8891@not/valid", "", "not an IPv6 address or host name"},
      {"unix:relative.sock", "", "must be absolute"},
      {"unix:/" + std::string(120, 'a'), "", "longer than 107 bytes"},
      {"tcp:8891@127.0.0.1", "", "unknown protocol 'tcp'"},
      {"127.0.0.1:8891", "", "unknown protocol '127.0.0.1'"},
      {"8891", "", "expected inet:PORT@HOST"},
  }));
  INFO(c.input);
  auto got = parse_socket_address(c.input);
  if (c.want_spec.empty()) {
    REQUIRE_FALSE(got.has_value());
    CHECK_THAT(got.error().message, Catch::Contains(c.want_error));
  } else {
    REQUIRE(got.has_value());
    CHECK(got->spec() == c.want_spec);
    CHECK(got->is_local() == c.want_local);
  }
}

TEST_CASE("parse_resolver_address", "[conf]") {
  CHECK(parse_resolver_address("127.0.0.1") == "127.0.0.1@53");
  CHECK(parse_resolver_address("127.0.0.1@5353") == "127.0.0.1@5353");
  CHECK(parse_resolver_address("::1@53") == "::1@53");
  CHECK_FALSE(parse_resolver_address("resolver.example").has_value());
  CHECK_FALSE(parse_resolver_address("127.0.0.1@99999").has_value());
  CHECK_FALSE(parse_resolver_address("").has_value());
}
