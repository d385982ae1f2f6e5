// SPDX-License-Identifier: Apache-2.0
// Tests for policy/policy (rule matching, precedence, scope) and the
// normalisation patterns and lookups share (checker/report/domain_name).
#include "policy/policy.hpp"

#include <catch2/catch.hpp>

#include "checker/report/domain_name.hpp"

using namespace forcetls::policy;
using forcetls::checker::normalize_domain;

namespace {

DomainPattern pat(std::string text) {
  if (text == "*") {
    return {DomainPattern::Kind::any, ""};
  }
  if (text.starts_with(".")) {
    return {DomainPattern::Kind::subdomains, *normalize_domain(text.substr(1))};
  }
  return {DomainPattern::Kind::exact, *normalize_domain(text)};
}

/// A rule whose origin line is `line` (tests identify rules by it).
Rule rule(int line, std::vector<std::string> recipients, std::vector<std::string> senders = {},
          std::vector<std::string> users = {}) {
  Rule r;
  for (auto& p : recipients) {
    r.recipients.push_back(pat(p));
  }
  for (auto& p : senders) {
    r.senders.push_back(pat(p));
  }
  r.users = std::move(users);
  r.options.mode = Mode::require;
  r.origin = Origin{"policy.yaml", line, 3};
  return r;
}

Policy sample_policy() {
  Rule def;
  def.origin = Origin{"policy.yaml", 1, 1};
  std::vector<Rule> rules{
      rule(10, {"example.org"}),
      rule(20, {".example.org"}),
      rule(30, {".sub.example.org"}),
      rule(40, {"*"}, {".corp.example"}),
      rule(50, {"example.org"}, {"corp.example"}),
      rule(60, {"example.org"}, {}, {"alice"}),
      rule(70, {"Bücher.example"}),
      rule(80, {".example.org"}, {".corp.example"}),
      rule(90, {"example.org"}, {".corp.example"}),
      rule(100, {"twice.example"}),
      rule(110, {"twice.example"}),  // tie: the first written wins
      rule(120, {"multi.example", ".multi.example"}),
  };
  return Policy(Scope{}, def, rules);
}

MessageContext ctx(std::string sender = "", std::string user = "") {
  MessageContext m;
  m.sender_domain = std::move(sender);
  m.auth_user = std::move(user);
  return m;
}

}  // namespace

TEST_CASE("normalize_domain: case, trailing dot, IDN, limits", "[policy]") {
  struct Case {
    std::string label;
    std::string input;
    std::string want;  // empty: an error is expected
  };
  const std::string label63(63, 'a');
  const std::string label64(64, 'a');
  // 4 x 63 + 3 dots = 255 characters: over the 253 limit.
  const std::string long_name = label63 + "." + label63 + "." + label63 + "." + label63;
  auto c = GENERATE_COPY(values<Case>({
      {"plain", "example.com", "example.com"},
      {"upper case", "Example.COM", "example.com"},
      {"trailing dot", "example.com.", "example.com"},
      {"U-label", "bücher.example", "xn--bcher-kva.example"},
      {"U-label upper case", "BÜCHER.Example.", "xn--bcher-kva.example"},
      {"A-label kept", "xn--bcher-kva.example", "xn--bcher-kva.example"},
      {"nontransitional sharp s", "faß.de", "xn--fa-hia.de"},
      {"underscore (Postfix accepts it)", "X_Y.Partner.Example", "x_y.partner.example"},
      {"single label", "localhost", ""},
      {"63-octet label", label63 + ".example", label63 + ".example"},
      {"empty", "", ""},
      {"only a dot", ".", ""},
      {"empty label", "a..example", ""},
      {"leading dot", ".example", ""},
      {"64-octet label", label64 + ".example", ""},
      {"name over 253", long_name, ""},
      {"space", "ex ample.com", ""},
      {"IP literal", "[192.0.2.1]", ""},
      {"bad IDN", "a\xff.example", ""},
  }));
  INFO(c.label);
  auto got = normalize_domain(c.input);
  if (c.want.empty()) {
    CHECK_FALSE(got.has_value());
  } else {
    REQUIRE(got.has_value());
    CHECK(*got == c.want);
  }
}

TEST_CASE("DomainPattern::matches", "[policy]") {
  struct Case {
    std::string pattern;
    std::string domain;
    bool want;
  };
  auto c = GENERATE(values<Case>({
      {"example.org", "example.org", true},
      {"example.org", "a.example.org", false},
      {".example.org", "a.example.org", true},
      {".example.org", "a.b.example.org", true},
      {".example.org", "example.org", false},
      {".example.org", "badexample.org", false},
      {".example.org", "xexample.org", false},
      {"*", "anything.test", true},
  }));
  INFO(c.pattern << " vs " << c.domain);
  CHECK(pat(c.pattern).matches(c.domain) == c.want);
}

