// SPDX-License-Identifier: Apache-2.0
// Tests for the forcetls.yaml loader: defaults, every validation error with
// its message and position, warnings, all problems reported at once, and the
// file-level checks.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "conf/loader.hpp"

using namespace forcetls::conf;
using namespace std::chrono_literals;
using Severity = Problem::Severity;

namespace {

std::string problems_text(const std::vector<Problem>& problems) {
  std::string out;
  for (const Problem& p : problems) {
    out += p.text() + "\n";
  }
  return out;
}

/// A scratch directory removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/forcetls-conf-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

}  // namespace

TEST_CASE("config: no file and empty files give the embedded defaults", "[conf]") {
  for (const std::string text : {"", "# only a comment\n", "milter:\ncache:\n", "---\n"}) {
    INFO(text);
    Loaded<Config> c = parse_config(text, "forcetls.yaml");
    CHECK(c.ok());
    CHECK(c.problems.empty());
    CHECK(c.value == Config{});
  }
  Config d;
  CHECK(d.milter.socket.spec() == "inet:8891@127.0.0.1");
  CHECK(d.milter.socket.is_local());
  CHECK(d.milter.miss_deadline < 30s);  // inside Postfix's milter_command_timeout
  CHECK(d.cache.path == "/var/lib/forcetls");
  CHECK(d.cache.ttl_eligible == 24h);
  CHECK(d.cache.ttl_unknown == 15min);
  CHECK(d.policy_file.empty());
}

TEST_CASE("config: values are read", "[conf]") {
  Loaded<Config> c = parse_config(R"(
milter:
  socket: unix:/run/forcetls/milter.sock
  on_miss: answer-now
  miss_deadline: 5s
  on_error: ACCEPT
  header: off
  header_name: X-TLS-Check
socketmap:
  socket: none
daemon: {user: mail, group: mail, pid_file: /run/forcetls.pid}
cache:
  max_size: 1G
  decoded_domains: 0
  ttl_eligible: 7d
  grace: 0s
checker:
  ehlo_name: Probe.Example.COM.
  concurrency: 4
  pause: 0s
  resolver: 127.0.0.1@5353
  allow_private: yes
  address_families: ipv4
log: {facility: local3, level: debug}
policy_file: /etc/forcetls/strict.yaml
)",
                                  "forcetls.yaml");
  INFO(problems_text(c.problems));
  REQUIRE(c.ok());
  const Config& v = c.value;
  CHECK(v.milter.socket.spec() == "unix:/run/forcetls/milter.sock");
  CHECK(v.milter.on_miss == MissBehaviour::answer_now);
  CHECK(v.milter.miss_deadline == 5s);
  CHECK(v.milter.on_error == forcetls::policy::Action::accept);
  CHECK_FALSE(v.milter.header);
  CHECK(v.milter.header_name == "X-TLS-Check");
  CHECK(v.socketmap.socket.kind == SocketAddress::Kind::none);
  CHECK(v.daemon.user == "mail");
  CHECK(v.daemon.pid_file == "/run/forcetls.pid");
  CHECK(v.cache.max_size == (1ULL << 30));
  CHECK(v.cache.decoded_domains == 0);
  CHECK(v.cache.ttl_eligible == 24h * 7);
  CHECK(v.cache.grace == 0s);
  CHECK(v.checker.ehlo_name == "probe.example.com");
  CHECK(v.checker.concurrency == 4);
  CHECK(v.checker.resolver == "127.0.0.1@5353");
  CHECK(v.checker.allow_private);
  CHECK(v.checker.address_families == AddressFamilies::ipv4);
  CHECK(v.log.facility == "local3");
  CHECK(v.log.level == forcetls::log::Level::debug);
  CHECK(v.policy_file == "/etc/forcetls/strict.yaml");
  // Untouched keys keep their defaults.
  CHECK(v.cache.ttl_unknown == 15min);
  CHECK(v.checker.connect_timeout == 10s);
}

