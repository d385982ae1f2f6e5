// SPDX-License-Identifier: Apache-2.0
// CacheReports: the ReportSource `forcetls-ctl explain` (and the daemon) read
// from — the LMDB cache. Peeks only: asking does not count as a use.
// Thread rules are the Store's (any thread).
#pragma once

#include "cache/store.hpp"
#include "milter/service/report_source.hpp"

namespace forcetls::milter {

class CacheReports final : public ReportSource {
 public:
  explicit CacheReports(std::unique_ptr<cache::Store> store) : store_(std::move(store)) {}
  std::optional<CachedReport> find(std::string_view domain) override;
  std::string describe() const override;

 private:
  std::unique_ptr<cache::Store> store_;
};

}  // namespace forcetls::milter
