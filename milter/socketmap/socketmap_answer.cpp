// SPDX-License-Identifier: Apache-2.0
// The delivery-time answer mapping (socketmap_answer.hpp).
#include "milter/socketmap/socketmap_answer.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <vector>

#include "checker/report/domain_name.hpp"
#include "common/enum_names.hpp"

namespace forcetls::milter {
namespace {

using checker::DomainReport;
using checker::Tri;
using policy::Decision;
using policy::Delivery;
using policy::Mode;
using policy::Require;
using policy::Verdict;

/// The reason ends up in Postfix's log and DSN.
constexpr std::size_t kMaxReason = 300;

/// A host name as Postfix's match= list can carry it (no ':' or spaces).
std::optional<std::string> host_name(std::string_view name) {
  auto n = checker::normalize_host(name);
  if (!n) {
    return std::nullopt;
  }
  return *n;
}

/// A next hop from a request key, normalised exactly as recipient domains
/// and policy patterns are (checker::normalize_domain: IDN to A-label,
/// dotless and numeric names refused), so the map and the milter can never
/// disagree on a name.
std::optional<std::string> key_domain(std::string_view name) {
  auto n = checker::normalize_domain(name);
  if (!n) {
    return std::nullopt;
  }
  return std::move(*n);
}

template <typename Fn>
bool every_tls_address(const DomainReport& report, Fn&& fn) {
  bool any = false;
  for (const checker::MxReport& mx : report.mx) {
    for (const checker::AddressReport& a : mx.addresses) {
      if (!a.probed || a.starttls != Tri::yes) {
        continue;
      }
      any = true;
      if (!fn(a)) {
        return false;
      }
    }
  }
  return any;
}

/// DANE as the checker found it (`report.dane`, RFC 7672: usable TLSA
/// records authenticating every probed MX) with the DNSSEC-secure MX answer
/// that Postfix needs before it looks for TLSA records at all.
bool dane_on_every_mx(const DomainReport& report) {
  return report.dane == Tri::yes && report.dnssec == checker::DnssecStatus::secure;
}

/// require_verified_cert: the checker verified every certificate against the
/// MX host name. With a DNSSEC-secure MX answer that name is authentic, and
/// Postfix's `verify` (match=hostname) checks the same thing — when Postfix
/// validates DNSSEC itself (postfix_dnssec), else it would trust a forged MX
/// answer. Otherwise the names are pinned with `secure match=`, so a forged
/// MX answer cannot send us to a host that merely has a valid certificate
/// for its own name.
std::optional<std::string> verified_level(const DomainReport& report, bool postfix_dnssec) {
  if (postfix_dnssec && report.dnssec == checker::DnssecStatus::secure &&
      report.source == checker::MxSource::mx) {
    return "verify match=hostname";
  }
  std::vector<std::string> hosts;
  for (const checker::MxReport& mx : report.mx) {
    auto h = host_name(mx.host);
    if (!h) {
      return std::nullopt;
    }
    if (std::find(hosts.begin(), hosts.end(), *h) == hosts.end()) {
      hosts.push_back(*h);
    }
  }
  if (hosts.empty()) {
    return std::nullopt;
  }
  std::string out = "secure match=";
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    out += (i == 0 ? "" : ":") + hosts[i];
  }
  return out;
}

/// The MX host names, ':'-joined, when the checker verified the certificate
/// of every probed address (trusted, not expired, names the MX host — what
/// require_verified_cert checks); nullopt otherwise. Sendmail's `secure
/// match=` checks the same three at delivery, so a stripped STARTTLS or a
/// certificate of another host cannot pass.
std::optional<std::string> verified_hosts(const DomainReport& report) {
  std::vector<std::string> hosts;
  bool any = false;
  for (const checker::MxReport& mx : report.mx) {
    auto h = host_name(mx.host);
    if (!h) {
      return std::nullopt;
    }
    for (const checker::AddressReport& a : mx.addresses) {
      if (!a.probed) {
        continue;
      }
      const checker::CertInfo& c = a.cert;
      if (a.starttls != Tri::yes || c.trusted != Tri::yes || c.expired != Tri::no ||
          c.name_match != Tri::yes) {
        return std::nullopt;
      }
      any = true;
    }
    if (std::find(hosts.begin(), hosts.end(), *h) == hosts.end()) {
      hosts.push_back(*h);
    }
  }
  if (!any) {
    return std::nullopt;
  }
  std::string out;
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    out += (i == 0 ? "" : ":") + hosts[i];
  }
  return out;
}

