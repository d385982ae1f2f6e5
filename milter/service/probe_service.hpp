// SPDX-License-Identifier: Apache-2.0
// ProbeService: the prober on its own thread (one Asio io_context), for the
// daemon and forcetls-ctl. Any thread may ask for a probe; results arrive by
// callback on the service thread, or synchronously for a caller that may
// block. Address results still fresh in the cache are reused, so a provider's
// MX serving many domains is probed once per TTL, not once per domain.
//
// Concurrent probes of one address share one flight inside the prober
// (checker::SingleFlight, kept while it runs). Between a domain's end and
// the refresh engine's write of its result the store does not know its
// addresses yet; the service keeps the address results of the domains it
// finished for a short window (recent_window, at most the store's shortest
// TTL) and answers from them when the store has nothing, so a domain started
// in that gap does not contact the provider's MX again. Not covered: an
// address whose probe ended while its domain still waits for another address
// (the prober reports per domain only; measured by tests/bench/scale_bench).
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "cache/refresh.hpp"
#include "cache/store.hpp"
#include "checker/dns/dns.hpp"
#include "checker/probe/prober.hpp"
#include "common/error.hpp"

namespace forcetls::milter {

class ProbeService {
 public:
  /// How long the address results of a finished domain are reused while
  /// the store has none (the time the refresh engine needs to write them).
  static constexpr std::chrono::seconds kRecentWindow{60};

  /// Starts the thread. `store` (may be null) must outlive the service; its
  /// fresh address results are reused. `recent_window` zero turns the
  /// service's own memory of recent address results off; it is capped at
  /// the store's shortest TTL.
  static Result<std::unique_ptr<ProbeService>> start(
      checker::ResolverOptions resolver, checker::ProberOptions prober, cache::Store* store,
      std::chrono::milliseconds deadline, std::chrono::milliseconds recent_window = kRecentWindow);
  /// Stops the thread; probes still running are abandoned (their callbacks
  /// are not called).
  ~ProbeService();
  ProbeService(const ProbeService&) = delete;
  ProbeService& operator=(const ProbeService&) = delete;

  /// The cache::ProbeFn contract: returns at once, calls done exactly once
  /// on the service thread.
  void probe(const std::string& domain, cache::ProbeDone done);

  /// Probes and waits (never call it from the service thread).
  Result<cache::Probed> probe_sync(const std::string& domain);

  /// TCP connections the prober opened, address results reused (from the
  /// store or the recent results), and of those, the ones from the recent
  /// results. Any thread; current as of the last finished domain.
  int connections() const { return connections_.load(std::memory_order_relaxed); }
  int reused() const { return reused_.load(std::memory_order_relaxed); }
  int reused_recent() const { return reused_recent_.load(std::memory_order_relaxed); }

 private:
  struct Recent {
    checker::AddressReport report;
    std::chrono::steady_clock::time_point seen;
  };

  ProbeService() = default;
  asio::awaitable<void> run_one(std::string domain, cache::ProbeDone done);
  // Service thread only.
  std::optional<checker::AddressReport> known(const std::string& host, const std::string& address,
                                              std::uint16_t port);
  void remember(const checker::DomainReport& report);

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::unique_ptr<checker::UnboundResolver> resolver_;
  std::unique_ptr<checker::Prober> prober_;
  std::chrono::milliseconds deadline_{60000};
  cache::Store* store_ = nullptr;
  std::chrono::milliseconds recent_window_{0};
  std::map<std::string, Recent> recent_;  // host|address|port; service thread only
  int recent_hits_ = 0;                   // service thread only
  std::atomic<int> connections_{0};
  std::atomic<int> reused_{0};
  std::atomic<int> reused_recent_{0};
  std::thread thread_;
};

}  // namespace forcetls::milter
