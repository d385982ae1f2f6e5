// SPDX-License-Identifier: Apache-2.0
// Store on LMDB. Layout (schema kSchemaVersion):
//   domains    normalized domain                -> DomainRecord
//   addresses  host NUL address NUL port(2, BE) -> AddressRecord
//   used       normalized domain                -> last_used (int64, little endian)
//   expiry     expires_at (8, BE, sign-flipped) + domain -> ""   (refresh and sweep order)
//   meta       "schema" -> uint32; "counters" -> packed uint64s
// The "used" database is separate so that noting a use never rewrites a
// domain record, and the expiry index lets the refresh engine find what is
// about to expire without reading every record.
#include "cache/store.hpp"

#include <arpa/inet.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "checker/report/domain_name.hpp"
#include "common/log.hpp"
#include "common/unix_time.hpp"

namespace forcetls::cache {
namespace {

using checker::AddressReport;
using checker::DomainReport;
using checker::Eligibility;

// A body's own failure (not an LMDB code): LMDB returns errno values and
// codes in -30799..-30780, never -1.
constexpr int kRejected = -1;

constexpr std::size_t kChunk = 256;  // keys per short transaction in scans

// At max_map_size, evict once this share of the map holds live pages: the
// rest is room for the deletions themselves and for the next writes.
constexpr std::uint64_t kEvictAtPercent = 85;
// Keys deleted per eviction transaction: each deletion copies its leaf page
// first, so small transactions need little room, and the pages one frees
// fund the next.
constexpr std::size_t kEvictChunk = 32;

std::string mdb_error(int rc) { return mdb_strerror(rc); }

MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view view(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

std::string address_key(std::string_view host, std::string_view address, std::uint16_t port) {
  std::string k;
  k.reserve(host.size() + address.size() + 4);
  k.append(host);
  k.push_back('\0');
  k.append(address);
  k.push_back('\0');
  k.push_back(static_cast<char>(port >> 8));
  k.push_back(static_cast<char>(port & 0xFF));
  return k;
}

// Big-endian with the sign bit flipped: byte order is numeric order, also
// for negative times (tests use small clocks).
std::string expiry_key(std::int64_t when, std::string_view domain) {
  auto u = static_cast<std::uint64_t>(when) ^ (1ull << 63);
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i) {
    k[static_cast<std::size_t>(i)] = static_cast<char>(u & 0xFF);
    u >>= 8;
  }
  k.append(domain);
  return k;
}
std::int64_t expiry_of_key(std::string_view k) {
  std::uint64_t u = 0;
  for (std::size_t i = 0; i < 8 && i < k.size(); ++i) {
    u = (u << 8) | static_cast<std::uint8_t>(k[i]);
  }
  return static_cast<std::int64_t>(u ^ (1ull << 63));
}

std::string encode_i64(std::int64_t v) {
  std::string s(8, '\0');
  std::memcpy(s.data(), &v, 8);
  return s;
}
std::int64_t decode_i64(std::string_view s) {
  std::int64_t v = 0;
  if (s.size() == 8) {
    std::memcpy(&v, s.data(), 8);
  }
  return v;
}

std::int64_t ttl_for(const Ttls& t, TtlClass c) {
  switch (c) {
    case TtlClass::good:
      return t.good;
    case TtlClass::ineligible:
      return t.ineligible;
    case TtlClass::unknown:
      return t.unknown;
  }
  return t.unknown;
}

// The class one address earns on its own: judged as if it were the only
// address of the only MX host, so the rule stays the checker's.
TtlClass address_class(const AddressReport& a, const std::string& host,
                       const checker::JudgeOptions& options) {
  DomainReport one;
  one.source = checker::MxSource::mx;
  checker::MxReport mx;
  mx.host = host;
  mx.addresses.push_back(a);
  one.mx.push_back(std::move(mx));
  return ttl_class_of(checker::eligibility(one, options).eligible);
}

// ---- one Store per directory per process -----------------------------------

struct OpenKey {
  dev_t dev;
  ino_t ino;
  pid_t pid;  // entries inherited across fork() belong to the parent
  auto operator<=>(const OpenKey&) const = default;
};
std::mutex g_open_mutex;
std::set<OpenKey> g_open;

// ---- pooled read transactions -----------------------------------------------

// Reset read transactions keep their reader slot, so renewing one costs no
// lock-table mutex. Each thread keeps one in a thread_local; the pool holds
// the rest and outlives the Store so a thread exiting late finds it.
struct ReaderPool {
  std::mutex mu;
  bool closed = false;
  std::vector<MDB_txn*> free;
  std::vector<MDB_txn*> all;
};

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

// Counters persisted in meta "counters", in this order.
enum Counter : std::size_t { kHits, kStaleHits, kMisses, kDecodeFailures, kEvicted, kCounters };

struct TouchShard {
  std::mutex mu;
  std::unordered_map<std::string, std::int64_t> when;
};

}  // namespace

// ---- small public helpers ---------------------------------------------------

Clock system_clock() {
  return [] { return unix_now(); };
}

std::string_view to_string(Freshness f) {
  switch (f) {
    case Freshness::fresh:
      return "fresh";
    case Freshness::stale:
      return "stale";
    case Freshness::missing:
      return "missing";
  }
  return "missing";
}

std::string_view to_string(Miss m) {
  switch (m) {
    case Miss::none:
      return "none";
    case Miss::absent:
      return "absent";
    case Miss::expired:
      return "expired";
    case Miss::incomplete:
      return "incomplete";
    case Miss::corrupt:
      return "corrupt";
  }
  return "absent";
}

TtlClass ttl_class_of(Eligibility e) {
  switch (e) {
    case Eligibility::eligible:
      return TtlClass::good;
    case Eligibility::ineligible:
      return TtlClass::ineligible;
    case Eligibility::unknown:
      return TtlClass::unknown;
  }
  return TtlClass::unknown;
}

Result<std::string> normalize_address(std::string_view address) {
  if (address.empty() || address.size() > 45) {
    return fail(Errc::invalid_argument, "not an IP address");
  }
  std::string text(address);
  char buf[INET6_ADDRSTRLEN];
  unsigned char bin[16];
  if (inet_pton(AF_INET, text.c_str(), bin) == 1) {
    return std::string(inet_ntop(AF_INET, bin, buf, sizeof buf));
  }
  if (inet_pton(AF_INET6, text.c_str(), bin) == 1) {
    return std::string(inet_ntop(AF_INET6, bin, buf, sizeof buf));
  }
  return fail(Errc::invalid_argument, "not an IP address: " + log::quote(text));
}

namespace {

// A report turned into records, before the write transaction decides which
// address records to keep. Pure; check_storable() runs it too.
struct Prepared {
  DomainRecord domain;
  std::vector<std::pair<std::string, AddressRecord>> addresses;  // key, record
};

Result<Prepared> prepare(const DomainReport& report, std::int64_t now, const Ttls& ttls,
                         const checker::JudgeOptions& judge, const PutOptions& options) {
  Prepared p;
  auto domain = checker::normalize_host(report.domain);
  if (!domain) {
    return fail(Errc::invalid_argument,
                "domain " + log::quote(report.domain) + ": " + domain.error().message);
  }
  if (report.mx.size() > kMaxMx) {
    return fail(Errc::invalid_argument, "too many MX hosts");
  }
  std::int64_t checked_at = report.checked_at > 0 ? std::min(report.checked_at, now) : now;
  DomainRecord& d = p.domain;
  d.domain = *domain;
  d.checked_at = checked_at;
  d.stored_at = now;
  d.dns_ttl = options.dns_ttl ? std::max<std::int64_t>(0, *options.dns_ttl) : -1;
  d.eligible = checker::eligibility(report, judge).eligible;
  d.ttl_class = ttl_class_of(d.eligible);
  d.source = report.source;
  d.dnssec = report.dnssec;
  d.dns_error = report.dns_error;
  d.dns_failure = report.dns_failure;
  d.mta_sts_enforce = report.mta_sts_enforce;
  d.dane = report.dane;
  d.mta_sts = report.mta_sts;
  d.tlsrpt = report.tlsrpt;
  d.expires_at = checked_at + ttl_for(ttls, d.ttl_class);
  if (d.dns_ttl >= 0) {
    d.expires_at = std::min(d.expires_at, checked_at + d.dns_ttl);
  }
  for (const checker::MxReport& m : report.mx) {
    MxEntry e;
    if (m.host == ".") {
      e.host = ".";
    } else {
      auto host = checker::normalize_host(m.host);
      if (!host) {
        return fail(Errc::invalid_argument,
                    "MX host " + log::quote(m.host) + ": " + host.error().message);
      }
      e.host = *host;
    }
    if (m.addresses.size() > kMaxAddresses) {
      return fail(Errc::invalid_argument, "too many addresses for MX host " + e.host);
    }
    e.priority = m.priority;
    e.dnssec = m.dnssec;
    e.dns_error = m.dns_error;
    e.dns_failure = m.dns_failure;
    e.dane = m.dane;
    for (const AddressReport& a : m.addresses) {
      auto address = normalize_address(a.address);
      if (!address) {
        return fail(Errc::invalid_argument, "MX host " + e.host + ": " + address.error().message);
      }
      AddressRecord rec;
      rec.checked_at = checked_at;
      rec.report = a;
      rec.report.address = *address;
      rec.report.grade = {};
      rec.report.recommendations.clear();
      rec.ttl_class = address_class(rec.report, e.host, judge);
      rec.expires_at = checked_at + ttl_for(ttls, rec.ttl_class);
      if (auto bytes = encode(rec); !bytes) {
        return fail(Errc::invalid_argument, "MX host " + e.host + ": " + bytes.error().message);
      }
      e.addresses.push_back({*address, a.port});
      p.addresses.emplace_back(address_key(e.host, *address, a.port), std::move(rec));
    }
    d.mx.push_back(std::move(e));
  }
  if (auto bytes = encode(d); !bytes) {
    return fail(Errc::invalid_argument, bytes.error().message);
  }
  return p;
}

}  // namespace

Result<void> check_storable(const DomainReport& report) {
  auto p = prepare(report, 0, Ttls{}, checker::JudgeOptions{}, PutOptions{});
  if (!p) {
    return std::unexpected(p.error());
  }
  return {};
}

// ---- Impl -------------------------------------------------------------------

class Store::Impl {
 public:
  using Body = std::function<int(MDB_txn*, std::string& why)>;