/// What stands in for `dane-only` when Postfix does not validate DNSSEC (it
/// would then find no usable TLSA records and defer the mail until it
/// bounces): the MX hosts pinned with `secure match=` when every certificate
/// verified, else nullopt (`encrypt`). nullopt too without DANE on every MX.
std::optional<std::string> dane_stand_in(const DomainReport& report) {
  if (!dane_on_every_mx(report)) {
    return std::nullopt;
  }
  if (auto hosts = verified_hosts(report)) {
    return "secure match=" + *hosts;
  }
  return std::nullopt;
}

std::string not_eligible(const Decision& d) {
  std::string text = "forcetls: " + d.domain + " is not eligible for TLS delivery";
  if (!d.reason.empty()) {
    text += " (" + d.reason + ")";
  }
  return policy::sanitize(std::move(text), kMaxReason);
}

std::string not_known(const Decision& d) {
  if (d.verdict == Verdict::not_checked) {
    return policy::sanitize(
        "forcetls: " + d.domain + " is being checked for TLS support, try again later", kMaxReason);
  }
  std::string text = "forcetls: could not verify TLS support of " + d.domain;
  text += " (" + (d.reason.empty() ? std::string(checker::to_string(d.cause)) : d.reason) + ")";
  return policy::sanitize(std::move(text), kMaxReason);
}

}  // namespace

namespace {
constexpr NameTable<AnswerKind, 4> kAnswerKindNames{{
    {AnswerKind::ok, "OK"},
    {AnswerKind::notfound, "NOTFOUND"},
    {AnswerKind::temp, "TEMP"},
    {AnswerKind::perm, "PERM"},
}};
}  // namespace

std::string_view to_string(AnswerKind k) { return name_in(kAnswerKindNames, k); }

std::string SocketmapAnswer::payload() const { return std::string(to_string(kind)) + " " + value; }

SocketmapKey parse_socketmap_key(std::string_view key) {
  SocketmapKey out;
  if (key.starts_with('.')) {
    if (auto h = key_domain(key.substr(1))) {
      out.kind = SocketmapKey::Kind::parent;
      out.name = std::move(*h);
    }
    return out;
  }
  auto target = checker::parse_report_key(key);
  if (!target) {
    return out;
  }
  out.target = std::move(*target);
  if (out.target.kind == checker::ReportTarget::Kind::domain) {
    if (!key_domain(out.target.name)) {
      return out;  // dotless or numeric: not a next-hop domain
    }
    out.kind = SocketmapKey::Kind::domain;
    out.name = out.target.name;
  } else if (out.target.address()) {
    out.kind = SocketmapKey::Kind::literal;
  } else {
    out.kind = SocketmapKey::Kind::host;
    out.name = out.target.name;
  }
  return out;
}

std::optional<std::string> mta_sts_match(const DomainReport& report) {
  if (report.mta_sts_enforce != Tri::yes || report.mta_sts.mode != checker::StsMode::enforce ||
      report.mta_sts.mx_patterns.empty()) {
    return std::nullopt;
  }
  std::string out;
  std::vector<std::string> seen;
  for (const std::string& pattern : report.mta_sts.mx_patterns) {
    std::string_view p = pattern;
    // RFC 8461 §4.1: `*.example.com` matches one leftmost label. Postfix's
    // `.example.com` matches any depth below: the nearest it can say, and
    // what postfix-mta-sts-resolver answers too.
    const bool wildcard = p.starts_with("*.");
    if (wildcard) {
      p.remove_prefix(2);
    }
    auto h = host_name(p);
    if (!h) {
      return std::nullopt;  // not a host name: do not guess what was meant
    }
    std::string item = (wildcard ? "." : "") + *h;
    if (std::find(seen.begin(), seen.end(), item) != seen.end()) {
      continue;
    }
    out += (out.empty() ? "" : ":") + item;
    seen.push_back(std::move(item));
  }
  return out;
}

std::optional<std::string> authenticated_level(const DomainReport& report, bool dane_ok,
                                               bool sts_ok) {
  // RFC 8461 §2: a sender that supports DANE prefers it to MTA-STS.
  if (dane_ok && dane_on_every_mx(report)) {
    return "dane-only";
  }
  if (sts_ok) {
    if (auto match = mta_sts_match(report)) {
      return "secure match=" + *match + " servername=hostname";
    }
  }
  return std::nullopt;
}

