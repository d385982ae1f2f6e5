// SPDX-License-Identifier: Apache-2.0
// ReportSource: where `forcetls-ctl explain` (and later the milter) gets the
// checker report for a domain. The seam the LMDB cache plugs into; until it
// exists, NoReports answers "not cached" and MemoryReports serves tests.
// Implementations state their own thread rules; the two here are for one thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "checker/report/report.hpp"

namespace forcetls::milter {

/// A report as the cache holds it.
struct CachedReport {
  checker::DomainReport report;
  bool stale = false;            ///< past its TTL but inside the grace window
  std::int64_t age_seconds = 0;  ///< since the probe finished
};

class ReportSource {
 public:
  virtual ~ReportSource() = default;
  /// The report for a normalised domain, or nullopt when there is none.
  virtual std::optional<CachedReport> find(std::string_view domain) = 0;
  /// What this source is, for people: "no cache", "LMDB /var/lib/forcetls".
  virtual std::string describe() const = 0;
};

/// No cache at all: every domain is "not cached".
class NoReports final : public ReportSource {
 public:
  std::optional<CachedReport> find(std::string_view) override { return std::nullopt; }
  std::string describe() const override { return "no cache (not built yet)"; }
};

/// Reports held in memory, keyed by domain.
class MemoryReports final : public ReportSource {
 public:
  void add(CachedReport entry) {
    const std::string key = entry.report.domain;
    reports_[key] = std::move(entry);
  }
  std::optional<CachedReport> find(std::string_view domain) override {
    auto it = reports_.find(std::string(domain));
    if (it == reports_.end()) {
      return std::nullopt;
    }
    return it->second;
  }
  std::string describe() const override { return "in-memory reports"; }

 private:
  std::map<std::string, CachedReport> reports_;
};

}  // namespace forcetls::milter
