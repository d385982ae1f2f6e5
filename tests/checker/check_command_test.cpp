// SPDX-License-Identifier: Apache-2.0
// Tests for checker/cli/check_command: bad input gets one clear line and exit 64,
// before anything is resolved or probed (no network is touched here).
#include "checker/cli/check_command.hpp"

#include <catch2/catch.hpp>
#include <sstream>

#include "checker/cli/check_args.hpp"

using namespace forcetls::checker;

TEST_CASE("forcetls-check: bad input is a usage error with one clear line", "[checker]") {
  struct Case {
    std::vector<std::string> args;
    std::string want;
  };
  auto c = GENERATE(values<Case>({
      {{"[192.0.2.1]"}, "an address literal is not a domain name"},
      {{"192.0.2.1"}, "an IP address is not a domain name"},
      {{std::string(64, 'a') + ".com"}, "label longer than 63"},
      {{"exa mple.com"}, "space"},
      {{"--mx", "mx.example.test:0"}, "invalid port"},
      {{"--file", "/nonexistent/list"}, "cannot read"},
      {{"--families", "ipx", "example.com"}, "--families"},
      {{"--resolver", "not-an-address", "example.com"}, "resolver"},
      // libunbound judges the options when the resolver is built.
      {{"--resolver-option", "no-such-option: 1", "example.com"},
       "resolver: resolver option \"no-such-option\" is not one forcetls lets set"},
      {{"--resolver-option", "module-config: iterator", "example.com"},
       "resolver: resolver option \"module-config\" is not one forcetls lets set"},
      {{"--resolver-option", "local-zone: test.", "example.com"}, "local-zone: test."},
      {{"--previous", "/nonexistent/reports.json", "example.com"}, "--previous: cannot read"},
      {{"--previous", "/proc/self/cmdline", "example.com"},
       "--previous: /proc/self/cmdline line 1"},
  }));
  CAPTURE(c.args);
  std::ostringstream out;
  std::ostringstream err;
  int status = run_check_command(c.args, out, err);
  CHECK(status == exit_usage);
  CHECK(out.str().empty());
  CHECK_THAT(err.str(), Catch::Contains(c.want));
  CHECK(err.str().rfind("forcetls-check: ", 0) == 0);
}

TEST_CASE("forcetls-check --help and --version exit 0", "[checker]") {
  for (const char* help : {"--help", "-h"}) {
    INFO(help);
    std::ostringstream out;
    std::ostringstream err;
    CHECK(run_check_command({help}, out, err) == exit_eligible);
    CHECK_THAT(out.str(), Catch::StartsWith("usage: forcetls-check [options] DOMAIN...\n"));
    CHECK_THAT(out.str(), Catch::Contains("  --help, --version\n"));
    CHECK_THAT(out.str(), Catch::Contains("exit status"));
    CHECK(err.str().empty());
  }
  std::ostringstream out;
  std::ostringstream err;
  CHECK(run_check_command({"--version"}, out, err) == exit_eligible);
  CHECK(out.str() == std::string("forcetls-check ") + FORCETLS_VERSION + "\n");
  CHECK_THAT(out.str(), Catch::Matches("forcetls-check [0-9]+\\.[0-9]+\\.[0-9]+\n"));
  CHECK(err.str().empty());
}
