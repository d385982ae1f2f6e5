// SPDX-License-Identifier: Apache-2.0
// Tests for forcetls-ctl: the commands in-process (with reports built in
// code behind the ReportSource seam) and the built executable end to end.
#include "milter/ctl/ctl.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "milter/service/setup.hpp"
#include "tests/policy/report_builder.hpp"

using namespace forcetls::milter;
namespace t = forcetls::test;

namespace {

/// Reports held in memory, as the read-only cache gives them to explain.
class MemoryReports final : public forcetls::cache::Reports {
 public:
  struct Entry {
    forcetls::checker::DomainReport report;
    bool stale = false;
    std::int64_t age_seconds = 0;
  };
  void add(Entry e) {
    const std::string key = e.report.domain;
    entries_[key] = std::move(e);
  }
  using forcetls::cache::Reports::lookup;
  forcetls::cache::Lookup lookup(std::string_view domain, forcetls::cache::Priority) override {
    return peek(domain);
  }
  forcetls::cache::Lookup peek(std::string_view name) override {
    forcetls::cache::Lookup l;
    auto it = entries_.find(std::string(name));
    if (it != entries_.end()) {
      l.state =
          it->second.stale ? forcetls::cache::Freshness::stale : forcetls::cache::Freshness::fresh;
      l.report = std::make_shared<const forcetls::checker::DomainReport>(it->second.report);
      l.checked_at = std::time(nullptr) - it->second.age_seconds;
    }
    return l;
  }
  forcetls::Result<forcetls::checker::DomainReport> await_fresh(
      std::string_view domain, std::chrono::steady_clock::time_point) override {
    forcetls::cache::Lookup l = peek(domain);
    if (l.state != forcetls::cache::Freshness::fresh) {
      return forcetls::fail(forcetls::Errc::timeout, "not probed");
    }
    return *l.report;
  }
  std::string describe() const override { return "in-memory reports"; }

 private:
  std::map<std::string, Entry> entries_;
};

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/forcetls-ctl-test-XXXXXX";
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

const char* const kPolicy = R"(# test policy
default:
  mode: prefer
rules:
  - domains: [example.com, .example.com]
    mode: require
    on_ineligible: reject
  - domains: [held.example]
    mode: require
    on_ineligible: quarantine
)";

struct Run {
  int status;
  std::string out;
  std::string err;
};

Run run(const std::vector<std::string>& args, const TempDir& dir,
        std::unique_ptr<MemoryReports> reports = nullptr) {
  std::ostringstream out;
  std::ostringstream err;
  CtlEnv env{out, err};
  env.default_config_path = (dir.path / "no-such-config.yaml").string();
  if (reports) {
    std::shared_ptr<MemoryReports> shared(std::move(reports));
    env.open_reports = [shared](const forcetls::conf::Config&) {
      return std::make_unique<MemoryReports>(*shared);
    };
  }
  int status = run_ctl(args, env);
  return {status, out.str(), err.str()};
}

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l == line) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("ctl explain: a cached ineligible report under require", "[milter]") {
  TempDir dir;
  std::string policy = dir.write("policy.yaml", kPolicy);
  auto reports = std::make_unique<MemoryReports>();
  reports->add({t::ineligible_report("example.com"), false, 3 * 3600});
  Run r = run({"--policy", policy, "explain", "<Bob@Example.COM>"}, dir, std::move(reports));
  INFO(r.out << r.err);
  CHECK(r.status == kExitOk);
  CHECK(has_line(r.out, "domain:     example.com"));
  CHECK(has_line(r.out, "rule:       " + policy + ":5 (example.com): exact match example.com"));
  CHECK(has_line(r.out, "shadowed:   " + policy + ":2 (default): less specific"));
  CHECK_THAT(r.out, Catch::Contains("report:     cached 3h ago: grade F, 0 points, eligible no, "
                                    "reasons no-starttls(mx2.example.com)"));
  CHECK(has_line(r.out, "verdict:    ineligible"));
  CHECK(has_line(r.out, "action:     reject"));
  CHECK(has_line(r.out,
                 "reply:      550 5.7.4 Forced TLS: example.com is not eligible for TLS "
                 "delivery (no-starttls(mx2.example.com))"));
  CHECK(has_line(r.out, "header:     X-ForceTLS: example.com=ineligible(no-starttls)"));
  // The line the milter itself writes for this recipient.
  CHECK_THAT(r.out, Catch::Contains("log:        rcpt=<Bob@Example.COM> domain=example.com "
                                    "policy=require verdict=ineligible "
                                    "reason=no-starttls(mx2.example.com)"));
  CHECK_THAT(r.out, Catch::Contains(" cache=hit age=3h"));
}