  explicit Impl(const StoreOptions& options) : options_(options) {}
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

  void touch(const std::string& domain, std::int64_t now);
  std::unordered_map<std::string, std::int64_t> take_touches();
  void count(Counter c) { counters_[c].fetch_add(1, std::memory_order_relaxed); }

  Result<void> flush();
  Result<std::size_t> evict();
  int delete_domain(MDB_txn* txn, std::string_view domain);
  /// Rewrites a domain record with a new expiry, keeping the index in step.
  int rewrite_expiry(MDB_txn* txn, DomainRecord& d, std::int64_t expires_at, std::string& why);

  MDB_env* env_ = nullptr;
  MDB_dbi domains_ = 0, addresses_ = 0, used_ = 0, expiry_ = 0, meta_ = 0;
  std::array<std::atomic<std::uint64_t>, kCounters> counters_{};
  std::array<std::uint64_t, kCounters> flushed_{};  // part of counters_ already in meta
  std::atomic<std::uint64_t> map_grows_{0};

 private:
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
  std::shared_ptr<ReaderPool> pool_ = std::make_shared<ReaderPool>();
  // Shared by every transaction of this process, exclusive for
  // mdb_env_set_mapsize(), which unmaps the region readers point into.
  std::shared_mutex map_mutex_;
  std::mutex write_mutex_;  // one writer in this process
  std::mutex flush_mutex_;
  std::array<TouchShard, 16> touches_;
  pid_t pid_ = 0;
  std::optional<OpenKey> key_;

