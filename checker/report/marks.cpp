// SPDX-License-Identifier: Apache-2.0
// Marks of the report's rows. Each address row follows the grade and the
// eligibility rule of judgement.cpp: a row is bad exactly when the grade
// deducts for its answer (or, for STARTTLS, gives F), so a server without
// deductions shows no bad row. TLS 1.0 may satisfy the rule's "TLS 1.0
// and/or TLS 1.2", but so does TLS 1.2, which the grade asks for: TLS 1.0
// refused is never the fault, accepted it costs nothing. TLS 1.0 and 1.1 are
// information whichever way they answer; when neither TLS 1.0 nor 1.2 is
// accepted the TLS 1.2 row is the bad one (the fix is TLS 1.2, not TLS 1.0).
#include "checker/report/marks.hpp"

#include <array>
#include <utility>

#include "checker/report/cipher_suites.hpp"
#include "common/enum_names.hpp"

namespace forcetls::checker {
namespace {

constexpr NameTable<Mark, 4> kMarks{{
    {Mark::unknown, "unknown"},
    {Mark::good, "good"},
    {Mark::bad, "bad"},
    {Mark::info, "info"},
}};

/// A check the grade scores: bad for `bad_answer`, good for the other answer.
Mark scored(Tri answer, Tri bad_answer) {
  if (answer == Tri::unknown) {
    return Mark::unknown;
  }
  return answer == bad_answer ? Mark::bad : Mark::good;
}

/// A check neither the grade nor the rule scores.
Mark informational(Tri answer) { return answer == Tri::unknown ? Mark::unknown : Mark::info; }

Tri inverted(Tri t) { return t == Tri::yes ? Tri::no : t == Tri::no ? Tri::yes : Tri::unknown; }

std::string weak_detail(const AddressReport& a) {
  std::string out;
  for (std::uint16_t code : a.weak_suites) {
    out += (out.empty() ? "accepted: " : ", ") + display_name(code);
  }
  return out;
}

}  // namespace

std::string_view to_string(Mark m) { return name_in(kMarks, m); }

std::vector<CheckRow> check_rows(const AddressReport& a, std::string_view host) {
  // TLS 1.3 is beyond the reference and never scored: offering it is good,
  // lacking it only information.
  const Mark tls13 = a.tls1_3 == Tri::yes ? Mark::good : informational(a.tls1_3);
  const Tri weak_off = inverted(a.weak);
  const std::string expiry = a.cert.not_after.empty() ? "" : "not after " + a.cert.not_after;
  return {
      {"", "starttls", "STARTTLS and TLS handshake", a.starttls, scored(a.starttls, Tri::no), ""},
      {"", "ssl3", "SSL 3.0 accepted", a.ssl3, scored(a.ssl3, Tri::yes), ""},
      {"", "tls1_0", "TLS 1.0 accepted", a.tls1_0, informational(a.tls1_0), ""},
      {"", "tls1_1", "TLS 1.1 accepted", a.tls1_1, informational(a.tls1_1), ""},
      {"", "tls1_2", "TLS 1.2 accepted", a.tls1_2, scored(a.tls1_2, Tri::no), ""},
      {"", "tls1_3", "TLS 1.3 accepted", a.tls1_3, tls13, ""},
      {"", "weak_ciphers_off", "weak ciphers off", weak_off, scored(weak_off, Tri::no),
       weak_detail(a)},
      {"", "nist_r1", "NIST SP 800-52r1 cipher accepted", a.nist_r1, scored(a.nist_r1, Tri::no),
       ""},
      {"", "nist_r2", "NIST SP 800-52r2 cipher accepted", a.nist_r2, scored(a.nist_r2, Tri::no),
       ""},
      {"cert", "trusted", "certificate from a trusted CA", a.cert.trusted,
       scored(a.cert.trusted, Tri::no), a.cert.verify_error},
      {"cert", "expired", "certificate expired", a.cert.expired, scored(a.cert.expired, Tri::yes),
       expiry},
      {"cert", "name_match", "certificate names match " + std::string(host), a.cert.name_match,
       scored(a.cert.name_match, Tri::no), ""},
  };
}

Mark mta_sts_mark(const DomainReport& r) {
  const MtaStsReport& m = r.mta_sts;
  if (r.mta_sts_enforce == Tri::yes) {
    return Mark::good;
  }
  if (r.mta_sts_enforce == Tri::unknown) {
    return Mark::unknown;
  }
  if (m.mode == StsMode::enforce) {
    // RFC 8461 §5: senders that apply the policy refuse the uncovered MX.
    return Mark::bad;
  }
  if (m.mode) {  // testing or none
    return Mark::info;
  }
  if (m.txt.empty() && (!m.failure || m.failure.problem == StsProblem::no_txt)) {
    return Mark::info;  // not published
  }
  return Mark::bad;  // announced by the TXT record, but not fetched or not valid
}

Mark dane_mark(const DaneReport& d) {
  if (d.match == Tri::yes) {
    return Mark::good;
  }
  if (d.match == Tri::unknown || d.usable == Tri::unknown) {
    return Mark::unknown;
  }
  return d.tlsa.empty() ? Mark::info : Mark::bad;
}

std::optional<NotGraded> not_graded(const AddressReport& a) {
  if (!a.probed) {
    return NotGraded{"address-refused", "not probed"};
  }
  for (const CheckRow& row : check_rows(a, "")) {
    if (row.answer != Tri::unknown) {
      return std::nullopt;
    }
  }
  return NotGraded{"probe-failed", "no answer"};
}

std::optional<NotGraded> not_graded(const MxReport& mx) {
  if (mx.addresses.empty()) {
    switch (mx.dns_failure) {
      case UnknownCause::dnssec_bogus:
        return NotGraded{"dnssec-bogus", "address answer DNSSEC-bogus"};
      case UnknownCause::dns_failure:
        return NotGraded{"dns-failure", "address lookup failed"};
      default:
        return NotGraded{"no-mx-address", "no address record"};
    }
  }
  bool any_answer_missing = false;
  for (const AddressReport& a : mx.addresses) {
    std::optional<NotGraded> why = not_graded(a);
    if (!why) {
      return std::nullopt;
    }
    any_answer_missing = any_answer_missing || why->code == "probe-failed";
  }
  if (any_answer_missing) {
    return NotGraded{"probe-failed", "no address answered"};
  }
  return NotGraded{"address-refused", "no address probed: private or reserved range"};
}

std::optional<NotGraded> not_graded(const DomainReport& r) {
  // The MX hosts' own reasons, the most telling first.
  constexpr std::array<std::string_view, 5> kOrder{"dnssec-bogus", "dns-failure", "probe-failed",
                                                   "address-refused", "no-mx-address"};
  std::size_t best = kOrder.size();
  std::string hosts;
  for (const MxReport& mx : r.mx) {
    std::optional<NotGraded> why = not_graded(mx);
    if (!why) {
      return std::nullopt;
    }
    hosts += (hosts.empty() ? "" : "; ") + mx.host + ": " + why->why;
    for (std::size_t i = 0; i < best; ++i) {
      if (kOrder[i] == why->code) {
        best = i;
      }
    }
  }
  if (r.dns_failure == UnknownCause::dnssec_bogus) {
    return NotGraded{"dnssec-bogus", "the DNS answer is DNSSEC-bogus, so no server was probed"};
  }
  if (r.dns_failure == UnknownCause::dns_failure) {
    return NotGraded{"dns-failure", "the DNS lookup failed, so no server was probed"};
  }
  if (r.dns_failure == UnknownCause::probe_failure) {
    return NotGraded{"probe-failed", "the probe failed: " + r.dns_error};
  }
  if (r.source == MxSource::null_mx) {
    return NotGraded{"null-mx", "the domain publishes a null MX: it accepts no mail"};
  }
  if (r.source == MxSource::none || best == kOrder.size()) {
    return NotGraded{
        "no-mail-server",
        "no mail server: " + (r.dns_error.empty() ? "no MX and no address" : r.dns_error)};
  }
  std::string code(kOrder[best]);
  return NotGraded{code, "no server was graded (" + hosts + ")"};
}

}  // namespace forcetls::checker
