// SPDX-License-Identifier: Apache-2.0
// Judgement of a DomainReport. Sources: doc/checks.md (grade
// points, letters, eligibility rule, recommendations), RFC 7505 (null MX),
// RFC 5321 §5.1 (implicit MX).
#include "checker/report/judgement.hpp"

#include <algorithm>

#include "checker/report/cipher_suites.hpp"

namespace forcetls::checker {
namespace {

// doc/checks.md: "significant" findings cost 25 points, "slight" ones 8.
constexpr int kSignificant = 25;
constexpr int kSlight = 8;

std::string suite_list(const std::vector<std::uint16_t>& suites) {
  std::string out;
  for (std::uint16_t s : suites) {
    if (!out.empty()) {
      out += ", ";
    }
    out += display_name(s);
  }
  return out;
}

std::string date_of(const CertInfo& cert) {
  return cert.not_after.size() >= 10 ? cert.not_after.substr(0, 10) : cert.not_after;
}

/// The eligibility of one address: eligible, ineligible (with the reason
/// code) or unknown.
struct AddressVerdict {
  Eligibility eligible = Eligibility::unknown;
  std::string code;
  std::string detail;
};

AddressVerdict address_verdict(const AddressReport& a, const JudgeOptions& options) {
  if (!a.probed) {
    // The address policy refused to contact it (e.g. a private address):
    // the MTA would deliver there, but nothing proves TLS, so fail closed.
    return {Eligibility::ineligible, "address-refused",
            "address " + a.address + " is not probed (private or reserved range)"};
  }
  if (a.starttls == Tri::no) {
    return {Eligibility::ineligible, "no-starttls",
            a.address + " does not offer STARTTLS or completes no TLS handshake"};
  }
  if (a.starttls == Tri::unknown) {
    return {Eligibility::unknown, "probe-failed",
            a.address + ": " + (a.error.empty() ? "no answer" : a.error)};
  }
  // Rule 2: TLS 1.0 and/or TLS 1.2 (and TLS 1.3 when the policy lets it).
  Tri version = Tri::no;
  for (Tri t : {a.tls1_0, a.tls1_2, options.tls13_counts ? a.tls1_3 : Tri::no}) {
    if (t == Tri::yes) {
      version = Tri::yes;
      break;
    }
    if (t == Tri::unknown) {
      version = Tri::unknown;
    }
  }
  // Rule 3: an 800-52r1 suite; with tls13_counts an r2 suite under TLS 1.3.
  Tri cipher = a.nist_r1;
  if (options.tls13_counts && cipher != Tri::yes) {
    Tri tls13_r2 = (a.tls1_3 == Tri::yes && a.nist_r2 == Tri::yes) ? Tri::yes
                   : (a.tls1_3 == Tri::no || a.nist_r2 == Tri::no) ? Tri::no
                                                                   : Tri::unknown;
    if (tls13_r2 == Tri::yes || (tls13_r2 == Tri::unknown && cipher == Tri::no)) {
      cipher = tls13_r2;
    }
  }
  if (version == Tri::no) {
    return {Eligibility::ineligible, "no-tls10-or-tls12",
            a.address + " accepts neither TLS 1.0 nor TLS 1.2"};
  }
  if (cipher == Tri::no) {
    return {Eligibility::ineligible, "no-nist-r1-cipher",
            a.address + " accepts no NIST SP 800-52r1 cipher suite"};
  }
  if (version == Tri::unknown || cipher == Tri::unknown) {
    return {Eligibility::unknown, "probe-failed",
            a.address + ": " + (a.error.empty() ? "some answers unknown" : a.error)};
  }
  return {Eligibility::eligible, "", ""};
}

void add_reason(std::vector<Reason>& reasons, Reason r) {
  for (const Reason& have : reasons) {
    if (have.code == r.code && have.host == r.host) {
      return;
    }
  }
  reasons.push_back(std::move(r));
}

}  // namespace

Eligibility address_eligibility(const AddressReport& address, const JudgeOptions& options) {
  return address_verdict(address, options).eligible;
}

EligibilityResult eligibility(const DomainReport& report, const JudgeOptions& options) {
  EligibilityResult v;
  if (report.dns_failure != UnknownCause::none) {
    v.eligible = Eligibility::unknown;
    v.unknown_cause = report.dns_failure;
    const char* code = report.dns_failure == UnknownCause::dnssec_bogus    ? "dnssec-bogus"
                       : report.dns_failure == UnknownCause::probe_failure ? "probe-failed"
                                                                           : "dns-failure";
    v.reasons.push_back({code, "", report.dns_error});
    return v;
  }
  if (report.source == MxSource::null_mx) {
    v.eligible = Eligibility::ineligible;
    v.reasons.push_back({"null-mx", "", "the domain publishes a null MX: it accepts no mail"});
    return v;
  }
  if (report.source == MxSource::none) {
    v.eligible = Eligibility::ineligible;
    v.reasons.push_back({"no-mail-server", "",
                         report.dns_error.empty() ? "no MX and no address" : report.dns_error});
    return v;
  }
  bool any_no = false;
  bool any_unknown = false;
  bool any_address = false;
  UnknownCause cause = UnknownCause::none;
  std::vector<Reason> unknown_reasons;
  for (const MxReport& mx : report.mx) {
    if (mx.addresses.empty()) {
      if (mx.dns_failure != UnknownCause::none) {
        any_unknown = true;
        if (cause == UnknownCause::none || mx.dns_failure == UnknownCause::dnssec_bogus) {
          cause = mx.dns_failure;
        }
        add_reason(unknown_reasons,
                   {mx.dns_failure == UnknownCause::dnssec_bogus ? "dnssec-bogus" : "dns-failure",
                    mx.host, mx.dns_error});
      }
      // A host without address records is skipped by the MTA as well.
      continue;
    }
    for (const AddressReport& a : mx.addresses) {
      any_address = true;
      AddressVerdict av = address_verdict(a, options);
      if (av.eligible == Eligibility::ineligible) {
        any_no = true;
        add_reason(v.reasons, {av.code, mx.host, av.detail});
      } else if (av.eligible == Eligibility::unknown) {
        any_unknown = true;
        if (cause == UnknownCause::none) {
          cause = UnknownCause::probe_failure;
        }
        add_reason(unknown_reasons, {av.code, mx.host, av.detail});
      }
    }
  }
  if (any_no) {
    // One definite "no" decides: the rule needs every MX.
    v.eligible = Eligibility::ineligible;
    return v;
  }
  if (any_unknown) {
    v.eligible = Eligibility::unknown;
    v.unknown_cause = cause;
    v.reasons = std::move(unknown_reasons);
    return v;
  }
  if (!any_address) {
    v.eligible = Eligibility::ineligible;
    v.reasons.push_back({"no-mx-address", "", "no MX host has an address record"});
    return v;
  }
  v.eligible = Eligibility::eligible;
  return v;
}

GradeLetter letter_for(int score) {
  if (score >= 92) {
    return GradeLetter::A;
  }
  if (score >= 75) {
    return GradeLetter::B;
  }
  if (score >= 60) {
    return GradeLetter::C;
  }
  if (score >= 40) {
    return GradeLetter::D;
  }
  return GradeLetter::F;
}

Grade grade_address(const AddressReport& a, std::string_view host) {
  Grade g;
  g.score = 100;
  if (!a.probed) {
    g.provisional = true;
    g.deductions.push_back({0, "address not probed (private or reserved range)"});
    g.letter = letter_for(g.score);
    return g;
  }
  if (a.starttls == Tri::no) {
    g.score = 0;
    g.letter = GradeLetter::F;
    g.deductions.push_back({100, "no STARTTLS or no TLS handshake"});
    return g;
  }
  auto unknown = [&](Tri t) {
    if (t == Tri::unknown) {
      g.provisional = true;
    }
  };
  auto deduct = [&](bool found, int points, std::string what) {
    if (found) {
      g.score -= points;
      g.deductions.push_back({points, std::move(what)});
    }
  };
  for (Tri t : {a.starttls, a.ssl3, a.tls1_0, a.tls1_1, a.tls1_2, a.tls1_3, a.weak, a.nist_r1,
                a.nist_r2, a.cert.trusted, a.cert.expired, a.cert.name_match}) {
    unknown(t);
  }
  deduct(a.tls1_2 == Tri::no, kSignificant, "TLS 1.2 not accepted");
  deduct(a.ssl3 == Tri::yes, kSignificant, "SSL 3.0 accepted");
  deduct(a.cert.expired == Tri::yes, kSignificant,
         "certificate expired (not after " + date_of(a.cert) + ")");
  deduct(a.cert.trusted == Tri::no, kSignificant,
         "certificate not issued by a trusted CA" +
             (a.cert.verify_error.empty() ? "" : " (" + a.cert.verify_error + ")"));
  deduct(a.nist_r1 == Tri::no, kSignificant, "no NIST SP 800-52r1 cipher suite accepted");
  deduct(a.cert.name_match == Tri::no, kSlight,
         "certificate names do not include " + std::string(host));
  deduct(a.weak == Tri::yes, kSlight, "weak cipher suites accepted: " + suite_list(a.weak_suites));
  deduct(a.nist_r2 == Tri::no, kSlight, "no NIST SP 800-52r2 cipher suite accepted");
  g.score = std::max(g.score, 0);
  g.letter = letter_for(g.score);
  return g;
}

std::vector<std::string> recommendations(const AddressReport& a, std::string_view host) {
  std::vector<std::string> out;
  const std::string at = std::string(host) + " (" + a.address + ")";
  if (!a.probed) {
    return out;
  }
  if (a.starttls == Tri::no) {
    out.push_back("enable STARTTLS with a working TLS configuration on " + at);
    return out;
  }
  if (a.ssl3 == Tri::yes) {
    out.push_back("disable SSL 3.0 on " + at);
  }
  if (a.tls1_2 == Tri::no) {
    out.push_back("enable TLS 1.2 on " + at);
  }
  if (a.weak == Tri::yes) {
    out.push_back("remove weak cipher suites on " + at + ": " + suite_list(a.weak_suites));
  }
  if (a.nist_r1 == Tri::no) {
    out.push_back(
        "enable a NIST SP 800-52r1 cipher suite (e.g. "
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) on " +
        at);
  }
  if (a.nist_r2 == Tri::no && a.nist_r1 != Tri::no) {
    out.push_back("enable a NIST SP 800-52r2 cipher suite (ECDHE with AES-GCM) on " + at);
  }
  if (a.cert.expired == Tri::yes) {
    out.push_back("renew the certificate of " + at + " (expired " + date_of(a.cert) + ")");
  }
  if (a.cert.trusted == Tri::no) {
    out.push_back("use a certificate issued by a publicly trusted CA on " + at);
  }
  if (a.cert.name_match == Tri::no) {
    out.push_back("use a certificate whose names include " + std::string(host));
  }
  return out;
}

