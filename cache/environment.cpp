// SPDX-License-Identifier: Apache-2.0
// The LMDB environment behind a Store (cache/environment.hpp): open and
// close, the schema check, pooled readers, the write-retry loop, map growth,
// eviction of the least used domains, noted uses and their flush.
#include "cache/environment.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>
#include <unordered_set>
#include <utility>

#include "cache/keys.hpp"
#include "common/log.hpp"

namespace forcetls::cache {
namespace {

using detail::address_key;
using detail::decode_i64;
using detail::encode_i64;
using detail::expiry_key;
using detail::kCounters;
using detail::kEvicted;
using detail::kRejected;
using detail::mdb_error;
using detail::OpenKey;
using detail::ReaderPool;
using detail::TouchShard;
using detail::val;
using detail::view;

// At max_map_size, evict once this share of the map holds live pages: the
// rest is room for the deletions themselves and for the next writes.
constexpr std::uint64_t kEvictAtPercent = 85;
// Keys deleted per eviction transaction: each deletion copies its leaf page
// first, so small transactions need little room, and the pages one frees
// fund the next.
constexpr std::size_t kEvictChunk = 32;

// ---- one Store per directory per process -----------------------------------

std::mutex g_open_mutex;
std::set<OpenKey> g_open;

// ---- pooled read transactions -----------------------------------------------

struct ThreadReader {
  std::shared_ptr<ReaderPool> pool;
  MDB_txn* txn = nullptr;
  bool busy = false;
  ThreadReader() = default;
  ThreadReader(const ThreadReader&) = delete;
  ThreadReader& operator=(const ThreadReader&) = delete;
  ~ThreadReader() { give_back(); }
  void give_back() {
    if (pool && txn != nullptr) {
      std::lock_guard lock(pool->mu);
      if (!pool->closed) {
        pool->free.push_back(txn);
      }
    }
    pool.reset();
    txn = nullptr;
  }
};
thread_local ThreadReader t_reader;

}  // namespace

Result<void> Store::Impl::open() {
  if (auto r = claim_directory(); !r) {
    return r;
  }
  if (auto r = open_env(); !r) {
    return r;
  }
  if (auto r = reserve_map(); !r) {
    return r;
  }
  clear_stale_readers();
  return open_databases();
}

// Creates the directory if needed and registers it for this process, which
// may open each directory once.
Result<void> Store::Impl::claim_directory() {
  const std::string& path = options_.path;
  if (path.empty()) {
    return fail(Errc::invalid_argument, "cache: no directory given");
  }
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return fail(Errc::io, "cache: mkdir " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return fail(Errc::io, "cache: " + path + " is not a directory");
  }
  pid_ = ::getpid();
  std::lock_guard lock(g_open_mutex);
  OpenKey key{st.st_dev, st.st_ino, pid_};
  if (g_open.contains(key)) {
    return fail(Errc::invalid_argument,
                "cache: " + path + " is already open in this process (LMDB forbids a second open)");
  }
  g_open.insert(key);
  key_ = key;
  return {};
}

// Creates and opens the LMDB environment with the configured limits and
// durability, and makes its files private.
Result<void> Store::Impl::open_env() {
  const std::string& path = options_.path;
  int rc = mdb_env_create(&env_);
  if (rc != 0) {
    return fail(Errc::internal, "cache: mdb_env_create: " + mdb_error(rc));
  }
  mdb_env_set_maxdbs(env_, 8);
  mdb_env_set_maxreaders(env_, options_.max_readers);
  // For an existing file LMDB raises this to the data size if needed; a
  // larger map another process uses is adopted on MDB_MAP_RESIZED.
  mdb_env_set_mapsize(env_, options_.map_size);
  unsigned flags = MDB_NOTLS | MDB_NORDAHEAD;
  if (options_.durability == Durability::no_meta_sync) {
    flags |= MDB_NOMETASYNC;
  } else if (options_.durability == Durability::none) {
    flags |= MDB_NOSYNC;
  }
  rc = mdb_env_open(env_, path.c_str(), flags, 0600);
  if (rc != 0) {
    mdb_env_close(env_);
    env_ = nullptr;
    return fail(Errc::io, "cache: open " + path + ": " + mdb_error(rc));
  }
  // The files may predate us with a looser mode; the cache tells who mails
  // whom, so keep it private.
  for (const char* file : {"/data.mdb", "/lock.mdb"}) {
    std::string f = path + file;
    if (::chmod(f.c_str(), 0600) != 0) {
      return fail(Errc::io, "cache: chmod " + f + ": " + std::strerror(errno));
    }
  }
  return {};
}

// LMDB opened an existing file with a map of at least its data size. Leave
// room to grow now, while no reader runs: growing later takes the
// exclusive map lock, which is the one thing a reader can wait on.
Result<void> Store::Impl::reserve_map() {
  MDB_envinfo info{};
  MDB_stat es{};
  mdb_env_info(env_, &info);
  mdb_env_stat(env_, &es);
  std::size_t used = (info.me_last_pgno + 1) * es.ms_psize;
  std::size_t want = std::min(std::max(options_.map_size, 2 * used), options_.max_map_size);
  if (want > info.me_mapsize) {
    if (int e = mdb_env_set_mapsize(env_, want); e != 0) {
      return fail(Errc::io, "cache: set map size: " + mdb_error(e));
    }
  }
  return {};
}

// Frees the reader slots of processes that died holding them.
void Store::Impl::clear_stale_readers() {
  int dead = 0;
  mdb_reader_check(env_, &dead);
  if (dead > 0) {
    log::warning("cache: " + log::fields({{"event", "stale-readers-cleared"},
                                          {"count", std::to_string(dead)}}));
  }
}

// Named databases and the schema check, in one write transaction.
Result<void> Store::Impl::open_databases() {
  const std::string& path = options_.path;
  std::uint32_t found_schema = 0;
  auto r = write_raw(
      [&](MDB_txn* txn, std::string& err) -> int {
        if (int e = open_dbis(txn); e != 0) {
          return e;
        }
        return check_schema(txn, found_schema, err);
      },
      "open");
  if (!r) {
    return fail(r.error().code == Errc::invalid_argument ? Errc::config : r.error().code,
                r.error().message);
  }
  if (found_schema != kSchemaVersion && found_schema != 0) {
    log::warning("cache: " + log::fields({{"event", "schema-rebuilt"},
                                          {"path", path},
                                          {"old", std::to_string(found_schema)},
                                          {"new", std::to_string(kSchemaVersion)}}));
  }
  return {};
}

int Store::Impl::open_dbis(MDB_txn* txn) {
  for (auto [name, dbi] : {std::pair{"domains", &domains_},
                           {"addresses", &addresses_},
                           {"used", &used_},
                           {"expiry", &expiry_},
                           {"meta", &meta_},
                           {"pins", &pins_}}) {
    if (int e = mdb_dbi_open(txn, name, MDB_CREATE, dbi); e != 0) {
      return e;
    }
  }
  return 0;
}

// Reads the stored schema into `found`. A newer one is refused (kRejected,
// with `err` saying why); an older one, or none, empties the databases and
// records ours.
int Store::Impl::check_schema(MDB_txn* txn, std::uint32_t& found, std::string& err) {
  MDB_val k = val("schema"), v;
  int e = mdb_get(txn, meta_, &k, &v);
  if (e != 0 && e != MDB_NOTFOUND) {
    return e;
  }
  std::uint32_t schema = 0;
  if (e == 0 && v.mv_size == 4) {
    std::memcpy(&schema, v.mv_data, 4);
  }
  found = schema;
  if (schema == kSchemaVersion) {
    return 0;
  }
  if (schema > kSchemaVersion) {
    err = "cache at " + options_.path + " has schema " + std::to_string(schema) +
          ", newer than this program's " + std::to_string(kSchemaVersion) +
          ": use a matching forcetls, or remove the directory";
    return kRejected;
  }
  // Older (or no) schema: it is only a cache, start empty. (Upgrade
  // with the daemon stopped: a running older daemon would keep
  // writing its own format into the emptied databases.)
  for (MDB_dbi dbi : {domains_, addresses_, used_, expiry_, meta_}) {
    if (int d = mdb_drop(txn, dbi, 0); d != 0) {
      return d;
    }
  }
  std::uint32_t ours = kSchemaVersion;
  MDB_val sv{4, &ours};
  k = val("schema");
  return mdb_put(txn, meta_, &k, &sv, 0);
}

void Store::Impl::close() {
  if (key_) {
    std::lock_guard lock(g_open_mutex);
    g_open.erase(*key_);
    key_.reset();
  }
  if (env_ == nullptr) {
    return;
  }
  if (::getpid() != pid_) {
    // A forked child: closing would clear the parent's reader slots.
    env_ = nullptr;
    return;
  }
  {
    std::lock_guard lock(pool_->mu);
    pool_->closed = true;
    for (MDB_txn* txn : pool_->all) {
      mdb_txn_abort(txn);
    }
    pool_->all.clear();
    pool_->free.clear();
  }
  if (t_reader.pool == pool_) {
    t_reader.pool.reset();
    t_reader.txn = nullptr;
  }
  mdb_env_close(env_);
  env_ = nullptr;
}

int Store::Impl::acquire(MDB_txn*& txn, bool& thread_local_txn) {
  thread_local_txn = false;
  txn = nullptr;
  if (!t_reader.busy && t_reader.pool == pool_ && t_reader.txn != nullptr) {
    txn = t_reader.txn;
    int rc = mdb_txn_renew(txn);
    if (rc == 0) {
      t_reader.busy = true;
      thread_local_txn = true;
    }
    return rc;  // on failure the txn stays reset and stays the thread's
  }
  {
    std::lock_guard lock(pool_->mu);
    if (!pool_->free.empty()) {
      txn = pool_->free.back();
      pool_->free.pop_back();
    }
  }
  if (txn != nullptr) {
    int rc = mdb_txn_renew(txn);
    if (rc != 0) {
      std::lock_guard lock(pool_->mu);
      pool_->free.push_back(txn);
      txn = nullptr;
    }
    return rc;
  }
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  if (rc != 0) {
    txn = nullptr;
    return rc;
  }
  std::lock_guard lock(pool_->mu);
  pool_->all.push_back(txn);
  return 0;
}

void Store::Impl::release(MDB_txn* txn, bool thread_local_txn) {
  mdb_txn_reset(txn);
  if (thread_local_txn) {
    t_reader.busy = false;
    return;
  }
  if (t_reader.txn == nullptr || (t_reader.pool != pool_ && !t_reader.busy)) {
    t_reader.give_back();
    t_reader.pool = pool_;
    t_reader.txn = txn;
    return;
  }
  std::lock_guard lock(pool_->mu);
  pool_->free.push_back(txn);
}

void Store::Impl::adopt_map_size() {
  std::unique_lock lock(map_mutex_);
  // Size 0: take the size another process recorded in the meta page.
  int rc = mdb_env_set_mapsize(env_, 0);
  if (rc != 0) {
    log::error("cache: " + log::fields({{"event", "adopt-map-size"}, {"error", mdb_error(rc)}}));
  }
}

int Store::Impl::write_once(const Body& body, std::string& why) {
  std::shared_lock lock(map_mutex_);
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc == 0) {
    changes_ = {};
    rc = body(txn, why);
    if (rc == 0) {
      rc = decoded_.commit(txn, changes_);  // frees txn, also on failure
    } else {
      mdb_txn_abort(txn);
    }
  }
  return rc;
}

