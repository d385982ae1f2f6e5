// SPDX-License-Identifier: Apache-2.0
// Unit tests of the milter's per-recipient glue and end-of-message plan,
// with in-memory cache::Reports instead of LMDB and the prober.
#include "milter/recipients/recipient_check.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <stdexcept>

#include "conf/loader.hpp"
#include "milter/recipients/message_plan.hpp"
#include "tests/policy/report_builder.hpp"

using namespace forcetls;
using namespace forcetls::milter;
using forcetls::test::eligible_report;
using forcetls::test::ineligible_report;

namespace {

constexpr std::int64_t kNow = 1'700'000'000;

// Reports by domain; `stale` domains answer stale; `probe` domains are
// "probed" by await_fresh; everything else is missing and times out.
struct FakeReports final : cache::Reports {
  std::map<std::string, checker::DomainReport> fresh;
  std::map<std::string, checker::DomainReport> stale;
  std::map<std::string, checker::DomainReport> probe;
  bool throw_on_lookup = false;
  int lookups = 0;
  int waits = 0;

  using cache::Reports::lookup;
  cache::Lookup lookup(std::string_view domain, cache::Priority) override {
    ++lookups;
    if (throw_on_lookup) {
      throw std::runtime_error("cache exploded");
    }
    cache::Lookup l;
    const std::string d(domain);
    if (fresh.contains(d)) {
      l.state = cache::Freshness::fresh;
      l.report = std::make_shared<const checker::DomainReport>(fresh[d]);
      l.checked_at = kNow - 3 * 3600;
    } else if (stale.contains(d)) {
      l.state = cache::Freshness::stale;
      l.report = std::make_shared<const checker::DomainReport>(stale[d]);
      l.checked_at = kNow - 2 * 86400;
    }
    return l;
  }
  Result<checker::DomainReport> await_fresh(std::string_view domain,
                                            std::chrono::steady_clock::time_point) override {
    ++waits;
    const std::string d(domain);
    if (probe.contains(d)) {
      checker::DomainReport r = probe[d];
      r.checked_at = kNow - 1;
      return r;
    }
    return fail(Errc::timeout, "no answer in time");
  }
  cache::Lookup peek(std::string_view) override { return {}; }
  std::string describe() const override { return "fake reports"; }
};

std::shared_ptr<const policy::Policy> load_policy(std::string_view text) {
  auto loaded = conf::parse_policy(text, "policy.yaml");
  INFO((loaded.problems.empty() ? std::string() : loaded.problems[0].text()));
  REQUIRE(loaded.ok());
  return std::make_shared<const policy::Policy>(std::move(loaded.value));
}

constexpr std::string_view kRequireReject = R"(
default:
  mode: require
  on_ineligible: reject
rules:
  - domains: [tagged.example]
    on_ineligible: tag
  - domains: [held.example]
    on_ineligible: quarantine
  - domains: [portal.example, portal2.example]
    on_ineligible: redirect
    redirect_to: gateway@secure.example
  - domains: [relaxed.example]
    mode: prefer
  - domains: [internal.example]
    mode: off
)";

CheckOptions options(conf::MissBehaviour miss = conf::MissBehaviour::wait) {
  return CheckOptions{.on_miss = miss,
                      .miss_deadline = std::chrono::milliseconds(10),
                      .local_submission = false,
                      .now = [] { return kNow; }};
}

FakeReports lab_reports() {
  FakeReports r;
  r.fresh["good.example"] = eligible_report("good.example");
  r.fresh["bad.example"] = ineligible_report("bad.example");
  r.fresh["x_y.bad.example"] = ineligible_report("x_y.bad.example");
  r.fresh["tagged.example"] = ineligible_report("tagged.example");
  r.fresh["held.example"] = ineligible_report("held.example");
  r.fresh["portal.example"] = ineligible_report("portal.example");
  r.fresh["portal2.example"] = ineligible_report("portal2.example");
  r.fresh["relaxed.example"] = ineligible_report("relaxed.example");
  r.stale["old.example"] = eligible_report("old.example");
  r.probe["new.example"] = ineligible_report("new.example");
  return r;
}

}  // namespace