TEST_CASE("config: checker.resolver_options, libunbound options in order", "[conf]") {
  using Options = std::vector<std::pair<std::string, std::string>>;
  CHECK(Config{}.checker.resolver_options.empty());  // unbound's own .test zone stays
  Loaded<Config> c = parse_config(R"(
checker:
  resolver_options:
    - local-zone: test. transparent
    - local-data: "mx.lab.test. 300 A 192.0.2.25"
    - do-ip6: no
    - cache-max-ttl: 3600
)",
                                  "forcetls.yaml");
  INFO(problems_text(c.problems));
  REQUIRE(c.ok());
  CHECK(c.value.checker.resolver_options == Options{{"local-zone", "test. transparent"},
                                                    {"local-data", "mx.lab.test. 300 A 192.0.2.25"},
                                                    {"do-ip6", "no"},
                                                    {"cache-max-ttl", "3600"}});
  for (const std::string empty :
       {"checker:\n  resolver_options: []\n", "checker:\n  resolver_options:\n"}) {
    Loaded<Config> e = parse_config(empty, "forcetls.yaml");
    CHECK(e.ok());
    CHECK(e.value.checker.resolver_options.empty());
  }

  struct Case {
    std::string label;
    std::string yaml;
    int line;
    int column;
    std::string message;
  };
  auto bad = GENERATE(values<Case>({
      {"a string, not a list", "checker:\n  resolver_options: \"local-zone: test. transparent\"\n",
       2, 21, "checker.resolver_options: expected a list of libunbound options (- name: value)"},
      {"a quoted entry", "checker:\n  resolver_options:\n    - \"local-zone: test. transparent\"\n",
       3, 7, "checker.resolver_options[0]: write one libunbound option as name: value, unquoted"},
      {"two keys in one entry", "checker:\n  resolver_options:\n    - {do-ip6: no, do-ip4: yes}\n",
       3, 7, "checker.resolver_options[0]: write one libunbound option as name: value"},
      {"a name libunbound cannot have",
       "checker:\n  resolver_options:\n    - do-ip6: no\n    - Local_Zone: test. static\n", 4, 7,
       "checker.resolver_options[1]: 'Local_Zone' is not a libunbound option name"},
      {"an option that touches DNSSEC",
       "checker:\n  resolver_options:\n    - do-ip6: no\n    - val-permissive-mode: yes\n", 4, 7,
       "checker.resolver_options[1]: 'val-permissive-mode' is not a resolver option forcetls lets "
       "set (nothing that touches DNSSEC validation)"},
      {"module-config", "checker:\n  resolver_options:\n    - module-config: iterator\n", 3, 7,
       "checker.resolver_options[0]: 'module-config' is not a resolver option forcetls lets set"},
      {"no value", "checker:\n  resolver_options:\n    - local-zone:\n", 3, 7,
       "checker.resolver_options[0].local-zone: expected the option's value, got nothing"},
      {"a list as value", "checker:\n  resolver_options:\n    - local-zone: [a, b]\n", 3, 19,
       "checker.resolver_options[0].local-zone: expected the option's value, got a list"},
  }));
  INFO(bad.label);
  Loaded<Config> got = parse_config(bad.yaml, "forcetls.yaml");
  INFO(problems_text(got.problems));
  CHECK_FALSE(got.ok());
  REQUIRE(got.problems.size() == 1);
  CHECK(got.problems.front().line == bad.line);
  CHECK(got.problems.front().column == bad.column);
  CHECK_THAT(got.problems.front().message, Catch::Contains(bad.message));
}

