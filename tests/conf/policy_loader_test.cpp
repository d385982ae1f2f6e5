// SPDX-License-Identifier: Apache-2.0
// Tests for the policy-file loader: schema, inheritance from `default`,
// patterns (IDN, case), and every validation error with its position.
#include <catch2/catch.hpp>

#include "conf/loader.hpp"
#include "policy/decision.hpp"

using namespace forcetls::conf;
using namespace forcetls::policy;

namespace {

std::string problems_text(const std::vector<Problem>& problems) {
  std::string out;
  for (const Problem& p : problems) {
    out += p.text() + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("policy: empty file is the built-in policy", "[conf]") {
  Loaded<Policy> p = parse_policy("", "policy.yaml");
  CHECK(p.ok());
  CHECK(p.value.rules().empty());
  CHECK(p.value.default_rule().options == RuleOptions{});
  CHECK(p.value.scope() == Scope{});
}

TEST_CASE("policy: rules inherit from default and override", "[conf]") {
  Loaded<Policy> p = parse_policy(R"(
rules:                       # written before default: inheritance still applies
  - domains: [Example.ORG., .example.org]
    mode: require
    on_unknown: reject
  - domains: bücher.example
    min_grade: b
    on_unknown:
      dns_failure: accept
default:
  mode: prefer
  on_ineligible: tempfail
  require_verified_cert: true
  on_unknown: {not_checked: tag}
scope:
  mail: outbound
  daemon_names: [ORIGINATING, submission]
  authenticated: false
)",
                                  "policy.yaml");
  INFO(problems_text(p.problems));
  REQUIRE(p.ok());
  const Policy& policy = p.value;
  CHECK_FALSE(policy.scope().all_mail);
  CHECK(policy.scope().daemon_names == std::vector<std::string>{"ORIGINATING", "submission"});
  CHECK_FALSE(policy.scope().authenticated);
  CHECK(policy.scope().local_submissions);
  CHECK(policy.default_rule().origin.text() == "policy.yaml:10");  // the `default:` key
  REQUIRE(policy.rules().size() == 2);

  const Rule& r0 = policy.rules()[0];
  CHECK(r0.origin.line == 3);
  CHECK(r0.origin.column == 5);
  REQUIRE(r0.recipients.size() == 2);
  CHECK(r0.recipients[0].text() == "example.org");
  CHECK(r0.recipients[1].text() == ".example.org");
  CHECK(r0.options.mode == Mode::require);
  CHECK(r0.options.on_ineligible == Action::tempfail);  // inherited
  CHECK(r0.options.require_verified_cert);              // inherited
  CHECK(r0.options.on_unknown ==
        OnUnknown{Action::reject, Action::reject, Action::reject, Action::reject});

  const Rule& r1 = policy.rules()[1];
  CHECK(r1.recipients[0].text() == "xn--bcher-kva.example");
  CHECK(r1.options.mode == Mode::prefer);  // inherited
  CHECK(r1.options.min_grade == GradeLetter::B);
  CHECK(r1.options.on_unknown.dns_failure == Action::accept);
  CHECK(r1.options.on_unknown.not_checked == Action::tag);         // inherited key by key
  CHECK(r1.options.on_unknown.probe_failure == Action::tempfail);  // built-in default

  MessageContext outbound;
  outbound.daemon_name = "submission";
  Match m = policy.match("a.example.org", outbound);
  CHECK(m.rule == &r0);
  CHECK(m.in_scope);
  CHECK_FALSE(policy.match("a.example.org", MessageContext{}).in_scope);
}

TEST_CASE("policy: senders and users", "[conf]") {
  Loaded<Policy> p = parse_policy(R"(
rules:
  - domains: [example.org]
    mode: require
  - domains: [example.org]
    senders: [Legal.Example.NET, .corp.example]
    mode: off
  - domains: ["*"]
    users: [alice]
    mode: require
    min_grade: A
)",
                                  "policy.yaml");
  INFO(problems_text(p.problems));
  REQUIRE(p.ok());
  MessageContext legal;
  legal.sender_domain = "legal.example.net";
  CHECK(p.value.match("example.org", legal).rule->options.mode == Mode::off);
  CHECK(p.value.match("example.org", MessageContext{}).rule->options.mode == Mode::require);
  MessageContext alice;
  alice.auth_user = "Alice";
  CHECK(p.value.match("other.test", alice).rule->options.min_grade == GradeLetter::A);
}

TEST_CASE("policy: every validation error, with message and position", "[conf]") {
  struct Case {
    std::string label;
    std::string yaml;
    int line;
    int column;
    std::string message;
  };
  auto c = GENERATE(values<Case>({
      {"unknown top-level key", "defaults:\n  mode: require\n", 1, 1,
       "top level: unknown key 'defaults' (did you mean 'default'? allowed: scope, default, "
       "rules)"},
      {"unknown mode", "default:\n  mode: enforce\n", 2, 9,
       "default.mode: unknown value 'enforce' (allowed: require, prefer, off)"},
      {"unknown action", "default:\n  on_ineligible: bounce\n", 2, 18,
       "default.on_ineligible: unknown value 'bounce' (allowed: accept, reject, tempfail, "
       "quarantine, tag, redirect)"},
      {"unknown on_unknown cause", "default:\n  on_unknown:\n    timeout: accept\n", 3, 5,
       "default.on_unknown: unknown key 'timeout' (allowed: dns_failure, probe_failure, "
       "dnssec_bogus, downgrade_suspected, not_checked)"},
      {"unknown on_unknown action", "default:\n  on_unknown: wait\n", 2, 15,
       "default.on_unknown: unknown value 'wait'"},
      {"bad grade", "default:\n  min_grade: E\n", 2, 14,
       "default.min_grade: unknown grade 'E' (allowed: A+, A, B, C, D, F, none)"},
      {"bad require", "default:\n  require: tls\n", 2, 12,
       "default.require: unknown value 'tls' (allowed: none, mta-sts, dane, either)"},
      {"bad boolean", "default:\n  tls13_counts: maybe\n", 2, 17,
       "default.tls13_counts: expected true or false, got 'maybe'"},
      {"unknown rule key", "rules:\n  - domains: [a.example]\n    mod: require\n", 3, 5,
       "rules[0]: unknown key 'mod' (did you mean 'mode'?"},
      {"rule without domains", "rules:\n  - mode: require\n", 2, 5,
       "rules[0]: every rule needs 'domains'"},
      {"empty domains", "rules:\n  - domains: []\n", 2, 14, "rules[0].domains: the list is empty"},
      {"wildcard syntax", "rules:\n  - domains: [a.example, \"*.example.org\"]\n", 2, 26,
       "rules[0].domains: '*.example.org': write .example.org (a leading dot)"},
      {"address as pattern", "rules:\n  - domains: [bob@example.org]\n", 2, 15,
       "rules[0].domains: 'bob@example.org' is an address; give a domain"},
      {"invalid domain", "rules:\n  - domains: [a..example]\n", 2, 15,
       "rules[0].domains: invalid domain name \"a..example\": empty label"},
      {"pattern listed twice", "rules:\n  - domains: [a.example, A.Example.]\n", 2, 26,
       "rules[0].domains: a.example is listed twice"},
      {"duplicate rule", "rules:\n  - domains: [a.example]\n  - domains: [b.example, a.example]\n",
       3, 14,
       "rules[1]: a.example already has a rule with the same conditions at line 2; this one "
       "could never apply"},
      {"* without conditions", "rules:\n  - domains: [\"*\"]\n    mode: require\n", 2, 14,
       "rules[0]: '*' without senders or users is the default; put these options under "
       "'default:'"},
      {"* as sender", "rules:\n  - domains: [a.example]\n    senders: [\"*\"]\n", 3, 15,
       "rules[0].senders: '*' is not allowed here"},
      {"empty user", "rules:\n  - domains: [a.example]\n    users: [\"\"]\n", 3, 13,
       "rules[0].users: empty user name"},
      {"redirect without address",
       "rules:\n  - domains: [a.example]\n    on_ineligible: redirect\n", 2, 5,
       "rules[0]: an action is 'redirect' but redirect_to is not set"},
      {"redirect without address in default", "default:\n  on_unknown: {dns_failure: redirect}\n",
       1, 1, "default: an action is 'redirect' but redirect_to is not set"},
      {"bad redirect address", "default:\n  redirect_to: portal.example\n", 2, 16,
       "default.redirect_to: 'portal.example' is not an address (local@domain)"},
      {"rules not a list", "rules:\n  domains: [a.example]\n", 2, 3,
       "rules: expected a list of rules, got a mapping"},
      {"rule not a mapping", "rules:\n  - a.example\n", 2, 5,
       "rules[0]: expected a rule (a mapping with domains and options), got a string"},
      {"unknown scope", "scope:\n  mail: inbound\n", 2, 9,
       "scope.mail: unknown value 'inbound' (allowed: all, outbound)"},
      {"outbound recognised by nothing",
       "scope:\n  mail: outbound\n  daemon_names: []\n  authenticated: false\n"
       "  local_submissions: false\n",
       0, 0, "scope: mail is 'outbound' but nothing marks mail as outbound"},
      {"duplicate key in a rule",
       "rules:\n  - domains: [a.example]\n    mode: off\n    mode: require\n", 4, 5,
       "rules[0]: duplicate key 'mode' (first at line 3)"},
      {"syntax error", "rules:\n  - domains: [a.example\n", 3, 1, "YAML syntax error"},
  }));
  INFO(c.label);
  Loaded<Policy> got = parse_policy(c.yaml, "policy.yaml");
  INFO(problems_text(got.problems));
  CHECK_FALSE(got.ok());
  REQUIRE(got.problems.size() == 1);
  const Problem& p = got.problems.front();
  CHECK(p.severity == Problem::Severity::error);
  CHECK(p.file == "policy.yaml");
  CHECK(p.line == c.line);
  CHECK(p.column == c.column);
  CHECK_THAT(p.message, Catch::Contains(c.message));
}

TEST_CASE("policy: a redirect rule carries its address to the decision", "[conf]") {
  Loaded<Policy> p = parse_policy(R"(
default:
  redirect_to: Portal@Secure.EXAMPLE
rules:
  - domains: [a.example]
    mode: require
    on_unknown: {not_checked: redirect}
)",
                                  "policy.yaml");
  INFO(problems_text(p.problems));
  REQUIRE(p.ok());
  Decision d = decide(p.value.match("a.example", MessageContext{}), "a.example", nullptr);
  CHECK(d.action == Action::redirect);
  // The local part is kept as written; the domain is normalised.
  CHECK(d.redirect_to == "Portal@secure.example");
  CHECK(d.reply.empty());
}
