// SPDX-License-Identifier: Apache-2.0
// Tests for policy/decision: the verdict under a rule's options, the action
// for every mode x verdict x action, replies, reasons, header, log fields and
// the delivery-time meaning.
#include "policy/decision.hpp"

#include <catch2/catch.hpp>

#include <map>

#include "tests/policy/report_builder.hpp"

using namespace forcetls::policy;
using forcetls::checker::DomainReport;
using forcetls::checker::Tri;
using forcetls::checker::UnknownCause;
namespace t = forcetls::test;

namespace {

/// A policy with one rule for example.com carrying `options`.
struct OneRule {
  Policy policy;
  explicit OneRule(RuleOptions options)
      : policy(Scope{}, Rule{}, {[&] {
                 Rule r;
                 r.recipients.push_back({DomainPattern::Kind::exact, "example.com"});
                 r.options = options;
                 r.origin = Origin{"policy.yaml", 12, 3};
                 return r;
               }()}) {}
  Decision decide_for(const DomainReport* report) const {
    return decide(policy.match("example.com", MessageContext{}), "example.com", report);
  }
};

RuleOptions require_with(Action a) {
  RuleOptions o;
  o.mode = Mode::require;
  o.on_ineligible = a;
  o.on_unknown = {a, a, a, a};
  o.redirect_to = "portal@secure.example";
  return o;
}

enum class Kind { eligible, ineligible, probe_unknown, dns_unknown, bogus_unknown, not_checked };

std::optional<DomainReport> report_of(Kind k) {
  switch (k) {
    case Kind::eligible:
      return t::eligible_report();
    case Kind::ineligible:
      return t::ineligible_report();
    case Kind::probe_unknown:
      return t::probe_unknown_report();
    case Kind::dns_unknown:
      return t::dns_unknown_report(UnknownCause::dns_failure);
    case Kind::bogus_unknown:
      return t::dns_unknown_report(UnknownCause::dnssec_bogus);
    case Kind::not_checked:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("decide: every mode x verdict x action", "[policy]") {
  struct VerdictCase {
    std::string label;
    Kind kind;
    Verdict want_verdict;
    UnknownCause want_cause;
    std::string want_header;
  };
  auto v = GENERATE(values<VerdictCase>({
      {"eligible", Kind::eligible, Verdict::eligible, UnknownCause::none, "example.com=eligible"},
      {"ineligible", Kind::ineligible, Verdict::ineligible, UnknownCause::none,
       "example.com=ineligible(no-starttls)"},
      {"probe unknown", Kind::probe_unknown, Verdict::unknown, UnknownCause::probe_failure,
       "example.com=unknown(probe-failed)"},
      {"dns unknown", Kind::dns_unknown, Verdict::unknown, UnknownCause::dns_failure,
       "example.com=unknown(dns-failure)"},
      {"bogus unknown", Kind::bogus_unknown, Verdict::unknown, UnknownCause::dnssec_bogus,
       "example.com=unknown(dnssec-bogus)"},
      {"not checked", Kind::not_checked, Verdict::not_checked, UnknownCause::none,
       "example.com=not-checked"},
  }));
  auto mode = GENERATE(Mode::require, Mode::prefer, Mode::off);
  auto action = GENERATE(Action::accept, Action::reject, Action::tempfail, Action::quarantine,
                         Action::tag, Action::redirect);
  INFO(v.label << " mode=" << to_string(mode) << " action=" << to_string(action));

  RuleOptions o = require_with(action);
  o.mode = mode;
  OneRule rule(o);
  std::optional<DomainReport> report = report_of(v.kind);
  Decision d = rule.decide_for(report ? &*report : nullptr);

  CHECK(d.domain == "example.com");
  CHECK(d.mode == mode);
  CHECK(d.rule == "policy.yaml:12");
  CHECK(d.pattern == "example.com");
  if (mode == Mode::off) {
    CHECK(d.verdict == Verdict::not_checked);
    CHECK(d.action == Action::accept);
    CHECK(d.reply.empty());
    CHECK(d.header.empty());
    CHECK(d.reason == "policy-off");
    return;
  }
  CHECK(d.verdict == v.want_verdict);
  CHECK(d.cause == v.want_cause);
  CHECK(d.header == v.want_header);
  if (mode == Mode::prefer || v.want_verdict == Verdict::eligible) {
    // prefer never blocks; an eligible domain always passes.
    CHECK(d.action == Action::accept);
    CHECK(d.reply.empty());
    CHECK(d.redirect_to.empty());
    return;
  }
  CHECK(d.action == action);
  CHECK(d.redirect_to == (action == Action::redirect ? "portal@secure.example" : ""));

  // Reply codes (RFC 3463): X.7.4 for not eligible, X.7.1 for unknown.
  const bool definite = v.want_verdict == Verdict::ineligible;
  const std::map<Action, std::string> want_line_prefix{
      {Action::reject, definite ? "550 5.7.4 " : "550 5.7.1 "},
      {Action::tempfail, definite ? "450 4.7.4 " : "451 4.7.1 "},
  };
  auto it = want_line_prefix.find(action);
  if (it == want_line_prefix.end()) {
    CHECK(d.reply.empty());
  } else {
    REQUIRE_FALSE(d.reply.empty());
    CHECK(d.reply.line().rfind(it->second, 0) == 0);
    CHECK(d.reply.text.find("example.com") != std::string::npos);
    CHECK(d.reply.text.find('\r') == std::string::npos);
    CHECK(d.reply.text.find('\n') == std::string::npos);
  }
}

TEST_CASE("decide: reply, reason, header and log texts", "[policy]") {
  OneRule rule(require_with(Action::reject));
  DomainReport bad = t::ineligible_report();
  Decision d = rule.decide_for(&bad);
  CHECK(d.reply.line() ==
        "550 5.7.4 Forced TLS: example.com is not eligible for TLS delivery "
        "(no-starttls(mx2.example.com))");
  CHECK(d.reason == "no-starttls(mx2.example.com)");
  CHECK(d.header == "example.com=ineligible(no-starttls)");
  CHECK(d.grade == "F");
  CHECK(log_fields(d) ==
        "domain=example.com policy=require verdict=ineligible "
        "reason=no-starttls(mx2.example.com) grade=F action=reject rule=policy.yaml:12 "
        "pattern=example.com");

  OneRule temp(require_with(Action::tempfail));
  Decision n = temp.decide_for(nullptr);
  CHECK(n.reply.line() ==
        "451 4.7.1 Forced TLS: example.com is being checked for TLS support, try again later");
  CHECK(n.reason == "not-checked");

  DomainReport dns = t::dns_unknown_report(UnknownCause::dns_failure);
  Decision u = temp.decide_for(&dns);
  CHECK(u.reply.line() ==
        "451 4.7.1 Forced TLS: could not verify TLS support of example.com (dns-failure), try "
        "again later");
  CHECK(u.grade.empty());  // a report without addresses has only a placeholder grade
  CHECK(log_fields(u).find("grade=") == std::string::npos);

  // A stored verdict without reasons (an old or damaged entry) still reads well.
  DomainReport bare = t::ineligible_report();
  bare.reasons.clear();
  CHECK(rule.decide_for(&bare).reply.line() ==
        "550 5.7.4 Forced TLS: example.com is not eligible for TLS delivery");
}

TEST_CASE("decide: out of scope is accepted without looking", "[policy]") {
  Scope outbound;
  outbound.all_mail = false;
  Rule r;
  r.recipients.push_back({DomainPattern::Kind::exact, "example.com"});
  r.options = require_with(Action::reject);
  Policy p(outbound, Rule{}, {r});
  Match m = p.match("example.com", MessageContext{});
  CHECK_FALSE(needs_report(m));
  DomainReport bad = t::ineligible_report();
  Decision d = decide(m, "example.com", &bad);
  CHECK_FALSE(d.in_scope);
  CHECK(d.action == Action::accept);
  CHECK(d.verdict == Verdict::not_checked);
  CHECK(d.reason == "out-of-scope");
  CHECK(d.header.empty());
  CHECK(delivery_requirement(d) == Delivery::opportunistic);

  MessageContext auth;
  auth.auth_user = "alice";
  CHECK(needs_report(p.match("example.com", auth)));
}

TEST_CASE("evaluate: min_grade treats a provisional grade as an upper bound", "[policy]") {
  using forcetls::checker::AddressReport;
  struct Case {
    std::string label;
    void (*mutate)(AddressReport&);
    GradeLetter min;
    Tri mta_sts;
    Verdict want;
    std::string want_reason;
  };
  auto c = GENERATE(values<Case>({
      {"A meets B", [](AddressReport&) {}, GradeLetter::B, Tri::unknown, Verdict::eligible, ""},
      {"A meets A", [](AddressReport&) {}, GradeLetter::A, Tri::unknown, Verdict::eligible, ""},
      {"B (expired cert) misses A", [](AddressReport& a) { a.cert.expired = Tri::yes; },
       GradeLetter::A, Tri::unknown, Verdict::ineligible, "grade-below-min(B<A)"},
      {"provisional A at min B is unknown", [](AddressReport& a) { a.ssl3 = Tri::unknown; },
       GradeLetter::B, Tri::unknown, Verdict::unknown, "grade-provisional(A?)"},
      {"provisional B below min A is a definite fail",
       [](AddressReport& a) {
         a.cert.expired = Tri::yes;
         a.ssl3 = Tri::unknown;
       },
       GradeLetter::A, Tri::unknown, Verdict::ineligible, "grade-below-min(B<A)"},
      {"A+ wanted, MTA-STS unknown", [](AddressReport&) {}, GradeLetter::A_plus, Tri::unknown,
       Verdict::unknown, "grade-provisional(A)"},
      {"A+ wanted, MTA-STS enforce", [](AddressReport&) {}, GradeLetter::A_plus, Tri::yes,
       Verdict::eligible, ""},
      {"A+ wanted, MTA-STS enforce, provisional A", [](AddressReport& a) { a.ssl3 = Tri::unknown; },
       GradeLetter::A_plus, Tri::yes, Verdict::unknown, "grade-provisional(A?)"},
      {"A+ wanted, neither MTA-STS nor DANE", [](AddressReport&) {}, GradeLetter::A_plus, Tri::no,
       Verdict::ineligible, "grade-below-min(A<A+)"},
      {"F accepts anything eligible", [](AddressReport& a) { a.cert.trusted = Tri::no; },
       GradeLetter::F, Tri::unknown, Verdict::eligible, ""},
  }));
  INFO(c.label);
  AddressReport a = t::good_address();
  c.mutate(a);
  DomainReport r = t::judged("example.com", {{a}});
  r.mta_sts_enforce = c.mta_sts;
  r.dane = c.mta_sts == Tri::unknown ? Tri::unknown : Tri::no;
  forcetls::checker::judge(r);  // A+ is judged from these answers
  RuleOptions o;
  o.mode = Mode::require;
  o.min_grade = c.min;
  Evaluation e = evaluate(o, r);
  CHECK(e.verdict == c.want);
  std::string reasons;
  for (const auto& reason : e.reasons) {
    reasons += (reasons.empty() ? "" : ",") + forcetls::checker::format_reason(reason);
  }
  CHECK(reasons == c.want_reason);
}

TEST_CASE("evaluate: a DNS failure stays unknown under min_grade", "[policy]") {
  // The report of a failed lookup has a placeholder grade (F, 0 points); it
  // must not turn the unknown into a definite "below the minimum".
  DomainReport r = t::dns_unknown_report(UnknownCause::dns_failure);
  RuleOptions o;
  o.min_grade = GradeLetter::B;
  o.require_verified_cert = true;
  o.require = Require::either;
  Evaluation e = evaluate(o, r);
  CHECK(e.verdict == Verdict::unknown);
  CHECK(e.cause == UnknownCause::dns_failure);
}

TEST_CASE("evaluate: require_verified_cert", "[policy]") {
  using forcetls::checker::AddressReport;
  struct Case {
    std::string label;
    void (*mutate)(AddressReport&);
    Verdict want;
    std::string want_reason;
  };
  auto c = GENERATE(values<Case>({
      {"verified", [](AddressReport&) {}, Verdict::eligible, ""},
      {"untrusted", [](AddressReport& a) { a.cert.trusted = Tri::no; }, Verdict::ineligible,
       "cert-untrusted(mx1.example.com)"},
      {"expired", [](AddressReport& a) { a.cert.expired = Tri::yes; }, Verdict::ineligible,
       "cert-expired(mx1.example.com)"},
      {"wrong name", [](AddressReport& a) { a.cert.name_match = Tri::no; }, Verdict::ineligible,
       "cert-name-mismatch(mx1.example.com)"},
      {"not known", [](AddressReport& a) { a.cert.trusted = Tri::unknown; }, Verdict::unknown,
       "cert-unknown(mx1.example.com)"},
      {"a no outranks an unknown",
       [](AddressReport& a) {
         a.cert.trusted = Tri::unknown;
         a.cert.expired = Tri::yes;
       },
       Verdict::ineligible, "cert-expired(mx1.example.com)"},
  }));
  INFO(c.label);
  AddressReport a = t::good_address();
  c.mutate(a);
  DomainReport r = t::judged("example.com", {{a}, {t::good_address("192.0.2.20")}});
  RuleOptions o;
  o.require_verified_cert = true;
  Evaluation e = evaluate(o, r);
  CHECK(e.verdict == c.want);
  std::string reasons;
  for (const auto& reason : e.reasons) {
    reasons += (reasons.empty() ? "" : ",") + forcetls::checker::format_reason(reason);
  }
  CHECK(reasons == c.want_reason);
  if (c.want == Verdict::unknown) {
    CHECK(e.cause == UnknownCause::probe_failure);
  }
}

TEST_CASE("evaluate: the eligibility rule and the options combine", "[policy]") {
  // An ineligible domain with an untrusted certificate elsewhere reports both.
  auto untrusted = t::good_address("192.0.2.10");
  untrusted.cert.trusted = Tri::no;
  auto no_tls = t::good_address("192.0.2.20");
  no_tls.starttls = Tri::no;
  DomainReport r = t::judged("example.com", {{untrusted}, {no_tls}});
  RuleOptions o;
  o.require_verified_cert = true;
  Evaluation e = evaluate(o, r);
  CHECK(e.verdict == Verdict::ineligible);
  REQUIRE(e.reasons.size() == 2);
  CHECK(forcetls::checker::format_reason(e.reasons[0]) == "no-starttls(mx2.example.com)");
  CHECK(forcetls::checker::format_reason(e.reasons[1]) == "cert-untrusted(mx1.example.com)");
}

TEST_CASE("evaluate: require mta-sts / dane / either", "[policy]") {
  struct Case {
    Require require;
    Tri mta_sts;
    Tri dane;
    Verdict want;
    std::string want_code;
  };
  auto c = GENERATE(values<Case>({
      {Require::none, Tri::no, Tri::no, Verdict::eligible, ""},
      {Require::mta_sts, Tri::yes, Tri::no, Verdict::eligible, ""},
      {Require::mta_sts, Tri::no, Tri::yes, Verdict::ineligible, "no-mta-sts-enforce"},
      {Require::mta_sts, Tri::unknown, Tri::yes, Verdict::unknown, "mta-sts-unknown"},
      {Require::dane, Tri::no, Tri::yes, Verdict::eligible, ""},
      {Require::dane, Tri::yes, Tri::no, Verdict::ineligible, "no-dane"},
      {Require::dane, Tri::yes, Tri::unknown, Verdict::unknown, "dane-unknown"},
      {Require::either, Tri::yes, Tri::no, Verdict::eligible, ""},
      {Require::either, Tri::no, Tri::yes, Verdict::eligible, ""},
      {Require::either, Tri::unknown, Tri::yes, Verdict::eligible, ""},
      {Require::either, Tri::no, Tri::no, Verdict::ineligible, "no-mta-sts-or-dane"},
      {Require::either, Tri::no, Tri::unknown, Verdict::unknown, "mta-sts-or-dane-unknown"},
  }));
  INFO(to_string(c.require) << " mta-sts=" << forcetls::checker::to_string(c.mta_sts)
                            << " dane=" << forcetls::checker::to_string(c.dane));
  DomainReport r = t::eligible_report();
  r.mta_sts_enforce = c.mta_sts;
  r.dane = c.dane;
  RuleOptions o;
  o.require = c.require;
  Evaluation e = evaluate(o, r);
  CHECK(e.verdict == c.want);
  if (c.want_code.empty()) {
    CHECK(e.reasons.empty());
  } else {
    REQUIRE(e.reasons.size() == 1);
    CHECK(e.reasons[0].code == c.want_code);
  }
}

TEST_CASE("evaluate: tls13_counts recomputes the rule", "[policy]") {
  // A TLS 1.3-only server: no TLS 1.0/1.2, no r1 suite, an r2 suite under TLS 1.3.
  auto a = t::good_address();
  a.tls1_2 = Tri::no;
  a.nist_r1 = Tri::no;
  DomainReport r = t::judged("example.com", {{a}});
  REQUIRE(r.eligible == forcetls::checker::Eligibility::ineligible);
  RuleOptions strict;
  CHECK(evaluate(strict, r).verdict == Verdict::ineligible);
  RuleOptions lenient;
  lenient.tls13_counts = true;
  Evaluation e = evaluate(lenient, r);
  CHECK(e.verdict == Verdict::eligible);
  CHECK(e.reasons.empty());
}

TEST_CASE("decide: hostile names stay on one printable line", "[policy]") {
  DomainReport r = t::ineligible_report();
  r.reasons.front().host = "mx2.example.com\r\n250 injected";
  for (int i = 0; i < 50; ++i) {
    r.reasons.push_back({"no-starttls", "mx" + std::to_string(i + 10) + ".example.com", ""});
  }
  OneRule rule(require_with(Action::reject));
  Decision d = rule.decide_for(&r);
  CHECK(d.reply.text.find('\r') == std::string::npos);
  CHECK(d.reply.text.find('\n') == std::string::npos);
  CHECK(d.reply.text.size() <= kMaxReplyText);
  CHECK(d.reply.text.find("and 48 more") != std::string::npos);
  CHECK(d.reason.find('\n') == std::string::npos);
  CHECK(d.header == "example.com=ineligible(no-starttls)");
}

TEST_CASE("delivery_requirement", "[policy]") {
  struct Case {
    std::string label;
    Mode mode;
    Kind kind;
    Action action;
    Delivery want;
  };
  auto c = GENERATE(values<Case>({
      {"require eligible", Mode::require, Kind::eligible, Action::reject, Delivery::tls_required},
      {"require ineligible reject", Mode::require, Kind::ineligible, Action::reject,
       Delivery::refuse},
      {"require ineligible tempfail", Mode::require, Kind::ineligible, Action::tempfail,
       Delivery::defer},
      {"require ineligible tag", Mode::require, Kind::ineligible, Action::tag,
       Delivery::opportunistic},
      {"require ineligible quarantine", Mode::require, Kind::ineligible, Action::quarantine,
       Delivery::opportunistic},
      {"require unknown reject: never permanent", Mode::require, Kind::probe_unknown,
       Action::reject, Delivery::defer},
      {"require unknown tempfail", Mode::require, Kind::dns_unknown, Action::tempfail,
       Delivery::defer},
      {"require not checked tempfail", Mode::require, Kind::not_checked, Action::tempfail,
       Delivery::defer},
      {"require unknown accept: deferred all the same", Mode::require, Kind::bogus_unknown,
       Action::accept, Delivery::defer},
      {"require unknown quarantine", Mode::require, Kind::probe_unknown, Action::quarantine,
       Delivery::defer},
      {"require not checked tag", Mode::require, Kind::not_checked, Action::tag, Delivery::defer},
      {"prefer eligible", Mode::prefer, Kind::eligible, Action::reject, Delivery::opportunistic},
      {"prefer ineligible", Mode::prefer, Kind::ineligible, Action::reject,
       Delivery::opportunistic},
      {"off", Mode::off, Kind::eligible, Action::reject, Delivery::opportunistic},
  }));
  INFO(c.label);
  RuleOptions o = require_with(c.action);
  o.mode = c.mode;
  OneRule rule(o);
  std::optional<DomainReport> report = report_of(c.kind);
  Match m = rule.policy.match_delivery("example.com");
  Decision d = decide(m, "example.com", report ? &*report : nullptr);
  CHECK(delivery_requirement(d) == c.want);
}