TEST_CASE("config: every validation error, with message and position", "[conf]") {
  struct Case {
    std::string label;
    std::string yaml;
    int line;
    int column;
    std::string message;  // a part of the message that must be there
  };
  auto c = GENERATE(values<Case>({
      {"unknown top-level key", "miltr:\n  socket: inet:1@127.0.0.1\n", 1, 1,
       "top level: unknown key 'miltr' (did you mean 'milter'? allowed: milter, socketmap, "
       "daemon, cache, checker, log, policy_file)"},
      {"unknown key in a section", "cache:\n  ttl_good: 24h\n", 2, 3,
       "cache: unknown key 'ttl_good' (allowed: path, max_size, ttl_eligible, ttl_ineligible, "
       "ttl_unknown, pin_for, pin_confirm_after, grace, decoded_domains)"},
      {"duplicate key", "log:\n  level: info\n  level: debug\n", 3, 3,
       "log: duplicate key 'level' (first at line 2)"},
      {"section is not a mapping", "milter: inet:8891@127.0.0.1\n", 1, 9,
       "milter: expected a mapping with keys socket, on_miss"},
      {"top level is a list", "- milter\n", 1, 1, "the file: expected a mapping with keys"},
      {"list where a string belongs", "daemon:\n  user: [a, b]\n", 2, 9,
       "daemon.user: expected a string, got a list"},
      {"bad boolean", "milter:\n  header: maybe\n", 2, 11,
       "milter.header: expected true or false, got 'maybe'"},
      {"boolean missing", "checker:\n  allow_private:\n", 2, 3,
       "checker.allow_private: expected true or false, got nothing"},
      {"bad number", "checker:\n  concurrency: many\n", 2, 16,
       "checker.concurrency: expected a whole number, got 'many'"},
      {"number out of range", "checker:\n  connections_per_address: 100\n", 2, 28,
       "checker.connections_per_address: 100 is outside 1-16"},
      {"duration without unit", "milter:\n  miss_deadline: 30\n", 2, 18,
       "milter.miss_deadline: bad duration '30': missing unit"},
      {"duration with bad unit", "cache:\n  ttl_unknown: 15x\n", 2, 16,
       "unknown unit 'x', expected a number with a unit: ms, s, m, h or d"},
      {"duration out of range", "milter:\n  miss_deadline: 1h\n", 2, 18,
       "milter.miss_deadline: 1h is outside 100ms to 10m"},
      {"bad size", "cache:\n  max_size: 512Q\n", 2, 13,
       "cache.max_size: bad size '512Q': unknown unit 'Q'"},
      {"size out of range", "cache:\n  max_size: 4K\n", 2, 13,
       "cache.max_size: 4K is outside 1M to 1T"},
      {"bad socket", "milter:\n  socket: inet:99999@127.0.0.1\n", 2, 11,
       "milter.socket: bad socket 'inet:99999@127.0.0.1': port 99999 is outside 1-65535"},
      {"socket syntax", "socketmap:\n  socket: 127.0.0.1:8892\n", 2, 11,
       "expected inet:PORT@HOST, inet6:PORT@HOST, unix:PATH or none"},
      {"milter socket none", "milter:\n  socket: none\n", 2, 11,
       "milter.socket: the milter needs a socket"},
      {"same socket twice", "socketmap:\n  socket: inet:8891@127.0.0.1\n", 2, 11,
       "socketmap.socket: inet:8891@127.0.0.1 is also the milter socket"},
      {"unknown on_miss", "milter:\n  on_miss: block\n", 2, 12,
       "milter.on_miss: unknown value 'block' (allowed: wait, answer-now)"},
      {"unknown on_error", "milter:\n  on_error: bounce\n", 2, 13,
       "milter.on_error: unknown value 'bounce' (allowed: tempfail, accept, reject)"},
      {"on_error that is no failure answer", "milter:\n  on_error: quarantine\n", 2, 13,
       "'quarantine' cannot stand for a failure (allowed: tempfail, accept, reject)"},
      {"bad header name", "milter:\n  header_name: \"X-Force TLS\"\n", 2, 16,
       "milter.header_name: 'X-Force TLS' is not a header field name"},
      {"bad map name", "socketmap:\n  name: \"for tls\"\n", 2, 9,
       "socketmap.name: 'for tls' is not a map name"},
      {"bad sts map name", "socketmap:\n  sts_name: \"s t s\"\n", 2, 13,
       "socketmap.sts_name: 's t s' is not a map name"},
      {"bad user name", "daemon:\n  user: \"-root\"\n", 2, 9,
       "daemon.user: '-root' is not a valid user or group name"},
      {"relative pid file", "daemon:\n  pid_file: run/forcetls.pid\n", 2, 13,
       "daemon.pid_file: 'run/forcetls.pid' must be an absolute path"},
      {"empty cache path", "cache:\n  path: \"\"\n", 2, 9, "cache.path: a path is required"},
      {"empty trust anchor", "checker:\n  trust_anchor:\n", 2, 3,
       "checker.trust_anchor: a path is required"},
      {"bad EHLO name", "checker:\n  ehlo_name: \"probe host\"\n", 2, 14,
       "checker.ehlo_name: invalid domain name \"probe host\": contains a space"},
      {"bad resolver", "checker:\n  resolver: dns.example\n", 2, 13,
       "checker.resolver: bad resolver 'dns.example'"},
      {"unknown address family", "checker:\n  address_families: ipv5\n", 2, 21,
       "unknown value 'ipv5' (allowed: auto, ipv4, ipv6, both)"},
      {"unknown facility", "log:\n  facility: kern\n", 2, 13,
       "log.facility: unknown facility 'kern' (allowed: mail, daemon, user, local0"},
      {"unknown level", "log:\n  level: loud\n", 2, 10,
       "log.level: unknown level 'loud' (allowed: debug, info, warning, error, fatal)"},
      {"key that is not a word", "? [a, b]\n: 1\n", 1, 3, "a key must be a plain word"},
      {"YAML syntax error", "milter:\n  socket: [inet:1@127.0.0.1\n", 3, 1,
       "YAML syntax error: end of sequence flow not found"},
      {"two documents", "milter: {}\n---\nlog: {}\n", 2, 1,
       "unexpected content after the first YAML document"},
      // yaml-cpp 0.7's LoadAll() loops forever on this (jbeder/yaml-cpp#1040).
      {"stray comma", ",\nmilter:\n  header: true\n", 1, 1,
       "unexpected content after the first YAML document"},
      {"NUL byte", std::string("milter:\0\n", 9), 0, 0, "contains a NUL byte"},
  }));
  INFO(c.label);
  Loaded<Config> got = parse_config(c.yaml, "forcetls.yaml");
  INFO(problems_text(got.problems));
  CHECK_FALSE(got.ok());
  REQUIRE(got.problems.size() == 1);
  const Problem& p = got.problems.front();
  CHECK(p.severity == Severity::error);
  CHECK(p.file == "forcetls.yaml");
  CHECK(p.line == c.line);
  CHECK(p.column == c.column);
  CHECK_THAT(p.message, Catch::Contains(c.message));
}

