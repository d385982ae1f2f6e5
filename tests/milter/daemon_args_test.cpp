// SPDX-License-Identifier: Apache-2.0
// Tests for milter/daemon/daemon_args and the forcetls-milter binary's --help,
// --version and short options.
#include "milter/daemon/daemon_args.hpp"

#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

using namespace forcetls::milter;

TEST_CASE("parse_daemon_args: the short options keep getopt's forms", "[milter]") {
  struct Case {
    const char* label;
    std::vector<std::string> args;
    std::string config;  // "" = not given
    bool foreground, syslog, check_only, help, version;
  };
  auto c = GENERATE(values<Case>({
      {"none", {}, "", false, false, false, false, false},
      {"-c FILE", {"-c", "/etc/x.yaml"}, "/etc/x.yaml", false, false, false, false, false},
      {"-cFILE", {"-c/etc/x.yaml"}, "/etc/x.yaml", false, false, false, false, false},
      {"separate", {"-f", "-s", "-t"}, "", true, true, true, false, false},
      {"bundled", {"-fst"}, "", true, true, true, false, false},
      {"bundled with -c", {"-tc", "a.yaml"}, "a.yaml", false, false, true, false, false},
      {"-h", {"-h"}, "", false, false, false, true, false},
      {"--help", {"--help"}, "", false, false, false, true, false},
      {"--version", {"--version"}, "", false, false, false, false, true},
      {"--version among short ones", {"-f", "--version"}, "", true, false, false, false, true},
  }));
  INFO(c.label);
  auto got = parse_daemon_args(c.args);
  REQUIRE(got.has_value());
  CHECK(got->options.config_file.value_or("") == c.config);
  CHECK(got->options.foreground == c.foreground);
  CHECK(got->options.syslog == c.syslog);
  CHECK(got->options.check_only == c.check_only);
  CHECK(got->help == c.help);
  CHECK(got->version == c.version);
}

TEST_CASE("parse_daemon_args: errors name the option", "[milter]") {
  struct Case {
    std::vector<std::string> args;
    std::string want;
  };
  auto c = GENERATE(values<Case>({
      {{"-x"}, "unknown option -x"},
      {{"-fx"}, "unknown option -x"},
      {{"--bogus"}, "unknown option --bogus"},
      {{"-c"}, "-c needs a FILE"},
      {{"extra"}, "unexpected argument extra"},
      {{"-f", "--", "-t"}, "unexpected argument -t"},
  }));
  auto got = parse_daemon_args(c.args);
  REQUIRE_FALSE(got.has_value());
  CHECK(got.error().message == c.want);
}

namespace {

struct Ran {
  int status = -1;
  std::string out;  ///< stdout alone
};

/// Runs the built forcetls-milter; `redirect` decides which stream is read.
Ran run_milter(const std::string& args, const std::string& redirect) {
  std::string command = std::string(FORCETLS_MILTER_PATH) + " " + args + " " + redirect;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  Ran r;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) {
    r.out.append(buf, n);
  }
  int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace

TEST_CASE("forcetls-milter binary: --help, --version, usage errors", "[milter]") {
  const std::string stdout_only = "2>/dev/null";
  const std::string stderr_only = "2>&1 >/dev/null";
  SECTION("--help: usage on stdout, exit 0") {
    Ran r = run_milter("--help", stdout_only);
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::StartsWith("usage: forcetls-milter [-c FILE] [-f] [-s] [-t]\n"));
    CHECK_THAT(r.out, Catch::Contains("  --version    print the version\n"));
    CHECK(run_milter("--help", stderr_only).out.empty());
  }
  SECTION("-h: the same") {
    Ran r = run_milter("-h", stdout_only);
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::StartsWith("usage: forcetls-milter "));
  }
  SECTION("--version: name and version, exit 0") {
    Ran r = run_milter("--version", stdout_only);
    CHECK(r.status == 0);
    CHECK(r.out == std::string("forcetls-milter ") + FORCETLS_VERSION + "\n");
    CHECK_THAT(r.out, Catch::Matches("forcetls-milter [0-9]+\\.[0-9]+\\.[0-9]+\n"));
  }
  SECTION("an unknown option: one line and the usage on stderr, exit 64") {
    Ran r = run_milter("--bogus", stderr_only);
    CHECK(r.status == 64);
    CHECK_THAT(r.out, Catch::StartsWith("forcetls-milter: unknown option --bogus\nusage: "));
    CHECK(run_milter("--bogus", stdout_only).out.empty());
  }
  SECTION("-t -c still checks a configuration") {
    const std::string sample = std::string(FORCETLS_SOURCE_DIR) + "/conf/forcetls.yaml";
    Ran r = run_milter("-t -c " + sample, "2>&1");
    INFO(r.out);
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("configuration OK"));
  }
}
