// SPDX-License-Identifier: Apache-2.0
// Text report. Every row shows its raw answer and the mark checker/report/marks.hpp
// gives it: ✔ good, ✘ bad, · information, ? unknown — so a refused TLS 1.0
// reads "· TLS 1.0 accepted: no", never as a failure.
#include "checker/report/report_text.hpp"

#include <algorithm>

#include "checker/report/marks.hpp"

namespace forcetls::checker {
namespace {

std::string_view symbol(Mark m) {
  switch (m) {
    case Mark::good:
      return "✔";
    case Mark::bad:
      return "✘";
    case Mark::info:
      return "·";
    case Mark::unknown:
      return "?";
  }
  return "?";
}

void row(std::string& out, const CheckRow& r) {
  out += "    ";
  out += symbol(r.mark);
  out += ' ';
  out += r.label;
  out += ": ";
  out += to_string(r.answer);
  if (!r.detail.empty()) {
    out += "  (";
    out += r.detail;
    out += ')';
  }
  out += '\n';
}

std::string grade_line(const Grade& g) {
  std::string s = std::string(to_string(g.letter)) +
                  (g.provisional ? " (provisional: some answers unknown)" : "") + "  " +
                  std::to_string(g.score) + "/100";
  return s;
}

/// "grade B  80/100", or "not graded (why)" where the grade judge() filled in
/// stands for no finding at all.
std::string grade_or_not(const Grade& g, const std::optional<NotGraded>& not_graded) {
  return not_graded ? "not graded (" + not_graded->why + ")" : "grade " + grade_line(g);
}

std::string_view verdict_word(Eligibility e) {
  switch (e) {
    case Eligibility::eligible:
      return "ELIGIBLE for Forced TLS";
    case Eligibility::ineligible:
      return "NOT eligible for Forced TLS";
    case Eligibility::unknown:
      return "UNKNOWN (could not be determined)";
  }
  return "?";
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) {
      out += sep;
    }
    out += s;
  }
  return out;
}

void address_block(std::string& out, const MxReport& mx, const AddressReport& a) {
  out += "  " + a.address + ":" + std::to_string(a.port) + "  " +
         grade_or_not(a.grade, not_graded(a)) + "  " + std::to_string(a.connections) +
         " connection" + (a.connections == 1 ? "" : "s") + "\n";
  if (!a.probed) {
    out += "    not probed: address in a private or reserved range (see --allow-private)\n";
    return;
  }
  for (const CheckRow& r : check_rows(a, mx.host)) {
    row(out, r);
  }
  if (!a.cert.cn.empty() || !a.cert.sans.empty()) {
    out += "      CN " + (a.cert.cn.empty() ? std::string("-") : a.cert.cn) + "; SANs " +
           (a.cert.sans.empty() ? std::string("-") : join(a.cert.sans, ", ")) +
           (a.cert.issuer.empty() ? "" : "; issuer " + a.cert.issuer) + "\n";
  }
  if (!a.protocol.empty()) {
    out += "      negotiated " + a.protocol + " " + a.cipher + "\n";
  }
  if (!a.error.empty()) {
    out += "      last failure: " + a.error + "\n";
  }
  for (const std::string& note : a.notes) {
    out += "      note: " + note + "\n";
  }
  for (const Deduction& d : a.grade.deductions) {
    out += "      -" + std::to_string(d.points) + "  " + d.what + "\n";
  }
}

