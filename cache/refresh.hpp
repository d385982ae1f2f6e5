// SPDX-License-Identifier: Apache-2.0
// RefreshEngine: keeps the Store fresh. It owns one thread (the engine
// thread) that starts probes, writes their results and runs the periodic
// flush, scan and sweep; lookup(), await_fresh() and request_refresh() may
// be called from any thread (the milter's workers). Outlives none of them:
// stop() (or the destructor) before the Store goes.
//
// Rules:
//  - Single flight: every request for a domain already queued or probing
//    joins that flight; ten threads awaiting one unknown domain cause one
//    probe and all wake on its result.
//  - At most max_in_flight probes run at once. Three classes of request,
//    each queued up to its own bound: a sender waiting (await_fresh) goes
//    first and has a quarter of the probe slots to itself; a policy-map
//    miss (delivery) next, and at least every fourth launch even while
//    senders wait; background refreshes last. A request beyond its class's
//    bound is refused (logged once a minute), so a flood of names costs
//    bounded memory and never delays a waiting sender by more than the
//    probes already running in its reserved slots.
//  - A waiting request whose last waiter gave up (its deadline passed) is
//    demoted to background, or dropped when that class is full.
//  - A result is written to the store before any waiter wakes.
//  - Background refresh: entries in the last part of their lifetime (or
//    stale) that were used within idle_after are refreshed; entries nobody
//    asked for in that long are left to expire.
//  - The ProbeFn is called on the engine thread and must not block: it
//    starts the probe and returns; `done` may be called later from any
//    thread, exactly once. A probe that never calls done is abandoned after
//    probe_timeout (its waiters time out; a late done is ignored).
//  - The milter's pattern: lookup(); fresh -> use it; stale -> use it (a
//    refresh is already queued); missing -> await_fresh() with the time the
//    sender may wait, and on timeout treat the domain as unknown.
//  - A ProbeFn should ask Store::fresh_address() before probing an MX
//    address: a provider's MX that another domain's probe answered is then
//    not contacted again (connections scale with MX addresses, not domains).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cache/store.hpp"
#include "checker/report/report.hpp"
#include "common/error.hpp"

namespace forcetls::cache {

/// What a probe hands back: the report and, when known, the smallest TTL of
/// the DNS answers behind it (caps how long it is kept).
struct Probed {
  checker::DomainReport report;
  std::optional<std::int64_t> dns_ttl = std::nullopt;
};

using ProbeDone = std::function<void(Probed)>;
/// Starts probing `domain` (normalized, lower case); calls done(result)
/// once, from any thread. Called on the engine thread; must not block.
using ProbeFn = std::function<void(const std::string& domain, ProbeDone done)>;

enum class Priority : std::uint8_t {
  background,  ///< nobody waits: refresh ahead of expiry, stale answers
  delivery,    ///< a policy-map miss: the MTA deferred mail and asks again later
  waiting,     ///< a sender waits on it (await_fresh)
};
std::string_view to_string(Priority p);  ///< "background", "delivery", "waiting"

struct RefreshOptions {
  std::size_t max_in_flight = 16;  ///< probes running at once
  /// Queued requests per class; one beyond its bound is refused.
  std::size_t queue_waiting = 1000;
  std::size_t queue_delivery = 1000;
  std::size_t queue_background = 10000;
  std::chrono::milliseconds probe_timeout{std::chrono::minutes(5)};
  double refresh_ahead = 0.1;           ///< refresh in the last tenth of a lifetime
  std::int64_t idle_after = 3 * 86400;  ///< seconds: unused this long, no background refresh
  std::int64_t retry_backoff = 300;     ///< seconds between background retries of a failed probe
  std::size_t scan_limit = 10000;       ///< domains queued per scan at most
  std::chrono::milliseconds scan_interval{std::chrono::minutes(1)};
  std::chrono::milliseconds flush_interval{std::chrono::seconds(10)};
  std::chrono::milliseconds sweep_interval{std::chrono::hours(1)};
  /// Run the engine thread under SCHED_BATCH (Linux): its wakeups (after
  /// each commit's fsync) then do not preempt the milter's threads, which
  /// on a small machine is what keeps lookup p99 low while it writes.
  bool batch_priority = true;
};

struct EngineStats {
  std::uint64_t requests = 0;   ///< refresh requests accepted
  std::uint64_t coalesced = 0;  ///< requests that joined a flight already there
  std::uint64_t dropped = 0;    ///< requests refused (class full, backoff)
  std::uint64_t demoted = 0;    ///< waiting requests whose waiters all gave up
  std::uint64_t probes_started = 0;
  std::uint64_t probes_done = 0;
  std::uint64_t probes_abandoned = 0;  ///< timed out or threw
  std::uint64_t store_errors = 0;      ///< results the store refused
  std::size_t queued_waiting = 0;
  std::size_t queued_delivery = 0;
  std::size_t queued_background = 0;
  /// Entries in the three queues, dead ones (left by promotions, demotions,
  /// finishes) included: bounded by twice the live ones plus a constant.
  std::size_t queue_entries = 0;
  std::size_t running = 0;
};

class RefreshEngine {
 public:
  RefreshEngine(Store& store, ProbeFn probe, RefreshOptions options = {});
  ~RefreshEngine();
  RefreshEngine(const RefreshEngine&) = delete;
  RefreshEngine& operator=(const RefreshEngine&) = delete;

  /// Starts the engine thread. Requests made before start() stay queued.
  void start();
  /// Stops the thread, wakes every waiter (they time out), flushes the
  /// store's noted uses. Probes still running are abandoned. Idempotent.
  void stop();

  /// Store::lookup(), and a background refresh when not fresh (stale, or
  /// missing: someone asked for it).
  Lookup lookup(std::string_view domain);

  /// A fresh report: from the store, or from a probe started (or joined)
  /// with waiting priority. Errc::timeout when the deadline passes first,
  /// Errc::invalid_argument for a malformed domain.
  Result<checker::DomainReport> await_fresh(std::string_view domain,
                                            std::chrono::steady_clock::time_point deadline);

  /// Queues a (re)probe; joins the flight already there, raising its
  /// priority if needed. False when refused (bad name, class full, backoff).
  bool request_refresh(std::string_view domain, Priority priority = Priority::background);

  /// One background scan now (flush, then queue what is due). Any thread.
  /// Returns the number of domains queued.
  std::size_t scan_now();

  EngineStats stats() const;

  struct Core;

 private:
  void run();

  Store& store_;
  ProbeFn probe_;
  RefreshOptions options_;
  std::shared_ptr<Core> core_;
};

}  // namespace forcetls::cache
