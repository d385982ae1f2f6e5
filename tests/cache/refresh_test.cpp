// SPDX-License-Identifier: Apache-2.0
// Tests for cache/refresh: single flight, priorities, bounded concurrency,
// results stored before waiters wake, timeouts, background scans (fixed
// clock), and a probe that throws or answers twice. Catch2 assertions are not
// thread-safe: threads record what they saw, the main thread asserts.
#include "cache/refresh.hpp"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <functional>
#include <latch>
#include <mutex>
#include <optional>
#include <thread>

#include "cache_fixtures.hpp"

using namespace forcetls;
using namespace forcetls::cache;
using namespace forcetls::cache::test;
using namespace std::chrono_literals;

namespace {

/// A prober the test drives: records calls, completes them on request (or
/// at once, with `automatic`).
class TestProber {
 public:
  explicit TestProber(bool automatic = false) : automatic_(automatic) {}

  ProbeFn fn() {
    return [this](const std::string& domain, ProbeDone done) {
      {
        std::lock_guard lock(mu_);
        calls_.push_back(domain);
        if (!automatic_) {
          pending_.emplace_back(domain, std::move(done));
        }
        cv_.notify_all();
      }
      if (automatic_) {
        done({result_for(domain), std::nullopt});
      }
    };
  }

  static checker::DomainReport result_for(const std::string& domain) {
    return simple(domain, good_address("192.0.2.1"), "mx." + domain);
  }

  bool wait_calls(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return calls_.size() >= n; });
  }
  std::vector<std::string> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  /// Completes the pending probe of `domain` from this thread.
  bool complete(const std::string& domain, Probed result) {
    ProbeDone done;
    {
      std::lock_guard lock(mu_);
      for (auto it = pending_.begin(); it != pending_.end(); ++it) {
        if (it->first == domain) {
          done = std::move(it->second);
          pending_.erase(it);
          break;
        }
      }
    }
    if (!done) {
      return false;
    }
    done(std::move(result));
    return true;
  }
  bool complete(const std::string& domain) {
    return complete(domain, {result_for(domain), std::nullopt});
  }
  ProbeDone take(const std::string& domain) {
    std::lock_guard lock(mu_);
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if (it->first == domain) {
        ProbeDone d = std::move(it->second);
        pending_.erase(it);
        return d;
      }
    }
    return {};
  }

 private:
  bool automatic_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> calls_;
  std::vector<std::pair<std::string, ProbeDone>> pending_;
};

struct Fixture {
  TempDir dir;
  FakeClock clock;
  std::unique_ptr<Store> store;
  explicit Fixture(Ttls ttls = {}) {
    StoreOptions o = options_for(dir.sub("c"), clock);
    o.ttls = ttls;
    auto s = Store::open(o);
    REQUIRE(s);
    store = std::move(*s);
  }
};

auto soon(std::chrono::milliseconds d = 5s) { return std::chrono::steady_clock::now() + d; }

/// Polls `done` until it holds or `timeout` passes; true if it held. For
/// states the engine reports only through stats().
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

}  // namespace