TEST_CASE("check_recipient: reply, cache use and reason per recipient", "[milter]") {
  struct Case {
    std::string label;
    std::string rcpt;
    conf::MissBehaviour miss;
    RcptReply reply;
    std::string code;  // SMTP code when refused
    CacheUse cache;
    std::string verdict;
    std::string action;
  };
  using M = conf::MissBehaviour;
  auto c = GENERATE(
      Case{"eligible, fresh", "<bob@good.example>", M::wait, RcptReply::accept, "", CacheUse::hit,
           "eligible", "accept"},
      Case{"ineligible, reject", "<bob@bad.example>", M::wait, RcptReply::reject, "550",
           CacheUse::hit, "ineligible", "reject"},
      Case{"domain case and trailing dot", "<bob@BAD.Example.>", M::wait, RcptReply::reject, "550",
           CacheUse::hit, "ineligible", "reject"},
      Case{"underscore (Postfix accepts it): the domain's own verdict", "<bob@X_Y.bad.example>",
           M::wait, RcptReply::reject, "550", CacheUse::hit, "ineligible", "reject"},
      Case{"stale is used", "<a@old.example>", M::wait, RcptReply::accept, "", CacheUse::stale,
           "eligible", "accept"},
      Case{"miss, waited, probe answered", "<a@new.example>", M::wait, RcptReply::reject, "550",
           CacheUse::probed, "ineligible", "reject"},
      Case{"miss, wait times out -> not checked -> tempfail", "<a@down.example>", M::wait,
           RcptReply::tempfail, "451", CacheUse::timeout, "not-checked", "tempfail"},
      Case{"miss, answer-now -> tempfail at once", "<a@new.example>", M::answer_now,
           RcptReply::tempfail, "451", CacheUse::miss, "not-checked", "tempfail"},
      Case{"tag accepts", "<a@tagged.example>", M::wait, RcptReply::accept, "", CacheUse::hit,
           "ineligible", "tag"},
      Case{"quarantine accepts", "<a@held.example>", M::wait, RcptReply::accept, "", CacheUse::hit,
           "ineligible", "quarantine"},
      Case{"prefer never blocks", "<a@relaxed.example>", M::wait, RcptReply::accept, "",
           CacheUse::hit, "ineligible", "accept"},
      Case{"off: no lookup", "<a@internal.example>", M::wait, RcptReply::accept, "", CacheUse::none,
           "not-checked", "accept"},
      Case{"IP literal under require: 550 5.1.3", "<a@[192.0.2.1]>", M::wait, RcptReply::reject,
           "550", CacheUse::none, "not-checked", "reject"},
      Case{"unbalanced quotes under require", "<\"a@bad.example>", M::wait, RcptReply::reject,
           "550", CacheUse::none, "not-checked", "reject"},
      Case{"local recipient without domain passes", "<postmaster>", M::wait, RcptReply::accept, "",
           CacheUse::none, "not-checked", "accept"},
      Case{"dotless domain is local", "<root@localhost>", M::wait, RcptReply::accept, "",
           CacheUse::none, "not-checked", "accept"});

  auto policy = load_policy(kRequireReject);
  FakeReports reports = lab_reports();
  RecipientOutcome out = check_recipient(*policy, {}, c.rcpt, reports, options(c.miss));
  INFO(c.label << ": " << out.log_fields());
  CHECK(out.reply == c.reply);
  CHECK(out.decision.reply.code == c.code);
  CHECK(out.cache == c.cache);
  CHECK(policy::to_string(out.decision.verdict) == c.verdict);
  CHECK(policy::to_string(out.decision.action) == c.action);
  CHECK(out.rcpt == c.rcpt);
  if (c.cache == CacheUse::none) {
    CHECK(reports.lookups == 0);
  }
}

