// SPDX-License-Identifier: Apache-2.0
// ProbeService: posts probes to its io_context; a per-domain deadline turns a
// probe that takes too long into an unknown report rather than a hang.
#include "milter/service/probe_service.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <future>
#include <variant>

#include "checker/report/judgement.hpp"
#include "checker/report/next_hop.hpp"
#include "common/log.hpp"
#include "common/unix_time.hpp"

namespace forcetls::milter {

namespace {

/// A report the prober could not give: unknown (a probe failure), never "no".
checker::DomainReport probe_failed(const std::string& domain, const std::string& code,
                                   const std::string& text) {
  return checker::unknown_report(domain, unix_now(), checker::UnknownCause::probe_failure,
                                 {code, "", text});
}

std::string recent_key(const std::string& host, const std::string& address, std::uint16_t port) {
  return host + "|" + address + "|" + std::to_string(port);
}

/// The prober's report, or what it threw. Asio's `a || b` waits for the
/// first operation that *succeeds*: an exception from the probe would be
/// dropped and the race would wait for the deadline timer. So the probe
/// never throws into the race.
asio::awaitable<std::variant<checker::DomainReport, std::string>> check_or_error(
    checker::Prober& prober, checker::ReportTarget target) {
  std::string error;
  try {
    checker::DomainReport report = co_await prober.check(std::move(target));
    co_return report;
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "unknown exception";
  }
  co_return error;
}

}  // namespace

Result<std::unique_ptr<ProbeService>> ProbeService::start(checker::ResolverOptions resolver,
                                                          checker::ProberOptions prober,
                                                          cache::Store* store,
                                                          std::chrono::milliseconds deadline,
                                                          std::chrono::milliseconds recent_window) {
  std::unique_ptr<ProbeService> s(new ProbeService());
  s->deadline_ = deadline;
  s->store_ = store;
  if (store != nullptr) {
    // Never longer than the store would keep the result itself.
    const cache::Ttls& t = store->options().ttls;
    s->recent_window_ = std::min(
        recent_window, std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::seconds(std::min({t.good, t.ineligible, t.unknown}))));
  }
  auto r = checker::UnboundResolver::create(s->io_.get_executor(), resolver);
  if (!r) {
    return std::unexpected(r.error());
  }
  s->resolver_ = std::move(*r);
  if (store != nullptr) {
    prober.known_address = [raw = s.get()](const std::string& host, const std::string& address,
                                           std::uint16_t port) {
      return raw->known(host, address, port);
    };
    // RFC 8461 §5.1: the policy stored with the domain (even with an
    // expired report: a policy's max_age may outlive it) lets the prober
    // skip an unchanged policy and keep a valid one when a fetch fails.
    prober.previous_mta_sts = [store](const std::string& domain) {
      return store->mta_sts_policy(domain);
    };
  }
  auto p = checker::Prober::create(*s->resolver_, std::move(prober));
  if (!p) {
    return std::unexpected(p.error());
  }
  s->prober_ = std::move(*p);
  s->thread_ = std::thread([raw = s.get()] { raw->io_.run(); });
  return s;
}

ProbeService::~ProbeService() {
  work_.reset();
  io_.stop();
  if (thread_.joinable()) {
    thread_.join();
  }
}

std::optional<checker::AddressReport> ProbeService::known(const std::string& host,
                                                          const std::string& address,
                                                          std::uint16_t port) {
  if (auto fresh = store_->fresh_address(host, address, port)) {
    return fresh;
  }
  auto it = recent_.find(recent_key(host, address, port));
  if (it == recent_.end()) {
    return std::nullopt;
  }
  if (std::chrono::steady_clock::now() - it->second.seen >= recent_window_) {
    recent_.erase(it);
    return std::nullopt;
  }
  ++recent_hits_;
  return it->second.report;
}

void ProbeService::remember(const checker::DomainReport& report) {
  if (recent_window_.count() <= 0) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(recent_, [&](const auto& kv) { return now - kv.second.seen >= recent_window_; });
  for (const checker::MxReport& mx : report.mx) {
    for (const checker::AddressReport& a : mx.addresses) {
      // Only what this probe learnt: results reused from the store keep the
      // store's expiry, and an address the policy refused was not contacted.
      if (!a.probed || recent_.contains(recent_key(mx.host, a.address, a.port)) ||
          (store_ != nullptr && store_->fresh_address(mx.host, a.address, a.port))) {
        continue;
      }
      recent_.emplace(recent_key(mx.host, a.address, a.port), Recent{a, now});
    }
  }
}

asio::awaitable<void> ProbeService::run_one(std::string domain, cache::ProbeDone done) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline_);
  // The engine's keys are ReportTarget keys: a domain, `domain:port`,
  // `[host]`, `[host]:port`. One it did not make is a probe failure.
  auto target = checker::parse_report_key(domain);
  // Asio flattens the race's result: the report, what the probe threw, or
  // the deadline (monostate).
  std::variant<checker::DomainReport, std::string, std::monostate> got{std::in_place_index<2>};
  if (target) {
    auto raced = co_await (check_or_error(*prober_, std::move(*target)) ||
                           timer.async_wait(asio::use_awaitable));
    got = std::move(raced);
  }
  checker::DomainReport report;
  if (got.index() == 0) {
    report = std::move(std::get<0>(got));
  } else if (got.index() == 1) {
    const std::string error = std::move(std::get<1>(got));
    // The engine's slot is released now, not at its probe timeout.
    report = probe_failed(domain, "probe-error", "the probe of " + domain + " failed: " + error);
    log::error(log::fields({{"domain", domain}, {"event", "probe-error"}, {"error", error}}));
  } else {
    // The whole domain took longer than the deadline: unknown, never "no".
    report =
        probe_failed(domain, "probe-timeout", "the probe of " + domain + " passed its deadline");
    report.dns_error = target ? "probe deadline passed" : target.error().message;
    log::warning(log::fields({{"domain", domain}, {"event", "probe-deadline"}}));
  }
  remember(report);
  connections_.store(prober_->connections(), std::memory_order_relaxed);
  reused_.store(prober_->reused(), std::memory_order_relaxed);
  reused_recent_.store(recent_hits_, std::memory_order_relaxed);
  cache::Probed probed;
  if (report.dns_ttl > 0) {
    probed.dns_ttl = report.dns_ttl;
  }
  probed.report = std::move(report);
  done(std::move(probed));
}

void ProbeService::probe(const std::string& domain, cache::ProbeDone done) {
  asio::co_spawn(io_, run_one(domain, std::move(done)), [domain](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::error(
            log::fields({{"domain", domain}, {"event", "probe-error"}, {"error", ex.what()}}));
      }
    }
  });
}

Result<cache::Probed> ProbeService::probe_sync(const std::string& domain) {
  auto promise = std::make_shared<std::promise<cache::Probed>>();
  std::future<cache::Probed> future = promise->get_future();
  probe(domain, [promise](cache::Probed p) { promise->set_value(std::move(p)); });
  if (future.wait_for(deadline_ * 2) != std::future_status::ready) {
    return fail(Errc::timeout, "probe of " + domain + " did not finish");
  }
  return future.get();
}

}  // namespace forcetls::milter