TEST_CASE("ctl explain: not cached gives the milter's decision for a missing report", "[milter]") {
  TempDir dir;
  std::string policy = dir.write("policy.yaml", kPolicy);
  SECTION("wait (default)") {
    Run r = run({"--policy", policy, "explain", "alice@mx.sub.example.com"}, dir);
    INFO(r.out << r.err);
    CHECK(r.status == kExitOk);
    CHECK_THAT(r.out, Catch::Contains("(.example.com): mx.sub.example.com is below .example.com"));
    CHECK_THAT(r.out, Catch::Contains("report:     not cached"));
    CHECK(has_line(r.out, "verdict:    not-checked"));
    CHECK(has_line(r.out, "action:     tempfail"));
    CHECK(has_line(r.out,
                   "reply:      451 4.7.1 Forced TLS: mx.sub.example.com is being checked for "
                   "TLS support, try again later"));
    CHECK_THAT(r.out, Catch::Contains("waits up to 20s"));
  }
  SECTION("answer-now") {
    std::string config = dir.write("forcetls.yaml",
                                   "policy_file: policy.yaml\nmilter:\n"
                                   "  on_miss: answer-now\n  header: false\n");
    Run r = run({"--config", config, "explain", "held.example"}, dir);
    INFO(r.out << r.err);
    CHECK(r.status == kExitOk);
    CHECK_THAT(r.out, Catch::Contains("answers at once (on_miss answer-now)"));
    CHECK(has_line(r.out, "header:     none (milter.header is off)"));
  }
  SECTION("a cached eligible report passes") {
    auto reports = std::make_unique<MemoryReports>();
    reports->add({t::eligible_report("example.com"), true, 90000});
    Run r = run({"--policy", policy, "explain", "bob@example.com"}, dir, std::move(reports));
    CHECK(has_line(r.out, "verdict:    eligible"));
    CHECK(has_line(r.out, "action:     accept"));
    CHECK_THAT(r.out, Catch::Contains("cached 25h ago (stale: a refresh would be queued)"));
    CHECK_FALSE(Catch::Contains("reply:").match(r.out));
  }
}

TEST_CASE("ctl explain: scope and sender options", "[milter]") {
  TempDir dir;
  std::string policy = dir.write("policy.yaml", R"(
scope: {mail: outbound}
rules:
  - domains: [example.com]
    mode: require
  - domains: [example.com]
    senders: [lab.example]
    mode: off
)");
  Run out_of_scope = run({"--policy", policy, "explain", "bob@example.com"}, dir);
  CHECK_THAT(out_of_scope.out, Catch::Contains("OUT OF SCOPE"));
  CHECK(has_line(out_of_scope.out, "report:     not needed (out of scope)"));
  CHECK(has_line(out_of_scope.out, "action:     accept"));

  Run sender = run({"--policy", policy, "explain", "--sender", "eve@Lab.Example", "--daemon-name",
                    "ORIGINATING", "bob@example.com"},
                   dir);
  INFO(sender.out << sender.err);
  CHECK_THAT(sender.out, Catch::Contains("-> in scope"));
  CHECK_THAT(sender.out, Catch::Contains("sender domain lab.example matches lab.example"));
  CHECK(has_line(sender.out, "report:     not needed (mode off)"));
}