TEST_CASE("check_recipient: only a require recipient waits for a probe", "[milter]") {
  // Every domain here would be answered by a probe: a wait would show as
  // cache=probed. Under prefer the decision cannot depend on it.
  auto policy = load_policy(R"(
default:
  mode: prefer
rules:
  - domains: [strict.example]
    mode: require
  - domains: [dane.example]
    require: dane
)");
  FakeReports reports;
  for (const char* d : {"new.example", "strict.example", "dane.example"}) {
    reports.probe[d] = ineligible_report(d);
  }
  SECTION("prefer (the built-in default): decided at once, not checked") {
    RecipientOutcome out = check_recipient(*policy, {}, "<a@new.example>", reports,
                                           options(conf::MissBehaviour::wait));
    CHECK(reports.waits == 0);
    CHECK(reports.lookups == 1);  // the lookup queues the background refresh
    CHECK(out.cache == CacheUse::miss);
    CHECK(out.reply == RcptReply::accept);
    CHECK(out.decision.header == "new.example=not-checked");
  }
  SECTION("prefer with a require: option (it matters at delivery only): no wait") {
    RecipientOutcome out = check_recipient(*policy, {}, "<a@dane.example>", reports,
                                           options(conf::MissBehaviour::wait));
    CHECK(reports.waits == 0);
    CHECK(out.cache == CacheUse::miss);
  }
  SECTION("require: waits, and the probe's answer decides") {
    RecipientOutcome out = check_recipient(*policy, {}, "<a@strict.example>", reports,
                                           options(conf::MissBehaviour::wait));
    CHECK(reports.waits == 1);
    CHECK(out.cache == CacheUse::probed);
    CHECK(out.reply == RcptReply::reject);
  }
}

TEST_CASE("check_recipient: the reply names the domain and the failed check", "[milter]") {
  auto policy = load_policy(kRequireReject);
  FakeReports reports = lab_reports();
  RecipientOutcome out = check_recipient(*policy, {}, "<bob@bad.example>", reports, options());
  CHECK(out.decision.reply.enhanced == "5.7.4");
  CHECK_THAT(out.decision.reply.text,
             Catch::Contains("bad.example") && Catch::Contains("no-starttls(mx2.bad.example)"));
  const std::string line = out.log_fields();
  CHECK_THAT(line, Catch::StartsWith("rcpt=<bob@bad.example> domain=bad.example policy=require "
                                     "verdict=ineligible reason=no-starttls(mx2.bad.example)"));
  CHECK_THAT(line, Catch::Contains("action=reject") && Catch::Contains("cache=hit age=3h"));

  RecipientOutcome literal = check_recipient(*policy, {}, "<a@[192.0.2.1]>", reports, options());
  CHECK(literal.decision.reply.enhanced == "5.1.3");
  CHECK_THAT(literal.decision.reply.text, Catch::Contains("<a@[192.0.2.1]>"));
  CHECK_THAT(literal.log_fields(), Catch::Contains("reason=bad-address"));
}

TEST_CASE("check_recipient: local submission turns refusals into removal", "[milter]") {
  auto policy = load_policy(kRequireReject);
  FakeReports reports = lab_reports();
  CheckOptions o = options();
  o.local_submission = true;
  policy::MessageContext local{
      .sender_domain = "", .auth_user = "", .daemon_name = "", .local_submission = true};
  RecipientOutcome bad = check_recipient(*policy, local, "<bob@bad.example>", reports, o);
  CHECK(bad.reply == RcptReply::accept);
  CHECK(bad.removed);
  CHECK(bad.decision.action == policy::Action::reject);
  CHECK_THAT(bad.log_fields(), Catch::EndsWith("applied=delrcpt+quarantine"));
  RecipientOutcome good = check_recipient(*policy, local, "<bob@good.example>", reports, o);
  CHECK_FALSE(good.removed);
}