Result<void> Store::Impl::write_raw(const Body& body, std::string_view what) {
  for (int attempt = 0;; ++attempt) {
    std::string why;
    int rc = write_once(body, why);
    if (rc == 0) {
      return {};
    }
    if (rc == kRejected) {
      return fail(Errc::invalid_argument, why);
    }
    if (rc == MDB_MAP_RESIZED && attempt < 4) {
      adopt_map_size();
      continue;
    }
    if (rc == MDB_MAP_FULL && attempt < 8) {
      // Only single deletions or the first write at open get here: a little
      // more room always suffices, even past max_map_size.
      std::unique_lock lock(map_mutex_);
      MDB_envinfo info{};
      mdb_env_info(env_, &info);
      std::size_t next = info.me_mapsize + std::max<std::size_t>(info.me_mapsize / 4, 1u << 20);
      if (int e = mdb_env_set_mapsize(env_, next); e != 0) {
        return fail(Errc::io, "cache: grow map: " + mdb_error(e));
      }
      map_grows_.fetch_add(1, std::memory_order_relaxed);
      log::warning("cache: " + log::fields({{"event", "map-grown-past-limit"},
                                            {"bytes", std::to_string(next)}}));
      continue;
    }
    return fail(Errc::io, "cache: " + std::string(what) + ": " + mdb_error(rc));
  }
}