TEST_CASE("Policy::match: most specific rule wins", "[policy]") {
  struct Case {
    std::string label;
    std::string domain;  // as a user would type it; normalised before matching
    std::string sender;
    std::string user;
    int want_line;  // 1 = the default
    std::string want_pattern;
  };
  auto c = GENERATE(values<Case>({
      {"exact", "example.org", "", "", 10, "example.org"},
      {"exact, case and dot", "Example.ORG.", "", "", 10, "example.org"},
      {"subdomain", "a.example.org", "", "", 20, ".example.org"},
      {"deep subdomain", "a.b.c.example.org", "", "", 20, ".example.org"},
      {"longest suffix wins", "x.sub.example.org", "", "", 30, ".sub.example.org"},
      {"suffix rule excludes its own name", "sub.example.org", "", "", 20, ".example.org"},
      {"look-alike is not a subdomain", "badexample.org", "", "", 1, "default"},
      {"only the TLD in common", "other.org", "", "", 1, "default"},
      {"unrelated", "other.test", "", "", 1, "default"},
      {"IDN rule, U-label lookup", "BÜCHER.example", "", "", 70, "xn--bcher-kva.example"},
      {"IDN rule, A-label lookup", "xn--bcher-kva.example", "", "", 70, "xn--bcher-kva.example"},
      {"exact sender beats no condition", "example.org", "corp.example", "", 50, "example.org"},
      {"suffix sender under exact recipient", "example.org", "x.corp.example", "", 90,
       "example.org"},
      {"exact sender beats suffix sender", "example.org", "corp.example", "", 50, "example.org"},
      {"user beats sender", "example.org", "corp.example", "alice", 60, "example.org"},
      {"user is case-insensitive", "example.org", "", "ALICE", 60, "example.org"},
      {"other user: no condition rule", "example.org", "", "bob", 10, "example.org"},
      {"conditional suffix rule", "a.example.org", "x.corp.example", "", 80, ".example.org"},
      {"sender not matching a condition", "a.example.org", "corp.test", "", 20, ".example.org"},
      {"longer recipient suffix beats a sender condition", "x.sub.example.org", "a.corp.example",
       "", 30, ".sub.example.org"},
      {"* with sender condition", "other.test", "a.corp.example", "", 40, "*"},
      {"* needs its sender", "other.test", "corp.test", "", 1, "default"},
      {"tie: first written wins", "twice.example", "", "", 100, "twice.example"},
      {"several patterns, exact", "multi.example", "", "", 120, "multi.example"},
      {"several patterns, suffix", "a.multi.example", "", "", 120, ".multi.example"},
  }));
  INFO(c.label);
  Policy p = sample_policy();
  auto domain = normalize_domain(c.domain);
  REQUIRE(domain.has_value());
  Match m = p.match(*domain, ctx(c.sender, c.user));
  REQUIRE(m.rule != nullptr);
  CHECK(m.rule->origin.line == c.want_line);
  CHECK(m.pattern_text() == c.want_pattern);
  CHECK(m.is_default == (c.want_line == 1));
  CHECK_FALSE(m.why.empty());
}

TEST_CASE("Policy::match_delivery: the unconditional rule unless a conditional require covers it",
          "[policy]") {
  struct Case {
    std::string domain;
    int want_line;
  };
  auto c = GENERATE(values<Case>({
      {"example.org", 10},    // unconditional require: it wins
      {"a.example.org", 20},  // unconditional require below .example.org
      // No unconditional rule: the `*` rule requires TLS for senders below
      // .corp.example, whose mail may be in the queue.
      {"other.test", 40},
  }));
  Policy p = sample_policy();
  Match m = p.match_delivery(c.domain);
  REQUIRE(m.rule != nullptr);
  CHECK(m.rule->origin.line == c.want_line);
  CHECK(m.in_scope);
}