TEST_CASE("failure_outcome applies milter.on_error", "[milter]") {
  RecipientOutcome t = failure_outcome("<a@x.example>", policy::Action::tempfail, "boom", false);
  CHECK(t.reply == RcptReply::tempfail);
  CHECK(t.decision.reply.code == "451");
  CHECK(t.decision.reply.enhanced == "4.3.0");
  CHECK_THAT(t.log_fields(), Catch::Contains("reason=internal-error(boom)"));
  RecipientOutcome a = failure_outcome("<a@x.example>", policy::Action::accept, "boom", false);
  CHECK(a.reply == RcptReply::accept);
  CHECK(a.decision.reply.empty());
  // A throwing cache escapes check_recipient; the callback turns it into this.
  auto policy = load_policy(kRequireReject);
  FakeReports reports;
  reports.throw_on_lookup = true;
  CHECK_THROWS(check_recipient(*policy, {}, "<a@x.example>", reports, options()));
}

TEST_CASE("escape_percent", "[milter]") {
  CHECK(escape_percent("100% sure %s") == "100%% sure %%s");
}

TEST_CASE("plan_message: header, quarantine, redirect, removal, summary", "[milter]") {
  auto policy = load_policy(kRequireReject);
  FakeReports reports = lab_reports();
  auto check = [&](std::string rcpt, bool local = false) {
    CheckOptions o = options();
    o.local_submission = local;
    return check_recipient(*policy, {}, rcpt, reports, o);
  };

  SECTION("refused recipients play no part; header lists the others once") {
    std::vector<RecipientOutcome> rs{check("<a@good.example>"), check("<b@bad.example>"),
                                     check("<c@good.example>"), check("<d@relaxed.example>")};
    MessagePlan plan = plan_message(rs, true);
    CHECK(plan.header_value == "good.example=eligible; relaxed.example=ineligible(no-starttls)");
    CHECK(plan.quarantine_reason.empty());
    CHECK(plan.delete_rcpts.empty());
    CHECK(summary_fields("<s@example.net>", rs, plan) ==
          "summary from=<s@example.net> rcpts=4 accepted=3 rejected=1 tempfailed=0 removed=0 "
          "redirected=0 quarantine=no header=yes");
    CHECK(plan_message(rs, false).header_value.empty());
  }
  SECTION("tag adds the header even when headers are off") {
    std::vector<RecipientOutcome> rs{check("<a@tagged.example>")};
    CHECK(plan_message(rs, false).header_value == "tagged.example=ineligible(no-starttls)");
  }
  SECTION("quarantine names the domain") {
    std::vector<RecipientOutcome> rs{check("<a@held.example>")};
    MessagePlan plan = plan_message(rs, false);
    CHECK_THAT(plan.quarantine_reason, Catch::StartsWith("forcetls: held.example ineligible"));
  }
  SECTION("redirect: delete each, add the gateway once") {
    std::vector<RecipientOutcome> rs{check("<a@portal.example>"), check("<b@portal2.example>"),
                                     check("<c@good.example>")};
    MessagePlan plan = plan_message(rs, false);
    CHECK((plan.delete_rcpts ==
           std::vector<std::string>{"<a@portal.example>", "<b@portal2.example>"}));
    CHECK((plan.add_rcpts == std::vector<std::string>{"gateway@secure.example"}));
    CHECK_THAT(summary_fields("<>", rs, plan), Catch::Contains("redirected=2"));
  }
  SECTION("redirect and removal delete the RCPT argument byte for byte, logs get a copy") {
    // A UTF-8 local part (SMTPUTF8) and one longer than the log copy's 512
    // characters: the MTA finds its recipient only by the exact argument.
    const std::string utf8 = "<j\xc3\xb6@portal.example>";
    const std::string long_local = "<" + std::string(600, 'x') + "@portal.example>";
    const std::string local_utf8 = "<m\xc3\xbcller@bad.example>";
    std::vector<RecipientOutcome> rs{check(utf8), check(long_local)};
    CHECK(rs[0].argument == utf8);
    CHECK(rs[0].rcpt == "<j??@portal.example>");
    CHECK(rs[1].argument == long_local);
    CHECK(rs[1].rcpt.size() == 512);
    MessagePlan plan = plan_message(rs, false);
    CHECK((plan.delete_rcpts == std::vector<std::string>{utf8, long_local}));
    CHECK((plan.add_rcpts == std::vector<std::string>{"gateway@secure.example"}));

    std::vector<RecipientOutcome> local{check(local_utf8, true)};
    MessagePlan held = plan_message(local, false);
    CHECK((held.delete_rcpts == std::vector<std::string>{local_utf8}));
    CHECK_THAT(held.quarantine_reason, Catch::Contains("<m??ller@bad.example> removed"));
  }
  SECTION("local submission: removed and held") {
    std::vector<RecipientOutcome> rs{check("<a@bad.example>", true),
                                     check("<b@good.example>", true)};
    MessagePlan plan = plan_message(rs, true);
    CHECK((plan.delete_rcpts == std::vector<std::string>{"<a@bad.example>"}));
    CHECK_THAT(plan.quarantine_reason, Catch::Contains("<a@bad.example> removed"));
    CHECK(plan.header_value == "good.example=eligible");
    CHECK_THAT(summary_fields("<>", rs, plan), Catch::Contains("removed=1"));
  }
  SECTION("local submission of an address without a readable domain: no empty domain") {
    std::vector<RecipientOutcome> rs{check("<a@[192.0.2.1]>", true)};
    MessagePlan plan = plan_message(rs, false);
    CHECK((plan.delete_rcpts == std::vector<std::string>{"<a@[192.0.2.1]>"}));
    CHECK(plan.quarantine_reason ==
          "forcetls: local submission, <a@[192.0.2.1]> removed: not-checked(bad-address)");
  }
}

