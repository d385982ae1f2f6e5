// SPDX-License-Identifier: Apache-2.0
// Refresh engine. All shared state lives in Core behind one mutex; Core is
// held by shared_ptr so a probe's done callback arriving after the engine is
// gone touches live memory and is ignored.
#include "cache/refresh.hpp"

#include <sched.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cache/pins.hpp"
#include "checker/report/judgement.hpp"
#include "checker/report/next_hop.hpp"
#include "common/log.hpp"

namespace forcetls::cache {
namespace {

using SteadyClock = std::chrono::steady_clock;

enum class FlightState : std::uint8_t { queued, running, done };

struct Flight {
  std::string domain;
  std::uint64_t id = 0;
  Priority priority = Priority::background;
  FlightState state = FlightState::queued;
  SteadyClock::time_point started{};
  bool ok = false;  // done with a report
  checker::DomainReport report;
  std::condition_variable cv;  // waiters, with Core::mu
};

using FlightPtr = std::shared_ptr<Flight>;

// Flushes the store's noted uses and counters, logging a failure.
void flush_logged(Store& store) {
  if (auto r = store.flush(); !r) {
    log::error("cache: " + log::fields({{"event", "flush-failed"}, {"error", r.error().message}}));
  }
}

}  // namespace

struct RefreshEngine::Core {
  std::mutex mu;
  std::condition_variable wake;  // the engine thread
  bool started = false;
  bool stopping = false;
  std::thread thread;
  std::uint64_t next_id = 1;
  std::unordered_map<std::string, FlightPtr> flights;  // queued or running
  std::unordered_map<std::uint64_t, FlightPtr> running_by_id;
  std::deque<FlightPtr> waiting_q;
  std::deque<FlightPtr> background_q;
  std::size_t queued_waiting = 0;
  std::size_t queued_background = 0;
  std::size_t running = 0;
  std::vector<std::pair<std::uint64_t, Probed>> completions;
  std::unordered_map<std::string, std::int64_t> backoff_until;  // unix time
  EngineStats stats;

  /// Finishes a flight (mu held): it leaves the table and its waiters wake.
  void finish(const FlightPtr& f, bool ok, checker::DomainReport report) {
    if (f->state == FlightState::running) {
      --running;
      running_by_id.erase(f->id);
    } else if (f->state == FlightState::queued) {
      (f->priority == Priority::waiting ? queued_waiting : queued_background)--;
    }
    f->state = FlightState::done;
    f->ok = ok;
    f->report = std::move(report);
    auto it = flights.find(f->domain);
    if (it != flights.end() && it->second == f) {
      flights.erase(it);
    }
    f->cv.notify_all();
  }

  /// Queues or joins a flight (mu held). Null when refused.
  FlightPtr enqueue(const std::string& domain, Priority priority, std::int64_t now,
                    std::size_t max_queued) {
    if (stopping) {
      return nullptr;
    }
    if (auto it = flights.find(domain); it != flights.end()) {
      FlightPtr f = it->second;
      ++stats.coalesced;
      if (priority == Priority::waiting && f->priority == Priority::background &&
          f->state == FlightState::queued) {
        // Promote: the background queue entry is skipped when reached.
        f->priority = Priority::waiting;
        --queued_background;
        ++queued_waiting;
        waiting_q.push_back(f);
        wake.notify_one();
      }
      return f;
    }
    if (priority == Priority::background) {
      auto b = backoff_until.find(domain);
      if (b != backoff_until.end()) {
        if (b->second > now) {
          ++stats.dropped;
          return nullptr;
        }
        backoff_until.erase(b);
      }
      if (queued_background >= max_queued) {
        ++stats.dropped;
        return nullptr;
      }
    }
    auto f = std::make_shared<Flight>();
    f->domain = domain;
    f->id = next_id++;
    f->priority = priority;
    flights.emplace(domain, f);
    if (priority == Priority::waiting) {
      waiting_q.push_back(f);
      ++queued_waiting;
    } else {
      background_q.push_back(f);
      ++queued_background;
    }
    ++stats.requests;
    wake.notify_one();
    return f;
  }