TEST_CASE("refresh: ten waiters on one unknown domain cause one probe", "[cache]") {
  Fixture f;
  TestProber prober;
  RefreshEngine engine(*f.store, prober.fn());
  engine.start();
  std::atomic<int> ok{0};
  std::atomic<int> stored_first{0};
  std::latch started(10);
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&] {
      started.count_down();
      auto r = engine.await_fresh("New.Test", soon(30s));
      if (r && r->domain == "new.test" && r->eligible == checker::Eligibility::eligible) {
        ++ok;
      }
      // The result was in the store before this waiter woke.
      if (f.store->peek("new.test").state == Freshness::fresh) {
        ++stored_first;
      }
    });
  }
  started.wait();
  // No REQUIRE while the threads run: a failure must still join them.
  const bool called = prober.wait_calls(1);
  // All ten are in the flight once each was counted (a waiter enqueues and
  // starts waiting under one lock hold), however slowly the threads start.
  const bool joined = eventually([&] {
    EngineStats s = engine.stats();
    return s.requests + s.coalesced == 10;
  });
  bool completed = false;
  std::thread completer([&] { completed = prober.complete("new.test"); });
  completer.join();
  for (auto& t : threads) {
    t.join();
  }
  REQUIRE(called);
  REQUIRE(joined);
  CHECK(completed);
  CHECK(ok == 10);
  CHECK(stored_first == 10);
  CHECK(prober.calls() == std::vector<std::string>{"new.test"});
  EngineStats s = engine.stats();
  CHECK(s.probes_started == 1);
  CHECK(s.probes_done == 1);
  CHECK(s.requests + s.coalesced == 10);

  // Now it is fresh: no probe at all.
  auto again = engine.await_fresh("new.test", soon());
  REQUIRE(again);
  CHECK(prober.calls().size() == 1);
}

TEST_CASE("refresh: waiting senders go before background refreshes", "[cache]") {
  Fixture f;
  TestProber prober(/*automatic=*/true);
  RefreshEngine engine(*f.store, prober.fn(), {.max_in_flight = 1});
  // Queued before the engine runs, in this order.
  REQUIRE(engine.request_refresh("bg1.test"));
  REQUIRE(engine.request_refresh("bg2.test"));
  REQUIRE(engine.request_refresh("w1.test", Priority::waiting));
  REQUIRE(engine.request_refresh("bg3.test"));
  REQUIRE(engine.request_refresh("w2.test", Priority::waiting));
  REQUIRE(engine.request_refresh("bg3.test", Priority::waiting));  // promoted
  REQUIRE(engine.request_refresh("bg1.test"));                     // joins, no change
  engine.start();
  REQUIRE(prober.wait_calls(5));
  using V = std::vector<std::string>;
  CHECK(prober.calls() == V{"w1.test", "w2.test", "bg3.test", "bg1.test", "bg2.test"});
  EngineStats s = engine.stats();
  CHECK(s.probes_started == 5);
  CHECK(s.coalesced == 2);
}

TEST_CASE("refresh: at most max_in_flight probes run at once", "[cache]") {
  Fixture f;
  TestProber prober;
  RefreshEngine engine(*f.store, prober.fn(), {.max_in_flight = 3});
  for (int i = 0; i < 10; ++i) {
    REQUIRE(engine.request_refresh("d" + std::to_string(i) + ".test"));
  }
  engine.start();
  REQUIRE(prober.wait_calls(3));
  std::this_thread::sleep_for(100ms);
  CHECK(prober.calls().size() == 3);
  CHECK(engine.stats().running == 3);
  CHECK(engine.stats().queued_background == 7);
  REQUIRE(prober.complete("d1.test"));
  REQUIRE(prober.wait_calls(4));
  std::this_thread::sleep_for(50ms);
  CHECK(prober.calls().size() == 4);
  CHECK(prober.calls()[3] == "d3.test");
}

TEST_CASE("refresh: a deadline passes, a silent probe is abandoned", "[cache]") {
  Fixture f;
  TestProber prober;
  RefreshEngine engine(*f.store, prober.fn(), {.probe_timeout = 200ms, .retry_backoff = 300});
  engine.start();
  auto r = engine.await_fresh("slow.test", soon(100ms));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::timeout);

  // The probe never answers: after probe_timeout the flight is given up.
  // (The engine may call the prober after the waiter's deadline: wait for it.)
  REQUIRE(prober.wait_calls(1));
  ProbeDone late = prober.take("slow.test");
  REQUIRE(late);
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while (engine.stats().probes_abandoned == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(engine.stats().probes_abandoned == 1);
  CHECK(engine.stats().running == 0);

  // Its late answer is ignored, not stored.
  late({TestProber::result_for("slow.test"), std::nullopt});
  std::this_thread::sleep_for(50ms);
  CHECK(f.store->peek("slow.test").miss == Miss::absent);

  // Background retries wait for the backoff; a waiting sender does not.
  CHECK_FALSE(engine.request_refresh("slow.test"));
  CHECK(engine.stats().dropped == 1);
  f.clock.advance(301);
  CHECK(engine.request_refresh("slow.test"));
}