namespace {

// Records every change; the one named in `fail` is refused.
struct FakeEditor final : MessageEditor {
  std::string fail;
  std::vector<std::string> calls;
  bool add_header(const std::string& name, const std::string& value) override {
    return take("header " + name + ": " + value, "header");
  }
  bool delete_rcpt(const std::string& argument) override {
    return take("delrcpt " + argument, "delrcpt");
  }
  bool add_rcpt(const std::string& address) override {
    return take("addrcpt " + address, "addrcpt");
  }
  bool quarantine(const std::string& reason) override {
    return take("quarantine " + reason, "quarantine");
  }
  bool take(std::string call, std::string_view kind) {
    calls.push_back(std::move(call));
    return kind != fail;
  }
};

}  // namespace

TEST_CASE("apply_plan: every change a decision needs is made, or the message is refused",
          "[milter]") {
  MessagePlan plan;
  plan.header_value = "portal.example=ineligible(no-starttls)";
  plan.delete_rcpts = {"<j\xc3\xb6@portal.example>", "<b@portal.example>"};
  plan.add_rcpts = {"gateway@secure.example"};
  plan.quarantine_reason = "forcetls: held.example ineligible(no-starttls)";
  FakeEditor editor;

  SECTION("all taken: in order, nothing failed") {
    PlanResult r = apply_plan(plan, "X-ForceTLS", editor);
    CHECK(r.failed.empty());
    CHECK(r.warnings.empty());
    CHECK((editor.calls ==
           std::vector<std::string>{"header X-ForceTLS: portal.example=ineligible(no-starttls)",
                                    "delrcpt <j\xc3\xb6@portal.example>",
                                    "delrcpt <b@portal.example>", "addrcpt gateway@secure.example",
                                    "quarantine forcetls: held.example ineligible(no-starttls)"}));
  }
  SECTION("an informational header (milter.header) that fails is only a warning") {
    editor.fail = "header";
    PlanResult r = apply_plan(plan, "X-ForceTLS", editor);
    CHECK(r.failed.empty());
    CHECK((r.warnings == std::vector<std::string>{"smfi_addheader failed"}));
    CHECK(editor.calls.size() == 5);
  }
  SECTION("the header a tag decision needs is required") {
    plan.header_required = true;
    editor.fail = "header";
    PlanResult r = apply_plan(plan, "X-ForceTLS", editor);
    CHECK(r.failed == "smfi_addheader");
    CHECK(editor.calls.size() == 1);
  }
  SECTION("a recipient that is not removed stops everything after it") {
    editor.fail = "delrcpt";
    PlanResult r = apply_plan(plan, "X-ForceTLS", editor);
    CHECK(r.failed == "smfi_delrcpt");
    CHECK(r.failed_rcpt == "<j??@portal.example>");
    CHECK(editor.calls.size() == 2);
  }
  SECTION("the redirect target not added") {
    editor.fail = "addrcpt";
    PlanResult r = apply_plan(plan, "X-ForceTLS", editor);
    CHECK(r.failed == "smfi_addrcpt");
    CHECK(r.failed_rcpt == "gateway@secure.example");
    CHECK(editor.calls.size() == 4);
  }
  SECTION("quarantine refused") {
    editor.fail = "quarantine";
    PlanResult r = apply_plan(plan, "X-ForceTLS", editor);
    CHECK(r.failed == "smfi_quarantine");
    CHECK(r.failed_rcpt.empty());
  }
  SECTION("an empty plan makes no call") {
    editor.fail = "header";
    CHECK(apply_plan(MessagePlan{}, "X-ForceTLS", editor).failed.empty());
    CHECK(editor.calls.empty());
  }
}

