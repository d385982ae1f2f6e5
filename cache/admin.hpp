// SPDX-License-Identifier: Apache-2.0
// Administration of the cache for forcetls-ctl: list, show, refresh, purge,
// stats, export and import, as functions returning data or text. Each takes
// an open Store; forcetls-ctl opens its own on the daemon's directory while
// the daemon runs (LMDB coordinates the two processes). Any thread; the
// writing ones are writer work (serialised by the Store).
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "cache/refresh.hpp"
#include "cache/store.hpp"
#include "common/error.hpp"

namespace forcetls::cache {

enum class ListFilter : std::uint8_t {
  all,
  stale,       ///< everything not fresh (stale, expired, incomplete, corrupt)
  ineligible,  ///< re-judged verdict is ineligible
};

struct ListEntry {
  std::string domain;
  Freshness state = Freshness::missing;
  Miss miss = Miss::none;
  checker::Eligibility eligible = checker::Eligibility::unknown;
  std::string grade;  ///< letter, with '?' when provisional; empty if unreadable
  std::int64_t checked_at = 0;
  std::int64_t expires_at = 0;
  std::int64_t last_used = 0;
};

/// Every stored domain passing the filter, in name order.
Result<std::vector<ListEntry>> list(Store& store, ListFilter filter);

/// A table: domain, state, verdict, grade, checked (age), expires (in),
/// used (age). `now` is unix time.
std::string format_list(const std::vector<ListEntry>& entries, std::int64_t now);

/// The report as forcetls-check prints it, from the cache, under a line with
/// its state and ages. Errc::not_found if the domain is not stored.
Result<std::string> show(Store& store, std::string_view domain);

/// Marks the domain stale and used now, so the running daemon re-probes it
/// at its next scan (within RefreshOptions::scan_interval) or lookup.
/// False if the domain is not stored.
Result<bool> refresh(Store& store, std::string_view domain);

/// A synchronous probe, for a forcetls-ctl that probes by itself.
using SyncProbeFn = std::function<Result<Probed>(const std::string& domain)>;
/// Probes now and stores the result; returns the stored, re-judged report.
Result<checker::DomainReport> refresh_now(Store& store, std::string_view domain,
                                          const SyncProbeFn& probe);

/// Removes one domain; false if it was not stored.
Result<bool> purge(Store& store, std::string_view domain);
/// Removes everything; returns the number of domains removed.
Result<std::size_t> purge_all(Store& store);

/// `key: value` lines: entries, hits, misses, decode failures, sizes.
std::string format_stats(const StoreStats& stats);

/// Writes one JSON document per line (checker::to_json of the re-judged
/// report plus a "cache" object: stored_at, expires_at, last_used, dns_ttl).
/// Unreadable entries are skipped and counted. Returns lines written.
struct ExportResult {
  std::size_t written = 0;
  std::size_t skipped = 0;
};
Result<ExportResult> export_jsonl(Store& store, std::ostream& out);

/// Reads what export_jsonl wrote. Every line is validated (JSON, the strict
/// report reader, names, addresses, limits) and a bad line is reported as
/// "line N: why" without stopping the import. Expiry is recomputed from
/// checked_at with this store's TTLs. Blank lines and '#' comments skipped.
struct ImportResult {
  std::size_t imported = 0;
  std::vector<std::string> errors;
};
ImportResult import_jsonl(Store& store, std::istream& in);

}  // namespace forcetls::cache
