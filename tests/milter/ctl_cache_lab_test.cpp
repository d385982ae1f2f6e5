// SPDX-License-Identifier: Apache-2.0
// Lab test of `forcetls-ctl cache ...` and `explain` over a real LMDB cache
// filled by real probes of lab personalities (inside the lab's namespace).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "milter/ctl/ctl.hpp"
#include "milter/ctl/ctl_cache.hpp"
#include "milter/service/probe_service.hpp"
#include "milter/service/setup.hpp"
#include "tests/lab/lab_env.hpp"
#include "tests/lab/lab_resolver.hpp"

using namespace forcetls::milter;
using namespace forcetls::labtest;

namespace {

struct Ctl {
  std::filesystem::path dir;
  std::string config;

  Ctl() {
    char tmpl[] = "/tmp/forcetls-ctl-lab-XXXXXX";
    dir = mkdtemp(tmpl);
    config = (dir / "forcetls.yaml").string();
    std::ofstream(config) << "cache:\n  path: " << (dir / "cache").string() << "\nchecker:\n"
                          << checker_resolver_yaml() << "  ca_file: " << env().ca_file
                          << "\n  allow_private: true\n  ehlo_name: ctl.lab.test\n  pause: 50ms\n";
  }
  ~Ctl() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  struct Out {
    int status;
    std::string out;
    std::string err;
  };
  Out operator()(std::vector<std::string> args) const {
    std::ostringstream out;
    std::ostringstream err;
    CtlEnv e{out, err};
    e.open_reports = open_cache_reports;
    args.insert(args.begin(), {"--config", config});
    int status = run_ctl(args, e);
    return {status, out.str(), err.str()};
  }
};

}  // namespace

TEST_CASE("forcetls-ctl cache: refresh, list, show, stats, export, import, purge",
          "[milter][lab]") {
  Ctl ctl;
  CHECK(ctl({"cache", "list"}).status != 0);  // no cache yet: a clear error
  auto good = ctl({"cache", "refresh", "--now", "good.test"});
  INFO(good.err);
  REQUIRE(good.status == 0);
  CHECK_THAT(good.out, Catch::Contains("ELIGIBLE for Forced TLS"));
  REQUIRE(ctl({"cache", "refresh", "--now", "notls.test"}).status == 0);

  auto list = ctl({"cache", "list"});
  CHECK_THAT(list.out, Catch::Contains("good.test") && Catch::Contains("notls.test"));
  auto ineligible = ctl({"cache", "list", "--ineligible"});
  CHECK_THAT(ineligible.out, Catch::Contains("notls.test"));
  CHECK_THAT(ineligible.out, !Catch::Contains("good.test"));

  auto show = ctl({"cache", "show", "notls.test"});
  CHECK(show.status == 0);
  CHECK_THAT(show.out, Catch::Contains("no-starttls(mx.notls.test)"));
  CHECK(ctl({"cache", "show", "tls10.test"}).status != 0);  // not cached

  auto stats = ctl({"cache", "stats"});
  CHECK_THAT(stats.out, Catch::Contains("domains: 2"));

  // explain reads the cache.
  auto explain = ctl({"explain", "bob@notls.test"});
  CHECK_THAT(explain.out, Catch::Contains("verdict:    ineligible"));
  CHECK_THAT(explain.out, Catch::Contains("LMDB cache"));

  // export, purge everything, import: the same domains come back.
  auto exported = ctl({"cache", "export"});
  REQUIRE(exported.status == 0);
  std::string file = (ctl.dir / "export.jsonl").string();
  std::ofstream(file) << exported.out << "this is not JSON\n";
  CHECK_THAT(ctl({"cache", "purge", "--all"}).out, Catch::Contains("purged 2 domains"));
  CHECK_THAT(ctl({"cache", "list"}).out, !Catch::Contains("good.test"));
  auto imported = ctl({"cache", "import", file});
  CHECK(imported.status != 0);  // the bad line is reported ...
  CHECK_THAT(imported.err, Catch::Contains("line 3"));
  CHECK_THAT(imported.out, Catch::Contains("imported 2 domains"));  // ... the rest imported
  CHECK_THAT(ctl({"cache", "list"}).out, Catch::Contains("good.test"));

  CHECK(ctl({"cache", "purge", "good.test"}).status == 0);
  CHECK(ctl({"cache", "purge", "good.test"}).status != 0);  // already gone
  CHECK(ctl({"cache", "bogus"}).status == kExitUsage);
}

TEST_CASE("ProbeService reuses fresh provider MX results from the cache across domains",
          "[milter][lab]") {
  Ctl ctl;
  forcetls::conf::Config config;
  config.cache.path = (ctl.dir / "cache").string();
  config.checker.resolver = env().resolver;
  config.checker.trust_anchor = env().trust_anchor;
  config.checker.resolver_options = {lab_resolver_option()};
  config.checker.ca_file = env().ca_file;
  config.checker.allow_private = true;
  config.checker.pause = std::chrono::milliseconds(50);
  auto store = forcetls::cache::Store::open(store_options(config));
  REQUIRE(store.has_value());
  auto service =
      ProbeService::start(resolver_options(config), prober_options(config, "ctl.lab.test"),
                          store->get(), std::chrono::seconds(60));
  REQUIRE(service.has_value());
  auto first = (*service)->probe_sync("shared01.test");
  REQUIRE(first.has_value());
  REQUIRE((*store)->put(first->report).has_value());
  int after_first = (*service)->connections();
  CHECK(after_first > 0);
  CHECK((*service)->reused() == 0);
  auto second = (*service)->probe_sync("shared02.test");
  REQUIRE(second.has_value());
  CHECK(second->report.eligible == forcetls::checker::Eligibility::eligible);
  // Both provider MX addresses came from the cache: no new connection.
  CHECK((*service)->reused() == 2);
  CHECK((*service)->connections() == after_first);
}