TEST_CASE("plan_message: only a tag decision makes the header required", "[milter]") {
  auto policy = load_policy(kRequireReject);
  FakeReports reports = lab_reports();
  auto check = [&](std::string rcpt) {
    return check_recipient(*policy, {}, rcpt, reports, options());
  };
  std::vector<RecipientOutcome> informational{check("<a@good.example>")};
  CHECK_FALSE(plan_message(informational, true).header_required);
  std::vector<RecipientOutcome> tagged{check("<a@good.example>"), check("<b@tagged.example>")};
  CHECK(plan_message(tagged, false).header_required);
}

TEST_CASE("changes_needed: what the MTA must offer at negotiation", "[milter]") {
  conf::Config::Milter milter;
  using C = MessageChanges;
  SECTION("the built-in policy: the header; removal and hold for local submissions") {
    CHECK(changes_needed(policy::Policy::builtin_default(), milter) ==
          C{.header = true, .quarantine = true, .delete_rcpt = true, .add_rcpt = false});
  }
  SECTION("a redirect rule anywhere needs both recipient changes") {
    CHECK(changes_needed(*load_policy(kRequireReject), milter) ==
          C{.header = true, .quarantine = true, .delete_rcpt = true, .add_rcpt = true});
  }
  SECTION("nothing but accept and tag, headers off") {
    milter.header = false;
    milter.on_error = policy::Action::accept;
    auto quiet = load_policy(R"(
default:
  mode: prefer
  on_ineligible: accept
  on_unknown: {dns_failure: accept, probe_failure: accept, dnssec_bogus: accept,
               not_checked: accept, downgrade_suspected: accept}
rules:
  - domains: [tagged.example]
    on_ineligible: tag
)");
    CHECK(changes_needed(*quiet, milter) == C{.header = true});
    auto none = load_policy(R"(
default:
  mode: prefer
  on_ineligible: accept
  on_unknown: {dns_failure: accept, probe_failure: accept, dnssec_bogus: accept,
               not_checked: accept, downgrade_suspected: accept}
)");
    CHECK(changes_needed(*none, milter) == C{});
    SECTION("a require rule refuses unreadable addresses: removal for local submissions") {
      auto strict = load_policy(R"(
default:
  mode: prefer
  on_ineligible: accept
  on_unknown: {dns_failure: accept, probe_failure: accept, dnssec_bogus: accept,
               not_checked: accept, downgrade_suspected: accept}
rules:
  - domains: [partner.example]
    mode: require
    on_ineligible: accept
)");
      CHECK(changes_needed(*strict, milter) == C{.quarantine = true, .delete_rcpt = true});
    }
    SECTION("milter.on_error tempfail alone") {
      milter.on_error = policy::Action::tempfail;
      CHECK(changes_needed(*none, milter) == C{.quarantine = true, .delete_rcpt = true});
    }
  }
}
