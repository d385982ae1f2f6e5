// SPDX-License-Identifier: Apache-2.0
// The store's decoded reports in memory (cache/decoded.hpp).
#include "cache/decoded.hpp"

#include <algorithm>
#include <functional>

namespace forcetls::cache::detail {

void Changes::only(std::string_view key) {
  all = false;
  slots.push_back(DecodedCache::slot_of(key));
}

DecodedCache::DecodedCache(std::size_t capacity)
    : capacity_(capacity),
      per_shard_(std::max<std::size_t>(1, (capacity + kShards - 1) / kShards)),
      versions_(std::make_unique<std::atomic<std::uint64_t>[]>(kSlots)) {}

std::uint32_t DecodedCache::slot_of(std::string_view key) {
  return static_cast<std::uint32_t>(std::hash<std::string_view>{}(key) & (kSlots - 1));
}

DecodedCache::Shard& DecodedCache::shard(const std::string& key) const {
  return shards_[(std::hash<std::string>{}(key) >> 20) % kShards];
}

std::uint64_t DecodedCache::last_txnid(MDB_env* env) {
  MDB_envinfo info{};
  mdb_env_info(env, &info);
  return info.me_last_txnid;
}

// Whether every commit LMDB has is accounted for here. When another
// process committed, the first caller that can take the commit lock drops
// every entry and accounts for it; until then lookups read LMDB.
bool DecodedCache::current(MDB_env* env) const {
  const std::uint64_t last = last_txnid(env);
  if (last == known_txnid_.load()) {
    return true;
  }
  std::unique_lock lock(commit_mutex_, std::try_to_lock);
  if (!lock.owns_lock()) {
    return false;  // a commit of this process is under way
  }
  const std::uint64_t again = last_txnid(env);
  if (again != known_txnid_.load()) {
    generation_.fetch_add(1);  // odd meanwhile: nothing found or inserted
    known_txnid_.store(again);
    generation_.fetch_add(1);
  }
  return false;
}

std::shared_ptr<const DecodedCache::Entry> DecodedCache::find(MDB_env* env,
                                                              const std::string& key) const {
  if (!enabled() || !current(env)) {
    return nullptr;
  }
  std::shared_ptr<const Entry> e;
  {
    Shard& s = shard(key);
    std::lock_guard lock(s.mu);
    auto it = s.map.find(key);
    if (it == s.map.end()) {
      return nullptr;
    }
    e = it->second;
  }
  if (e->generation != generation_.load()) {
    return nullptr;
  }
  for (const auto& [slot, version] : e->slots) {
    if (versions_[slot].load() != version) {
      return nullptr;
    }
  }
  return e;
}

void DecodedCache::insert(const std::string& key, std::uint64_t ticket, std::uint64_t txnid,
                          const std::vector<std::uint32_t>& slots,
                          const std::shared_ptr<Entry>& entry) {
  if (!enabled()) {
    return;
  }
  // Read after the transaction: a commit that overtook it has made one of
  // these odd, moved the commit counter, or both (commit()'s order).
  entry->generation = generation_.load();
  if (entry->generation % 2 != 0) {
    return;
  }
  entry->slots.clear();
  entry->slots.reserve(slots.size());
  for (std::uint32_t slot : slots) {
    const std::uint64_t v = versions_[slot].load();
    if (v % 2 != 0) {
      return;
    }
    entry->slots.emplace_back(slot, v);
  }
  if (commits_.load() != ticket || txnid != known_txnid_.load()) {
    return;
  }
  Shard& s = shard(key);
  std::shared_ptr<const Entry> e(entry);
  std::lock_guard lock(s.mu);
  if (s.map.size() >= per_shard_ && !s.map.contains(key)) {
    s.map.erase(s.map.begin());
  }
  s.map.insert_or_assign(key, std::move(e));
}

int DecodedCache::commit(MDB_txn* txn, const Changes& changes) {
  std::lock_guard lock(commit_mutex_);
  const std::uint64_t id = mdb_txn_id(txn);
  // A commit of another process since the last one accounted for: what it
  // changed is not known, so this one counts as changing anything.
  const bool all = changes.all || known_txnid_.load() + 1 != id;
  std::vector<std::uint32_t> slots;
  if (!all) {
    slots = changes.slots;
    std::sort(slots.begin(), slots.end());
    slots.erase(std::unique(slots.begin(), slots.end()), slots.end());  // each bumped once
  }
  auto bump = [&] {
    if (all) {
      generation_.fetch_add(1);
    } else {
      for (std::uint32_t slot : slots) {
        versions_[slot].fetch_add(1);
      }
    }
  };
  bump();                              // odd: readers do not insert what they read now
  const int rc = mdb_txn_commit(txn);  // frees txn, also on failure
  commits_.fetch_add(1);               // before the even step (see insert())
  bump();
  if (rc == 0) {
    known_txnid_.store(id);
  }
  return rc;
}

}  // namespace forcetls::cache::detail
