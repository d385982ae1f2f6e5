// SPDX-License-Identifier: Apache-2.0
// Reports: the one interface through which the request paths get a domain's
// report — the milter at RCPT (check_recipient), the policy map at delivery,
// forcetls-ctl explain. Implementations must be safe to call from many
// threads at once.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "cache/refresh.hpp"
#include "cache/store.hpp"
#include "checker/report/report.hpp"
#include "common/error.hpp"

namespace forcetls::cache {

class Reports {
 public:
  virtual ~Reports() = default;
  /// The domain's report: fresh / stale / missing. Not fresh queues a
  /// refresh, a missing one with `miss_priority` (waiting: someone's mail
  /// sits in a queue for it). Never waits for a probe.
  virtual Lookup lookup(std::string_view domain, Priority miss_priority) = 0;
  Lookup lookup(std::string_view domain) { return lookup(domain, Priority::background); }
  /// The name's own record, without queueing anything (`[host]` keys).
  virtual Lookup peek(std::string_view name) = 0;
  /// A fresh report, waiting for a probe until `deadline` (Errc::timeout).
  virtual Result<checker::DomainReport> await_fresh(
      std::string_view domain, std::chrono::steady_clock::time_point deadline) = 0;
  /// What this source is, for people: "LMDB cache /var/lib/forcetls".
  virtual std::string describe() const = 0;
};

/// The daemon's: the refresh engine over the LMDB store.
class EngineReports final : public Reports {
 public:
  EngineReports(RefreshEngine& engine, Store& store) : engine_(engine), store_(store) {}
  Lookup lookup(std::string_view domain, Priority miss_priority) override;
  using Reports::lookup;
  Lookup peek(std::string_view name) override { return store_.peek(name); }
  Result<checker::DomainReport> await_fresh(
      std::string_view domain, std::chrono::steady_clock::time_point deadline) override {
    return engine_.await_fresh(domain, deadline);
  }
  std::string describe() const override { return "LMDB cache " + store_.path(); }

 private:
  RefreshEngine& engine_;
  Store& store_;
};

/// The store alone: nothing is queued, nothing probed (forcetls-ctl, which
/// reads the daemon's cache). await_fresh gives a fresh stored report at
/// once, or Errc::timeout as the milter would after its wait.
class StoreReports final : public Reports {
 public:
  explicit StoreReports(std::unique_ptr<Store> store) : store_(std::move(store)) {}
  Lookup lookup(std::string_view domain, Priority) override { return store_->lookup(domain); }
  using Reports::lookup;
  Lookup peek(std::string_view name) override { return store_->peek(name); }
  Result<checker::DomainReport> await_fresh(std::string_view domain,
                                            std::chrono::steady_clock::time_point) override;
  std::string describe() const override { return "LMDB cache " + store_->path(); }

 private:
  std::unique_ptr<Store> store_;
};

/// No cache at all (forcetls-ctl before the daemon ever ran): every domain
/// is missing.
class NoReports final : public Reports {
 public:
  Lookup lookup(std::string_view, Priority) override { return {}; }
  using Reports::lookup;
  Lookup peek(std::string_view) override { return {}; }
  Result<checker::DomainReport> await_fresh(std::string_view,
                                            std::chrono::steady_clock::time_point) override {
    return fail(Errc::timeout, "no cache: nothing probed");
  }
  std::string describe() const override { return "no cache (not built yet)"; }
};

}  // namespace forcetls::cache
