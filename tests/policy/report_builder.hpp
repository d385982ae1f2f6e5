// SPDX-License-Identifier: Apache-2.0
// Test helper: checker reports built from observations and judged by the
// real checker::judge(), so policy tests see what the cache will hold.
#pragma once

#include <string>
#include <vector>

#include "checker/report/judgement.hpp"
#include "checker/report/report.hpp"

namespace forcetls::test {

using checker::AddressReport;
using checker::DomainReport;
using checker::Tri;

/// An address with every answer known and good (grade A, 100 points).
inline AddressReport good_address(std::string address = "192.0.2.10") {
  AddressReport a;
  a.address = std::move(address);
  a.starttls = Tri::yes;
  a.ssl3 = Tri::no;
  a.tls1_0 = Tri::no;
  a.tls1_1 = Tri::no;
  a.tls1_2 = Tri::yes;
  a.tls1_3 = Tri::yes;
  a.weak = Tri::no;
  a.nist_r1 = Tri::yes;
  a.nist_r2 = Tri::yes;
  a.cert.trusted = Tri::yes;
  a.cert.expired = Tri::no;
  a.cert.name_match = Tri::yes;
  a.protocol = "TLSv1.3";
  return a;
}

/// A judged report for `domain` with one MX per address list: mx1.<domain>, mx2.<domain>, ...
inline DomainReport judged(std::string domain, std::vector<std::vector<AddressReport>> hosts,
                           checker::JudgeOptions options = {}) {
  DomainReport r;
  r.domain = domain;
  r.source = checker::MxSource::mx;
  r.dnssec = checker::DnssecStatus::insecure;
  int n = 1;
  for (auto& addresses : hosts) {
    checker::MxReport mx;
    mx.host = "mx" + std::to_string(n) + "." + domain;
    mx.priority = static_cast<std::uint16_t>(10 * n);
    mx.addresses = std::move(addresses);
    r.mx.push_back(std::move(mx));
    ++n;
  }
  checker::judge(r, options);
  return r;
}

/// Two good MX hosts: eligible, grade A.
inline DomainReport eligible_report(std::string domain = "example.com") {
  return judged(std::move(domain), {{good_address("192.0.2.10")}, {good_address("192.0.2.20")}});
}

/// mx2 offers no STARTTLS: ineligible with reason no-starttls(mx2.<domain>).
inline DomainReport ineligible_report(std::string domain = "example.com") {
  AddressReport bad = good_address("192.0.2.20");
  bad.starttls = Tri::no;
  return judged(std::move(domain), {{good_address("192.0.2.10")}, {bad}});
}

/// mx2 did not answer: unknown (probe failure).
inline DomainReport probe_unknown_report(std::string domain = "example.com") {
  AddressReport silent;
  silent.address = "192.0.2.20";
  silent.error = "connect timed out";
  return judged(std::move(domain), {{good_address("192.0.2.10")}, {silent}});
}

/// The MX lookup failed (`cause`: dns_failure or dnssec_bogus): unknown.
inline DomainReport dns_unknown_report(checker::UnknownCause cause,
                                       std::string domain = "example.com") {
  DomainReport r;
  r.domain = std::move(domain);
  r.source = checker::MxSource::none;
  r.dns_failure = cause;
  r.dns_error = cause == checker::UnknownCause::dnssec_bogus ? "validation failure" : "SERVFAIL";
  checker::judge(r);
  return r;
}

}  // namespace forcetls::test