namespace {

bool perfect(const Grade& g) { return g.score == 100 && !g.provisional; }

bool a_plus(const Grade& g, Tri mta_sts_enforce, Tri dane) {
  return perfect(g) && (mta_sts_enforce == Tri::yes || dane == Tri::yes);
}

std::vector<std::string> dane_recommendations(const MxReport& mx) {
  std::vector<std::string> out;
  const std::string owner = "_25._tcp." + mx.host;
  if (mx.dane.usable == Tri::yes && mx.dane.match == Tri::no) {
    out.push_back("fix the TLSA records at " + owner + " or the certificate of " + mx.host +
                  ": no record authenticates it, so DANE clients will not deliver to it");
  } else if (!mx.dane.tlsa.empty() && mx.dane.usable == Tri::no) {
    out.push_back("replace the TLSA records at " + owner +
                  " with DANE-EE(3) or DANE-TA(2) records: none is usable for SMTP "
                  "(RFC 7672 §3.1.3)");
  }
  return out;
}

}  // namespace

void judge(DomainReport& report, const JudgeOptions& options) {
  // Per address and per MX: the MX grade is its worst address.
  std::optional<Grade> worst_domain;
  bool provisional = report.dns_failure != UnknownCause::none;
  for (MxReport& mx : report.mx) {
    std::optional<Grade> worst_mx;
    mx.recommendations.clear();
    for (AddressReport& a : mx.addresses) {
      a.grade = grade_address(a, mx.host);
      a.recommendations = recommendations(a, mx.host);
      for (const std::string& r : a.recommendations) {
        if (std::find(mx.recommendations.begin(), mx.recommendations.end(), r) ==
            mx.recommendations.end()) {
          mx.recommendations.push_back(r);
        }
      }
      provisional = provisional || a.grade.provisional;
      if (!worst_mx || a.grade.score < worst_mx->score) {
        bool was_provisional = worst_mx && worst_mx->provisional;
        worst_mx = a.grade;
        worst_mx->provisional = worst_mx->provisional || was_provisional;
      } else if (a.grade.provisional) {
        worst_mx->provisional = true;
      }
    }
    if (!worst_mx) {
      mx.grade = Grade{.letter = GradeLetter::F, .score = 0, .provisional = true, .deductions = {}};
      mx.grade.deductions.push_back({0, "no address to probe"});
      provisional = provisional || mx.dns_failure != UnknownCause::none;
      continue;
    }
    mx.grade = *worst_mx;
    // doc/checks.md: a perfect host authenticated by MTA-STS enforce or DANE is A+.
    if (a_plus(mx.grade, report.mta_sts_enforce, mx.dane.match)) {
      mx.grade.letter = GradeLetter::A_plus;
    }
    for (std::string& r : dane_recommendations(mx)) {
      mx.recommendations.push_back(std::move(r));
    }
    if (!worst_domain || mx.grade.score < worst_domain->score) {
      worst_domain = mx.grade;
    }
  }
  if (worst_domain) {
    report.grade = *worst_domain;
  } else {
    report.grade =
        Grade{.letter = GradeLetter::F, .score = 0, .provisional = true, .deductions = {}};
  }
  report.grade.provisional = report.grade.provisional || provisional;
  // doc/checks.md: 100 with MTA-STS enforce covering every MX, or DANE valid on
  // every MX -> A+ (the worst MX decides the rest of the letter).
  if (report.grade.letter >= GradeLetter::A) {
    report.grade.letter = a_plus(report.grade, report.mta_sts_enforce, report.dane)
                              ? GradeLetter::A_plus
                              : GradeLetter::A;
  }

  EligibilityResult v = eligibility(report, options);
  report.tls13_counted =
      options.tls13_counts ? v : eligibility(report, JudgeOptions{.tls13_counts = true});
  report.eligible = v.eligible;
  report.unknown_cause = v.unknown_cause;
  report.reasons = std::move(v.reasons);
}

DomainReport unknown_report(std::string domain, std::int64_t checked_at, UnknownCause cause,
                            Reason reason) {
  DomainReport report;
  report.domain = std::move(domain);
  report.source = MxSource::none;
  // The domain-wide failure, kept in the stored record: judged again (the
  // cache does on every write and read) the report stays unknown.
  report.dns_failure = cause;
  report.dns_error = reason.detail;
  report.checked_at = checked_at;
  judge(report);
  // The caller's own code for this first answer ("probe-timeout"); a
  // report judged again from the cache says "probe-failed".
  report.reasons = {reason};
  report.tls13_counted.reasons = {std::move(reason)};
  return report;
}

}  // namespace forcetls::checker
