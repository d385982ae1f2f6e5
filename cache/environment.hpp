// SPDX-License-Identifier: Apache-2.0
// Internal to cache/: the LMDB environment behind a Store (Store::Impl). It
// opens and closes the environment, lends pooled read transactions, runs
// write transactions (retrying on MDB_MAP_RESIZED, growing the map or
// evicting on MDB_MAP_FULL), notes uses in memory and flushes them with the
// counters. The record layout is described in cache/store.cpp.
#pragma once

#include <lmdb.h>
#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cache/decoded.hpp"
#include "cache/record.hpp"
#include "cache/store.hpp"
#include "common/error.hpp"

namespace forcetls::cache {
namespace detail {

// A body's own failure (not an LMDB code): LMDB returns errno values and
// codes in -30799..-30780, never -1.
inline constexpr int kRejected = -1;

inline std::string mdb_error(int rc) { return mdb_strerror(rc); }

inline MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
inline std::string_view view(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

// One Store per directory per process: the directory and the process that
// opened it.
struct OpenKey {
  dev_t dev;
  ino_t ino;
  pid_t pid;  // entries inherited across fork() belong to the parent
  auto operator<=>(const OpenKey&) const = default;
};

// Reset read transactions keep their reader slot, so renewing one costs no
// lock-table mutex. Each thread keeps one in a thread_local; the pool holds
// the rest and outlives the Store so a thread exiting late finds it.
struct ReaderPool {
  std::mutex mu;
  bool closed = false;
  std::vector<MDB_txn*> free;
  std::vector<MDB_txn*> all;
};

// Counters persisted in meta "counters", in this order.
enum Counter : std::size_t { kHits, kStaleHits, kMisses, kDecodeFailures, kEvicted, kCounters };

struct TouchShard {
  std::mutex mu;
  std::unordered_map<std::string, std::int64_t> when;
};

}  // namespace detail

class Store::Impl {
 public:
  using Body = std::function<int(MDB_txn*, std::string& why)>;

  explicit Impl(const StoreOptions& options)
      : decoded_(options.decoded_domains), options_(options) {}
  ~Impl() { close(); }

  Result<void> open();
  void close();

  /// Runs fn(txn) in a read transaction; fn copies out what it needs.
  /// A template, not std::function: no allocation on the lookup path.
  template <typename Fn>
  int read(Fn&& fn) {
    for (int attempt = 0; attempt < 4; ++attempt) {
      std::shared_lock lock(map_mutex_);
      MDB_txn* txn = nullptr;
      bool tl = false;
      int rc = acquire(txn, tl);
      if (rc == 0) {
        rc = fn(txn);
        release(txn, tl);
        return rc;
      }
      lock.unlock();
      if (rc != MDB_MAP_RESIZED) {
        return rc;
      }
      adopt_map_size();
    }
    return MDB_MAP_RESIZED;
  }
  /// Runs body in a write transaction and commits, growing the map or
  /// evicting on MDB_MAP_FULL and adopting another process's map size.
  Result<void> write(const Body& body, std::string_view what);

  /// The decoded cache's entry for a domain key, if still right.
  std::shared_ptr<const detail::DecodedCache::Entry> find_decoded(const std::string& key) {
    std::shared_lock lock(map_mutex_);
    return decoded_.find(env_, key);
  }

  void touch(const std::string& domain, std::int64_t now);
  std::unordered_map<std::string, std::int64_t> take_touches();
  void count(detail::Counter c) { counters_[c].fetch_add(1, std::memory_order_relaxed); }

  Result<void> flush();
  Result<std::size_t> evict();
  int delete_domain(MDB_txn* txn, std::string_view domain);
  /// Rewrites a domain record with a new expiry, keeping the index in step.
  int rewrite_expiry(MDB_txn* txn, DomainRecord& d, std::int64_t expires_at, std::string& why);

  MDB_env* env_ = nullptr;
  MDB_dbi domains_ = 0, addresses_ = 0, used_ = 0, expiry_ = 0, meta_ = 0, pins_ = 0;
  std::array<std::atomic<std::uint64_t>, detail::kCounters> counters_{};
  std::array<std::uint64_t, detail::kCounters> flushed_{};  // part of counters_ already in meta
  std::atomic<std::uint64_t> map_grows_{0};
  detail::DecodedCache decoded_;
  /// What the running write transaction changed (the writer's: set by a
  /// body, read when it commits). Reset to "anything" before each body.
  detail::Changes changes_;

 private:
  // The steps of open().
  Result<void> claim_directory();
  Result<void> open_env();
  Result<void> reserve_map();
  void clear_stale_readers();
  Result<void> open_databases();
  int open_dbis(MDB_txn* txn);
  int check_schema(MDB_txn* txn, std::uint32_t& found, std::string& err);

  // The scans of evict().
  int use_scores(MDB_txn* txn, std::vector<std::pair<std::int64_t, std::string>>& scores);
  int orphan_addresses(MDB_txn* txn, std::vector<std::string>& orphans);

  int acquire(MDB_txn*& txn, bool& thread_local_txn);
  void release(MDB_txn* txn, bool thread_local_txn);
  void adopt_map_size();
  Result<void> make_room();
  Result<void> maybe_evict();
  std::uint64_t free_pages();
  Result<void> write_raw(const Body& body, std::string_view what);
  int write_once(const Body& body, std::string& why);
  Result<void> delete_in_chunks(std::size_t n,
                                const std::function<int(MDB_txn*, std::size_t)>& del);

  StoreOptions options_;
  std::shared_ptr<detail::ReaderPool> pool_ = std::make_shared<detail::ReaderPool>();
  // Shared by every transaction of this process, exclusive for
  // mdb_env_set_mapsize(), which unmaps the region readers point into.
  std::shared_mutex map_mutex_;
  std::mutex write_mutex_;  // one writer in this process
  std::mutex flush_mutex_;
  std::array<detail::TouchShard, 16> touches_;
  pid_t pid_ = 0;
  std::optional<detail::OpenKey> key_;

  friend class Store;
};

}  // namespace forcetls::cache