std::string tls_protocols(const DomainReport& report, bool tls13_counts) {
  // Floors as the eligibility rule counts versions: 1.0 and 1.2 (1.3 with
  // tls13_counts). TLS 1.1 alone never made a domain eligible.
  int floor = tls13_counts ? 3 : 2;
  const bool any = every_tls_address(report, [&](const checker::AddressReport& a) {
    int best = 1;
    if (tls13_counts && a.tls1_3 == Tri::yes) {
      best = 3;
    } else if (a.tls1_2 == Tri::yes) {
      best = 2;
    }
    floor = std::min(floor, best);
    return true;
  });
  if (!any) {
    floor = 1;
  }
  static constexpr std::array<const char*, 4> kNames{">=TLSv1", ">=TLSv1", ">=TLSv1.2",
                                                     ">=TLSv1.3"};
  return kNames[static_cast<std::size_t>(floor)];
}

std::string tls_ciphers(const DomainReport& report) {
  // OpenSSL 3 cipher strings (ciphers(1)): HIGH holds the AES, ChaCha20,
  // Camellia and ARIA suites; 3DES, SEED and IDEA are MEDIUM or gone.
  auto high = [](const checker::AddressReport& a) {
    const std::string& c = a.cipher;
    if (c.empty() || c.find("_anon_") != std::string::npos || c.find("NULL") != std::string::npos ||
        c.find("EXPORT") != std::string::npos) {
      return false;
    }
    for (const char* family : {"_AES_", "CHACHA20", "CAMELLIA", "ARIA"}) {
      if (c.find(family) != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  return every_tls_address(report, high) ? "high" : "medium";
}

SocketmapAnswer postfix_answer(const Decision& d, const DomainReport* report, bool postfix_dnssec) {
  if (!d.in_scope || d.mode == Mode::off) {
    return {};
  }
  switch (policy::delivery_requirement(d)) {
    case Delivery::refuse:
      return {AnswerKind::perm, not_eligible(d)};
    case Delivery::defer:
      return {AnswerKind::temp, d.verdict == Verdict::ineligible ? not_eligible(d) : not_known(d)};
    case Delivery::tls_required: {
      if (report == nullptr) {  // eligible without a report: not a decision decide() makes
        return {AnswerKind::temp, not_known(d)};
      }
      std::optional<std::string> level = authenticated_level(*report, postfix_dnssec, true);
      if (!level && !postfix_dnssec) {
        level = dane_stand_in(*report);
      }
      if (!level && d.options.require_verified_cert) {
        level = verified_level(*report, postfix_dnssec);
      }
      std::string value = level.value_or("encrypt");
      value += " protocols=" + tls_protocols(*report, d.options.tls13_counts) +
               " ciphers=" + tls_ciphers(*report);
      return {AnswerKind::ok, std::move(value)};
    }
    case Delivery::opportunistic:
      break;
  }
  // The policy lets mail through without Forced TLS, but it may still ask
  // for DANE or MTA-STS where the domain publishes them.
  const Require r = d.options.require;
  if (report != nullptr && r != Require::none) {
    const bool dane_ok = r == Require::dane || r == Require::either;
    const bool sts_ok = r == Require::mta_sts || r == Require::either;
    if (auto level = authenticated_level(*report, dane_ok && postfix_dnssec, sts_ok)) {
      return {AnswerKind::ok, std::move(*level)};
    }
    if (dane_ok && !postfix_dnssec && dane_on_every_mx(*report)) {
      return {AnswerKind::ok, dane_stand_in(*report).value_or("encrypt")};
    }
  }
  return {};
}

SocketmapAnswer sts_answer(const Decision& d, const DomainReport* report) {
  if (!d.in_scope || d.mode == Mode::off) {
    return {};
  }
  switch (policy::delivery_requirement(d)) {
    case Delivery::refuse:
    case Delivery::defer:
      // Never PERM: Sendmail's sts map reads PERM like NOTFOUND ("no
      // policy") and would deliver in clear; TEMP keeps the mail queued.
      return {AnswerKind::temp, d.verdict == Verdict::ineligible ? not_eligible(d) : not_known(d)};
    case Delivery::tls_required:
      if (report == nullptr) {  // eligible without a report: not a decision decide() makes
        return {AnswerKind::temp, not_known(d)};
      }
      if (auto match = mta_sts_match(*report)) {
        return {AnswerKind::ok, "secure match=" + *match + " servername=hostname"};
      }
      if (auto hosts = verified_hosts(*report)) {
        return {AnswerKind::ok, "secure match=" + *hosts + " servername=hostname"};
      }
      // FEATURE(sts) has no "encrypt without verification": with an
      // unverified certificate the Forced-TLS part is the access map's
      // `TLS_Rcpt:domain ENCR:128` (forcetls-ctl export --sendmail-access).
      return {};
    case Delivery::opportunistic:
      break;
  }
  if (report != nullptr) {
    if (auto match = mta_sts_match(*report)) {
      return {AnswerKind::ok, "secure match=" + *match + " servername=hostname"};
    }
  }
  return {};
}

}  // namespace forcetls::milter