  /// Next flight to launch (mu held), waiting ones first.
  FlightPtr pop() {
    for (auto* q : {&waiting_q, &background_q}) {
      while (!q->empty()) {
        FlightPtr f = std::move(q->front());
        q->pop_front();
        if (f->state == FlightState::queued) {
          return f;
        }
      }
    }
    return nullptr;
  }
};

RefreshEngine::RefreshEngine(Store& store, ProbeFn probe, RefreshOptions options)
    : store_(store), probe_(std::move(probe)), options_(options), core_(std::make_shared<Core>()) {}

RefreshEngine::~RefreshEngine() { stop(); }

void RefreshEngine::start() {
  std::lock_guard lock(core_->mu);
  if (core_->started || core_->stopping) {
    return;
  }
  core_->started = true;
  core_->thread = std::thread([this] { run(); });
}

void RefreshEngine::stop() {
  std::thread thread;
  {
    std::lock_guard lock(core_->mu);
    if (core_->stopping) {
      return;
    }
    core_->stopping = true;
    core_->wake.notify_all();
    for (auto& [domain, f] : core_->flights) {
      f->cv.notify_all();
    }
    thread = std::move(core_->thread);
  }
  if (thread.joinable()) {
    thread.join();
  }
  flush_logged(store_);
}

Lookup RefreshEngine::lookup(std::string_view domain) {
  Lookup l = store_.lookup(domain);
  if (l.state != Freshness::fresh) {
    request_refresh(domain, Priority::background);
  }
  return l;
}

bool RefreshEngine::request_refresh(std::string_view domain, Priority priority) {
  auto key = checker::normalize_report_key(domain);
  if (!key) {
    return false;
  }
  std::int64_t now = store_.now();
  std::lock_guard lock(core_->mu);
  return core_->enqueue(*key, priority, now, options_.max_queued) != nullptr;
}

Result<checker::DomainReport> RefreshEngine::await_fresh(std::string_view domain,
                                                         SteadyClock::time_point deadline) {
  auto key = checker::normalize_report_key(domain);
  if (!key) {
    return fail(Errc::invalid_argument,
                "domain " + log::quote(domain) + ": " + key.error().message);
  }
  Lookup l = store_.peek(*key);
  if (l.state == Freshness::fresh) {
    return std::move(l.report);
  }
  std::int64_t now = store_.now();
  std::unique_lock lock(core_->mu);
  if (!core_->flights.contains(*key)) {
    // A flight may have finished between the peek above and the lock: it
    // stored its result before leaving the table, so look once more rather
    // than start a second probe of the same domain.
    Lookup again = store_.peek(*key);
    if (again.state == Freshness::fresh) {
      return std::move(again.report);
    }
  }
  FlightPtr f = core_->enqueue(*key, Priority::waiting, now, options_.max_queued);
  if (!f) {
    return fail(Errc::timeout, "cache: refresh engine stopped");
  }
  f->cv.wait_until(lock, deadline,
                   [&] { return f->state == FlightState::done || core_->stopping; });
  if (f->state == FlightState::done && f->ok) {
    return f->report;  // a copy: other waiters share the flight
  }
  return fail(Errc::timeout, "cache: no result for " + *key + " before the deadline");
}

std::size_t RefreshEngine::scan_now() {
  flush_logged(store_);
  const std::int64_t now = store_.now();
  const Ttls& t = store_.options().ttls;
  std::int64_t longest = std::max({t.good, t.ineligible, t.unknown});
  DueQuery q{
      .horizon = now +
                 static_cast<std::int64_t>(static_cast<double>(longest) * options_.refresh_ahead) +
                 1,
      .used_since = now - options_.idle_after,
      .ahead_fraction = options_.refresh_ahead,
      .limit = options_.scan_limit,
  };
  auto due = store_.due_for_refresh(q);
  if (!due) {
    log::error("cache: " + log::fields({{"event", "scan-failed"}, {"error", due.error().message}}));
    return 0;
  }
  std::size_t queued = 0;
  std::lock_guard lock(core_->mu);
  for (const Due& d : *due) {
    if (!core_->flights.contains(d.domain) &&
        core_->enqueue(d.domain, Priority::background, now, options_.max_queued)) {
      ++queued;
    }
  }
  return queued;
}

EngineStats RefreshEngine::stats() const {
  std::lock_guard lock(core_->mu);
  EngineStats s = core_->stats;
  s.queued_waiting = core_->queued_waiting;
  s.queued_background = core_->queued_background;
  s.running = core_->running;
  return s;
}

namespace {

using Core = RefreshEngine::Core;
using Results = std::vector<std::pair<FlightPtr, Probed>>;

// Runs the calling thread (the engine's) under SCHED_BATCH.
void lower_priority() {
  struct sched_param none {};
  if (::sched_setscheduler(0, SCHED_BATCH, &none) != 0) {
    log::warning("cache: " +
                 log::fields({{"event", "sched-batch-failed"}, {"error", std::strerror(errno)}}));
  }
}

// Waits on c.wake (c.mu held through `lock`) until there is work: a
// completion, a queued flight and room to launch it, the next timer at
// `deadline` or a running probe's timeout. False when the engine stops.
bool wait_for_work(Core& c, std::unique_lock<std::mutex>& lock, SteadyClock::time_point deadline,
                   const RefreshOptions& o) {
  for (const auto& [id, f] : c.running_by_id) {
    deadline = std::min(deadline, f->started + o.probe_timeout);
  }
  c.wake.wait_until(lock, deadline, [&] {
    return c.stopping || !c.completions.empty() ||
           (c.running < o.max_in_flight && (c.queued_waiting + c.queued_background) > 0);
  });
  return !c.stopping;
}

// The completions handed in since the last round, matched to their flights
// (mu held); late or duplicate ones are dropped.
Results take_results(Core& c) {
  std::vector<std::pair<std::uint64_t, Probed>> completions;
  completions.swap(c.completions);
  Results matched;
  for (auto& [id, probed] : completions) {
    auto it = c.running_by_id.find(id);
    if (it != c.running_by_id.end()) {
      matched.emplace_back(it->second, std::move(probed));
      c.running_by_id.erase(it);  // a second done for the same probe is ignored
    }
  }
  return matched;
}

// Abandons probes past their timeout (mu held): their waiters wake without
// a result and the domain's background refresh backs off.
void abandon_overdue(Core& c, Store& store, const RefreshOptions& o) {
  auto now = SteadyClock::now();
  std::vector<FlightPtr> expired;
  for (const auto& [id, f] : c.running_by_id) {
    if (now >= f->started + o.probe_timeout) {
      expired.push_back(f);
    }
  }
  std::int64_t unix_now = store.now();
  for (const FlightPtr& f : expired) {
    ++c.stats.probes_abandoned;
    c.backoff_until[f->domain] = unix_now + o.retry_backoff;
    log::warning(
        "cache: " +
        log::fields({{"event", "probe-abandoned"}, {"domain", f->domain}, {"reason", "timeout"}}));
    c.finish(f, false, {});
  }
}

// Stores the items in one commit, or one by one when that fails (one bad
// report must not lose the others); says which of them were stored.
std::vector<bool> put_all(Store& store, const std::vector<PutItem>& items) {
  std::vector<bool> stored(items.size(), true);
  if (auto r = store.put_many(items); !r) {
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (auto one = store.put(items[i].report, items[i].options); !one) {
        stored[i] = false;
        log::error("cache: " + log::fields({{"event", "store-failed"},
                                            {"domain", items[i].report.domain},
                                            {"error", one.error().message}}));
      }
    }
  }
  return stored;
}

// What waiters get for each item: what the store now answers (address
// records kept from fresher probes included), else the probe's own report.
std::vector<checker::DomainReport> answers(Store& store, std::vector<PutItem>& items,
                                           const std::vector<bool>& stored) {
  std::vector<checker::DomainReport> results;
  results.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    Lookup l = store.peek(items[i].report.domain);
    if (stored[i] && l.state != Freshness::missing) {
      results.push_back(std::move(l.report));
      continue;
    }
    // Not stored, so no pin step ran: read it as the store would have (a
    // pinned domain that looks ineligible is downgrade-suspected).
    checker::DomainReport r = std::move(items[i].report);
    if (r.eligible == checker::Eligibility::ineligible) {
      const PinStep step =
          next_pin(store.pin(r.domain), r.eligible, store.now(), store.options().pins);
      if (step.event == PinEvent::suspected) {
        mark_downgrade_suspected(r, *step.pin);
      }
    }
    results.push_back(std::move(r));
  }
  return results;
}

