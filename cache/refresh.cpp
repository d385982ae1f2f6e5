// SPDX-License-Identifier: Apache-2.0
// Refresh engine. All shared state lives in Core behind one mutex; Core is
// held by shared_ptr so a probe's done callback arriving after the engine is
// gone touches live memory and is ignored.
#include "cache/refresh.hpp"

#include <sched.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cache/pins.hpp"
#include "checker/report/next_hop.hpp"
#include "common/enum_names.hpp"
#include "common/log.hpp"

namespace forcetls::cache {
namespace {

using SteadyClock = std::chrono::steady_clock;

enum class FlightState : std::uint8_t { queued, running, done };

struct Flight {
  std::string domain;
  std::uint64_t id = 0;
  Priority priority = Priority::background;  // its class: queued in, or launched from
  Priority floor = Priority::background;     // the highest class a non-waiter asked for
  FlightState state = FlightState::queued;
  int waiters = 0;  // threads in await_fresh on it
  SteadyClock::time_point started{};
  bool ok = false;                                // done with a report
  std::unique_ptr<checker::DomainReport> report;  // set when done: a queued flight stays small
  std::condition_variable cv;                     // waiters, with Core::mu
};

constexpr std::size_t kClasses = 3;
constexpr std::size_t index_of(Priority p) { return static_cast<std::size_t>(p); }

using FlightPtr = std::shared_ptr<Flight>;
// A queue entry: weak, so an entry left behind by a promotion, a demotion or
// a finish keeps nothing alive; Core::place() compacts a queue whose dead
// entries outnumber its live ones.
using FlightRef = std::weak_ptr<Flight>;

// Flushes the store's noted uses and counters, logging a failure.
void flush_logged(Store& store) {
  if (auto r = store.flush(); !r) {
    log::error("cache: " + log::fields({{"event", "flush-failed"}, {"error", r.error().message}}));
  }
}

}  // namespace

struct RefreshEngine::Core {
  explicit Core(const RefreshOptions& o)
      : bounds{o.queue_background, o.queue_delivery, o.queue_waiting},
        reserved(o.max_in_flight / 4),  // none below four slots
        max_in_flight(o.max_in_flight) {}

  std::mutex mu;
  std::condition_variable wake;  // the engine thread
  bool started = false;
  bool stopping = false;
  std::thread thread;
  std::uint64_t next_id = 1;
  std::unordered_map<std::string, FlightPtr> flights;  // queued or running
  std::unordered_map<std::uint64_t, FlightPtr> running_by_id;
  // Per class (index_of(Priority)): the queue (entries of flights promoted,
  // demoted or finished since are skipped), how many of it are live, its bound.
  std::array<std::deque<FlightRef>, kClasses> queues;
  std::array<std::size_t, kClasses> queued{};
  std::array<std::size_t, kClasses> bounds;
  std::array<log::Throttle, kClasses> full_logged;  // a full class, once a minute
  std::size_t reserved;                             // probe slots only a waiting request may take
  std::size_t max_in_flight;
  int waiting_streak = 0;  // waiting launches in a row
  std::size_t running = 0;
  std::size_t running_shared = 0;  // of them, launched from a class other than waiting
  std::vector<std::pair<std::uint64_t, Probed>> completions;
  std::unordered_map<std::string, std::int64_t> backoff_until;  // unix time
  EngineStats stats;

  std::size_t queued_total() const { return queued[0] + queued[1] + queued[2]; }

  /// Whether a class other than waiting may take a probe slot (mu held):
  /// those classes together never hold the reserved ones.
  bool shared_slot_free() const {
    return running < max_in_flight && running_shared + reserved < max_in_flight;
  }

  /// Whether a queued flight may be launched now (mu held).
  bool can_launch() const {
    if (running >= max_in_flight) {
      return false;
    }
    if (queued[index_of(Priority::waiting)] > 0) {
      return true;
    }
    return shared_slot_free() && queued_total() > 0;
  }

