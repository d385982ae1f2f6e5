// SPDX-License-Identifier: Apache-2.0
// Report preparation (cache/prepared.hpp) and check_storable(), which runs
// the same checks for imports.
#include "cache/prepared.hpp"

#include <algorithm>

#include "cache/keys.hpp"
#include "checker/report/domain_name.hpp"
#include "checker/report/judgement.hpp"
#include "checker/report/next_hop.hpp"
#include "common/log.hpp"

namespace forcetls::cache {
namespace detail {

using checker::AddressReport;
using checker::DomainReport;

Result<Prepared> prepare(const DomainReport& report, std::int64_t now, const Ttls& ttls,
                         const PutOptions& options) {
  Prepared p;
  auto domain = checker::normalize_report_key(report.domain);
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
  d.eligible = report.eligible;
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
      auto address = checker::normalize_address(a.address);
      if (!address) {
        return fail(Errc::invalid_argument, "MX host " + e.host + ": " + address.error().message);
      }
      AddressRecord rec;
      rec.checked_at = checked_at;
      rec.report = a;
      rec.report.address = *address;
      rec.report.grade = {};
      rec.report.recommendations.clear();
      // The class one address earns on its own, by the rule for one address.
      rec.ttl_class = ttl_class_of(checker::address_eligibility(rec.report));
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

}  // namespace detail

Result<void> check_storable(const checker::DomainReport& report) {
  auto p = detail::prepare(report, 0, Ttls{}, PutOptions{});
  if (!p) {
    return std::unexpected(p.error());
  }
  return {};
}

}  // namespace forcetls::cache
