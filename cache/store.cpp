// SPDX-License-Identifier: Apache-2.0
// Store on LMDB: the public Store methods (store.hpp). The environment they
// run in is Store::Impl (cache/environment.hpp), keys are spelled by
// cache/keys.hpp, reports become records in cache/prepared.hpp and a
// domain's records are read and written by cache/record_io.hpp.
// Layout (schema kSchemaVersion):
//   domains    normalized domain                -> DomainRecord
//   addresses  host NUL address NUL port(2, BE) -> AddressRecord
//   used       normalized domain                -> last_used (int64, little endian)
//   expiry     expires_at (8, BE, sign-flipped) + domain -> ""   (refresh and sweep order)
//   meta       "schema" -> uint32; "counters" -> packed uint64s
// The "used" database is separate so that noting a use never rewrites a
// domain record, and the expiry index lets the refresh engine find what is
// about to expire without reading every record.
#include "cache/store.hpp"

#include <lmdb.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "cache/environment.hpp"
#include "cache/keys.hpp"
#include "cache/prepared.hpp"
#include "cache/record_io.hpp"
#include "checker/report/domain_name.hpp"
#include "checker/report/judgement.hpp"
#include "checker/report/next_hop.hpp"
#include "common/log.hpp"
#include "common/unix_time.hpp"