  /// Puts a queued flight in the queue of `p` (mu held).
  void place(const FlightPtr& f, Priority p) {
    f->priority = p;
    auto& q = queues[index_of(p)];
    ++queued[index_of(p)];
    q.push_back(f);
    if (q.size() > 2 * queued[index_of(p)] + 64) {
      std::erase_if(q, [p](const FlightRef& r) {
        const FlightPtr e = r.lock();
        return !e || e->state != FlightState::queued || e->priority != p;
      });
    }
  }

  /// Counts and, at most once a minute per class, logs a refused request
  /// (background ones are routine: the next scan asks again).
  void refused(Priority p, const std::string& domain) {
    ++stats.dropped;
    const std::size_t i = index_of(p);
    if (p == Priority::background) {
      return;
    }
    std::uint64_t refused = 0;
    if (!full_logged[i].due(&refused)) {
      return;
    }
    log::warning("cache: " + log::fields({{"event", "queue-full"},
                                          {"class", to_string(p)},
                                          {"limit", std::to_string(bounds[i])},
                                          {"refused", std::to_string(refused)},
                                          {"domain", domain},
                                          {"what", "not probed now; answered as not checked"}}));
  }

  /// Finishes a flight (mu held): it leaves the table and its waiters wake.
  void finish(const FlightPtr& f, bool ok, checker::DomainReport report) {
    if (f->state == FlightState::running) {
      --running;
      if (f->priority != Priority::waiting) {
        --running_shared;
      }
      running_by_id.erase(f->id);
    } else if (f->state == FlightState::queued) {
      --queued[index_of(f->priority)];
    }
    f->state = FlightState::done;
    f->ok = ok;
    if (ok) {
      f->report = std::make_unique<checker::DomainReport>(std::move(report));
    }
    auto it = flights.find(f->domain);
    if (it != flights.end() && it->second == f) {
      flights.erase(it);
    }
    f->cv.notify_all();
  }