Result<void> Store::Impl::delete_in_chunks(std::size_t n,
                                           const std::function<int(MDB_txn*, std::size_t)>& del) {
  std::size_t chunk = kEvictChunk;
  for (std::size_t at = 0; at < n;) {
    std::size_t end = std::min(n, at + chunk);
    Body body = [&](MDB_txn* txn, std::string&) -> int {
      for (std::size_t i = at; i < end; ++i) {
        int e = del(txn, i);
        if (e != 0 && e != MDB_NOTFOUND) {
          return e;
        }
      }
      return 0;
    };
    std::string why;
    int rc = write_once(body, why);
    if (rc == MDB_MAP_FULL && chunk > 1) {
      // Pages freed by one commit are reusable two commits later: smaller
      // steps need less room until they are.
      chunk /= 2;
      continue;
    }
    if (rc == MDB_MAP_RESIZED) {
      adopt_map_size();
      continue;
    }
    if (rc != 0) {
      if (auto r = write_raw(body, "evict"); !r) {
        return r;
      }
    }
    at = end;
  }
  return {};
}

Result<void> Store::Impl::make_room() {
  {
    std::unique_lock lock(map_mutex_);
    MDB_envinfo info{};
    mdb_env_info(env_, &info);
    if (info.me_mapsize < options_.max_map_size) {
      std::size_t next = std::min(options_.max_map_size,
                                  std::max(info.me_mapsize * 2, info.me_mapsize + (1u << 20)));
      int rc = mdb_env_set_mapsize(env_, next);
      if (rc != 0) {
        return fail(Errc::io, "cache: grow map: " + mdb_error(rc));
      }
      map_grows_.fetch_add(1, std::memory_order_relaxed);
      log::info("cache: " + log::fields({{"event", "map-grown"}, {"bytes", std::to_string(next)}}));
      return {};
    }
  }
  auto evicted = evict();
  if (!evicted) {
    return std::unexpected(evicted.error());
  }
  return {};
}