namespace forcetls::cache {
namespace {

using checker::AddressReport;
using checker::DomainReport;
using detail::address_key;
using detail::decode_i64;
using detail::encode_i64;
using detail::expiry_key;
using detail::expiry_of_key;
using detail::kCounters;
using detail::kDecodeFailures;
using detail::kEvicted;
using detail::kHits;
using detail::kMisses;
using detail::kStaleHits;
using detail::mdb_error;
using detail::prepare;
using detail::Prepared;
using detail::put_records;
using detail::read_records;
using detail::val;
using detail::view;

constexpr std::size_t kChunk = 256;  // keys per short transaction in scans

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
  auto key = checker::normalize_report_key(domain);
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

namespace {

// A lookup that found nothing usable: missing, with no partial report, and
// counted when `count`.
void settle_miss(Store::Impl& im, Lookup& out, bool count) {
  out.state = Freshness::missing;
  if (out.miss == Miss::corrupt) {
    out.report = no_report();
    if (count) {
      im.count(kDecodeFailures);
    }
  } else if (out.miss == Miss::incomplete) {
    out.report = no_report();
  } else {
    out.miss = Miss::absent;
  }
  if (count) {
    im.count(kMisses);
  }
}

// Fresh before expires_at, stale within the grace window after it, then
// missing (expired).
void settle_freshness(Lookup& out, std::int64_t now, std::int64_t grace) {
  if (now < out.expires_at) {
    out.state = Freshness::fresh;
    out.miss = Miss::none;
  } else if (now < out.expires_at + grace) {
    out.state = Freshness::stale;
    out.miss = Miss::none;
  } else {
    out.state = Freshness::missing;
    out.miss = Miss::expired;
  }
}

}  // namespace

const std::shared_ptr<const checker::DomainReport>& no_report() {
  static const std::shared_ptr<const checker::DomainReport> empty =
      std::make_shared<const checker::DomainReport>();
  return empty;
}

namespace {

// The domain's entry in the decoded cache, built from LMDB when it has
// none that is still right (cache/decoded.hpp). Null when the records are
// absent, incomplete or corrupt: `out` then says which.
std::shared_ptr<const detail::DecodedCache::Entry> decoded_entry(Store::Impl& im,
                                                                 const std::string& key,
                                                                 Lookup& out) {
  if (auto e = im.find_decoded(key)) {
    return e;
  }
  const std::uint64_t ticket = im.decoded_.ticket();
  auto report = std::make_shared<checker::DomainReport>();
  std::vector<std::uint32_t> slots;
  std::uint64_t txnid = 0;
  bool found = false;
  int rc = im.read([&](MDB_txn* txn) -> int {
    txnid = mdb_txn_id(txn);
    return read_records(im, txn, key, out, *report, found, &slots);
  });
  if (rc != 0) {
    log::error("cache: " +
               log::fields({{"event", "read-failed"}, {"domain", key}, {"error", mdb_error(rc)}}));
  }
  if (!found) {
    return nullptr;
  }
  checker::judge(*report);  // reassembled: the observations may be of several probes
  auto e = std::make_shared<detail::DecodedCache::Entry>();
  e->found = out;
  e->found.report = std::move(report);
  e->last_used.store(out.last_used);
  im.decoded_.insert(key, ticket, txnid, slots, e);
  return e;
}

}  // namespace

Lookup Store::read_domain(std::string_view domain, bool count) {
  Lookup out;
  Impl& im = *impl_;
  auto key = checker::normalize_report_key(domain);
  if (!key) {
    if (count) {
      im.count(kMisses);
    }
    return out;
  }
  const std::int64_t now = clock_();
  auto entry = decoded_entry(im, *key, out);
  if (!entry) {
    settle_miss(im, out, count);
    return out;
  }
  out = entry->found;
  out.last_used = entry->last_used.load(std::memory_order_relaxed);
  if (out.report->eligible == checker::Eligibility::ineligible) {
    // Pinned eligible and found ineligible since, not yet confirmed. The
    // pin is read each time: it expires by the clock.
    if (std::optional<Pin> p = pin(*key); p && p->suspected() && p->until > now) {
      auto marked = std::make_shared<checker::DomainReport>(*out.report);
      mark_downgrade_suspected(*marked, *p);
      out.report = std::move(marked);
    }
  }
  settle_freshness(out, now, options_.ttls.grace);
  if (count) {
    im.count(out.state == Freshness::fresh   ? kHits
             : out.state == Freshness::stale ? kStaleHits
                                             : kMisses);
    if (out.state != Freshness::missing && now - out.last_used >= options_.touch_interval) {
      im.touch(*key, now);
      entry->last_used.store(now, std::memory_order_relaxed);  // noted: flush() writes it
    }
  }
  return out;
}

std::optional<AddressReport> Store::fresh_address(std::string_view host, std::string_view address,
                                                  std::uint16_t port) {
  auto h = host == "." ? Result<std::string>(".") : checker::normalize_host(host);
  auto a = checker::normalize_address(address);
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

namespace {

/// What one probe result did to the pins, for the log after the commit.
struct PinSteps {
  PinStep domain;
  std::string via;  ///< the pinned server a new suspicion came from (empty: none)
  std::vector<std::pair<std::string, PinStep>> servers;  ///< address pins changed
};

int read_pin(Store::Impl& im, MDB_txn* txn, const std::string& key, std::optional<Pin>& out) {
  MDB_val k = val(key), v;
  const int rc = mdb_get(txn, im.pins_, &k, &v);
  if (rc == 0) {
    out = decode_pin(view(v));
  }
  return rc == MDB_NOTFOUND ? 0 : rc;
}

int write_pin(Store::Impl& im, MDB_txn* txn, const std::string& key, const std::optional<Pin>& had,
              const std::optional<Pin>& pin) {
  MDB_val k = val(key);
  if (pin) {
    const std::string value = encode_pin(*pin);
    MDB_val pv = val(value);
    return mdb_put(txn, im.pins_, &k, &pv, 0);
  }
  if (!had) {
    return 0;
  }
  const int rc = mdb_del(txn, im.pins_, &k, nullptr);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

/// Each MX address is pinned too, under its own `[address]` key (the key a
/// next hop naming it has, so `cache show`/`unpin` reach it): a domain never
/// probed before whose MX is a server once seen eligible, found stripped, is
/// suspect as well. Fills `from` with the live pin of such a server.
int apply_server_pins(Store::Impl& im, MDB_txn* txn, const Prepared& p, std::int64_t now,
                      const PinOptions& options, PinSteps& steps, std::optional<Pin>& from) {
  std::vector<std::string> seen;
  for (const auto& [unused, record] : p.addresses) {
    const checker::AddressReport& a = record.report;
    auto address = checker::normalize_address(a.address);
    if (!address) {
      continue;
    }
    const std::string key =
        checker::ReportTarget{checker::ReportTarget::Kind::server, *address, a.port}.key();
    if (key == p.domain.domain || std::find(seen.begin(), seen.end(), key) != seen.end()) {
      continue;  // a report about this server itself: its own pin is the domain step
    }
    seen.push_back(key);
    std::optional<Pin> pin;
    if (int rc = read_pin(im, txn, key, pin); rc != 0) {
      return rc;
    }
    const checker::Eligibility e = checker::address_eligibility(a);
    if (e == checker::Eligibility::ineligible && pin && pin->until > now &&
        (!from || pin->pinned_at < from->pinned_at)) {
      from = pin;
      steps.via = key;
    }
    PinStep step = next_pin(pin, e, now, options);
    if (step.pin != pin) {
      if (int rc = write_pin(im, txn, key, pin, step.pin); rc != 0) {
        return rc;
      }
    }
    if (step.event == PinEvent::suspected || step.event == PinEvent::confirmed) {
      steps.servers.emplace_back(key, step);
    }
  }
  return 0;
}

/// The pin step of one probe result, inside the write transaction: the pin
/// stored, updated or deleted; a suspected result kept only for the unknown
/// TTL, so it is probed again soon.
int apply_pin(Store::Impl& im, MDB_txn* txn, Prepared& p, std::int64_t now, const Ttls& ttls,
              const PinOptions& options, PinSteps& steps) {
  DomainRecord& d = p.domain;
  std::optional<Pin> pin;
  if (int rc = read_pin(im, txn, d.domain, pin); rc != 0) {
    return rc;
  }
  PinStep& step = steps.domain;
  step = next_pin(pin, d.eligible, now, options);
  if (options.pin_for > 0) {
    std::optional<Pin> from;
    if (int rc = apply_server_pins(im, txn, p, now, options, steps, from); rc != 0) {
      return rc;
    }
    if (from && !step.pin && step.event != PinEvent::confirmed &&
        d.eligible == checker::Eligibility::ineligible) {
      // No pin of its own (or one just run out), but a server it uses was
      // seen eligible: the first suspect probe of a pin inherited from it.
      step.pin = Pin{
          .pinned_at = from->pinned_at, .until = from->until, .first_suspect = now, .suspects = 1};
      step.event = PinEvent::suspected;
    } else {
      steps.via.clear();
    }
  }
  if (int rc = write_pin(im, txn, d.domain, pin, step.pin); rc != 0) {
    return rc;
  }
  if (step.event == PinEvent::suspected) {
    d.ttl_class = TtlClass::unknown;
    d.expires_at = std::min(d.expires_at, d.checked_at + detail::ttl_for(ttls, TtlClass::unknown));
  }
  return 0;
}

void log_pin(const std::string& key, const PinStep& step, const std::string& via = "") {
  switch (step.event) {
    case PinEvent::suspected:
      log::warning("cache: " +
                   log::fields({{"event", "downgrade-suspected"},
                                {"domain", key},
                                {"suspect_probes", std::to_string(step.pin->suspects)}}) +
                   (via.empty() ? "" : " " + log::fields({{"pinned_server", via}})));
      break;
    case PinEvent::confirmed:
      log::warning("cache: " +
                   log::fields({{"event", "pin-released"},
                                {"domain", key},
                                {"why", "ineligible on every probe for the confirmation period"}}));
      break;
    case PinEvent::pinned:
    case PinEvent::expired:
      log::info("cache: " +
                log::fields({{"event", std::string("pin-") + std::string(to_string(step.event))},
                             {"domain", key}}));
      break;
    case PinEvent::renewed:
    case PinEvent::none:
      break;
  }
}

void log_pins(const std::string& key, const PinSteps& steps) {
  log_pin(key, steps.domain, steps.via);
  for (const auto& [server, step] : steps.servers) {
    log_pin(server, step);
  }
}

}  // namespace

Result<void> Store::put_many(std::span<const PutItem> items) {
  const std::int64_t now = clock_();
  std::vector<Prepared> prepared;
  prepared.reserve(items.size());
  for (const PutItem& item : items) {
    // Judged here, not trusted from the caller: an imported report's verdict
    // is whatever its file says.
    checker::DomainReport judged = item.report;
    checker::judge(judged);
    auto p = prepare(judged, now, options_.ttls, item.options);
    if (!p) {
      return std::unexpected(p.error());
    }
    prepared.push_back(std::move(*p));
  }
  Impl& im = *impl_;
  std::vector<PinSteps> steps(items.size());
  auto r = im.write(
      [&](MDB_txn* txn, std::string& why) -> int {
        im.changes_.none();  // what it writes, for the decoded cache
        for (const Prepared& p : prepared) {
          im.changes_.only(p.domain.domain);
          for (const auto& a : p.addresses) {
            im.changes_.only(a.first);
          }
        }
        for (std::size_t i = 0; i < prepared.size(); ++i) {
          if (items[i].options.probed) {
            if (int rc =
                    apply_pin(im, txn, prepared[i], now, options_.ttls, options_.pins, steps[i]);
                rc != 0) {
              return rc;
            }
          }
          if (int rc = put_records(im, txn, prepared[i], items[i].options, now, why); rc != 0) {
            return rc;
          }
        }
        return 0;
      },
      "put");
  if (r) {
    for (std::size_t i = 0; i < steps.size(); ++i) {
      log_pins(prepared[i].domain.domain, steps[i]);
    }
  }
  return r;
}

std::optional<Pin> Store::pin(std::string_view key) {
  auto k = checker::normalize_report_key(key);
  if (!k) {
    return std::nullopt;
  }
  Impl& im = *impl_;
  std::optional<Pin> out;
  im.read([&](MDB_txn* txn) -> int {
    MDB_val mk = val(*k), v;
    if (mdb_get(txn, im.pins_, &mk, &v) == 0) {
      out = decode_pin(view(v));
    }
    return 0;
  });
  return out;
}

Result<bool> Store::unpin(std::string_view key) {
  auto k = checker::normalize_report_key(key);
  if (!k) {
    return fail(Errc::invalid_argument, k.error().message);
  }
  bool found = false;
  Impl& im = *impl_;
  auto r = im.write(
      [&](MDB_txn* txn, std::string&) -> int {
        // The pins of the servers its stored report names go too: otherwise
        // the next probe would inherit the suspicion from them again.
        std::vector<std::string> keys{*k};
        Lookup stored;
        checker::DomainReport report;
        bool has = false;
        if (int rc = read_records(im, txn, *k, stored, report, has); rc != 0) {
          return rc;
        }
        for (const checker::MxReport& mx : report.mx) {
          for (const checker::AddressReport& a : mx.addresses) {
            if (auto address = checker::normalize_address(a.address)) {
              keys.push_back(
                  checker::ReportTarget{checker::ReportTarget::Kind::server, *address, a.port}
                      .key());
            }
          }
        }
        for (const std::string& key : keys) {
          MDB_val mk = val(key);
          const int rc = mdb_del(txn, im.pins_, &mk, nullptr);
          if (rc != 0 && rc != MDB_NOTFOUND) {
            return rc;
          }
          found = found || rc == 0;
        }
        return 0;
      },
      "unpin");
  if (!r) {
    return std::unexpected(r.error());
  }
  return found;
}

Result<bool> Store::purge(std::string_view domain) {
  auto key = checker::normalize_report_key(domain);
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
  auto key = checker::normalize_report_key(domain);
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

namespace {

// The expiry index keys, soonest first and at most kChunk, of domains
// expired at or before `dead_before`.
int dead_domains(Store::Impl& im, MDB_txn* txn, std::int64_t dead_before,
                 std::vector<std::string>& victims) {
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
}

// Deletes the domains of those index keys, counting them in `removed`, and
// the keys. A key its domain's record no longer matches (rewritten since, or
// gone) is only dropped from the index.
int delete_dead_domains(Store::Impl& im, MDB_txn* txn, const std::vector<std::string>& victims,
                        std::size_t& removed) {
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
}

// Domains, in rounds, soonest-expired first; returns how many were removed.
Result<std::size_t> sweep_domains(Store::Impl& im, std::int64_t dead_before) {
  std::size_t removed = 0;
  for (;;) {
    std::vector<std::string> victims;
    int rc =
        im.read([&](MDB_txn* txn) -> int { return dead_domains(im, txn, dead_before, victims); });
    if (rc != 0) {
      return fail(Errc::io, "cache: sweep: " + mdb_error(rc));
    }
    if (victims.empty()) {
      return removed;
    }
    auto r = im.write(
        [&](MDB_txn* txn, std::string&) -> int {
          return delete_dead_domains(im, txn, victims, removed);
        },
        "sweep");
    if (!r) {
      return std::unexpected(r.error());
    }
  }
}

// One key-ordered chunk of address records from `from` (empty: the first):
// the keys of those expired at or before `dead_before` or undecodable, the
// last key seen, and whether more records follow.
int dead_addresses(Store::Impl& im, MDB_txn* txn, const std::string& from, std::int64_t dead_before,
                   std::vector<std::string>& victims, std::string& last, bool& more) {
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
}

// Address records past grace, or undecodable, in key-ordered chunks.
Result<void> sweep_addresses(Store::Impl& im, std::int64_t dead_before) {
  std::string from;
  for (;;) {
    std::vector<std::string> victims;
    std::string last;
    bool more = false;
    int rc = im.read([&](MDB_txn* txn) -> int {
      return dead_addresses(im, txn, from, dead_before, victims, last, more);
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
        return r;
      }
    }
    if (!more) {
      return {};
    }
    from = last;
    from.push_back('\0');  // the next key after `last`
  }
}

}  // namespace

Result<std::size_t> Store::sweep() {
  Impl& im = *impl_;
  // Dead when expires_at + grace <= now, exactly when lookup says missing.
  const std::int64_t dead_before = clock_() - options_.ttls.grace;
  auto removed = sweep_domains(im, dead_before);
  if (!removed) {
    return removed;
  }
  if (auto r = sweep_addresses(im, dead_before); !r) {
    return std::unexpected(r.error());
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