TEST_CASE("config: warnings do not make a file invalid", "[conf]") {
  struct Case {
    std::string yaml;
    std::string message;
  };
  auto c = GENERATE(values<Case>({
      {"milter:\n  miss_deadline: 30s\n", "reaches Postfix's default milter_command_timeout"},
      {"milter:\n  socket: inet:8891@192.0.2.1\n", "is reachable from other hosts"},
      {"socketmap:\n  socket: inet:8892\n", "is reachable from other hosts"},
  }));
  Loaded<Config> got = parse_config(c.yaml, "forcetls.yaml");
  CHECK(got.ok());
  REQUIRE(got.problems.size() == 1);
  CHECK(got.problems[0].severity == Severity::warning);
  CHECK(got.problems[0].line == 2);
  CHECK_THAT(got.problems[0].text(), Catch::StartsWith("forcetls.yaml:2:") &&
                                         Catch::Contains(": warning: ") &&
                                         Catch::Contains(c.message));
}

TEST_CASE("config: every problem is reported at once", "[conf]") {
  Loaded<Config> got = parse_config(
      "milter:\n  socket: inet:0@127.0.0.1\n  header: perhaps\ncache:\n  ttl_unknown: 15\n"
      "bogus: 1\nlog:\n  level: chatty\n",
      "forcetls.yaml");
  std::vector<int> lines;
  for (const Problem& p : got.problems) {
    lines.push_back(p.line);
  }
  CHECK(lines == std::vector<int>{2, 3, 5, 6, 8});
  CHECK(problems_text(got.problems).find("forcetls.yaml:3:11: error: milter.header") !=
        std::string::npos);
}

TEST_CASE("config: problems are capped", "[conf]") {
  std::string yaml = "checker:\n";
  for (int i = 0; i < 300; ++i) {
    yaml += "  bad_key_" + std::to_string(i) + ": 1\n";
  }
  Loaded<Config> got = parse_config(yaml, "forcetls.yaml");
  CHECK(got.problems.size() == kMaxProblems + 1);
  CHECK_THAT(got.problems.back().message, Catch::Contains("too many problems"));
}

TEST_CASE("hostile YAML gives an error, not a crash or a hang", "[conf]") {
  std::string deep_block;
  for (int i = 0; i < 5000; ++i) {
    deep_block += "- ";
  }
  deep_block += "x";
  std::string deep_map;
  for (int i = 0; i < 3000; ++i) {
    deep_map += std::string(static_cast<std::size_t>(i), ' ') + "a:\n";
  }
  // Billion laughs: aliases share nodes in yaml-cpp, and the loaders read a
  // fixed-depth schema, so this costs a handful of errors, not 10^9 visits.
  std::string laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'j'; ++c) {
    laughs += std::string(1, c) + ": &" + std::string(1, c) + " [";
    for (int i = 0; i < 10; ++i) {
      laughs += std::string(i ? ", " : "") + "*" + std::string(1, static_cast<char>(c - 1));
    }
    laughs += "]\n";
  }
  const std::string laughs_policy = laughs + "rules: *j\n";
  const std::string laughs_config = laughs + "milter: *j\n";
  for (const std::string& yaml :
       {std::string(100000, '['), std::string(100000, '{'), deep_block, deep_map,
        std::string("milter: &a [*a]\n"), std::string("rules: &a [*a]\n"),
        std::string("rules:\n  - domains: &d [*d]\n"), laughs_policy, laughs_config,
        std::string(kMaxFileSize + 1, ' ')}) {
    INFO(yaml.substr(0, 80));
    Loaded<Config> config = parse_config(yaml, "forcetls.yaml");
    CHECK_FALSE(config.ok());
    CHECK(config.problems.size() <= kMaxProblems + 1);
    Loaded<forcetls::policy::Policy> policy = parse_policy(yaml, "policy.yaml");
    CHECK_FALSE(policy.ok());
    CHECK(policy.problems.size() <= kMaxProblems + 1);
  }
}