// Judges and stores the results, then finishes their flights (taking c.mu
// through `lock`, which is not held on entry or exit), so a result is in the
// store before any waiter wakes.
void store_results(Store& store, Core& c, std::unique_lock<std::mutex>& lock, Results& matched) {
  std::vector<PutItem> items;
  items.reserve(matched.size());
  for (auto& [f, probed] : matched) {
    probed.report.domain = f->domain;
    checker::judge(probed.report, store.options().judge);
    items.push_back({probed.report, PutOptions{.dns_ttl = probed.dns_ttl, .probed = true}});
  }
  std::vector<bool> stored = put_all(store, items);
  std::vector<checker::DomainReport> results = answers(store, items, stored);
  lock.lock();
  for (std::size_t i = 0; i < matched.size(); ++i) {
    ++c.stats.probes_done;
    if (!stored[i]) {
      ++c.stats.store_errors;
    }
    c.finish(matched[i].first, true, std::move(results[i]));
  }
  lock.unlock();
}

// Moves queued flights, waiting ones first, to running while fewer than
// max_in_flight run (mu held); returns them for launching.
std::vector<FlightPtr> take_launches(Core& c, std::size_t max_in_flight) {
  std::vector<FlightPtr> launch;
  while (c.running < max_in_flight) {
    FlightPtr f = c.pop();
    if (!f) {
      break;
    }
    (f->priority == Priority::waiting ? c.queued_waiting : c.queued_background)--;
    f->state = FlightState::running;
    f->started = SteadyClock::now();
    c.running_by_id.emplace(f->id, f);
    ++c.running;
    ++c.stats.probes_started;
    launch.push_back(f);
  }
  return launch;
}