TEST_CASE("ctl: usage and input errors", "[milter]") {
  TempDir dir;
  struct Case {
    std::vector<std::string> args;
    int want;
  };
  auto c = GENERATE(values<Case>({
      {{}, kExitUsage},
      {{"frobnicate"}, kExitUsage},
      {{"config"}, kExitUsage},
      {{"config", "check", "a", "b"}, kExitUsage},
      {{"explain"}, kExitUsage},
      {{"explain", "--user"}, kExitUsage},
      {{"explain", "--bogus", "a@b.example"}, kExitUsage},
      {{"--config"}, kExitUsage},
      {{"--help"}, kExitOk},
      {{"explain", "bob@[192.0.2.1]"}, kExitProblem},
      {{"explain", "bob@"}, kExitProblem},
      {{"config", "check", "/nonexistent/forcetls.yaml"}, kExitProblem},
  }));
  Run r = run(c.args, dir);
  INFO(r.out << r.err);
  CHECK(r.status == c.want);
}

TEST_CASE("ctl: --help and --version answer on stdout and exit 0", "[milter]") {
  TempDir dir;
  for (const char* help : {"--help", "-h"}) {
    Run r = run({help}, dir);
    INFO(help);
    CHECK(r.status == kExitOk);
    CHECK_THAT(r.out, Catch::StartsWith("usage: forcetls-ctl [--config FILE] [--policy FILE] "
                                        "COMMAND ...\n       forcetls-ctl --help | --version\n"));
    CHECK(r.err.empty());
  }
  Run v = run({"--version"}, dir);
  CHECK(v.status == kExitOk);
  CHECK(v.out == std::string("forcetls-ctl ") + FORCETLS_VERSION + "\n");
  CHECK_THAT(v.out, Catch::Matches("forcetls-ctl [0-9]+\\.[0-9]+\\.[0-9]+\n"));
  CHECK(v.err.empty());
  // Before the command, like --config; a command's own arguments are not it.
  CHECK(run({"--config", "x.yaml", "--version"}, dir).out == v.out);
}

namespace {

/// Runs the built forcetls-ctl; stdout and stderr together.
Run run_binary(const std::string& args) {
  std::string command = std::string(FORCETLS_CTL_PATH) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) {
    out.append(buf, n);
  }
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, ""};
}

}  // namespace

TEST_CASE("forcetls-ctl binary: config check and explain", "[milter]") {
  TempDir dir;
  const std::string sample = std::string(FORCETLS_SOURCE_DIR) + "/conf/forcetls.yaml";
  SECTION("the shipped sample passes") {
    Run r = run_binary("config check " + sample);
    INFO(r.out);
    CHECK(r.status == 0);
    CHECK(has_line(r.out, sample + ": ok (milter inet:8891@127.0.0.1, socketmap "
                                   "inet:8892@127.0.0.1)"));
    CHECK_THAT(r.out, Catch::Contains("conf/policy.yaml: ok (5 rules, default prefer"));
  }
  SECTION("a bad configuration and a bad policy: every problem on its own line") {
    dir.write("policy.yaml", "default:\n  mode: enforce\nrules:\n  - domains: [\"*.x.example\"]\n");
    std::string bad = dir.write("forcetls.yaml",
                                "milter:\n  socket: inet:99999@127.0.0.1\n  miss_deadline: 45s\n"
                                "policy_file: policy.yaml\n");
    Run r = run_binary("config check " + bad);
    INFO(r.out);
    CHECK(r.status == 1);
    const std::string policy = (dir.path / "policy.yaml").string();
    CHECK(has_line(r.out, bad + ":2:11: error: milter.socket: bad socket 'inet:99999@127.0.0.1': "
                                "port 99999 is outside 1-65535"));
    CHECK_THAT(r.out, Catch::Contains(bad + ":3:18: warning: milter.miss_deadline: 45s reaches"));
    CHECK(has_line(r.out, policy + ":2:9: error: default.mode: unknown value 'enforce' (allowed: "
                                   "require, prefer, off)"));
    CHECK_THAT(r.out, Catch::Contains(policy + ":4:15: error: rules[0].domains: '*.x.example'"));
    CHECK(has_line(r.out, "3 errors, 1 warning: the daemon would refuse this configuration"));
  }
  SECTION("explain with the sample") {
    Run r = run_binary("--config " + sample + " explain bob@a.partner.example");
    INFO(r.out);
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("(.partner.example): a.partner.example is below "
                                      ".partner.example (longest matching suffix)"));
    CHECK(has_line(r.out, "report:     not cached [no cache (not built yet)]"));
    CHECK(has_line(r.out, "action:     tempfail"));
  }
  SECTION("usage") {
    Run r = run_binary("no-such-command");
    CHECK(r.status == 2);
    CHECK_THAT(r.out, Catch::Contains("usage: forcetls-ctl"));
  }
  SECTION("--version and --help") {
    Run v = run_binary("--version");
    CHECK(v.status == 0);
    CHECK(v.out == std::string("forcetls-ctl ") + FORCETLS_VERSION + "\n");
    Run h = run_binary("--help");
    CHECK(h.status == 0);
    CHECK_THAT(h.out, Catch::StartsWith("usage: forcetls-ctl "));
  }
}