TEST_CASE("refresh: a probe that throws fails its waiters at once", "[cache]") {
  Fixture f;
  RefreshEngine engine(
      *f.store, [](const std::string&, ProbeDone) { throw std::runtime_error("no resolver"); });
  engine.start();
  auto start = std::chrono::steady_clock::now();
  auto r = engine.await_fresh("x.test", soon(120s));
  REQUIRE_FALSE(r);
  // Long before the deadline, with room for a loaded machine.
  CHECK(std::chrono::steady_clock::now() - start < 60s);
  CHECK(engine.stats().probes_abandoned == 1);
}

TEST_CASE("refresh: done twice stores once; DNS TTL and domain are honoured", "[cache]") {
  Fixture f;
  TestProber prober;
  RefreshEngine engine(*f.store, prober.fn());
  engine.start();
  bool waiter_ok = false;
  std::thread waiter([&] { waiter_ok = engine.await_fresh("ttl.test", soon(30s)).has_value(); });
  REQUIRE(prober.wait_calls(1));
  ProbeDone done = prober.take("ttl.test");
  REQUIRE(done);
  // The prober spelled the domain differently: it is stored as asked.
  auto report = TestProber::result_for("TTL.test.");
  done({report, 120});
  done({report, 5});  // ignored
  waiter.join();
  CHECK(waiter_ok);
  std::this_thread::sleep_for(50ms);
  Lookup l = f.store->peek("ttl.test");
  REQUIRE(l.state == Freshness::fresh);
  CHECK(l.expires_at == f.clock.now() + 120);
  CHECK(engine.stats().probes_done == 1);
}

TEST_CASE("refresh: lookup queues a refresh when not fresh", "[cache]") {
  Fixture f;
  TestProber prober;
  RefreshEngine engine(*f.store, prober.fn());  // not started: requests stay queued
  REQUIRE(f.store->put(TestProber::result_for("fresh.test")));
  REQUIRE(f.store->put(TestProber::result_for("stale.test")));
  REQUIRE(f.store->invalidate("stale.test"));

  CHECK(engine.lookup("fresh.test").state == Freshness::fresh);
  CHECK(engine.stats().queued_background == 0);
  Lookup stale = engine.lookup("stale.test");
  CHECK(stale.state == Freshness::stale);
  CHECK(stale.report->eligible == checker::Eligibility::eligible);  // still usable
  CHECK(engine.stats().queued_background == 1);
  CHECK(engine.lookup("absent.test").state == Freshness::missing);
  CHECK(engine.stats().queued_background == 2);
  engine.lookup("stale.test");
  CHECK(engine.stats().queued_background == 2);  // joined
  CHECK_FALSE(engine.request_refresh("bad name"));
}