// Pages on LMDB's freelist (reusable), summed over the free database the
// way mdb_stat -f does: each record is an ID list whose first word is its
// length.
std::uint64_t Store::Impl::free_pages() {
  std::uint64_t total = 0;
  read([&](MDB_txn* txn) -> int {
    MDB_cursor* cur = nullptr;
    if (int e = mdb_cursor_open(txn, 0, &cur); e != 0) {
      return e;
    }
    MDB_val k, v;
    for (int e = mdb_cursor_get(cur, &k, &v, MDB_FIRST); e == 0;
         e = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      if (v.mv_size >= sizeof(std::size_t)) {
        std::size_t n = 0;
        std::memcpy(&n, v.mv_data, sizeof n);
        total += n;
      }
    }
    mdb_cursor_close(cur);
    return 0;
  });
  return total;
}

// At the size limit, evict before the map is full: deleting also needs
// fresh pages (copy-on-write), which a completely full map no longer has.
Result<void> Store::Impl::maybe_evict() {
  MDB_envinfo info{};
  MDB_stat es{};
  {
    std::shared_lock lock(map_mutex_);
    mdb_env_info(env_, &info);
    mdb_env_stat(env_, &es);
  }
  if (info.me_mapsize < options_.max_map_size || es.ms_psize == 0) {
    return {};
  }
  const std::uint64_t limit = options_.max_map_size / es.ms_psize;
  const std::uint64_t high = info.me_last_pgno + 1;
  if (high * 100 < limit * kEvictAtPercent) {
    return {};
  }
  const std::uint64_t free = free_pages();
  if ((high - std::min(high, free)) * 100 < limit * kEvictAtPercent) {
    return {};
  }
  auto r = evict();
  if (!r) {
    return std::unexpected(r.error());
  }
  return {};
}

Result<void> Store::Impl::write(const Body& body, std::string_view what) {
  std::lock_guard lock(write_mutex_);
  if (auto room = maybe_evict(); !room) {
    log::error("cache: " +
               log::fields({{"event", "evict-failed"}, {"error", room.error().message}}));
  }
  for (int attempt = 0;; ++attempt) {
    std::string why;
    int rc = write_once(body, why);
    if (rc == 0) {
      return {};
    }
    if (rc == kRejected) {
      return fail(Errc::invalid_argument, why);
    }
    if (rc == MDB_MAP_RESIZED && attempt < 8) {
      adopt_map_size();
      continue;
    }
    if (rc == MDB_MAP_FULL && attempt < 16) {
      if (auto room = make_room(); !room) {
        return room;
      }
      continue;
    }
    return fail(Errc::io, "cache: " + std::string(what) + ": " + mdb_error(rc));
  }
}