TEST_CASE("ctl explain: an unreadable address is decided as the milter decides it", "[milter]") {
  TempDir dir;
  // Under a `require` default the milter refuses an address without a
  // checkable domain with 5.1.3; under `prefer` it lets it pass. It never
  // applies milter.on_error to it (that is for internal failures).
  SECTION("require") {
    std::string policy = dir.write("policy.yaml", "default:\n  mode: require\n");
    Run r = run({"--policy", policy, "explain", "<bob@[192.0.2.1]>"}, dir);
    INFO(r.out << r.err);
    CHECK(r.status == kExitProblem);
    CHECK_THAT(r.out, Catch::Contains("domain:     none ("));
    CHECK(has_line(r.out, "action:     reject"));
    CHECK_THAT(r.out,
               Catch::Contains("reply:      550 5.1.3 Forced TLS: recipient <bob@[192.0.2.1]> "
                               "has no domain that can be checked"));
    CHECK_THAT(r.out, Catch::Contains("reason=bad-address"));
    CHECK_FALSE(Catch::Contains("on_error").match(r.out));
  }
  SECTION("prefer") {
    std::string policy = dir.write("policy.yaml", "default:\n  mode: prefer\n");
    Run r = run({"--policy", policy, "explain", "<bob@>"}, dir);
    INFO(r.out << r.err);
    CHECK(has_line(r.out, "action:     accept"));
    CHECK_FALSE(Catch::Contains("reply:").match(r.out));
    CHECK_FALSE(Catch::Contains("on_error").match(r.out));
  }
}

