// SPDX-License-Identifier: Apache-2.0
// Lab tests of ProbeService's reuse of provider MX results: concurrent probes
// of domains sharing an address share one flight, and a finished domain's
// address results are reused before the refresh engine has stored them.
#include <catch2/catch.hpp>
#include <filesystem>
#include <future>
#include <thread>

#include "milter/service/probe_service.hpp"
#include "milter/service/setup.hpp"
#include "tests/lab/lab_env.hpp"
#include "tests/lab/lab_resolver.hpp"

using namespace forcetls;
using namespace forcetls::milter;
using namespace forcetls::labtest;

namespace {

struct Fixture {
  std::filesystem::path dir;
  conf::Config config;
  std::unique_ptr<cache::Store> store;

  Fixture() {
    char tmpl[] = "/tmp/forcetls-probe-service-XXXXXX";
    dir = mkdtemp(tmpl);
    config.cache.path = (dir / "cache").string();
    config.checker.resolver = env().resolver;
    config.checker.trust_anchor = env().trust_anchor;
    config.checker.resolver_options = {lab_resolver_option()};
    config.checker.ca_file = env().ca_file;
    config.checker.allow_private = true;  // the lab's MX hosts live on 127.0.0.x
    config.checker.pause = std::chrono::milliseconds(50);
    auto s = cache::Store::open(store_options(config));
    REQUIRE(s.has_value());
    store = std::move(*s);
  }
  ~Fixture() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  std::unique_ptr<ProbeService> service(std::chrono::milliseconds recent_window) {
    auto s = ProbeService::start(resolver_options(config),
                                 prober_options(config, "probe-service.lab.test"), store.get(),
                                 std::chrono::seconds(60), recent_window);
    REQUIRE(s.has_value());
    return std::move(*s);
  }
};

// Connections one probe of each of the report's addresses cost.
int probe_cost(const checker::DomainReport& r) {
  int n = 0;
  for (const checker::MxReport& mx : r.mx) {
    for (const checker::AddressReport& a : mx.addresses) {
      n += a.connections;
    }
  }
  return n;
}

}  // namespace

TEST_CASE("ProbeService reuses a finished domain's addresses before the store has them",
          "[milter][lab]") {
  struct Case {
    const char* label;
    std::chrono::milliseconds window;
    int want_reused;  // both provider addresses, or none
  };
  auto c = GENERATE(Case{"recent results on", ProbeService::kRecentWindow, 2},
                    Case{"recent results off", std::chrono::milliseconds(0), 0});
  INFO(c.label);
  Fixture f;
  auto service = f.service(c.window);
  // shared01.test and shared02.test share mx1/mx2.provider.test; nothing is
  // written to the store between the two probes (the engine has not yet).
  auto first = service->probe_sync("shared01.test");
  REQUIRE(first.has_value());
  REQUIRE(first->report.eligible == checker::Eligibility::eligible);
  const int after_first = service->connections();
  REQUIRE(after_first == probe_cost(first->report));
  auto second = service->probe_sync("shared02.test");
  REQUIRE(second.has_value());
  CHECK(second->report.eligible == checker::Eligibility::eligible);
  CHECK(service->reused() == c.want_reused);
  CHECK(service->reused_recent() == c.want_reused);
  if (c.want_reused > 0) {
    CHECK(service->connections() == after_first);
  } else {
    CHECK(service->connections() > after_first);
  }
}

TEST_CASE("ProbeService: concurrent domains sharing addresses cause one probe per address",
          "[milter][lab]") {
  Fixture f;
  auto service = f.service(ProbeService::kRecentWindow);
  std::vector<std::promise<cache::Probed>> promises(3);
  std::vector<std::future<cache::Probed>> futures;
  const char* domains[] = {"shared03.test", "shared04.test", "shared05.test"};
  for (std::size_t i = 0; i < promises.size(); ++i) {
    futures.push_back(promises[i].get_future());
    service->probe(domains[i],
                   [p = &promises[i]](cache::Probed probed) { p->set_value(std::move(probed)); });
  }
  std::vector<checker::DomainReport> reports;
  for (auto& fut : futures) {
    REQUIRE(fut.wait_for(std::chrono::seconds(120)) == std::future_status::ready);
    reports.push_back(fut.get().report);
  }
  for (const auto& r : reports) {
    CHECK(r.eligible == checker::Eligibility::eligible);
    CHECK(probe_cost(r) == probe_cost(reports[0]));
  }
  // The prober's single flight (kept only while running, remember_addresses
  // off) joined the three askers of each address: one probe's worth of
  // connections, and nothing came from the store or the recent results.
  CHECK(service->connections() == probe_cost(reports[0]));
  CHECK(service->reused() == 0);
}

TEST_CASE("ProbeService hands the cached MTA-STS policy to the prober (RFC 8461 5.1)",
          "[milter][lab]") {
  struct Case {
    const char* label;
    bool stored;  // the first report is in the cache when the domain is probed again
  };
  auto c = GENERATE(Case{"cached policy, unchanged id: reused", true},
                    Case{"nothing cached: fetched again", false});
  INFO(c.label);
  Fixture f;
  auto service = f.service(std::chrono::milliseconds(0));
  auto first = service->probe_sync("sts-enforce.test");
  REQUIRE(first.has_value());
  REQUIRE(first->report.mta_sts.mode == checker::StsMode::enforce);
  REQUIRE(first->report.mta_sts.fetched_at > 0);
  if (c.stored) {
    REQUIRE(f.store->put(first->report).has_value());
  }
  // fetched_at is in seconds: a refetch after this pause has a later one.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto second = service->probe_sync("sts-enforce.test");
  REQUIRE(second.has_value());
  CHECK(second->report.mta_sts.mode == checker::StsMode::enforce);
  CHECK(second->report.mta_sts_enforce == checker::Tri::yes);
  if (c.stored) {
    CHECK(second->report.mta_sts.fetched_at == first->report.mta_sts.fetched_at);
  } else {
    CHECK(second->report.mta_sts.fetched_at > first->report.mta_sts.fetched_at);
  }
}

TEST_CASE("ProbeService: a probe that throws ends at once as unknown, its callback called",
          "[milter][lab]") {
  // The prober's hook for cached address results throws on the server's
  // address: the exception must not hold the engine's slot until the probe
  // deadline (60 s here) nor leave the callback uncalled.
  Fixture f;
  checker::ProberOptions options = prober_options(f.config, "probe-service.lab.test");
  options.known_address = [](const std::string&, const std::string&,
                             std::uint16_t) -> std::optional<checker::AddressReport> {
    throw std::runtime_error("hook exploded");
  };
  auto s = ProbeService::start(resolver_options(f.config), std::move(options), nullptr,
                               std::chrono::seconds(60), std::chrono::milliseconds(0));
  REQUIRE(s.has_value());
  for (const char* key : {"[mx2.good.test]", "good.test"}) {
    INFO(key);
    auto r = (*s)->probe_sync(key);
    REQUIRE(r.has_value());  // without the callback: "did not finish" after 120 s
    CHECK(r->report.eligible == checker::Eligibility::unknown);
    CHECK(r->report.unknown_cause == checker::UnknownCause::probe_failure);
    REQUIRE_FALSE(r->report.reasons.empty());
    // Not the deadline's "probe-timeout": the probe's own failure, at once.
    CHECK(r->report.reasons.front().code == "probe-error");
    CHECK_THAT(r->report.reasons.front().detail, Catch::Contains("hook exploded"));
  }
}
