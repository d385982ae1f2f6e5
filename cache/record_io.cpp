// SPDX-License-Identifier: Apache-2.0
// One domain's records read from and written to LMDB inside a transaction of
// the store (cache/record_io.hpp): the report reassembled from its domain
// and address records, and a prepared report written over what is stored.
#include "cache/record_io.hpp"

#include <algorithm>
#include <utility>

#include "cache/keys.hpp"

namespace forcetls::cache::detail {
namespace {

using checker::DomainReport;

// The domain record's own facts (all but its MX hosts), moved into r.
void copy_domain_facts(DomainRecord& d, DomainReport& r) {
  r.domain = std::move(d.domain);
  r.checked_at = d.checked_at;
  r.source = d.source;
  r.dnssec = d.dnssec;
  r.dns_error = std::move(d.dns_error);
  r.dns_failure = d.dns_failure;
  r.mta_sts_enforce = d.mta_sts_enforce;
  r.dane = d.dane;
  r.mta_sts = std::move(d.mta_sts);
  r.tlsrpt = std::move(d.tlsrpt);
}

// One MX host's facts, without its addresses.
checker::MxReport mx_facts(MxEntry& m) {
  checker::MxReport mx;
  mx.host = m.host;
  mx.priority = m.priority;
  mx.dnssec = m.dnssec;
  mx.dns_error = std::move(m.dns_error);
  mx.dns_failure = m.dns_failure;
  mx.dane = std::move(m.dane);
  return mx;
}

// The address records an MX host uses, appended to mx.addresses; `expires`
// drops to the earliest of their expiries. A record gone or undecodable
// stops the reading with `gap` set to incomplete or corrupt. Returns the
// LMDB error, if any.
int read_addresses(Store::Impl& im, MDB_txn* txn, const MxEntry& m, checker::MxReport& mx,
                   std::int64_t& expires, AddressRecord& scratch, Miss& gap,
                   std::vector<std::uint32_t>* slots) {
  mx.addresses.reserve(m.addresses.size());
  for (const AddressRef& a : m.addresses) {
    std::string ak = address_key(m.host, a.address, a.port);
    if (slots != nullptr) {
      slots->push_back(DecodedCache::slot_of(ak));
    }
    MDB_val akv = val(ak), av;
    int ae = mdb_get(txn, im.addresses_, &akv, &av);
    if (ae == MDB_NOTFOUND) {
      gap = Miss::incomplete;
      return 0;
    }
    if (ae != 0) {
      return ae;
    }
    if (!decode_address_into(view(av), scratch)) {
      gap = Miss::corrupt;
      return 0;
    }
    expires = std::min(expires, scratch.expires_at);
    mx.addresses.push_back(std::move(scratch.report));
  }
  return 0;
}

// Whether a stored address observation stays rather than the fresh one: a
// probe failure does not erase what another probe of the same address knows
// and still holds fresh; nor does an older observation (an import) replace
// a newer one.
bool keep_stored(const AddressRecord& old, const AddressRecord& fresh, std::int64_t now) {
  bool known = old.report.starttls != checker::Tri::unknown;
  bool failed = fresh.report.starttls == checker::Tri::unknown;
  return (old.expires_at > now && known && failed) || old.checked_at > fresh.checked_at;
}

// Writes a report's address records, except those a stored one outranks
// (keep_stored), and lowers d.expires_at to the expiry of each record the
// domain now uses.
int put_addresses(Store::Impl& im, MDB_txn* txn, const Prepared& p, std::int64_t now,
                  DomainRecord& d, std::string& why) {
  for (const auto& [key, fresh] : p.addresses) {
    MDB_val k = val(key), v;
    std::int64_t expires = fresh.expires_at;
    bool keep = false;
    if (mdb_get(txn, im.addresses_, &k, &v) == 0) {
      if (auto old = decode_address(view(v))) {
        keep = keep_stored(*old, fresh, now);
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
  return 0;
}

// Replaces the domain record and its expiry index entry.
int put_domain(Store::Impl& im, MDB_txn* txn, const DomainRecord& d, std::string& why) {
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
  return mdb_put(txn, im.expiry_, &ekv, &empty, 0);
}

// Sets last_used to the one given (imports), or to now when the domain has
// none yet.
int put_last_used(Store::Impl& im, MDB_txn* txn, const std::string& domain, const PutOptions& o,
                  std::int64_t now) {
  MDB_val k = val(domain), v;
  bool has_used = mdb_get(txn, im.used_, &k, &v) == 0;
  if (o.last_used || !has_used) {
    std::string t = encode_i64(o.last_used ? *o.last_used : now);
    MDB_val tv = val(t);
    k = val(domain);
    if (int rc = mdb_put(txn, im.used_, &k, &tv, 0); rc != 0) {
      return rc;
    }
  }
  return 0;
}

}  // namespace

int read_records(Store::Impl& im, MDB_txn* txn, const std::string& key, Lookup& out,
                 DomainReport& r, bool& found, std::vector<std::uint32_t>* slots) {
  if (slots != nullptr) {
    slots->push_back(DecodedCache::slot_of(key));
  }
  MDB_val k = val(key), v;
  int e = mdb_get(txn, im.domains_, &k, &v);
  if (e != 0) {
    return e == MDB_NOTFOUND ? 0 : e;
  }
  auto d = decode_domain(view(v));
  if (!d) {
    out.miss = Miss::corrupt;
    return 0;
  }
  copy_domain_facts(*d, r);
  std::int64_t expires = d->expires_at;
  AddressRecord scratch;  // one record's storage reused for every address
  r.mx.reserve(d->mx.size());
  for (MxEntry& m : d->mx) {
    checker::MxReport mx = mx_facts(m);
    Miss gap = Miss::none;
    if (int ae = read_addresses(im, txn, m, mx, expires, scratch, gap, slots); ae != 0) {
      return ae;
    }
    if (gap != Miss::none) {
      out.miss = gap;
      return 0;
    }
    r.mx.push_back(std::move(mx));
  }
  out.checked_at = d->checked_at;
  out.stored_at = d->stored_at;
  out.dns_ttl = d->dns_ttl;
  out.expires_at = expires;
  MDB_val uk = val(key), uv;
  if (mdb_get(txn, im.used_, &uk, &uv) == 0) {
    out.last_used = decode_i64(view(uv));
  }
  found = true;
  return 0;
}

int put_records(Store::Impl& im, MDB_txn* txn, const Prepared& p, const PutOptions& o,
                std::int64_t now, std::string& why) {
  // Work on a copy: a retry after MDB_MAP_FULL starts from scratch.
  DomainRecord d = p.domain;
  if (int rc = put_addresses(im, txn, p, now, d, why); rc != 0) {
    return rc;
  }
  if (int rc = put_domain(im, txn, d, why); rc != 0) {
    return rc;
  }
  return put_last_used(im, txn, d.domain, o, now);
}

}  // namespace forcetls::cache::detail
