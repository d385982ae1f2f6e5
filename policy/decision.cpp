// SPDX-License-Identifier: Apache-2.0
// Decisions: the policy's verdict on a report, the action it leads to, and
// the texts (SMTP reply, log reason, header fragment) that explain it.
#include "policy/decision.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "common/enum_names.hpp"
#include "common/log.hpp"

namespace forcetls::policy {
namespace {

using checker::DomainReport;
using checker::Eligibility;
using checker::Reason;
using checker::Tri;
using checker::UnknownCause;

/// A three-valued check with the reasons behind a `no` or `unknown`.
struct Check {
  Tri result = Tri::yes;
  std::vector<Reason> reasons;
};

void add_reason(std::vector<Reason>& reasons, Reason r) {
  for (const Reason& have : reasons) {
    if (have.code == r.code && have.host == r.host) {
      return;
    }
  }
  reasons.push_back(std::move(r));
}

/// Folds one observation into a check: a `no` outranks `unknown`.
void note(Check& c, Tri t, Reason r) {
  if (t == Tri::no) {
    if (c.result != Tri::no) {
      c.reasons.clear();
    }
    c.result = Tri::no;
    add_reason(c.reasons, std::move(r));
  } else if (t == Tri::unknown && c.result != Tri::no) {
    c.result = Tri::unknown;
    add_reason(c.reasons, std::move(r));
  }
}

Tri negate(Tri t) { return t == Tri::yes ? Tri::no : t == Tri::no ? Tri::yes : Tri::unknown; }

bool has_address(const DomainReport& report) {
  return std::any_of(report.mx.begin(), report.mx.end(),
                     [](const checker::MxReport& mx) { return !mx.addresses.empty(); });
}

// min_grade. The domain grade is the worst MX's (doc/checks.md), and unknown
// answers never deduct points, so a provisional grade is an upper bound.
Check check_grade(GradeLetter min, const DomainReport& report) {
  Check c;
  if (min == GradeLetter::F) {
    return c;  // every grade reaches F
  }
  const std::string want(to_string(min));
  const checker::Grade& g = report.grade;
  if (!has_address(report)) {
    // Without any graded address the report's grade is a placeholder.
    note(c, Tri::unknown, {"grade-unknown", "", "no MX address was graded"});
    return c;
  }
  Tri meets = g.letter >= min ? Tri::yes : Tri::no;
  const Tri sts = report.mta_sts_enforce;
  const Tri dane = report.dane;
  const bool authenticated_maybe =
      sts == Tri::yes || dane == Tri::yes || sts == Tri::unknown || dane == Tri::unknown;
  if (meets == Tri::no && min == GradeLetter::A_plus && g.letter == GradeLetter::A &&
      g.score == 100 && authenticated_maybe &&
      (g.provisional || sts == Tri::unknown || dane == Tri::unknown)) {
    // A+ is A at 100 points without unknown answers, plus MTA-STS enforce
    // or DANE (doc/checks.md): with answers still open it may become A+.
    meets = Tri::unknown;
  }
  if (meets == Tri::yes && g.provisional) {
    meets = Tri::unknown;
  }
  const std::string shown = checker::short_grade(g);
  // The parenthesised part of these reasons is the grade, not a host.
  if (meets == Tri::no) {
    note(c, Tri::no,
         {"grade-below-min", std::string(to_string(g.letter)) + "<" + want,
          "grade " + shown + " (" + std::to_string(g.score) + " points) is below the minimum " +
              want});
  } else if (meets == Tri::unknown) {
    note(c, Tri::unknown,
         {"grade-provisional", shown,
          "grade " + shown +
              " is provisional (some answers unknown) or lacks MTA-STS/DANE "
              "answers; the minimum is " +
              want});
  }
  return c;
}

// require_verified_cert: on every address that speaks TLS, the certificate
// chains to a trusted CA, is not expired, and names the MX host. Addresses
// without TLS are the eligibility rule's business.
Check check_cert(const DomainReport& report) {
  Check c;
  for (const checker::MxReport& mx : report.mx) {
    for (const checker::AddressReport& a : mx.addresses) {
      if (!a.probed || a.starttls != Tri::yes) {
        continue;
      }
      const checker::CertInfo& cert = a.cert;
      auto observe = [&](Tri good, std::string_view bad_code, std::string what) {
        const bool bad = good == Tri::no;
        note(
            c, good,
            {bad ? std::string(bad_code) : "cert-unknown", mx.host,
             a.address + (bad ? ": " + what
                              : ": unanswered certificate check (" + std::string(bad_code) + ")")});
      };
      observe(cert.trusted, "cert-untrusted", "the certificate is not issued by a trusted CA");
      observe(negate(cert.expired), "cert-expired", "the certificate expired " + cert.not_after);
      observe(cert.name_match, "cert-name-mismatch",
              "the certificate names do not include " + mx.host);
    }
  }
  return c;
}

Check check_require(Require require, const DomainReport& report) {
  Check c;
  switch (require) {
    case Require::none:
      break;
    case Require::mta_sts:
      note(c, report.mta_sts_enforce,
           {report.mta_sts_enforce == Tri::no ? "no-mta-sts-enforce" : "mta-sts-unknown", "",
            "no MTA-STS policy in enforce mode covering every MX"});
      break;
    case Require::dane:
      note(c, report.dane,
           {report.dane == Tri::no ? "no-dane" : "dane-unknown", "",
            "no usable DANE TLSA records on every MX"});
      break;
    case Require::either: {
      Tri either = (report.mta_sts_enforce == Tri::yes || report.dane == Tri::yes) ? Tri::yes
                   : (report.mta_sts_enforce == Tri::no && report.dane == Tri::no) ? Tri::no
                                                                                   : Tri::unknown;
      note(c, either,
           {either == Tri::no ? "no-mta-sts-or-dane" : "mta-sts-or-dane-unknown", "",
            "neither MTA-STS enforce nor DANE covers every MX"});
      break;
    }
  }
  return c;
}

Tri tri_of(Eligibility e) {
  return e == Eligibility::eligible     ? Tri::yes
         : e == Eligibility::ineligible ? Tri::no
                                        : Tri::unknown;
}

std::string join_reasons(const std::vector<Reason>& reasons) {
  std::string out;
  for (const Reason& r : reasons) {
    if (!out.empty()) {
      out += ',';
    }
    out += checker::format_reason(r);
  }
  return out;
}

/// Reason codes without hosts, deduplicated: `no-starttls,no-nist-r1-cipher`.
std::string join_codes(const std::vector<Reason>& reasons) {
  std::vector<std::string_view> seen;
  std::string out;
  for (const Reason& r : reasons) {
    if (std::find(seen.begin(), seen.end(), r.code) != seen.end()) {
      continue;
    }
    seen.push_back(r.code);
    if (!out.empty()) {
      out += ',';
    }
    out += r.code;
  }
  return out;
}

/// At most three reasons for people; the log line has them all.
std::string reasons_for_reply(const std::vector<Reason>& reasons) {
  constexpr std::size_t kShown = 3;
  std::string out;
  for (std::size_t i = 0; i < reasons.size() && i < kShown; ++i) {
    if (!out.empty()) {
      out += ", ";
    }
    out += checker::format_reason(reasons[i]);
  }
  if (reasons.size() > kShown) {
    out += " and " + std::to_string(reasons.size() - kShown) + " more";
  }
  return out;
}

Reply make_reply(Action action, const Decision& d) {
  if (action != Action::reject && action != Action::tempfail) {
    return {};
  }
  const bool temp = action == Action::tempfail;
  Reply r;
  std::string text;
  if (d.verdict == Verdict::ineligible) {
    r.code = temp ? "450" : "550";
    r.enhanced = temp ? "4.7.4" : "5.7.4";
    text = "Forced TLS: " + d.domain + " is not eligible for TLS delivery";
    if (!d.reasons.empty()) {
      text += " (" + reasons_for_reply(d.reasons) + ")";
    }
  } else {
    r.code = temp ? "451" : "550";
    r.enhanced = temp ? "4.7.1" : "5.7.1";
    if (d.verdict == Verdict::not_checked) {
      text = "Forced TLS: " + d.domain + " is being checked for TLS support";
    } else {
      text = "Forced TLS: could not verify TLS support of " + d.domain + " (" +
             (d.reasons.empty() ? std::string(checker::to_string(d.cause))
                                : reasons_for_reply(d.reasons)) +
             ")";
    }
    if (temp) {
      text += ", try again later";
    }
  }
  r.text = sanitize(std::move(text), kMaxReplyText);
  return r;
}

Action unknown_action(const OnUnknown& on, Verdict verdict, UnknownCause cause) {
  if (verdict == Verdict::not_checked) {
    return on.not_checked;
  }
  switch (cause) {
    case UnknownCause::dns_failure:
      return on.dns_failure;
    case UnknownCause::dnssec_bogus:
      return on.dnssec_bogus;
    case UnknownCause::downgrade_suspected:
      return on.downgrade_suspected;
    case UnknownCause::probe_failure:
    case UnknownCause::none:
      break;
  }
  return on.probe_failure;
}

/// Empty when no address was graded: the report's grade is then a placeholder.
std::string grade_text(const DomainReport& report) {
  if (!has_address(report)) {
    return "";
  }
  return checker::short_grade(report.grade);
}

}  // namespace

namespace {
constexpr NameTable<Verdict, 4> kVerdictNames{{
    {Verdict::eligible, "eligible"},
    {Verdict::ineligible, "ineligible"},
    {Verdict::unknown, "unknown"},
    {Verdict::not_checked, "not-checked"},
}};
}  // namespace

std::string_view to_string(Verdict v) { return name_in(kVerdictNames, v); }

namespace {
constexpr NameTable<Delivery, 4> kDeliveryNames{{
    {Delivery::opportunistic, "opportunistic"},
    {Delivery::tls_required, "tls-required"},
    {Delivery::defer, "defer"},
    {Delivery::refuse, "refuse"},
}};
}  // namespace

std::string_view to_string(Delivery d) { return name_in(kDeliveryNames, d); }

Evaluation evaluate(const RuleOptions& options, const DomainReport& report) {
  // The eligibility rule itself, as judged: tls13_counts picks the verdict
  // judged with TLS 1.3 counted.
  Check base;
  UnknownCause base_cause = report.unknown_cause;
  if (options.tls13_counts) {
    base.result = tri_of(report.tls13_counted.eligible);
    base.reasons = report.tls13_counted.reasons;
    base_cause = report.tls13_counted.unknown_cause;
  } else {
    base.result = tri_of(report.eligible);
    base.reasons = report.reasons;
  }

  std::array<Check, 4> checks{std::move(base), Check{}, Check{}, Check{}};
  if (options.min_grade) {
    checks[1] = check_grade(*options.min_grade, report);
  }
  if (options.require_verified_cert) {
    checks[2] = check_cert(report);
  }
  checks[3] = check_require(options.require, report);

  Evaluation e;
  const bool any_no =
      std::any_of(checks.begin(), checks.end(), [](const Check& c) { return c.result == Tri::no; });
  const bool any_unknown = std::any_of(checks.begin(), checks.end(),
                                       [](const Check& c) { return c.result == Tri::unknown; });
  // One definite failure decides, as in the eligibility rule itself.
  const Tri wanted = any_no ? Tri::no : any_unknown ? Tri::unknown : Tri::yes;
  for (Check& c : checks) {
    if (c.result == wanted && wanted != Tri::yes) {
      for (Reason& r : c.reasons) {
        add_reason(e.reasons, std::move(r));
      }
    }
  }
  if (wanted == Tri::no) {
    e.verdict = Verdict::ineligible;
  } else if (wanted == Tri::unknown) {
    e.verdict = Verdict::unknown;
    // The checker's cause (DNS, DNSSEC) wins; unknowns of the stricter
    // options come from probes.
    e.cause = (checks[0].result == Tri::unknown && base_cause != UnknownCause::none)
                  ? base_cause
                  : UnknownCause::probe_failure;
  } else {
    e.verdict = Verdict::eligible;
  }
  return e;
}

std::string Reply::line() const {
  if (code.empty()) {
    return "";
  }
  return code + " " + enhanced + " " + text;
}

bool needs_report(const Match& match) {
  return match.in_scope && match.rule != nullptr && match.rule->options.mode != Mode::off;
}

Decision decide(const Match& match, std::string_view domain, const DomainReport* report) {
  static const Rule kFallback{};  // only if a default-constructed Match is passed
  const Rule& rule = match.rule != nullptr ? *match.rule : kFallback;
  Decision d;
  d.domain = std::string(domain);
  d.in_scope = match.in_scope;
  d.mode = rule.options.mode;
  d.options = rule.options;
  d.rule = rule.origin.text();
  d.pattern = match.pattern_text();

  if (!match.in_scope) {
    d.reason = "out-of-scope";
    return d;
  }
  if (d.mode == Mode::off) {
    d.reason = "policy-off";
    return d;
  }
  if (report == nullptr) {
    d.verdict = Verdict::not_checked;
    d.reason = "not-checked";
    d.header = d.domain + "=not-checked";
  } else {
    Evaluation e = evaluate(rule.options, *report);
    d.verdict = e.verdict;
    d.cause = e.cause;
    d.reasons = std::move(e.reasons);
    d.reason = join_reasons(d.reasons);
    d.grade = grade_text(*report);
    d.header = d.domain + "=" + std::string(to_string(d.verdict));
    if (!d.reasons.empty()) {
      d.header += "(" + join_codes(d.reasons) + ")";
    }
  }
  // Keep header and reason single-line and printable whatever DNS returned.
  d.header = sanitize(std::move(d.header), 512);
  d.reason = sanitize(std::move(d.reason), 2048);

  if (d.mode == Mode::prefer) {
    return d;  // never blocks: logged and tagged only
  }
  switch (d.verdict) {
    case Verdict::eligible:
      d.action = Action::accept;
      break;
    case Verdict::ineligible:
      d.action = rule.options.on_ineligible;
      break;
    case Verdict::unknown:
    case Verdict::not_checked:
      d.action = unknown_action(rule.options.on_unknown, d.verdict, d.cause);
      break;
  }
  if (d.action == Action::redirect) {
    d.redirect_to = rule.options.redirect_to;
  }
  d.reply = make_reply(d.action, d);
  return d;
}

std::string log_fields(const Decision& d) {
  std::string out = log::fields(
      {{"domain", d.domain}, {"policy", to_string(d.mode)}, {"verdict", to_string(d.verdict)}});
  if (!d.reason.empty()) {
    out += " " + log::fields({{"reason", d.reason}});
  }
  if (!d.grade.empty()) {
    out += " " + log::fields({{"grade", d.grade}});
  }
  out += " " + log::fields({{"action", to_string(d.action)}});
  if (!d.redirect_to.empty()) {
    out += " " + log::fields({{"redirect", d.redirect_to}});
  }
  out += " " + log::fields({{"rule", d.rule}, {"pattern", d.pattern}});
  return out;
}

Delivery delivery_requirement(const Decision& d) {
  if (!d.in_scope || d.mode != Mode::require) {
    return Delivery::opportunistic;
  }
  switch (d.verdict) {
    case Verdict::eligible:
      return Delivery::tls_required;
    case Verdict::ineligible:
      return d.action == Action::reject     ? Delivery::refuse
             : d.action == Action::tempfail ? Delivery::defer
                                            : Delivery::opportunistic;
    case Verdict::unknown:
    case Verdict::not_checked:
      // Never opportunistic: the on_unknown action says what to do with new
      // mail at RCPT, but an unknown can be an attacker's doing (probes
      // dropped, STARTTLS stripped from a pinned domain), so queued mail
      // waits until the domain is known; never a permanent answer either.
      return Delivery::defer;
  }
  return Delivery::opportunistic;
}

std::string sanitize(std::string text, std::size_t limit) {
  for (char& c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {
      c = '?';
    }
  }
  if (text.size() > limit) {
    text.resize(limit - 3);
    text += "...";
  }
  return text;
}

}  // namespace forcetls::policy
