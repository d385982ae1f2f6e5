// SPDX-License-Identifier: Apache-2.0
// Tests for checker/cli/check_args: forcetls-check's command line.
#include "checker/cli/check_args.hpp"

#include <catch2/catch.hpp>

using namespace forcetls::checker;

TEST_CASE("parse_check_args accepts the documented options", "[checker]") {
  auto r = parse_check_args(
      {"--json",     "--resolver",      "127.0.0.1@53", "--trust-anchor",
       "/ta",        "--ca-file",       "/ca.pem",      "--ehlo",
       "probe.test", "--port",          "2525",         "--timeout",
       "3s",         "--pause",         "50ms",         "--per-address-connections",
       "2",          "--allow-private", "--families",   "ipv4",
       "--quick",    "--tls13-counts",  "--previous",   "/prev.json",
       "good.test",  "tls10.test"});
  REQUIRE(r.has_value());
  CHECK(r->json);
  CHECK(r->quick);
  CHECK(r->allow_private);
  CHECK(r->tls13_counts);
  CHECK(r->resolver == "127.0.0.1@53");
  CHECK(r->trust_anchor == "/ta");
  CHECK(r->ca_file == "/ca.pem");
  CHECK(r->previous == "/prev.json");
  CHECK(r->ehlo == "probe.test");
  CHECK(r->port == 2525);
  CHECK(r->timeout == std::chrono::seconds(3));
  CHECK(r->pause == std::chrono::milliseconds(50));
  CHECK(r->per_address_connections == 2);
  CHECK(r->families == "ipv4");
  CHECK(r->domains == std::vector<std::string>{"good.test", "tls10.test"});
}

TEST_CASE("parse_check_args: --resolver-option is repeatable and keeps its order", "[checker]") {
  auto r = parse_check_args({"--resolver-option", "local-zone: test. transparent",
                             "--resolver-option", "do-ip6:no", "good.test"});
  REQUIRE(r.has_value());
  using Option = std::pair<std::string, std::string>;
  CHECK(r->resolver_options ==
        std::vector<Option>{{"local-zone", "test. transparent"}, {"do-ip6", "no"}});
  // None unless given: unbound's own local zones stay.
  auto plain = parse_check_args({"good.test"});
  REQUIRE(plain.has_value());
  CHECK(plain->resolver_options.empty());
}

TEST_CASE("parse_check_args rejects bad command lines with the option named", "[checker]") {
  struct Case {
    std::vector<std::string> args;
    std::string want;
  };
  auto c = GENERATE(values<Case>({
      {{}, "no domain given"},
      {{"--port", "0", "a.test"}, "--port"},
      {{"--port", "70000", "a.test"}, "--port"},
      {{"--port"}, "--port needs a value"},
      {{"--timeout", "soon", "a.test"}, "--timeout"},
      {{"--timeout", "10ms", "a.test"}, "at least 100ms"},
      {{"--families", "ipx", "a.test"}, "--families"},
      {{"--frobnicate", "a.test"}, "unknown option --frobnicate"},
      {{"--mx", "mx.a.test", "a.test"}, "--mx"},
      {{"--resolver-option", "local-zone test. transparent", "a.test"},
       "--resolver-option: resolver option \"local-zone test. transparent\" is not \"name: "
       "value\""},
      {{"--resolver-option", "local-zone:", "a.test"}, "--resolver-option"},
      {{"--resolver-option", ": x", "a.test"}, "--resolver-option"},
  }));
  auto r = parse_check_args(c.args);
  REQUIRE_FALSE(r.has_value());
  CHECK_THAT(r.error().message, Catch::Contains(c.want));
}

TEST_CASE("parse_host_port splits host and port", "[checker]") {
  struct Case {
    std::string in;
    bool ok;
    std::string host;
    std::uint16_t port;
  };
  auto c = GENERATE(values<Case>({
      {"mx.example.test", true, "mx.example.test", 25},
      {"mx.example.test:2525", true, "mx.example.test", 2525},
      {"127.0.0.2:25", true, "127.0.0.2", 25},
      {"[::1]:2525", true, "::1", 2525},
      {"[::1]", true, "::1", 25},
      {"::1", true, "::1", 25},
      {"mx.example.test:", false, "", 0},
      {"mx.example.test:99999", false, "", 0},
      {"[::1", false, "", 0},
      {":25", false, "", 0},
  }));
  CAPTURE(c.in);
  auto r = parse_host_port(c.in, 25);
  REQUIRE(r.has_value() == c.ok);
  if (c.ok) {
    CHECK(r->host == c.host);
    CHECK(r->port == c.port);
  }
}