TEST_CASE("load_config_file: file problems and relative paths", "[conf]") {
  TempDir dir;
  SECTION("missing file") {
    Loaded<Config> got = load_config_file((dir.path / "absent.yaml").string());
    REQUIRE(got.problems.size() == 1);
    CHECK_THAT(got.problems[0].text(),
               Catch::EndsWith("absent.yaml: error: cannot read: no such file"));
  }
  SECTION("relative policy and trust anchor are resolved beside the file") {
    dir.write("root.key", ". DS 20326 8 2 E06D...\n");
    std::string file = dir.write("forcetls.yaml",
                                 "policy_file: policy.yaml\nchecker:\n  trust_anchor: root.key\n");
    Loaded<Config> got = load_config_file(file);
    INFO(problems_text(got.problems));
    CHECK(got.ok());
    CHECK(got.value.policy_file == (dir.path / "policy.yaml").string());
    CHECK(got.value.checker.trust_anchor == (dir.path / "root.key").string());
    CHECK(got.keys_set ==
          std::vector<std::string>{"checker", "checker.trust_anchor", "policy_file"});
  }
  SECTION("a named trust anchor or CA file must exist") {
    std::string file = dir.write(
        "forcetls.yaml", "checker:\n  trust_anchor: /nonexistent/root.key\n  ca_file: ca.pem\n");
    Loaded<Config> got = load_config_file(file);
    REQUIRE(got.problems.size() == 2);
    CHECK(got.problems[0].text() ==
          file + ":2:3: error: checker.trust_anchor: no such file '/nonexistent/root.key'");
    CHECK(got.problems[1].line == 3);
    CHECK_THAT(got.problems[1].message, Catch::Contains("checker.ca_file: no such file"));
  }
}

TEST_CASE("load_setup: config, policy, defaults", "[conf]") {
  TempDir dir;
  SECTION("no file anywhere: embedded defaults and the built-in policy") {
    SetupOptions o;
    o.default_config_path = (dir.path / "none.yaml").string();
    Loaded<Setup> s = load_setup(o);
    CHECK(s.ok());
    CHECK(s.value.config == Config{});
    CHECK(s.value.config_source == "embedded defaults");
    CHECK(s.value.policy_source == "built-in");
    CHECK(s.value.policy->default_rule().options.mode == forcetls::policy::Mode::prefer);
  }
  SECTION("the default path is used when present") {
    dir.write("policy.yaml", "default:\n  mode: require\n");
    std::string file = dir.write("forcetls.yaml", "policy_file: policy.yaml\n");
    SetupOptions o;
    o.default_config_path = file;
    Loaded<Setup> s = load_setup(o);
    INFO(problems_text(s.problems));
    CHECK(s.ok());
    CHECK(s.value.config_source == file);
    CHECK(s.value.policy->default_rule().options.mode == forcetls::policy::Mode::require);
  }
  SECTION("problems of both files are collected") {
    std::string policy = dir.write("policy.yaml", "default:\n  mode: strict\n");
    std::string file =
        dir.write("forcetls.yaml", "policy_file: policy.yaml\nlog:\n  level: loud\n");
    SetupOptions o;
    o.config_file = file;
    Loaded<Setup> s = load_setup(o);
    REQUIRE(s.problems.size() == 2);
    CHECK(s.problems[0].file == file);
    CHECK(s.problems[0].line == 3);
    CHECK(s.problems[1].file == policy);
    CHECK(s.problems[1].line == 2);
  }
  SECTION("an explicit config file must exist") {
    SetupOptions o;
    o.config_file = (dir.path / "missing.yaml").string();
    CHECK_FALSE(load_setup(o).ok());
  }
  SECTION("--policy overrides the configured policy file") {
    std::string other = dir.write("other.yaml", "default: {mode: off}\n");
    std::string file = dir.write("forcetls.yaml", "policy_file: /nonexistent/policy.yaml\n");
    SetupOptions o;
    o.config_file = file;
    o.policy_file = other;
    Loaded<Setup> s = load_setup(o);
    CHECK(s.ok());
    CHECK(s.value.policy_source == other);
    CHECK(s.value.policy->default_rule().options.mode == forcetls::policy::Mode::off);
  }
}
