// SPDX-License-Identifier: Apache-2.0
#include "cache/reports.hpp"

namespace forcetls::cache {

Lookup EngineReports::lookup(std::string_view domain, Priority miss_priority) {
  // One refresh request, with the priority the caller knows.
  Lookup found = store_.lookup(domain);
  if (found.state != Freshness::fresh) {
    engine_.request_refresh(
        domain, found.state == Freshness::missing ? miss_priority : Priority::background);
  }
  return found;
}

Result<checker::DomainReport> StoreReports::await_fresh(std::string_view domain,
                                                        std::chrono::steady_clock::time_point) {
  Lookup found = store_->lookup(domain);
  if (found.state != Freshness::fresh) {
    return fail(Errc::timeout, "not probed: forcetls-ctl reads the cache and never probes");
  }
  return *found.report;
}

}  // namespace forcetls::cache