void Store::Impl::touch(const std::string& domain, std::int64_t now) {
  TouchShard& shard = touches_[std::hash<std::string>{}(domain) % touches_.size()];
  // Never wait: a use not noted now is noted by the next lookup.
  std::unique_lock lock(shard.mu, std::try_to_lock);
  if (lock.owns_lock()) {
    std::int64_t& when = shard.when[domain];
    when = std::max(when, now);
  }
}

std::unordered_map<std::string, std::int64_t> Store::Impl::take_touches() {
  std::unordered_map<std::string, std::int64_t> all;
  for (TouchShard& shard : touches_) {
    std::unordered_map<std::string, std::int64_t> mine;
    {
      std::lock_guard lock(shard.mu);
      mine.swap(shard.when);
    }
    all.merge(mine);
  }
  return all;
}

int Store::Impl::delete_domain(MDB_txn* txn, std::string_view domain) {
  MDB_val k = val(domain), v;
  int rc = mdb_get(txn, domains_, &k, &v);
  if (rc != 0) {
    return rc;
  }
  if (auto old = decode_domain(view(v))) {
    std::string ek = expiry_key(old->expires_at, domain);
    MDB_val ekv = val(ek);
    mdb_del(txn, expiry_, &ekv, nullptr);
  }
  k = val(domain);
  if ((rc = mdb_del(txn, domains_, &k, nullptr)) != 0) {
    return rc;
  }
  k = val(domain);
  rc = mdb_del(txn, used_, &k, nullptr);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

int Store::Impl::rewrite_expiry(MDB_txn* txn, DomainRecord& d, std::int64_t expires_at,
                                std::string& why) {
  std::string old_key = expiry_key(d.expires_at, d.domain);
  MDB_val okv = val(old_key);
  mdb_del(txn, expiry_, &okv, nullptr);
  d.expires_at = expires_at;
  auto bytes = encode(d);
  if (!bytes) {
    why = bytes.error().message;
    return kRejected;
  }
  MDB_val k = val(d.domain), bv = val(*bytes);
  if (int rc = mdb_put(txn, domains_, &k, &bv, 0); rc != 0) {
    return rc;
  }
  std::string ek = expiry_key(d.expires_at, d.domain);
  MDB_val ekv = val(ek), empty{0, nullptr};
  return mdb_put(txn, expiry_, &ekv, &empty, 0);
}

Result<void> Store::Impl::flush() {
  // Two flushes at once would add the same counter delta twice.
  std::lock_guard flushing(flush_mutex_);
  auto touches = take_touches();
  std::array<std::uint64_t, kCounters> delta{};
  std::array<std::uint64_t, kCounters> current{};
  bool any = !touches.empty();
  {
    std::lock_guard lock(write_mutex_);  // flushed_ is the writer's
    for (std::size_t i = 0; i < kCounters; ++i) {
      current[i] = counters_[i].load(std::memory_order_relaxed);
      delta[i] = current[i] - flushed_[i];
      any = any || delta[i] != 0;
    }
  }
  if (!any) {
    return {};
  }
  auto r = write(
      [&](MDB_txn* txn, std::string&) -> int {
        changes_.none();  // last uses and counters: no report changes
        for (const auto& [domain, when] : touches) {
          MDB_val k = val(domain), v;
          if (mdb_get(txn, domains_, &k, &v) != 0) {
            continue;  // purged since
          }
          k = val(domain);
          if (mdb_get(txn, used_, &k, &v) == 0 && decode_i64(view(v)) >= when) {
            continue;
          }
          std::string t = encode_i64(when);
          MDB_val tv = val(t);
          k = val(domain);
          if (int rc = mdb_put(txn, used_, &k, &tv, 0); rc != 0) {
            return rc;
          }
        }
        std::array<std::uint64_t, kCounters> stored{};
        MDB_val k = val("counters"), v;
        if (mdb_get(txn, meta_, &k, &v) == 0 && v.mv_size == sizeof stored) {
          std::memcpy(stored.data(), v.mv_data, sizeof stored);
        }
        for (std::size_t i = 0; i < kCounters; ++i) {
          stored[i] += delta[i];
        }
        MDB_val sv{sizeof stored, stored.data()};
        k = val("counters");
        return mdb_put(txn, meta_, &k, &sv, 0);
      },
      "flush");
  if (r) {
    std::lock_guard lock(write_mutex_);
    for (std::size_t i = 0; i < kCounters; ++i) {
      flushed_[i] += delta[i];
    }
  }
  return r;
}

// Called with write_mutex_ held, outside any transaction of this process.
Result<std::size_t> Store::Impl::evict() {
  // Least recently used (or, never used, least recently checked) first.
  std::vector<std::pair<std::int64_t, std::string>> scores;
  int rc = read([&](MDB_txn* txn) -> int { return use_scores(txn, scores); });
  if (rc != 0) {
    return fail(Errc::io, "cache: evict: " + mdb_error(rc));
  }
  std::size_t n = scores.empty() ? 0 : std::max<std::size_t>(1, scores.size() / 10);
  std::nth_element(scores.begin(), scores.begin() + static_cast<long>(n), scores.end());
  if (auto r = delete_in_chunks(
          n, [&](MDB_txn* txn, std::size_t i) { return delete_domain(txn, scores[i].second); });
      !r) {
    return std::unexpected(r.error());
  }
  // Address records no remaining domain uses.
  std::vector<std::string> orphans;
  rc = read([&](MDB_txn* txn) -> int { return orphan_addresses(txn, orphans); });
  if (rc != 0) {
    return fail(Errc::io, "cache: evict: " + mdb_error(rc));
  }
  if (auto r = delete_in_chunks(orphans.size(),
                                [&](MDB_txn* txn, std::size_t i) {
                                  MDB_val k = val(orphans[i]);
                                  return mdb_del(txn, addresses_, &k, nullptr);
                                });
      !r) {
    return std::unexpected(r.error());
  }
  counters_[kEvicted].fetch_add(n, std::memory_order_relaxed);
  log::warning("cache: " + log::fields({{"event", "evicted"},
                                        {"domains", std::to_string(n)},
                                        {"addresses", std::to_string(orphans.size())},
                                        {"reason", "map full at max_map_size"}}));
  return n;
}

// Every domain with its last use, or when never used its check time;
// undecodable records score lowest.
int Store::Impl::use_scores(MDB_txn* txn,
                            std::vector<std::pair<std::int64_t, std::string>>& scores) {
  MDB_cursor* cur = nullptr;
  if (int e = mdb_cursor_open(txn, domains_, &cur); e != 0) {
    return e;
  }
  MDB_val k, v;
  for (int e = mdb_cursor_get(cur, &k, &v, MDB_FIRST); e == 0;
       e = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    std::string domain(view(k));
    std::int64_t score = std::numeric_limits<std::int64_t>::min();  // undecodable: first
    if (auto d = decode_domain(view(v))) {
      score = d->checked_at;
    }
    MDB_val uk = val(domain), uv;
    if (mdb_get(txn, used_, &uk, &uv) == 0) {
      score = std::max(score, decode_i64(view(uv)));
    }
    scores.emplace_back(score, std::move(domain));
  }
  mdb_cursor_close(cur);
  return 0;
}

// The keys of address records no domain record refers to.
int Store::Impl::orphan_addresses(MDB_txn* txn, std::vector<std::string>& orphans) {
  std::unordered_set<std::string> referenced;
  MDB_cursor* cur = nullptr;
  if (int e = mdb_cursor_open(txn, domains_, &cur); e != 0) {
    return e;
  }
  MDB_val k, v;
  for (int e = mdb_cursor_get(cur, &k, &v, MDB_FIRST); e == 0;
       e = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (auto d = decode_domain(view(v))) {
      for (const MxEntry& m : d->mx) {
        for (const AddressRef& a : m.addresses) {
          referenced.insert(address_key(m.host, a.address, a.port));
        }
      }
    }
  }
  mdb_cursor_close(cur);
  if (int e = mdb_cursor_open(txn, addresses_, &cur); e != 0) {
    return e;
  }
  for (int e = mdb_cursor_get(cur, &k, &v, MDB_FIRST); e == 0;
       e = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    std::string key(view(k));
    if (!referenced.contains(key)) {
      orphans.push_back(std::move(key));
    }
  }
  mdb_cursor_close(cur);
  return 0;
}

}  // namespace forcetls::cache
