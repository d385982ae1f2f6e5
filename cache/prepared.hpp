// SPDX-License-Identifier: Apache-2.0
// Internal to cache/: a checker report turned into the records the store
// writes (one domain record, one address record per MX address), with every
// name normalised and every limit checked. Pure; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cache/record.hpp"
#include "cache/store.hpp"
#include "checker/report/report.hpp"
#include "common/error.hpp"

namespace forcetls::cache::detail {

/// A report turned into records, before the write transaction decides which
/// address records to keep.
struct Prepared {
  DomainRecord domain;
  std::vector<std::pair<std::string, AddressRecord>> addresses;  // key, record
};

/// The records for `report` (judged: its verdict is stored for listing)
/// stored at `now`; an error names what put()
/// refuses (a bad name or address, a limit exceeded). check_storable() runs it too.
Result<Prepared> prepare(const checker::DomainReport& report, std::int64_t now, const Ttls& ttls,
                         const PutOptions& options);

}  // namespace forcetls::cache::detail