void mta_sts_block(std::string& out, const DomainReport& r) {
  const MtaStsReport& m = r.mta_sts;
  out += "  MTA-STS ";
  out += symbol(mta_sts_mark(r));
  if (m.mode) {
    out += " mode " + std::string(to_string(*m.mode)) + ", id " + m.id + ", max_age " +
           std::to_string(m.max_age) + "; mx " +
           (m.mx_patterns.empty() ? std::string("-") : join(m.mx_patterns, ", "));
    std::string missed;
    for (const MxReport& mx : r.mx) {
      if (std::find(m.mx_match.begin(), m.mx_match.end(), mx.host) == m.mx_match.end()) {
        missed += (missed.empty() ? "" : ", ") + mx.host;
      }
    }
    out += missed.empty() ? "; covers every MX" : "; does not cover " + missed;
  } else {
    out += " no policy";
  }
  if (m.failure) {
    out += " (" + sts_error(m) + ")";
  }
  out += "\n";
  out += "  TLSRPT  ";
  if (!r.tlsrpt.rua.empty()) {
    out += "reports to " + join(r.tlsrpt.rua, ", ");
  } else {
    out += "none";
  }
  if (!r.tlsrpt.error.empty() && r.tlsrpt.error != "no-txt") {
    out += " (" + r.tlsrpt.error + ")";
  }
  out += "\n";
}

/// Where the mail servers came from; a failed or bogus lookup found none.
std::string_view servers_from(const DomainReport& r) {
  switch (r.source) {
    case MxSource::mx:
      return "mail servers from MX records";
    case MxSource::implicit:
      return "mail servers from the domain's own address (no MX)";
    case MxSource::null_mx:
      return "a null MX: the domain accepts no mail";
    case MxSource::none:
      break;
  }
  switch (r.dns_failure) {
    case UnknownCause::dnssec_bogus:
      return "mail servers not known: a DNSSEC-bogus answer is not used";
    case UnknownCause::dns_failure:
      return "mail servers not known: the DNS lookup failed";
    case UnknownCause::probe_failure:
      return "mail servers not known: the probe failed";
    default:
      return "no mail server found";
  }
}

void dane_line(std::string& out, const DaneReport& d) {
  if (d.tlsa.empty() && d.error.empty() && d.match == Tri::unknown) {
    return;  // not looked at
  }
  out += "  DANE " + std::string(symbol(dane_mark(d))) + " " + std::to_string(d.tlsa.size()) +
         " TLSA record" + (d.tlsa.size() == 1 ? "" : "s") + ", usable " +
         std::string(to_string(d.usable)) + ", match " + std::string(to_string(d.match));
  if (!d.error.empty()) {
    out += " (" + d.error + ")";
  }
  out += "\n";
}

}  // namespace

std::string to_text(const DomainReport& r) {
  std::string out;
  out += r.domain + "\n";
  out +=
      "  DNSSEC " + std::string(to_string(r.dnssec)) + "; " + std::string(servers_from(r)) + "\n";
  if (!r.dns_error.empty()) {
    out += "  DNS: " + r.dns_error + "\n";
  }
  const bool sts =
      !r.mta_sts.txt.empty() || r.mta_sts.failure || r.mta_sts.mode || !r.tlsrpt.txt.empty();
  if (sts || !r.mx.empty()) {
    out += "  marks: ✔ good  ✘ to fix  · information  ? unknown\n";
  }
  if (sts) {
    mta_sts_block(out, r);
  }
  for (const MxReport& mx : r.mx) {
    out += "\nMX " + std::to_string(mx.priority) + " " + mx.host + "  (DNSSEC " +
           std::string(to_string(mx.dnssec)) + ")  " + grade_or_not(mx.grade, not_graded(mx)) +
           "\n";
    if (!mx.dns_error.empty()) {
      out += "  DNS: " + mx.dns_error + "\n";
    }
    dane_line(out, mx.dane);
    for (const AddressReport& a : mx.addresses) {
      address_block(out, mx, a);
    }
    if (!mx.recommendations.empty()) {
      out += "  recommendations:\n";
      for (const std::string& rec : mx.recommendations) {
        out += "    - " + rec + "\n";
      }
    }
  }
  if (std::optional<NotGraded> why = not_graded(r)) {
    out += "\nNot graded: " + why->why + "\n";
  } else {
    out += "\nGrade " + grade_line(r.grade) + "\n";
  }
  out += "Verdict: " + std::string(verdict_word(r.eligible)) + "\n";
  for (const Reason& reason : r.reasons) {
    out +=
        "  - " + format_reason(reason) + (reason.detail.empty() ? "" : ": " + reason.detail) + "\n";
  }
  return out;
}

}  // namespace forcetls::checker