  /// Queues or joins a flight (mu held). Null when refused.
  FlightPtr enqueue(const std::string& domain, Priority priority, std::int64_t now) {
    if (stopping) {
      return nullptr;
    }
    const std::size_t cls = index_of(priority);
    if (auto it = flights.find(domain); it != flights.end()) {
      FlightPtr f = it->second;
      ++stats.coalesced;
      if (priority != Priority::waiting && priority > f->floor) {
        f->floor = priority;  // where a demotion returns it
      }
      if (f->state == FlightState::queued && priority > f->priority && queued[cls] < bounds[cls]) {
        // Promote: the entry in the lower queue is skipped when reached.
        --queued[index_of(f->priority)];
        place(f, priority);
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
    }
    if (queued[cls] >= bounds[cls]) {
      refused(priority, domain);
      return nullptr;
    }
    auto f = std::make_shared<Flight>();
    f->domain = domain;
    f->id = next_id++;
    f->floor = priority == Priority::waiting ? Priority::background : priority;
    flights.emplace(domain, f);
    place(f, priority);
    ++stats.requests;
    wake.notify_one();
    return f;
  }

  /// A queued waiting flight nobody waits for any more (mu held): back to
  /// the highest class a map miss or a refresh asked for (background when
  /// none did), or dropped when that class is full.
  void demote(const FlightPtr& f) {
    if (f->state != FlightState::queued || f->priority != Priority::waiting || f->waiters > 0) {
      return;
    }
    ++stats.demoted;
    const std::size_t to = index_of(f->floor);
    if (queued[to] < bounds[to]) {
      --queued[index_of(Priority::waiting)];
      place(f, f->floor);
      return;
    }
    finish(f, false, {});
  }

  /// The next live flight of a class (mu held), or null.
  FlightPtr pop_class(Priority p) {
    auto& q = queues[index_of(p)];
    while (!q.empty()) {
      FlightPtr f = q.front().lock();
      q.pop_front();
      if (f && f->state == FlightState::queued && f->priority == p) {
        return f;
      }
    }
    return nullptr;
  }

  /// Next flight to launch (mu held): waiting first (alone in the reserved
  /// slots), delivery next, and a delivery before anything else after
  /// three waiting launches in a row; background last.
  FlightPtr pop() {
    if (!can_launch()) {
      return nullptr;
    }
    const bool shared = shared_slot_free();
    std::array<Priority, kClasses> order{Priority::waiting, Priority::delivery,
                                         Priority::background};
    if (shared && waiting_streak >= 3 && queued[index_of(Priority::delivery)] > 0) {
      order = {Priority::delivery, Priority::waiting, Priority::background};
    }
    for (Priority p : order) {
      if (!shared && p != Priority::waiting) {
        continue;
      }
      if (FlightPtr f = pop_class(p)) {
        waiting_streak = p == Priority::waiting ? waiting_streak + 1 : 0;
        return f;
      }
    }
    return nullptr;
  }
};

namespace {
constexpr NameTable<Priority, 3> kPriorityNames{{
    {Priority::background, "background"},
    {Priority::delivery, "delivery"},
    {Priority::waiting, "waiting"},
}};
}  // namespace

std::string_view to_string(Priority p) { return name_in(kPriorityNames, p); }

RefreshEngine::RefreshEngine(Store& store, ProbeFn probe, RefreshOptions options)
    : store_(store),
      probe_(std::move(probe)),
      options_(options),
      core_(std::make_shared<Core>(options_)) {}

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
  return core_->enqueue(*key, priority, now) != nullptr;
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
    return *l.report;
  }
  std::int64_t now = store_.now();
  std::unique_lock lock(core_->mu);
  if (!core_->flights.contains(*key)) {
    // A flight may have finished between the peek above and the lock: it
    // stored its result before leaving the table, so look once more rather
    // than start a second probe of the same domain.
    Lookup again = store_.peek(*key);
    if (again.state == Freshness::fresh) {
      return *again.report;
    }
  }
  FlightPtr f = core_->enqueue(*key, Priority::waiting, now);
  if (!f) {
    return fail(Errc::timeout, core_->stopping
                                   ? "cache: refresh engine stopped"
                                   : "cache: probe queue full, " + *key + " not probed now");
  }
  ++f->waiters;
  f->cv.wait_until(lock, deadline,
                   [&] { return f->state == FlightState::done || core_->stopping; });
  --f->waiters;
  if (f->state == FlightState::done && f->ok) {
    return *f->report;  // a copy: other waiters share the flight
  }
  core_->demote(f);
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
    if (!core_->flights.contains(d.domain) && core_->enqueue(d.domain, Priority::background, now)) {
      ++queued;
    }
  }
  return queued;
}

EngineStats RefreshEngine::stats() const {
  std::lock_guard lock(core_->mu);
  EngineStats s = core_->stats;
  s.queued_waiting = core_->queued[index_of(Priority::waiting)];
  s.queued_delivery = core_->queued[index_of(Priority::delivery)];
  s.queued_background = core_->queued[index_of(Priority::background)];
  s.queue_entries = core_->queues[0].size() + core_->queues[1].size() + core_->queues[2].size();
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
  c.wake.wait_until(lock, deadline,
                    [&] { return c.stopping || !c.completions.empty() || c.can_launch(); });
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
      results.push_back(*l.report);
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

// Stores the results (the store judges them), then finishes their flights (taking c.mu
// through `lock`, which is not held on entry or exit), so a result is in the
// store before any waiter wakes.
void store_results(Store& store, Core& c, std::unique_lock<std::mutex>& lock, Results& matched) {
  std::vector<PutItem> items;
  items.reserve(matched.size());
  for (auto& [f, probed] : matched) {
    probed.report.domain = f->domain;  // the store judges what it keeps
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

// Moves queued flights to running while there are slots for them, in the
// order Core::pop() gives (mu held); returns them for launching.
std::vector<FlightPtr> take_launches(Core& c) {
  std::vector<FlightPtr> launch;
  for (;;) {
    FlightPtr f = c.pop();
    if (!f) {
      break;
    }
    --c.queued[index_of(f->priority)];
    f->state = FlightState::running;
    f->started = SteadyClock::now();
    c.running_by_id.emplace(f->id, f);
    ++c.running;
    if (f->priority != Priority::waiting) {
      ++c.running_shared;
    }
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
      launch = take_launches(c);
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