TEST_CASE("refresh: background scan refreshes used entries near expiry only", "[cache]") {
  Fixture f(Ttls{.good = 1000, .ineligible = 1000, .unknown = 1000, .grace = 100});
  TestProber prober(/*automatic=*/true);
  RefreshEngine engine(
      *f.store, prober.fn(),
      {.refresh_ahead = 0.1, .idle_after = 86400, .scan_interval = std::chrono::hours(1)});
  const std::int64_t t0 = f.clock.now();
  REQUIRE(f.store->put(TestProber::result_for("hot.test"), {.last_used = t0}));
  REQUIRE(f.store->put(TestProber::result_for("forgotten.test"), {.last_used = t0 - 2 * 86400}));
  engine.start();

  f.clock.set(t0 + 500);
  CHECK(engine.scan_now() == 0);  // too early for anyone
  f.clock.set(t0 + 950);          // last tenth of the lifetime
  CHECK(engine.scan_now() == 1);
  REQUIRE(prober.wait_calls(1));
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while (f.store->peek("hot.test").checked_at != t0 + 950 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(f.store->peek("hot.test").expires_at == t0 + 950 + 1000);
  CHECK(prober.calls() == std::vector<std::string>{"hot.test"});
  // The forgotten one expires on its own.
  f.clock.set(t0 + 1200);
  CHECK(engine.scan_now() == 0);
  CHECK(f.store->peek("forgotten.test").state == Freshness::missing);

  // A use noted by lookup (flushed by the scan) brings a domain back into
  // the refresh set.
  REQUIRE(f.store->put(TestProber::result_for("revived.test"), {.last_used = t0 - 2 * 86400}));
  f.clock.set(t0 + 1200 + 950);
  CHECK(f.store->lookup("revived.test").state == Freshness::fresh);
  CHECK(engine.scan_now() == 1);  // hot.test is past grace by now
  REQUIRE(prober.wait_calls(2));
  CHECK(prober.calls().back() == "revived.test");
}

TEST_CASE("refresh: stop wakes waiters and ignores late answers", "[cache]") {
  Fixture f;
  TestProber prober;
  auto engine = std::make_unique<RefreshEngine>(*f.store, prober.fn());
  engine->start();
  std::atomic<bool> returned{false};
  std::optional<bool> got_result;
  std::thread waiter([&] {
    got_result = engine->await_fresh("never.test", soon(30s)).has_value();
    returned = true;
  });
  REQUIRE(prober.wait_calls(1));
  auto start = std::chrono::steady_clock::now();
  engine->stop();
  waiter.join();
  CHECK(returned);
  REQUIRE(got_result.has_value());
  CHECK_FALSE(*got_result);
  CHECK(std::chrono::steady_clock::now() - start < 20s);  // stop, not the 30 s deadline
  ProbeDone late = prober.take("never.test");
  engine.reset();  // the engine is gone; its done callback must stay safe
  REQUIRE(late);
  late({TestProber::result_for("never.test"), std::nullopt});
  CHECK(f.store->peek("never.test").miss == Miss::absent);
}

TEST_CASE("refresh: the engine thread runs under SCHED_BATCH unless told not to", "[cache]") {
  struct Case {
    bool batch;
    int want;
  };
  auto c = GENERATE(values<Case>({{true, SCHED_BATCH}, {false, SCHED_OTHER}}));
  Fixture f;
  std::atomic<int> policy{-1};
  RefreshOptions o;
  o.batch_priority = c.batch;
  RefreshEngine engine(
      *f.store,
      [&](const std::string& domain, ProbeDone done) {
        policy = ::sched_getscheduler(0);  // the engine thread calls the probe
        done({TestProber::result_for(domain), std::nullopt});
      },
      o);
  engine.start();
  REQUIRE(engine.await_fresh("p.test", soon()));
  CHECK(policy == c.want);
}

TEST_CASE("refresh: a probe the store refuses still reads pinned for its waiters", "[cache]") {
  Fixture f;
  REQUIRE(f.store->put(simple("pinned.test", good_address("192.0.2.1"), "mx.pinned.test"),
                       PutOptions{.probed = true}));
  REQUIRE(f.store->pin("pinned.test").has_value());
  f.clock.advance(2 * 86400);  // past the good TTL and its grace: a waiter probes
  TestProber prober;
  RefreshEngine engine(*f.store, prober.fn());
  engine.start();
  std::optional<Result<checker::DomainReport>> got;
  std::thread waiter([&] { got = engine.await_fresh("pinned.test", soon(30s)); });
  REQUIRE(prober.wait_calls(1));
  // Stripped, and with more MX hosts than the store keeps: the write fails,
  // so no pin step ran; the waiter must not see a plain "ineligible".
  std::vector<Host> hosts;
  for (std::size_t i = 0; i <= kMaxMx; ++i) {
    hosts.push_back({"mx" + std::to_string(i) + ".pinned.test", {plain_address("192.0.2.1")}});
  }
  REQUIRE(prober.complete("pinned.test", {report("pinned.test", std::move(hosts)), std::nullopt}));
  waiter.join();
  REQUIRE(got.has_value());
  REQUIRE(got->has_value());
  CHECK((*got)->eligible == checker::Eligibility::unknown);
  CHECK((*got)->unknown_cause == checker::UnknownCause::downgrade_suspected);
  CHECK(eventually([&] { return engine.stats().store_errors == 1; }));
}

TEST_CASE("refresh: every class of request is bounded", "[cache]") {
  Fixture f;
  TestProber prober;
  RefreshEngine engine(
      *f.store, prober.fn(),
      {.max_in_flight = 4, .queue_waiting = 2, .queue_delivery = 3, .queue_background = 4});
  // Not started: everything stays queued.
  int accepted = 0;
  for (int i = 0; i < 1000; ++i) {
    accepted +=
        engine.request_refresh("flood" + std::to_string(i) + ".test", Priority::delivery) ? 1 : 0;
  }
  CHECK(accepted == 3);
  for (int i = 0; i < 10; ++i) {
    engine.request_refresh("bg" + std::to_string(i) + ".test");
  }
  CHECK(engine.request_refresh("w1.test", Priority::waiting));
  CHECK(engine.request_refresh("w2.test", Priority::waiting));
  CHECK_FALSE(engine.request_refresh("w3.test", Priority::waiting));
  EngineStats s = engine.stats();
  CHECK(s.queued_delivery == 3);
  CHECK(s.queued_background == 4);
  CHECK(s.queued_waiting == 2);
  CHECK(s.dropped == 997 + 6 + 1);
  // A sender whose class is full is answered at once, as not probed.
  const auto before = std::chrono::steady_clock::now();
  auto r = engine.await_fresh("w4.test", soon(10s));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::timeout);
  CHECK_THAT(r.error().message, Catch::Contains("queue full"));
  CHECK(std::chrono::steady_clock::now() - before < 5s);
  // Joining a queued flight is never refused, and may promote it.
  CHECK(engine.request_refresh("flood0.test", Priority::delivery));
  CHECK(engine.request_refresh("bg0.test", Priority::delivery));  // joined; delivery is full
  CHECK(engine.stats().queued_background == 4);                   // so bg0 stays background
}

