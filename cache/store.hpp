// SPDX-License-Identifier: Apache-2.0
// Store: the LMDB cache of checker reports. One per process, opened after
// daemonising; any thread may read, writes are serialised inside. The owner
// destroys it only after every thread using it has stopped.
//
// Threading and lifetime rules (read before use, the way lmdb.h asks):
//  - open() the store after fork()/daemon(), never before: an LMDB
//    environment must not cross fork(). A process may hold one Store per
//    directory; a second open() of the same directory in the same process
//    fails (LMDB's POSIX locks would be lost on the second close).
//  - Any number of threads may call lookup(), peek() and fresh_address()
//    concurrently. Each call runs one short read-only transaction (MDB_NOTLS:
//    the reader slot belongs to the transaction, not the thread, so pooled or
//    reused libmilter threads are fine) and never blocks on a writer. Readers
//    only wait on the rare map growth (an exclusive lock held for one
//    mdb_env_set_mapsize(); the map doubles, and open() leaves room).
//  - Map full: below max_map_size the map grows; at it, the least recently
//    used tenth of the domains is evicted (before the map is completely
//    full, so the deletions themselves have room). Never an error.
//  - Writers (put, purge, invalidate, flush, sweep, imports) are serialised by
//    an internal mutex and by LMDB's writer lock, which also serialises them
//    with other processes. In the daemon, the refresh engine's thread is the
//    one writer; forcetls-ctl may write from its own process at the same time.
//  - lookup() records "used" times in memory only (the RCPT path stays
//    read-only); flush() writes them, with the hit/miss counters, in one
//    transaction. The refresh engine calls flush() periodically.
//  - Reports returned are copies: they stay valid after the call.
//  - Files: <dir>/data.mdb and <dir>/lock.mdb, mode 0600, the directory 0700.
//    Another process (forcetls-ctl) may open the same directory read/write
//    while the daemon runs: LMDB's lock file coordinates readers and the
//    single writer across processes, and a map grown by one process is
//    adopted by the others (MDB_MAP_RESIZED). Upgrade forcetls with the
//    daemon stopped: a newer schema empties the cache (see kSchemaVersion).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cache/pins.hpp"
#include "cache/record.hpp"
#include "checker/report/report.hpp"
#include "common/error.hpp"