  friend class Store;
};

Result<void> Store::Impl::open() {
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
  {
    std::lock_guard lock(g_open_mutex);
    OpenKey key{st.st_dev, st.st_ino, pid_};
    if (g_open.contains(key)) {
      return fail(
          Errc::invalid_argument,
          "cache: " + path + " is already open in this process (LMDB forbids a second open)");
    }
    g_open.insert(key);
    key_ = key;
  }

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
  // LMDB opened an existing file with a map of at least its data size. Leave
  // room to grow now, while no reader runs: growing later takes the
  // exclusive map lock, which is the one thing a reader can wait on.
  {
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
  }
  int dead = 0;
  mdb_reader_check(env_, &dead);
  if (dead > 0) {
    log::warning("cache: " + log::fields({{"event", "stale-readers-cleared"},
                                          {"count", std::to_string(dead)}}));
  }
  // Named databases and the schema check, in one write transaction.
  std::uint32_t found_schema = 0;
  auto r = write_raw(
      [&](MDB_txn* txn, std::string& err) -> int {
        for (auto [name, dbi] : {std::pair{"domains", &domains_},
                                 {"addresses", &addresses_},
                                 {"used", &used_},
                                 {"expiry", &expiry_},
                                 {"meta", &meta_}}) {
          if (int e = mdb_dbi_open(txn, name, MDB_CREATE, dbi); e != 0) {
            return e;
          }
        }
        MDB_val k = val("schema"), v;
        int e = mdb_get(txn, meta_, &k, &v);
        if (e != 0 && e != MDB_NOTFOUND) {
          return e;
        }
        std::uint32_t schema = 0;
        if (e == 0 && v.mv_size == 4) {
          std::memcpy(&schema, v.mv_data, 4);
        }
        found_schema = schema;
        if (schema == kSchemaVersion) {
          return 0;
        }
        if (schema > kSchemaVersion) {
          err = "cache at " + path + " has schema " + std::to_string(schema) +
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
    rc = body(txn, why);
    if (rc == 0) {
      rc = mdb_txn_commit(txn);  // frees txn, also on failure
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
  int rc = read([&](MDB_txn* txn) -> int {
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
  });
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
  std::unordered_set<std::string> referenced;
  std::vector<std::string> orphans;
  rc = read([&](MDB_txn* txn) -> int {
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
  });
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

// ---- Store ------------------------------------------------------------------

Store::Store(StoreOptions options)
    : options_(std::move(options)),
      clock_(options_.clock ? options_.clock : system_clock()),
      impl_(std::make_unique<Impl>(options_)) {}

Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(StoreOptions options) {
  std::unique_ptr<Store> store(new Store(std::move(options)));
  if (auto r = store->impl_->open(); !r) {
    return std::unexpected(r.error());
  }
  return store;
}

Lookup Store::lookup(std::string_view domain) { return read_domain(domain, true); }
Lookup Store::peek(std::string_view domain) { return read_domain(domain, false); }

std::optional<checker::MtaStsReport> Store::mta_sts_policy(std::string_view domain) {
  Impl& im = *impl_;
  auto key = checker::normalize_host(domain);
  if (!key) {
    return std::nullopt;
  }
  std::optional<checker::MtaStsReport> out;
  im.read([&](MDB_txn* txn) -> int {
    MDB_val k = val(*key), v;
    if (mdb_get(txn, im.domains_, &k, &v) != 0) {
      return 0;
    }
    if (auto d = decode_domain(view(v)); d && d->mta_sts.fetched_at != 0) {
      out = std::move(d->mta_sts);
    }
    return 0;
  });
  return out;
}

Lookup Store::read_domain(std::string_view domain, bool count) {
  Lookup out;
  Impl& im = *impl_;
  auto key = checker::normalize_host(domain);
  if (!key) {
    if (count) {
      im.count(kMisses);
    }
    return out;
  }
  const std::int64_t now = clock_();
  bool found = false;
  AddressRecord scratch;
  int rc = im.read([&](MDB_txn* txn) -> int {
    MDB_val k = val(*key), v;
    int e = mdb_get(txn, im.domains_, &k, &v);
    if (e != 0) {
      return e == MDB_NOTFOUND ? 0 : e;
    }
    auto d = decode_domain(view(v));
    if (!d) {
      out.miss = Miss::corrupt;
      return 0;
    }
    DomainReport& r = out.report;
    r.domain = std::move(d->domain);
    r.checked_at = d->checked_at;
    r.source = d->source;
    r.dnssec = d->dnssec;
    r.dns_error = std::move(d->dns_error);
    r.dns_failure = d->dns_failure;
    r.mta_sts_enforce = d->mta_sts_enforce;
    r.dane = d->dane;
    r.mta_sts = std::move(d->mta_sts);
    r.tlsrpt = std::move(d->tlsrpt);
    std::int64_t expires = d->expires_at;
    r.mx.reserve(d->mx.size());
    for (MxEntry& m : d->mx) {
      checker::MxReport mx;
      mx.host = m.host;
      mx.priority = m.priority;
      mx.dnssec = m.dnssec;
      mx.dns_error = std::move(m.dns_error);
      mx.dns_failure = m.dns_failure;
      mx.dane = std::move(m.dane);
      mx.addresses.reserve(m.addresses.size());
      for (const AddressRef& a : m.addresses) {
        std::string ak = address_key(m.host, a.address, a.port);
        MDB_val akv = val(ak), av;
        int ae = mdb_get(txn, im.addresses_, &akv, &av);
        if (ae == MDB_NOTFOUND) {
          out.miss = Miss::incomplete;
          return 0;
        }
        if (ae != 0) {
          return ae;
        }
        if (!decode_address_into(view(av), scratch)) {
          out.miss = Miss::corrupt;
          return 0;
        }
        expires = std::min(expires, scratch.expires_at);
        mx.addresses.push_back(std::move(scratch.report));
      }
      r.mx.push_back(std::move(mx));
    }
    out.checked_at = d->checked_at;
    out.stored_at = d->stored_at;
    out.dns_ttl = d->dns_ttl;
    out.expires_at = expires;
    MDB_val uk = val(*key), uv;
    if (mdb_get(txn, im.used_, &uk, &uv) == 0) {
      out.last_used = decode_i64(view(uv));
    }
    found = true;
    return 0;
  });
  if (rc != 0) {
    log::error("cache: " +
               log::fields({{"event", "read-failed"}, {"domain", *key}, {"error", mdb_error(rc)}}));
  }
  if (!found) {
    out.state = Freshness::missing;
    if (out.miss == Miss::corrupt) {
      out.report = {};
      if (count) {
        im.count(kDecodeFailures);
      }
    } else if (out.miss == Miss::incomplete) {
      out.report = {};
    } else {
      out.miss = Miss::absent;
    }
    if (count) {
      im.count(kMisses);
    }
    return out;
  }
  checker::judge(out.report, options_.judge);
  if (now < out.expires_at) {
    out.state = Freshness::fresh;
    out.miss = Miss::none;
  } else if (now < out.expires_at + options_.ttls.grace) {
    out.state = Freshness::stale;
    out.miss = Miss::none;
  } else {
    out.state = Freshness::missing;
    out.miss = Miss::expired;
  }
  if (count) {
    im.count(out.state == Freshness::fresh   ? kHits
             : out.state == Freshness::stale ? kStaleHits
                                             : kMisses);
    if (out.state != Freshness::missing && now - out.last_used >= options_.touch_interval) {
      im.touch(*key, now);
    }
  }
  return out;
}

std::optional<AddressReport> Store::fresh_address(std::string_view host, std::string_view address,
                                                  std::uint16_t port) {
  auto h = host == "." ? Result<std::string>(".") : checker::normalize_host(host);
  auto a = normalize_address(address);
  if (!h || !a) {
    return std::nullopt;
  }
  std::string key = address_key(*h, *a, port);
  std::optional<AddressRecord> rec;
  Impl& im = *impl_;
  im.read([&](MDB_txn* txn) -> int {
    MDB_val k = val(key), v;
    if (mdb_get(txn, im.addresses_, &k, &v) == 0) {
      if (auto r = decode_address(view(v))) {
        rec = std::move(*r);
      } else {
        im.count(kDecodeFailures);
      }
    }
    return 0;
  });
  if (!rec || clock_() >= rec->expires_at) {
    return std::nullopt;
  }
  return std::move(rec->report);
}

Result<void> Store::put(const DomainReport& report, const PutOptions& options) {
  PutItem item{report, options};
  return put_many(std::span<const PutItem>(&item, 1));
}

Result<void> Store::put_many(std::span<const PutItem> items) {
  const std::int64_t now = clock_();
  std::vector<Prepared> prepared;
  prepared.reserve(items.size());
  for (const PutItem& item : items) {
    auto p = prepare(item.report, now, options_.ttls, options_.judge, item.options);
    if (!p) {
      return std::unexpected(p.error());
    }
    prepared.push_back(std::move(*p));
  }
  Impl& im = *impl_;
  return im.write(
      [&](MDB_txn* txn, std::string& why) -> int {
        for (std::size_t i = 0; i < prepared.size(); ++i) {
          // Work on a copy: a retry after MDB_MAP_FULL starts from scratch.
          DomainRecord d = prepared[i].domain;
          for (const auto& [key, fresh] : prepared[i].addresses) {
            MDB_val k = val(key), v;
            std::int64_t expires = fresh.expires_at;
            bool keep = false;
            if (mdb_get(txn, im.addresses_, &k, &v) == 0) {
              if (auto old = decode_address(view(v))) {
                // A probe failure does not erase what another probe of the
                // same address knows and still holds fresh; nor does an
                // older observation (an import) replace a newer one.
                bool known = old->report.starttls != checker::Tri::unknown;
                bool failed = fresh.report.starttls == checker::Tri::unknown;
                keep = (old->expires_at > now && known && failed) ||
                       old->checked_at > fresh.checked_at;
                if (keep) {
                  expires = old->expires_at;
                }
              }
            }
            if (!keep) {
              auto bytes = encode(fresh);
              if (!bytes) {
                why = bytes.error().message;
                return kRejected;
              }
              MDB_val bv = val(*bytes);
              k = val(key);
              if (int rc = mdb_put(txn, im.addresses_, &k, &bv, 0); rc != 0) {
                return rc;
              }
            }
            d.expires_at = std::min(d.expires_at, expires);
          }
          // Replace the domain record and its expiry index entry.
          MDB_val k = val(d.domain), v;
          if (mdb_get(txn, im.domains_, &k, &v) == 0) {
            if (auto old = decode_domain(view(v))) {
              std::string ek = expiry_key(old->expires_at, d.domain);
              MDB_val ekv = val(ek);
              mdb_del(txn, im.expiry_, &ekv, nullptr);
            }
          }
          auto bytes = encode(d);
          if (!bytes) {
            why = bytes.error().message;
            return kRejected;
          }
          MDB_val bv = val(*bytes);
          k = val(d.domain);
          if (int rc = mdb_put(txn, im.domains_, &k, &bv, 0); rc != 0) {
            return rc;
          }
          std::string ek = expiry_key(d.expires_at, d.domain);
          MDB_val ekv = val(ek), empty{0, nullptr};
          if (int rc = mdb_put(txn, im.expiry_, &ekv, &empty, 0); rc != 0) {
            return rc;
          }
          const PutOptions& o = items[i].options;
          k = val(d.domain);
          bool has_used = mdb_get(txn, im.used_, &k, &v) == 0;
          if (o.last_used || !has_used) {
            std::string t = encode_i64(o.last_used ? *o.last_used : now);
            MDB_val tv = val(t);
            k = val(d.domain);
            if (int rc = mdb_put(txn, im.used_, &k, &tv, 0); rc != 0) {
              return rc;
            }
          }
        }
        return 0;
      },
      "put");
}

Result<bool> Store::purge(std::string_view domain) {
  auto key = checker::normalize_host(domain);
  if (!key) {
    return fail(Errc::invalid_argument, key.error().message);
  }
  bool found = false;
  Impl& im = *impl_;
  auto r = im.write(
      [&](MDB_txn* txn, std::string&) -> int {
        int rc = im.delete_domain(txn, *key);
        found = rc == 0;
        return rc == MDB_NOTFOUND ? 0 : rc;
      },
      "purge");
  if (!r) {
    return std::unexpected(r.error());
  }
  return found;
}

Result<std::size_t> Store::purge_all() {
  std::size_t n = 0;
  Impl& im = *impl_;
  auto r = im.write(
      [&](MDB_txn* txn, std::string&) -> int {
        MDB_stat st{};
        mdb_stat(txn, im.domains_, &st);
        n = st.ms_entries;
        for (MDB_dbi dbi : {im.domains_, im.addresses_, im.used_, im.expiry_}) {
          if (int rc = mdb_drop(txn, dbi, 0); rc != 0) {
            return rc;
          }
        }
        return 0;
      },
      "purge");
  if (!r) {
    return std::unexpected(r.error());
  }
  return n;
}

Result<bool> Store::invalidate(std::string_view domain) {
  auto key = checker::normalize_host(domain);
  if (!key) {
    return fail(Errc::invalid_argument, key.error().message);
  }
  const std::int64_t now = clock_();
  bool found = false;
  Impl& im = *impl_;
  auto r = im.write(
      [&](MDB_txn* txn, std::string& why) -> int {
        MDB_val k = val(*key), v;
        int rc = mdb_get(txn, im.domains_, &k, &v);
        if (rc != 0) {
          return rc == MDB_NOTFOUND ? 0 : rc;
        }
        auto d = decode_domain(view(v));
        if (!d) {
          // Nothing usable to keep: removing it makes the next lookup probe.
          found = true;
          return im.delete_domain(txn, *key);
        }
        found = true;
        if (d->expires_at >= now) {
          if (int e = im.rewrite_expiry(txn, *d, now - 1, why); e != 0) {
            return e;
          }
        }
        // Asked for now, so the refresh engine treats it as in use.
        std::string t = encode_i64(now);
        MDB_val tv = val(t);
        k = val(*key);
        return mdb_put(txn, im.used_, &k, &tv, 0);
      },
      "invalidate");
  if (!r) {
    return std::unexpected(r.error());
  }
  return found;
}

Result<void> Store::flush() { return impl_->flush(); }

unsigned Store::env_flags() const {
  unsigned flags = 0;
  mdb_env_get_flags(impl_->env_, &flags);
  return flags;
}

Result<std::size_t> Store::sweep() {
  Impl& im = *impl_;
  // Dead when expires_at + grace <= now, exactly when lookup says missing.
  const std::int64_t dead_before = clock_() - options_.ttls.grace;
  std::size_t removed = 0;
  // Domains, in rounds, soonest-expired first.
  for (;;) {
    std::vector<std::string> victims;
    int rc = im.read([&](MDB_txn* txn) -> int {
      MDB_cursor* cur = nullptr;
      if (int e = mdb_cursor_open(txn, im.expiry_, &cur); e != 0) {
        return e;
      }
      MDB_val k, v;
      for (int e = mdb_cursor_get(cur, &k, &v, MDB_FIRST); e == 0 && victims.size() < kChunk;
           e = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (expiry_of_key(view(k)) > dead_before) {
          break;
        }
        victims.emplace_back(view(k));
      }
      mdb_cursor_close(cur);
      return 0;
    });
    if (rc != 0) {
      return fail(Errc::io, "cache: sweep: " + mdb_error(rc));
    }
    if (victims.empty()) {
      break;
    }
    auto r = im.write(
        [&](MDB_txn* txn, std::string&) -> int {
          for (const std::string& ek : victims) {
            std::string domain = ek.substr(8);
            MDB_val k = val(domain), v;
            bool stale_index = false;
            if (mdb_get(txn, im.domains_, &k, &v) == 0) {
              auto d = decode_domain(view(v));
              stale_index = d && d->expires_at != expiry_of_key(ek);
            } else {
              stale_index = true;
            }
            if (!stale_index) {
              int e = im.delete_domain(txn, domain);
              if (e != 0 && e != MDB_NOTFOUND) {
                return e;
              }
              ++removed;
            }
            MDB_val ekv = val(ek);
            mdb_del(txn, im.expiry_, &ekv, nullptr);
          }
          return 0;
        },
        "sweep");
    if (!r) {
      return std::unexpected(r.error());
    }
  }
  // Address records past grace, or undecodable, in key-ordered chunks.
  std::string from;
  for (;;) {
    std::vector<std::string> victims;
    std::string last;
    bool more = false;
    int rc = im.read([&](MDB_txn* txn) -> int {
      MDB_cursor* cur = nullptr;
      if (int e = mdb_cursor_open(txn, im.addresses_, &cur); e != 0) {
        return e;
      }
      MDB_val k = val(from), v;
      int e = from.empty() ? mdb_cursor_get(cur, &k, &v, MDB_FIRST)
                           : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
      std::size_t seen = 0;
      for (; e == 0 && seen < 4 * kChunk; e = mdb_cursor_get(cur, &k, &v, MDB_NEXT), ++seen) {
        last.assign(view(k));
        auto a = decode_address(view(v));
        if (!a || a->expires_at <= dead_before) {
          victims.push_back(last);
        }
      }
      more = e == 0;
      mdb_cursor_close(cur);
      return 0;
    });
    if (rc != 0) {
      return fail(Errc::io, "cache: sweep: " + mdb_error(rc));
    }
    if (!victims.empty()) {
      auto r = im.write(
          [&](MDB_txn* txn, std::string&) -> int {
            for (const std::string& key : victims) {
              MDB_val k = val(key);
              mdb_del(txn, im.addresses_, &k, nullptr);
            }
            return 0;
          },
          "sweep");
      if (!r) {
        return std::unexpected(r.error());
      }
    }
    if (!more) {
      break;
    }
    from = last;
    from.push_back('\0');  // the next key after `last`
  }
  return removed;
}

Result<std::vector<Due>> Store::due_for_refresh(const DueQuery& q) {
  Impl& im = *impl_;
  const std::int64_t now = clock_();
  const std::int64_t alive_after = now - options_.ttls.grace;  // alive: expires_at > this
  std::vector<Due> out;
  int rc = im.read([&](MDB_txn* txn) -> int {
    MDB_cursor* cur = nullptr;
    if (int e = mdb_cursor_open(txn, im.expiry_, &cur); e != 0) {
      return e;
    }
    std::string start = expiry_key(alive_after + 1, "");
    MDB_val k = val(start), v;
    for (int e = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); e == 0 && out.size() < q.limit;
         e = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      std::string_view ek = view(k);
      std::int64_t expires = expiry_of_key(ek);
      if (expires > q.horizon) {
        break;
      }
      std::string domain(ek.substr(8));
      MDB_val uk = val(domain), uv;
      std::int64_t used = mdb_get(txn, im.used_, &uk, &uv) == 0 ? decode_i64(view(uv)) : 0;
      if (used < q.used_since) {
        continue;
      }
      if (expires > now) {
        MDB_val dk = val(domain), dv;
        if (mdb_get(txn, im.domains_, &dk, &dv) != 0) {
          continue;
        }
        auto d = decode_domain(view(dv));
        if (!d) {
          continue;
        }
        double lifetime = static_cast<double>(d->expires_at - d->checked_at);
        if (static_cast<double>(expires - now) > lifetime * q.ahead_fraction) {
          continue;
        }
      }
      out.push_back({std::move(domain), expires, used});
    }
    mdb_cursor_close(cur);
    return 0;
  });
  if (rc != 0) {
    return fail(Errc::io, "cache: due_for_refresh: " + mdb_error(rc));
  }
  return out;
}

Result<void> Store::for_each_domain(const std::function<bool(const std::string&)>& fn) {
  Impl& im = *impl_;
  std::string from;
  bool first = true;
  for (;;) {
    std::vector<std::string> keys;
    bool more = false;
    int rc = im.read([&](MDB_txn* txn) -> int {
      MDB_cursor* cur = nullptr;
      if (int e = mdb_cursor_open(txn, im.domains_, &cur); e != 0) {
        return e;
      }
      MDB_val k = val(from), v;
      int e = first ? mdb_cursor_get(cur, &k, &v, MDB_FIRST)
                    : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
      for (; e == 0 && keys.size() < kChunk; e = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        keys.emplace_back(view(k));
      }
      more = e == 0;
      mdb_cursor_close(cur);
      return 0;
    });
    if (rc != 0) {
      return fail(Errc::io, "cache: scan: " + mdb_error(rc));
    }
    for (const std::string& key : keys) {
      if (!fn(key)) {
        return {};
      }
    }
    if (!more || keys.empty()) {
      return {};
    }
    first = false;
    from = keys.back();
    from.push_back('\0');
  }
}

StoreStats Store::stats() {
  Impl& im = *impl_;
  StoreStats s;
  std::array<std::uint64_t, kCounters> stored{};
  im.read([&](MDB_txn* txn) -> int {
    MDB_stat st{};
    mdb_stat(txn, im.domains_, &st);
    s.domains = st.ms_entries;
    mdb_stat(txn, im.addresses_, &st);
    s.addresses = st.ms_entries;
    MDB_val k = val("counters"), v;
    if (mdb_get(txn, im.meta_, &k, &v) == 0 && v.mv_size == sizeof stored) {
      std::memcpy(stored.data(), v.mv_data, sizeof stored);
    }
    return 0;
  });
  std::array<std::uint64_t, kCounters> pending{};
  {
    std::lock_guard lock(im.write_mutex_);
    for (std::size_t i = 0; i < kCounters; ++i) {
      pending[i] = im.counters_[i].load(std::memory_order_relaxed) - im.flushed_[i];
    }
  }
  s.hits = stored[kHits] + pending[kHits];
  s.stale_hits = stored[kStaleHits] + pending[kStaleHits];
  s.misses = stored[kMisses] + pending[kMisses];
  s.decode_failures = stored[kDecodeFailures] + pending[kDecodeFailures];
  s.evicted = stored[kEvicted] + pending[kEvicted];
  s.map_grows = im.map_grows_.load(std::memory_order_relaxed);
  MDB_envinfo info{};
  MDB_stat es{};
  {
    std::shared_lock lock(im.map_mutex_);
    mdb_env_info(im.env_, &info);
    mdb_env_stat(im.env_, &es);
  }
  s.map_bytes = info.me_mapsize;
  s.used_bytes = (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * es.ms_psize;
  s.last_txnid = info.me_last_txnid;
  s.readers = info.me_numreaders;
  s.max_readers = info.me_maxreaders;
  struct stat st {};
  if (::stat((options_.path + "/data.mdb").c_str(), &st) == 0) {
    s.file_bytes = static_cast<std::uint64_t>(st.st_size);
  }
  return s;
}

}  // namespace forcetls::cache