TEST_CASE("refresh: a flood of map misses leaves the waiting senders their slots", "[cache]") {
  Fixture f;
  TestProber prober;
  // Four slots, one of them only for waiting senders.
  RefreshEngine engine(*f.store, prober.fn(), {.max_in_flight = 4});
  for (int i = 0; i < 50; ++i) {
    REQUIRE(engine.request_refresh("flood" + std::to_string(i) + ".test", Priority::delivery));
  }
  engine.start();
  REQUIRE(prober.wait_calls(3));
  std::this_thread::sleep_for(100ms);
  CHECK(prober.calls().size() == 3);  // the fourth slot stays free
  std::atomic<int> got{0};            // 1: a report, 2: an error
  std::thread sender(
      [&] { got = engine.await_fresh("sender.test", soon(10s)).has_value() ? 1 : 2; });
  REQUIRE(prober.wait_calls(4));
  CHECK(prober.calls()[3] == "sender.test");
  REQUIRE(prober.complete("sender.test"));
  sender.join();
  CHECK(got == 1);
  engine.stop();
}

TEST_CASE("refresh: map misses are not starved by waiting senders", "[cache]") {
  Fixture f;
  TestProber prober(/*automatic=*/true);
  RefreshEngine engine(*f.store, prober.fn(), {.max_in_flight = 1});
  for (int i = 0; i < 8; ++i) {
    REQUIRE(engine.request_refresh("w" + std::to_string(i) + ".test", Priority::waiting));
  }
  REQUIRE(engine.request_refresh("miss1.test", Priority::delivery));
  REQUIRE(engine.request_refresh("miss2.test", Priority::delivery));
  engine.start();
  REQUIRE(prober.wait_calls(10));
  const auto calls = prober.calls();
  CHECK(calls[3] == "miss1.test");  // every fourth launch
  CHECK(calls[7] == "miss2.test");
}

