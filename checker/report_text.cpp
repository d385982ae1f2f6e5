// Text report. Marks: ✔ good, ✘ bad, ? unknown — "good" is per check (for
// "SSL 3.0 off" a refused SSL 3.0 is good).
#include "checker/report_text.hpp"

#include <algorithm>

#include "checker/cipher_suites.hpp"

namespace forcetls::checker {
namespace {

std::string_view mark(Tri good) {
  switch (good) {
    case Tri::yes:
      return "✔";
    case Tri::no:
      return "✘";
    case Tri::unknown:
      return "?";
  }
  return "?";
}

Tri invert(Tri t) { return t == Tri::yes ? Tri::no : t == Tri::no ? Tri::yes : Tri::unknown; }

void row(std::string& out, std::string_view label, Tri good, std::string_view detail = {}) {
  out += "    ";
  out += mark(good);
  out += ' ';
  out += label;
  if (!detail.empty()) {
    out += "  (";
    out += detail;
    out += ')';
  }
  out += '\n';
}

std::string grade_line(const Grade& g) {
  std::string s = g.letter + (g.provisional ? " (provisional: some answers unknown)" : "") + "  " +
                  std::to_string(g.score) + "/100";
  return s;
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
  out += "  " + a.address + ":" + std::to_string(a.port) + "  grade " + grade_line(a.grade) + "  " +
         std::to_string(a.connections) + " connection" + (a.connections == 1 ? "" : "s") + "\n";
  if (!a.probed) {
    out += "    not probed: address in a private or reserved range (see --allow-private)\n";
    return;
  }
  row(out, "STARTTLS and TLS handshake", a.starttls);
  row(out, "SSL 3.0 off", invert(a.ssl3));
  row(out, "TLS 1.0 accepted", a.tls1_0);
  row(out, "TLS 1.1 accepted", a.tls1_1);
  row(out, "TLS 1.2 accepted", a.tls1_2);
  row(out, "TLS 1.3 accepted", a.tls1_3);
  std::string weak_names;
  for (std::uint16_t code : a.weak_suites) {
    weak_names += (weak_names.empty() ? "accepted: " : ", ") + display_name(code);
  }
  row(out, "weak ciphers off", invert(a.weak), weak_names);
  row(out, "NIST SP 800-52r1 cipher accepted", a.nist_r1);
  row(out, "NIST SP 800-52r2 cipher accepted", a.nist_r2);
  row(out, "certificate from a trusted CA", a.cert.trusted, a.cert.verify_error);
  row(out, "certificate not expired", invert(a.cert.expired), a.cert.not_after);
  row(out, "certificate names match " + mx.host, a.cert.name_match);
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
  out += mark(r.mta_sts_enforce);
  if (!m.mode.empty()) {
    out += " mode " + m.mode + ", id " + m.id + ", max_age " + std::to_string(m.max_age) + "; mx " +
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
  if (!m.error.empty()) {
    out += " (" + m.error + ")";
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

void dane_line(std::string& out, const DaneReport& d) {
  if (d.tlsa.empty() && d.error.empty() && d.match == Tri::unknown) {
    return;  // not looked at
  }
  out += "  DANE " + std::string(mark(d.match)) + " " + std::to_string(d.tlsa.size()) +
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
  out += "  DNSSEC " + std::string(to_string(r.dnssec)) + "; mail servers from " +
         std::string(r.source == MxSource::mx         ? "MX records"
                     : r.source == MxSource::implicit ? "the domain's own address (no MX)"
                     : r.source == MxSource::null_mx  ? "a null MX (accepts no mail)"
                                                      : "nothing") +
         "\n";
  if (!r.dns_error.empty()) {
    out += "  DNS: " + r.dns_error + "\n";
  }
  if (!r.mta_sts.txt.empty() || !r.mta_sts.error.empty() || !r.mta_sts.mode.empty() ||
      !r.tlsrpt.txt.empty()) {
    mta_sts_block(out, r);
  }
  for (const MxReport& mx : r.mx) {
    out += "\nMX " + std::to_string(mx.priority) + " " + mx.host + "  (DNSSEC " +
           std::string(to_string(mx.dnssec)) + ")  grade " + grade_line(mx.grade) + "\n";
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
  out += "\nGrade " + grade_line(r.grade) + "\n";
  out += "Verdict: " + std::string(verdict_word(r.eligible)) + "\n";
  for (const Reason& reason : r.reasons) {
    out +=
        "  - " + format_reason(reason) + (reason.detail.empty() ? "" : ": " + reason.detail) + "\n";
  }
  return out;
}

}  // namespace forcetls::checker
