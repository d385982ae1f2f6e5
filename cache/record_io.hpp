// SPDX-License-Identifier: Apache-2.0
// Internal to cache/: one domain's records read from and written to LMDB
// inside a transaction of the store. Both return 0 or an LMDB error code,
// put_records also kRejected with `why` set; the caller owns the transaction.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cache/environment.hpp"
#include "cache/prepared.hpp"
#include "cache/store.hpp"

namespace forcetls::cache::detail {

/// A domain's records reassembled: the report, not yet judged, into
/// `report`, its times and last use into `out`. `found` is set when all of
/// them are there and decodable; otherwise out.miss says corrupt or
/// incomplete, or stays absent. `slots`, when given, receives the decoded
/// cache's slot of every record read (cache/decoded.hpp).
int read_records(Store::Impl& im, MDB_txn* txn, const std::string& key, Lookup& out,
                 checker::DomainReport& report, bool& found,
                 std::vector<std::uint32_t>* slots = nullptr);

/// Writes one prepared report: its address records (a stored observation
/// that outranks a fresh one stays), its domain record with the expiry
/// index entry, and last_used (the one given, else now when it has none).
int put_records(Store::Impl& im, MDB_txn* txn, const Prepared& p, const PutOptions& o,
                std::int64_t now, std::string& why);

}  // namespace forcetls::cache::detail