TEST_CASE("Policy::match_delivery: the strictest rule that governs some sender", "[policy]") {
  auto with_mode = [](Rule r, Mode mode) {
    r.options.mode = mode;
    return r;
  };
  Rule def;
  def.options.mode = Mode::prefer;
  def.origin = Origin{"policy.yaml", 1, 1};
  Policy p(Scope{}, def,
           {
               rule(10, {".courts.example"}, {"legal.example.net"}),  // require, conditional
               with_mode(rule(20, {"open.courts.example"}), Mode::prefer),
               with_mode(rule(30, {"off.courts.example"}), Mode::off),
               with_mode(rule(40, {"tier.example"}), Mode::prefer),
               rule(50, {"tier.example"}, {}, {"alice"}),  // same tier, written after
               with_mode(rule(60, {"a.shadow.example"}), Mode::prefer),
               rule(70, {".shadow.example"}, {"legal.example.net"}),  // less specific than 60
               with_mode(rule(80, {"weak.example"}, {"legal.example.net"}), Mode::prefer),
               rule(90, {"weak.example"}, {"other.example.net"}),
           });
  struct Case {
    std::string domain;
    int want_line;
  };
  auto c = GENERATE(values<Case>({
      {"a.courts.example", 10},    // only the conditional rule matches: it governs
      {"courts.example", 1},       // `.courts.example` does not match the name itself
      {"open.courts.example", 20},  // the exact prefer rule is ahead of the suffix for everyone
      {"off.courts.example", 30},
      {"tier.example", 50},         // a user rule of the same tier goes first
      {"a.shadow.example", 60},     // the suffix rule governs nobody's mail here
      {"weak.example", 90},         // a conditional prefer is passed over for a require
      {"x.shadow.example", 70},
  }));
  INFO(c.domain);
  Match m = p.match_delivery(c.domain);
  REQUIRE(m.rule != nullptr);
  CHECK(m.rule->origin.line == c.want_line);
  if (c.want_line == 10 || c.want_line == 50 || c.want_line == 70 || c.want_line == 90) {
    CHECK_THAT(m.why, Catch::Contains("strictest"));
  }
}

TEST_CASE("Policy::candidates lists every matching rule in precedence order", "[policy]") {
  Policy p = sample_policy();
  std::vector<Match> all = p.candidates("example.org", ctx("corp.example", "alice"));
  std::vector<int> lines;
  for (const Match& m : all) {
    lines.push_back(m.rule->origin.line);
  }
  // Exact tier: the user rule, the exact-sender rule, the unconditional rule
  // (rule 90 wants a sender below .corp.example, and so does the `*` rule);
  // then the default.
  CHECK(lines == std::vector<int>{60, 50, 10, 1});
  CHECK(all.back().is_default);
}

TEST_CASE("Policy: scope decides which messages are checked", "[policy]") {
  struct Case {
    std::string label;
    Scope scope;
    MessageContext message;
    bool want;
  };
  Scope outbound;
  outbound.all_mail = false;
  Scope outbound_no_auth = outbound;
  outbound_no_auth.authenticated = false;
  Scope outbound_no_local = outbound;
  outbound_no_local.local_submissions = false;
  auto c = GENERATE_COPY(values<Case>({
      {"all mail", Scope{}, MessageContext{}, true},
      {"outbound: plain inbound", outbound, MessageContext{}, false},
      {"outbound: authenticated", outbound, MessageContext{"", "alice", "", false}, true},
      {"outbound: ORIGINATING", outbound, MessageContext{"", "", "ORIGINATING", false}, true},
      {"outbound: other daemon", outbound, MessageContext{"", "", "smtpd-in", false}, false},
      {"outbound: local submission", outbound, MessageContext{"", "", "", true}, true},
      {"auth does not count when off", outbound_no_auth, MessageContext{"", "alice", "", false},
       false},
      {"local does not count when off", outbound_no_local, MessageContext{"", "", "", true}, false},
  }));
  INFO(c.label);
  Policy p(c.scope, Rule{}, {rule(10, {"example.org"})});
  CHECK(p.in_scope(c.message) == c.want);
  CHECK(p.match("example.org", c.message).in_scope == c.want);
}

TEST_CASE("Policy::builtin_default is prefer everywhere", "[policy]") {
  Policy p = Policy::builtin_default();
  Match m = p.match("anything.example", MessageContext{});
  CHECK(m.is_default);
  CHECK(m.rule->options.mode == Mode::prefer);
  CHECK(m.rule->origin.text() == "built-in");
  CHECK(m.in_scope);
}

TEST_CASE("policy vocabulary round-trips", "[policy]") {
  for (Mode m : {Mode::off, Mode::prefer, Mode::require}) {
    CHECK(mode_from_string(to_string(m)) == m);
  }
  for (Action a : {Action::accept, Action::reject, Action::tempfail, Action::quarantine,
                   Action::tag, Action::redirect}) {
    CHECK(action_from_string(to_string(a)) == a);
  }
  for (Require r : {Require::none, Require::mta_sts, Require::dane, Require::either}) {
    CHECK(require_from_string(to_string(r)) == r);
  }
  CHECK(grade_from_string("A+") == GradeLetter::A_plus);
  CHECK(grade_from_string("E") == std::nullopt);
  CHECK(mode_from_string("Require") == std::nullopt);  // conf/ lower-cases first
}
