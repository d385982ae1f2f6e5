// SPDX-License-Identifier: Apache-2.0
// DecodedCache: the store's reassembled, judged domain reports kept in
// memory, so a warm RCPT neither decodes records nor re-judges a report.
// LMDB stays the truth: an entry is used only while nothing it was built
// from can have changed.
//
// How an entry knows it is still right:
//  - Every commit of this process goes through commit(), which knows what
//    the transaction wrote: the domain and address record keys of a put, or
//    "anything" for every other write. Each key hashes to a version slot;
//    an entry remembers the versions of the slots of its domain and of
//    every address record it read. A commit bumps the slots it wrote
//    (or the generation, for "anything") twice: to odd before the commit,
//    to even after it, with the commit counter stepped in between.
//  - A reader notes the commit counter before its read transaction and
//    inserts only when the counter has not moved and no slot it depends on
//    is odd, so an entry built from a snapshot older than a commit always
//    holds a version that commit bumped past.
//  - Commits of other processes (forcetls-ctl purging, importing,
//    unpinning) are seen as LMDB's last transaction id moving past the last
//    one this process accounted for: such a lookup reads LMDB, and the first
//    one that can take the commit lock drops every entry.
//  - Hash collisions of slots only drop entries that were still right.
// The entry count is bounded (`capacity`): past it, an arbitrary entry of
// the shard is dropped. Capacity 0 turns the cache off.
#pragma once

#include <lmdb.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cache/store.hpp"

namespace forcetls::cache::detail {

/// What a write transaction changed, for the decoded cache. `all` unless
/// the body says otherwise: a write that does not name its keys drops
/// every entry.
struct Changes {
  bool all = true;
  std::vector<std::uint32_t> slots;  ///< of the domain and address record keys written
  void only(std::string_view key);
  void none() { all = false; }
};

class DecodedCache {
 public:
  struct Entry {
    /// The lookup as read from LMDB: the reassembled, judged report and its
    /// times (state and miss are settled by each lookup, by the clock).
    Lookup found;
    /// Last use as far as this process knows (records, then its own touches).
    mutable std::atomic<std::int64_t> last_used{0};
    std::uint64_t generation = 0;
    std::vector<std::pair<std::uint32_t, std::uint64_t>> slots;  ///< slot, version read
  };

  explicit DecodedCache(std::size_t capacity);

  bool enabled() const { return capacity_ != 0; }

  /// The entry for `key` when it is still what LMDB holds; null otherwise
  /// (absent, outdated, or another process committed since). The caller
  /// keeps the map from being resized meanwhile (the store's map lock).
  std::shared_ptr<const Entry> find(MDB_env* env, const std::string& key) const;

  /// Taken before the read transaction of a lookup that missed: the
  /// commit count insert() checks.
  std::uint64_t ticket() const { return commits_.load(); }
  /// The slot of a record key (domain or address key).
  static std::uint32_t slot_of(std::string_view key);
  /// Inserts an entry built in a read transaction with id `txnid` from the
  /// records of `slots`, unless a commit may have overtaken it.
  void insert(const std::string& key, std::uint64_t ticket, std::uint64_t txnid,
              const std::vector<std::uint32_t>& slots, const std::shared_ptr<Entry>& entry);

  /// Commits the write transaction `txn` (mdb_txn_commit), invalidating
  /// what `changes` names. Returns mdb_txn_commit's code.
  int commit(MDB_txn* txn, const Changes& changes);

 private:
  static constexpr std::size_t kSlots = 1u << 18;
  static constexpr std::size_t kShards = 64;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::shared_ptr<const Entry>> map;
  };

  static std::uint64_t last_txnid(MDB_env* env);
  bool current(MDB_env* env) const;
  Shard& shard(const std::string& key) const;

  std::size_t capacity_;
  std::size_t per_shard_;
  // The slot versions and the generation: even when settled, odd while a
  // commit that changes them is under way.
  std::unique_ptr<std::atomic<std::uint64_t>[]> versions_;
  mutable std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::uint64_t> commits_{0};
  // The last LMDB transaction id whose changes are accounted for here.
  mutable std::atomic<std::uint64_t> known_txnid_{0};
  // Held by commit() around each commit, and by a reader that drops every
  // entry after another process's commit.
  mutable std::mutex commit_mutex_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace forcetls::cache::detail
