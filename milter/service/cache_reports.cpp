// SPDX-License-Identifier: Apache-2.0
#include "milter/service/cache_reports.hpp"

#include <chrono>

namespace forcetls::milter {

std::optional<CachedReport> CacheReports::find(std::string_view domain) {
  cache::Lookup l = store_->peek(domain);
  if (l.state == cache::Freshness::missing) {
    return std::nullopt;
  }
  std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  return CachedReport{.report = std::move(l.report),
                      .stale = l.state == cache::Freshness::stale,
                      .age_seconds = now - l.checked_at};
}

std::string CacheReports::describe() const { return "LMDB cache " + store_->path(); }

}  // namespace forcetls::milter