// Starts a probe per flight (mu not held). Its done callback holds the
// engine's state weakly and queues the result for the engine thread; a probe
// that throws is abandoned at once, its domain backing off.
void launch_probes(Core& c, const std::weak_ptr<Core>& weak, const ProbeFn& probe, Store& store,
                   std::int64_t retry_backoff, const std::vector<FlightPtr>& launch) {
  for (const FlightPtr& f : launch) {
    std::uint64_t id = f->id;
    ProbeDone done = [weak, id](Probed result) {
      if (auto core = weak.lock()) {
        std::lock_guard lock(core->mu);
        if (!core->stopping) {
          core->completions.emplace_back(id, std::move(result));
          core->wake.notify_one();
        }
      }
    };
    try {
      probe(f->domain, std::move(done));
    } catch (const std::exception& e) {
      std::lock_guard lock(c.mu);
      ++c.stats.probes_abandoned;
      c.backoff_until[f->domain] = store.now() + retry_backoff;
      log::error(
          "cache: " +
          log::fields({{"event", "probe-threw"}, {"domain", f->domain}, {"error", e.what()}}));
      c.finish(f, false, {});
    }
  }
}

// Deletes the records dead past grace, and the backoff entries past their
// time (dead weight).
void sweep_store(Store& store, Core& c) {
  if (auto r = store.sweep(); !r) {
    log::error("cache: " + log::fields({{"event", "sweep-failed"}, {"error", r.error().message}}));
  } else if (*r > 0) {
    log::info("cache: " + log::fields({{"event", "swept"}, {"domains", std::to_string(*r)}}));
  }
  std::int64_t unix_now = store.now();
  std::lock_guard lock(c.mu);
  std::erase_if(c.backoff_until, [&](const auto& kv) { return kv.second <= unix_now; });
}

}  // namespace

void RefreshEngine::run() {
  if (options_.batch_priority) {
    lower_priority();
  }
  Core& c = *core_;
  std::weak_ptr<Core> weak = core_;
  auto next_flush = SteadyClock::now() + options_.flush_interval;
  auto next_scan = SteadyClock::now() + options_.scan_interval;
  auto next_sweep = SteadyClock::now() + options_.sweep_interval;
  for (;;) {
    std::vector<FlightPtr> launch;
    {
      std::unique_lock lock(c.mu);
      if (!wait_for_work(c, lock, std::min({next_flush, next_scan, next_sweep}), options_)) {
        break;
      }
      Results matched = take_results(c);
      abandon_overdue(c, store_, options_);
      lock.unlock();
      if (!matched.empty()) {
        store_results(store_, c, lock, matched);
      }
      lock.lock();
      launch = take_launches(c, options_.max_in_flight);
    }
    launch_probes(c, weak, probe_, store_, options_.retry_backoff, launch);

    auto now = SteadyClock::now();
    if (now >= next_scan) {
      scan_now();  // flushes too
      next_scan = now + options_.scan_interval;
      next_flush = now + options_.flush_interval;
    }
    if (now >= next_flush) {
      flush_logged(store_);
      next_flush = now + options_.flush_interval;
    }
    if (now >= next_sweep) {
      sweep_store(store_, c);
      next_sweep = now + options_.sweep_interval;
    }
  }
}

}  // namespace forcetls::cache