namespace forcetls::cache {

/// Unix time in seconds. The seam for tests: a fixed clock makes expiry
/// deterministic.
using Clock = std::function<std::int64_t()>;
Clock system_clock();

/// How long results stay fresh, by what they say (seconds).
struct Ttls {
  std::int64_t good = 24 * 3600;   ///< eligible domains, fully answered addresses
  std::int64_t ineligible = 3600;  ///< a "no" can be fixed by its admin: look again soon
  std::int64_t unknown = 15 * 60;  ///< timeouts, refusals, DNS failures
  std::int64_t grace = 3600;       ///< after expiry, answered as stale while refreshed
};

/// How hard commits push data to disk. Any of them survives a killed
/// process; they differ on a crash of the whole machine.
enum class Durability : std::uint8_t {
  full,          ///< data and meta page synced per commit
  no_meta_sync,  ///< data synced, meta page on the next commit: a crash may undo the last commit
  none,          ///< nothing synced (tests, benchmarks): a crash may lose or corrupt the cache
};

struct StoreOptions {
  std::string path;  ///< directory, created (0700) if missing
  Ttls ttls;
  std::size_t map_size = 64u << 20;       ///< initial map; the file grows as used
  std::size_t max_map_size = 4ull << 30;  ///< grow up to this, then evict the least used
  unsigned max_readers = 1024;            ///< concurrent read transactions, all processes
  std::int64_t touch_interval = 300;      ///< last_used precision: fewer writes for hot domains
  /// Domains whose reassembled, judged report is kept in memory for
  /// lookup() (cache/decoded.hpp); 0: none, every lookup decodes. About
  /// 5 KB each for a domain of five MX addresses (rcpt_bench prints it).
  std::size_t decoded_domains = 20'000;
  Durability durability = Durability::no_meta_sync;
  PinOptions pins;  ///< eligibility pins (pins.hpp) for probe results
  Clock clock;      ///< empty: system_clock()
};

/// Schema of the environment (named databases, key layout, record version).
/// Opening a cache with an older schema drops its contents (it is a cache,
/// the prober refills it); a newer schema is an error, so an old
/// forcetls-ctl never wipes a newer daemon's cache.
inline constexpr std::uint32_t kSchemaVersion = 1;

enum class Freshness : std::uint8_t {
  fresh,    ///< within its TTL
  stale,    ///< expired but within the grace window: usable, refresh it
  missing,  ///< absent, expired past grace, incomplete or undecodable
};
std::string_view to_string(Freshness f);

/// Why a lookup missed.
enum class Miss : std::uint8_t {
  none,        ///< not a miss
  absent,      ///< no record for the domain
  expired,     ///< expired past the grace window (report still filled)
  incomplete,  ///< an address record it uses is gone (evicted or swept)
  corrupt,     ///< a record failed to decode (counted in decode_failures)
};
std::string_view to_string(Miss m);

/// The empty report a Lookup holds when it has none.
const std::shared_ptr<const checker::DomainReport>& no_report();

struct Lookup {
  Freshness state = Freshness::missing;
  Miss miss = Miss::absent;
  /// The reassembled, re-judged report, shared and never null (an empty
  /// report when none). Filled unless miss is absent, incomplete or
  /// corrupt; act on it only when state is not missing.
  std::shared_ptr<const checker::DomainReport> report = no_report();
  std::int64_t checked_at = 0;  ///< when the domain was probed
  std::int64_t stored_at = 0;   ///< when the domain record was written
  std::int64_t expires_at = 0;  ///< earliest expiry of the domain and its address records
  std::int64_t last_used = 0;   ///< 0: never used (as of the last flush)
  std::int64_t dns_ttl = -1;    ///< the DNS TTL cap given when stored, -1 for none
};

struct PutOptions {
  /// Smallest TTL of the DNS answers behind the report (MX, A/AAAA): caps
  /// the domain record's lifetime when shorter than the class TTL.
  std::optional<std::int64_t> dns_ttl = std::nullopt;
  /// Sets last_used (imports carry it); otherwise it is set to now when the
  /// domain has none yet.
  std::optional<std::int64_t> last_used = std::nullopt;
  /// A probe's result: the eligibility pin applies (pins.hpp). Imports and
  /// restored records are not probes and leave pins alone.
  bool probed = false;
};

struct PutItem {
  checker::DomainReport report;
  PutOptions options;
};

struct DueQuery {
  std::int64_t horizon = 0;     ///< unix time: look no further than this expiry
  std::int64_t used_since = 0;  ///< unix time: skip domains not used since
  double ahead_fraction = 0.1;  ///< refresh in the last tenth of a lifetime
  std::size_t limit = 10000;
};

struct Due {
  std::string domain;
  std::int64_t expires_at = 0;
  std::int64_t last_used = 0;
};

struct StoreStats {
  std::uint64_t domains = 0;    ///< domain records
  std::uint64_t addresses = 0;  ///< MX address records
  std::uint64_t hits = 0;       ///< fresh lookups (persisted + this process)
  std::uint64_t stale_hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t decode_failures = 0;
  std::uint64_t evicted = 0;     ///< domains evicted because the map was full
  std::uint64_t map_grows = 0;   ///< by this process
  std::uint64_t file_bytes = 0;  ///< data.mdb size on disk
  std::uint64_t used_bytes = 0;  ///< pages in use (last page * page size)
  std::uint64_t map_bytes = 0;   ///< current map size
  std::uint64_t last_txnid = 0;  ///< id of the last committed write (all processes)
  unsigned readers = 0;          ///< reader slots in use, all processes
  unsigned max_readers = 0;
};

/// Whether put() would accept the report (names, addresses, limits); the
/// same checks put() runs. Imports use it to reject a line with its reason.
Result<void> check_storable(const checker::DomainReport& report);

/// The TTL class a verdict earns.
TtlClass ttl_class_of(checker::Eligibility e);

class Store {
 public:
  static Result<std::unique_ptr<Store>> open(StoreOptions options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /// The milter's question: the domain's report and whether it is fresh.
  /// Counts a hit, stale hit or miss; notes the use in memory. Never throws.
  Lookup lookup(std::string_view domain);

  /// Like lookup() without counting or noting a use (admin, refresh engine).
  Lookup peek(std::string_view domain);

  /// The MTA-STS policy stored with the domain's record, however old (RFC
  /// 8461 §5.1: a policy lives for its max_age, which may outlast the
  /// report); nullopt when none was ever fetched. Reads the domain record
  /// only: no address records, no judging, nothing counted.
  std::optional<checker::MtaStsReport> mta_sts_policy(std::string_view domain);

  /// A still-fresh observation of one MX address, so the prober can skip
  /// an address another domain's probe answered (providers' MX hosts).
  std::optional<checker::AddressReport> fresh_address(std::string_view host,
                                                      std::string_view address, std::uint16_t port);

  /// Stores a probe result: its address records (a fresh known answer is
  /// not replaced by a probe failure) and its domain record, in one commit.
  Result<void> put(const checker::DomainReport& report, const PutOptions& options = {});
  /// Several results in one commit (the refresh engine, imports).
  Result<void> put_many(std::span<const PutItem> items);

  /// Removes a domain (its address records stay for the other domains).
  /// False if it was not there. Its eligibility pin stays (pins.hpp).
  Result<bool> purge(std::string_view domain);
  /// Empties the cache; returns the number of domains removed. Pins stay.
  Result<std::size_t> purge_all();

  /// The key's eligibility pin, live or not (nullopt: none).
  std::optional<Pin> pin(std::string_view key);
  /// Removes the key's pin and those of the servers (`[address]`) its stored
  /// report names (an admin who knows the change is real); false if there
  /// was none. The next probe then decides alone.
  Result<bool> unpin(std::string_view key);
  /// Marks a domain expired now: it is answered stale and refreshed.
  Result<bool> invalidate(std::string_view domain);

  /// Writes the noted uses and the counters. Writer work.
  Result<void> flush();
  /// Deletes records expired past the grace window; returns domains removed.
  Result<std::size_t> sweep();

  /// Domains due for a background refresh, soonest expiry first: used at
  /// or after `query.used_since`, not expired past grace, and expiring
  /// before `query.horizon` with less than `ahead_fraction` of their
  /// lifetime left (stale ones always qualify).
  Result<std::vector<Due>> due_for_refresh(const DueQuery& query);

  /// Calls fn for every stored domain name in key order, in short read
  /// transactions of a few hundred keys (a long scan pins no old pages).
  /// fn returns false to stop.
  Result<void> for_each_domain(const std::function<bool(const std::string&)>& fn);

  StoreStats stats();
  std::int64_t now() const { return clock_(); }
  const StoreOptions& options() const { return options_; }
  const std::string& path() const { return options_.path; }
  /// This process's LMDB environment flags (mdb_env_get_flags), e.g. whether
  /// commits skip syncs (MDB_NOSYNC, MDB_NOMETASYNC). For tests and diagnostics.
  unsigned env_flags() const;

  class Impl;

 private:
  explicit Store(StoreOptions options);
  Lookup read_domain(std::string_view domain, bool count);

  StoreOptions options_;
  Clock clock_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace forcetls::cache