TEST_CASE("forcetls-ctl binary as root: a cache it creates belongs to daemon.user", "[milter]") {
  if (::geteuid() != 0) {
    WARN("not root: nothing to check");
    return;
  }
  TempDir dir;
  ::chmod(dir.path.c_str(), 0755);  // daemon.user must reach cache.path, as under /var/lib
  const std::filesystem::path cache = dir.path / "cache";
  std::string config = dir.write(
      "forcetls.yaml", "daemon:\n  user: nobody\ncache:\n  path: " + cache.string() + "\n");
  Run r = run_binary("--config " + config + " cache purge --all");
  INFO(r.out);
  REQUIRE(r.status == 0);
  const passwd* nobody = ::getpwnam("nobody");
  REQUIRE(nobody != nullptr);
  for (const std::filesystem::path& p : {cache, cache / "data.mdb", cache / "lock.mdb"}) {
    struct stat st {};
    INFO(p);
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    CHECK(st.st_uid == nobody->pw_uid);
  }
  SECTION("LMDB files that link elsewhere: root's read refuses them, the target untouched") {
    const std::filesystem::path victim = dir.path / "victim";
    std::ofstream(victim) << "secret\n";
    const bool hard = GENERATE(false, true);
    const std::filesystem::path file = cache / (hard ? "data.mdb" : "lock.mdb");
    std::filesystem::remove(file);
    if (hard) {
      std::filesystem::create_hard_link(victim, file);
    } else {
      std::filesystem::create_symlink(victim, file);
    }
    Run bad = run_binary("--config " + config + " cache stats");
    INFO(bad.out);
    CHECK(bad.status != 0);
    CHECK_THAT(bad.out, Catch::Contains(hard ? "not a plain file with a single link"
                                             : "is a symbolic link"));
    std::ifstream in(victim);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(content == "secret\n");
    struct stat st {};
    REQUIRE(::stat(victim.c_str(), &st) == 0);
    CHECK(st.st_uid == 0);
    CHECK(st.st_size == 7);
  }
  SECTION("a cache.path that is a symbolic link: refused, its target untouched") {
    const std::filesystem::path target = dir.path / "target";
    std::filesystem::create_directory(target);
    const std::filesystem::path link = dir.path / "linked";
    std::filesystem::create_directory_symlink(target, link);
    std::string linked = dir.write(
        "linked.yaml", "daemon:\n  user: nobody\ncache:\n  path: " + link.string() + "\n");
    Run bad = run_binary("--config " + linked + " cache purge --all");
    INFO(bad.out);
    CHECK(bad.status != 0);
    CHECK_THAT(bad.out, Catch::Contains("is a symbolic link or not a directory"));
    struct stat st {};
    REQUIRE(::stat(target.c_str(), &st) == 0);
    CHECK(st.st_uid == 0);
    CHECK_FALSE(std::filesystem::exists(target / "data.mdb"));
  }
}

TEST_CASE(
    "AsCacheOwner: root opens the cache with its owner's rights, so a planted link "
    "reaches nothing only root may write",
    "[milter]") {
  if (::geteuid() != 0) {
    WARN("not root: nothing to check");
    return;
  }
  TempDir dir;
  ::chmod(dir.path.c_str(), 0755);
  const passwd* nobody = ::getpwnam("nobody");
  REQUIRE(nobody != nullptr);
  const forcetls::milter::DaemonIds ids{nobody->pw_uid, nobody->pw_gid};
  const std::filesystem::path cache = dir.path / "cache";
  std::filesystem::create_directory(cache);
  REQUIRE(::chown(cache.c_str(), ids.uid, ids.gid) == 0);
  const std::filesystem::path victim = dir.path / "victim";
  std::ofstream(victim) << "secret\n";
  ::chmod(victim.c_str(), 0600);
  // Planted after any check: the lock file is a link to root's file.
  std::filesystem::create_symlink(victim, cache / "lock.mdb");
  {
    const forcetls::milter::AsCacheOwner as_owner(cache.string(), ids);
    REQUIRE(as_owner.ok());
    CHECK(::geteuid() == ids.uid);
    const int fd = ::open((cache / "lock.mdb").c_str(), O_RDWR);
    const int err = errno;
    CHECK(fd < 0);
    CHECK(err == EACCES);
    if (fd >= 0) {
      ::close(fd);
    }
  }
  CHECK(::geteuid() == 0);
  CHECK(::getegid() == 0);
  // A directory the daemon user does not own: nothing changes.
  {
    const forcetls::milter::AsCacheOwner as_owner(dir.path.string(), ids);
    CHECK(as_owner.ok());
    CHECK(::geteuid() == 0);
  }
  // Not the daemon user at all: nothing changes either.
  {
    const forcetls::milter::AsCacheOwner as_owner(cache.string(), std::nullopt);
    CHECK(::geteuid() == 0);
  }
}

TEST_CASE("store_options: the cache section reaches the store", "[milter]") {
  forcetls::conf::Config config;
  CHECK(store_options(config).decoded_domains == 20'000);
  config.cache.decoded_domains = 0;
  config.cache.max_size = 1ULL << 30;
  const forcetls::cache::StoreOptions o = store_options(config);
  CHECK(o.decoded_domains == 0);
  CHECK(o.max_map_size == (1ULL << 30));
}
