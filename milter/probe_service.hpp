// ProbeService: the prober on its own thread (one Asio io_context), for the
// daemon and forcetls-ctl. Any thread may ask for a probe; results arrive by
// callback on the service thread, or synchronously for a caller that may
// block. Address results still fresh in the cache are reused, so a provider's
// MX serving many domains is probed once per TTL, not once per domain.
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <memory>
#include <string>
#include <thread>

#include "cache/refresh.hpp"
#include "cache/store.hpp"
#include "checker/dns.hpp"
#include "checker/prober.hpp"
#include "common/error.hpp"

namespace forcetls::milter {

class ProbeService {
 public:
  /// Starts the thread. `store` (may be null) must outlive the service; its
  /// fresh address results are reused.
  static Result<std::unique_ptr<ProbeService>> start(checker::ResolverOptions resolver,
                                                     checker::ProberOptions prober,
                                                     cache::Store* store,
                                                     std::chrono::milliseconds deadline);
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

  /// TCP connections the prober opened, and address results reused.
  int connections() const;
  int reused() const;

 private:
  ProbeService() = default;
  asio::awaitable<void> run_one(std::string domain, cache::ProbeDone done);

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::unique_ptr<checker::UnboundResolver> resolver_;
  std::unique_ptr<checker::Prober> prober_;
  std::chrono::milliseconds deadline_{60000};
  std::thread thread_;
};

}  // namespace forcetls::milter
