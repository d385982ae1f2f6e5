// SPDX-License-Identifier: Apache-2.0
// Refresh engine. All shared state lives in Core behind one mutex; Core is
// held by shared_ptr so a probe's done callback arriving after the engine is
// gone touches live memory and is ignored.
#include "cache/refresh.hpp"

#include <sched.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "checker/report/domain_name.hpp"
#include "checker/report/judgement.hpp"
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
  if (auto r = store_.flush(); !r) {
    log::error("cache: " + log::fields({{"event", "flush-failed"}, {"error", r.error().message}}));
  }
}

Lookup RefreshEngine::lookup(std::string_view domain) {
  Lookup l = store_.lookup(domain);
  if (l.state != Freshness::fresh) {
    request_refresh(domain, Priority::background);
  }
  return l;
}

bool RefreshEngine::request_refresh(std::string_view domain, Priority priority) {
  auto key = checker::normalize_host(domain);
  if (!key) {
    return false;
  }
  std::int64_t now = store_.now();
  std::lock_guard lock(core_->mu);
  return core_->enqueue(*key, priority, now, options_.max_queued) != nullptr;
}

Result<checker::DomainReport> RefreshEngine::await_fresh(std::string_view domain,
                                                         SteadyClock::time_point deadline) {
  auto key = checker::normalize_host(domain);
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
  if (auto r = store_.flush(); !r) {
    log::error("cache: " + log::fields({{"event", "flush-failed"}, {"error", r.error().message}}));
  }
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

void RefreshEngine::run() {
  if (options_.batch_priority) {
    struct sched_param none {};
    if (::sched_setscheduler(0, SCHED_BATCH, &none) != 0) {
      log::warning("cache: " +
                   log::fields({{"event", "sched-batch-failed"}, {"error", std::strerror(errno)}}));
    }
  }
  Core& c = *core_;
  std::weak_ptr<Core> weak = core_;
  auto next_flush = SteadyClock::now() + options_.flush_interval;
  auto next_scan = SteadyClock::now() + options_.scan_interval;
  auto next_sweep = SteadyClock::now() + options_.sweep_interval;
  for (;;) {
    std::vector<std::pair<std::uint64_t, Probed>> completions;
    std::vector<FlightPtr> launch;
    std::vector<FlightPtr> completed;
    {
      std::unique_lock lock(c.mu);
      auto deadline = std::min({next_flush, next_scan, next_sweep});
      for (const auto& [id, f] : c.running_by_id) {
        deadline = std::min(deadline, f->started + options_.probe_timeout);
      }
      c.wake.wait_until(lock, deadline, [&] {
        return c.stopping || !c.completions.empty() ||
               (c.running < options_.max_in_flight && (c.queued_waiting + c.queued_background) > 0);
      });
      if (c.stopping) {
        break;
      }
      completions.swap(c.completions);
      // Match results to their flights; late or duplicate ones are dropped.
      std::vector<std::pair<FlightPtr, Probed>> matched;
      for (auto& [id, probed] : completions) {
        auto it = c.running_by_id.find(id);
        if (it != c.running_by_id.end()) {
          matched.emplace_back(it->second, std::move(probed));
          c.running_by_id.erase(it);  // a second done for the same probe is ignored
        }
      }
      // Abandon probes past their timeout.
      auto now = SteadyClock::now();
      std::vector<FlightPtr> expired;
      for (const auto& [id, f] : c.running_by_id) {
        if (now >= f->started + options_.probe_timeout) {
          expired.push_back(f);
        }
      }
      std::int64_t unix_now = store_.now();
      for (const FlightPtr& f : expired) {
        ++c.stats.probes_abandoned;
        c.backoff_until[f->domain] = unix_now + options_.retry_backoff;
        log::warning("cache: " + log::fields({{"event", "probe-abandoned"},
                                              {"domain", f->domain},
                                              {"reason", "timeout"}}));
        c.finish(f, false, {});
      }
      lock.unlock();

      // Store results before anyone wakes.
      if (!matched.empty()) {
        std::vector<PutItem> items;
        items.reserve(matched.size());
        for (auto& [f, probed] : matched) {
          probed.report.domain = f->domain;
          checker::judge(probed.report, store_.options().judge);
          items.push_back({probed.report, PutOptions{.dns_ttl = probed.dns_ttl}});
        }
        std::vector<bool> stored(items.size(), true);
        if (auto r = store_.put_many(items); !r) {
          // One bad report must not lose the others: store them one by one.
          for (std::size_t i = 0; i < items.size(); ++i) {
            if (auto one = store_.put(items[i].report, items[i].options); !one) {
              stored[i] = false;
              log::error("cache: " + log::fields({{"event", "store-failed"},
                                                  {"domain", items[i].report.domain},
                                                  {"error", one.error().message}}));
            }
          }
        }
        std::vector<checker::DomainReport> results;
        results.reserve(items.size());
        for (std::size_t i = 0; i < items.size(); ++i) {
          // Waiters get what the store now answers (address records kept
          // from fresher probes included), else the probe's own report.
          Lookup l = store_.peek(items[i].report.domain);
          results.push_back(stored[i] && l.state != Freshness::missing
                                ? std::move(l.report)
                                : std::move(items[i].report));
        }
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

      lock.lock();
      while (c.running < options_.max_in_flight) {
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
    }

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
        probe_(f->domain, std::move(done));
      } catch (const std::exception& e) {
        std::lock_guard lock(c.mu);
        ++c.stats.probes_abandoned;
        c.backoff_until[f->domain] = store_.now() + options_.retry_backoff;
        log::error(
            "cache: " +
            log::fields({{"event", "probe-threw"}, {"domain", f->domain}, {"error", e.what()}}));
        c.finish(f, false, {});
      }
    }

    auto now = SteadyClock::now();
    if (now >= next_scan) {
      scan_now();  // flushes too
      next_scan = now + options_.scan_interval;
      next_flush = now + options_.flush_interval;
    }
    if (now >= next_flush) {
      if (auto r = store_.flush(); !r) {
        log::error("cache: " +
                   log::fields({{"event", "flush-failed"}, {"error", r.error().message}}));
      }
      next_flush = now + options_.flush_interval;
    }
    if (now >= next_sweep) {
      if (auto r = store_.sweep(); !r) {
        log::error("cache: " +
                   log::fields({{"event", "sweep-failed"}, {"error", r.error().message}}));
      } else if (*r > 0) {
        log::info("cache: " + log::fields({{"event", "swept"}, {"domains", std::to_string(*r)}}));
      }
      // Backoff entries past their time are dead weight.
      std::int64_t unix_now = store_.now();
      std::lock_guard lock(c.mu);
      std::erase_if(c.backoff_until, [&](const auto& kv) { return kv.second <= unix_now; });
      next_sweep = now + options_.sweep_interval;
    }
  }
}

}  // namespace forcetls::cache