TEST_CASE("refresh: a waiting request whose waiter gave up is demoted", "[cache]") {
  Fixture f;
  TestProber prober;
  RefreshEngine engine(*f.store, prober.fn(), {.max_in_flight = 1});
  REQUIRE(engine.request_refresh("busy.test"));
  engine.start();
  REQUIRE(prober.wait_calls(1));  // the only slot is taken
  auto r = engine.await_fresh("gaveup.test", soon(50ms));
  REQUIRE_FALSE(r);
  EngineStats s = engine.stats();
  CHECK(s.demoted == 1);
  CHECK(s.queued_waiting == 0);
  CHECK(s.queued_background == 1);
  // A map miss queued later now goes first.
  REQUIRE(engine.request_refresh("miss.test", Priority::delivery));
  REQUIRE(prober.complete("busy.test"));
  REQUIRE(prober.wait_calls(2));
  CHECK(prober.calls()[1] == "miss.test");
  engine.stop();
}

TEST_CASE("refresh: map misses launch even when waiting senders fill every slot", "[cache]") {
  Fixture f;
  TestProber prober(/*automatic=*/true);
  // Four slots, one reserved for waiting senders; 20 senders and one miss.
  RefreshEngine engine(*f.store, prober.fn(), {.max_in_flight = 4});
  for (int i = 0; i < 20; ++i) {
    REQUIRE(engine.request_refresh("w" + std::to_string(i) + ".test", Priority::waiting));
  }
  REQUIRE(engine.request_refresh("miss.test", Priority::delivery));
  engine.start();
  REQUIRE(prober.wait_calls(21));
  const auto calls = prober.calls();
  const auto at = std::find(calls.begin(), calls.end(), "miss.test") - calls.begin();
  CHECK(at <= 3);  // after at most three waiting launches in a row
}

TEST_CASE("refresh: entries left in a queue by promotions stay bounded", "[cache]") {
  Fixture f;
  TestProber prober(/*automatic=*/true);
  RefreshEngine engine(*f.store, prober.fn(), {.max_in_flight = 1, .queue_background = 4});
  engine.start();
  // A milter miss: a background request, then a sender waiting on it.
  for (int i = 0; i < 500; ++i) {
    const std::string d = "p" + std::to_string(i) + ".test";
    engine.request_refresh(d);
    REQUIRE(engine.await_fresh(d, soon(10s)));
  }
  const EngineStats s = engine.stats();
  CHECK(s.queue_entries <= 2 * (s.queued_waiting + s.queued_delivery + s.queued_background) + 64);
  CHECK(s.queued_background + s.queued_delivery + s.queued_waiting == 0);
}

TEST_CASE("refresh: a demoted request returns to the class a map miss asked for", "[cache]") {
  Fixture f;
  TestProber prober;
  RefreshEngine engine(*f.store, prober.fn(), {.max_in_flight = 1});
  REQUIRE(engine.request_refresh("busy.test"));
  engine.start();
  REQUIRE(prober.wait_calls(1));
  REQUIRE(engine.request_refresh("both.test", Priority::delivery));
  REQUIRE_FALSE(engine.await_fresh("both.test", soon(50ms)));  // promoted, then given up
  EngineStats s = engine.stats();
  CHECK(s.demoted == 1);
  CHECK(s.queued_delivery == 1);  // not background: Postfix asked for it
  CHECK(s.queued_background == 0);
  engine.stop();
}
