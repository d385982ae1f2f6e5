// SPDX-License-Identifier: Apache-2.0
// Unit tests of socketmap request handling: map names, key forms, which
// cache call each key makes, and the log line's level.
#include "milter/socketmap/socketmap_handler.hpp"

#include <catch2/catch.hpp>
#include <map>

#include "conf/loader.hpp"
#include "tests/policy/report_builder.hpp"

using namespace forcetls;
using namespace forcetls::milter;

namespace {

struct FakeDelivery final : cache::Reports {
  std::map<std::string, checker::DomainReport> fresh;
  std::map<std::string, checker::DomainReport> stale;
  std::vector<std::string> looked_up;
  std::vector<cache::Priority> priorities;  ///< lookup()'s miss priority, per call
  std::vector<std::string> peeked;

  cache::Lookup find(std::string_view name) {
    cache::Lookup l;
    const std::string n(name);
    if (fresh.contains(n)) {
      l.state = cache::Freshness::fresh;
      l.report = std::make_shared<const checker::DomainReport>(fresh[n]);
    } else if (stale.contains(n)) {
      l.state = cache::Freshness::stale;
      l.report = std::make_shared<const checker::DomainReport>(stale[n]);
    }
    return l;
  }
  cache::Lookup lookup(std::string_view domain, cache::Priority miss_priority) override {
    looked_up.emplace_back(domain);
    priorities.push_back(miss_priority);
    return find(domain);
  }
  using cache::Reports::lookup;
  cache::Lookup peek(std::string_view name) override {
    peeked.emplace_back(name);
    return find(name);
  }
  Result<checker::DomainReport> await_fresh(std::string_view,
                                            std::chrono::steady_clock::time_point) override {
    throw std::logic_error("the policy map never waits for a probe");
  }
  std::string describe() const override { return "fake delivery reports"; }
};

policy::Policy load(std::string_view text) {
  auto loaded = conf::parse_policy(text, "policy.yaml");
  if (!loaded.ok()) {
    throw std::runtime_error(loaded.problems.at(0).text());
  }
  return std::move(loaded.value);
}

constexpr std::string_view kPolicy = R"(
default:
  mode: prefer
rules:
  - domains: [.example.com, example.com, mx.relay.net]
    mode: require
  - domains: [.courts.example]
    senders: [legal.example.net]
    mode: require
)";

checker::DomainReport sts_report(const std::string& domain) {
  checker::DomainReport r = test::eligible_report(domain);
  r.mta_sts.mode = checker::StsMode::enforce;
  r.mta_sts.mx_patterns = {"*." + domain};
  r.mta_sts_enforce = checker::Tri::yes;
  return r;
}

}  // namespace

TEST_CASE("answer_request: names, keys and cache calls", "[milter]") {
  struct Case {
    std::string label;
    std::string request;
    std::string want;
    std::vector<std::string> looked_up;
    std::vector<std::string> peeked;
    log::Level level;
  };
  using L = log::Level;
  auto c = GENERATE(values<Case>({
      {"eligible domain",
       "forcetls example.com",
       "OK encrypt protocols=>=TLSv1.2 ciphers=medium",
       {"example.com"},
       {},
       L::debug},
      {"stale report is used",
       "forcetls old.example.com",
       "OK encrypt protocols=>=TLSv1.2 ciphers=medium",
       {"old.example.com"},
       {},
       L::debug},
      {"subdomain under .example.com, not cached: TEMP",
       "forcetls new.example.com",
       "TEMP forcetls: new.example.com is being checked for TLS support, try again later",
       {"new.example.com"},
       {},
       L::info},
      // Postfix accepts `_` in a next hop: the name is the rule's, never NOTFOUND.
      {"underscore under .example.com, not cached: TEMP",
       "forcetls X_Y.example.com",
       "TEMP forcetls: x_y.example.com is being checked for TLS support, try again later",
       {"x_y.example.com"},
       {},
       L::info},
      {"ineligible: PERM",
       "forcetls bad.example.com",
       "PERM forcetls: bad.example.com is not eligible for TLS delivery "
       "(no-starttls(mx2.bad.example.com))",
       {"bad.example.com"},
       {},
       L::info},
      {"prefer: no lookup, NOTFOUND", "forcetls other.org", "NOTFOUND ", {}, {}, L::debug},
      {"parent key: NOTFOUND, no lookup", "forcetls .example.com", "NOTFOUND ", {}, {}, L::debug},
      // A [host] next hop is that server's own report, probed on a miss.
      {"[host] cached: the server's own report",
       "forcetls [mx.relay.net]:25",
       "OK encrypt protocols=>=TLSv1.2 ciphers=medium",
       {"[mx.relay.net]"},
       {},
       L::debug},
      {"[host] under a require suffix, not cached: TEMP, probed",
       "forcetls [mx9.example.com]",
       "TEMP forcetls: [mx9.example.com] is being checked for TLS support, try again later",
       {"[mx9.example.com]"},
       {},
       L::info},
      {"[host]:port: a report of its own on that port",
       "forcetls [MX.relay.net]:2525",
       "TEMP forcetls: [mx.relay.net]:2525 is being checked for TLS support, try again later",
       {"[mx.relay.net]:2525"},
       {},
       L::info},
      {"domain:port: the domain's rule, probed on that port",
       "forcetls example.com:2525",
       "TEMP forcetls: example.com:2525 is being checked for TLS support, try again later",
       {"example.com:2525"},
       {},
       L::info},
      {"ineligible [host]: the rule's action",
       "forcetls [bad.example.com]",
       "PERM forcetls: [bad.example.com] is not eligible for TLS delivery "
       "(no-starttls(mx2.[bad.example.com]))",
       {"[bad.example.com]"},
       {},
       L::info},
      {"[host] no require rule covers: NOTFOUND, no lookup",
       "forcetls [relay.other.org]",
       "NOTFOUND ",
       {},
       {},
       L::debug},
      {"sender-conditional require: held to it at delivery",
       "forcetls a.courts.example",
       "TEMP forcetls: a.courts.example is being checked for TLS support, try again later",
       {"a.courts.example"},
       {},
       L::info},
      {"sender-conditional require, eligible: encrypt",
       "forcetls b.courts.example",
       "OK encrypt protocols=>=TLSv1.2 ciphers=medium",
       {"b.courts.example"},
       {},
       L::debug},
      {"[address] under the prefer default: NOTFOUND",
       "forcetls [192.0.2.1]:25",
       "NOTFOUND ",
       {},
       {},
       L::debug},
      {"other port under prefer: NOTFOUND",
       "forcetls other.org:587",
       "NOTFOUND ",
       {},
       {},
       L::debug},
      {"sts map, enforce",
       "sts sts.example.com",
       "OK secure match=.sts.example.com servername=hostname",
       {"sts.example.com"},
       {},
       L::debug},
      {"sts map, prefer domain still looked up",
       "sts other.org",
       "NOTFOUND ",
       {"other.org"},
       {},
       L::debug},
      {"sts map, require + not cached: TEMP, refresh asked for",
       "sts new.example.com",
       "TEMP forcetls: new.example.com is being checked for TLS support, try again later",
       {"new.example.com"},
       {},
       L::info},
      {"sts map, require + ineligible: TEMP, never PERM",
       "sts bad.example.com",
       "TEMP forcetls: bad.example.com is not eligible for TLS delivery "
       "(no-starttls(mx2.bad.example.com))",
       {"bad.example.com"},
       {},
       L::info},
      {"sts map, require + eligible, verified certificates",
       "sts example.com",
       "OK secure match=mx1.example.com:mx2.example.com servername=hostname",
       {"example.com"},
       {},
       L::debug},
      {"unknown map: PERM",
       "tlspolicy example.com",
       "PERM forcetls: unknown map name",
       {},
       {},
       L::info},
      {"no space: PERM",
       "forcetls",
       "PERM forcetls: malformed request (want NAME KEY)",
       {},
       {},
       L::info},
      {"empty key: NOTFOUND", "forcetls ", "NOTFOUND ", {}, {}, L::debug},
  }));
  INFO(c.label);
  const policy::Policy policy = load(kPolicy);
  FakeDelivery reports;
  reports.fresh["example.com"] = test::eligible_report("example.com");
  reports.fresh["bad.example.com"] = test::ineligible_report("bad.example.com");
  reports.fresh["[mx.relay.net]"] = test::eligible_report("[mx.relay.net]");
  reports.fresh["[bad.example.com]"] = test::ineligible_report("[bad.example.com]");
  reports.fresh["b.courts.example"] = test::eligible_report("b.courts.example");
  reports.fresh["sts.example.com"] = sts_report("sts.example.com");
  reports.stale["old.example.com"] = test::eligible_report("old.example.com");
  log::set_level(log::Level::debug);
  const SocketmapReply r = answer_request(policy, SocketmapOptions{}, reports, c.request);
  CHECK(r.answer.payload() == c.want);
  CHECK(reports.looked_up == c.looked_up);
  CHECK(reports.peeked == c.peeked);
  CHECK(r.level == c.level);
  CHECK_THAT(r.log_line, Catch::StartsWith("socketmap map="));
  log::set_level(log::Level::info);
}

TEST_CASE("answer_request: a miss is urgent only for a require domain", "[milter]") {
  struct Case {
    const char* request;
    cache::Priority want;
  };
  auto c = GENERATE(values<Case>({
      {"forcetls new.example.com", cache::Priority::delivery},  // require: mail is held
      {"sts other.org", cache::Priority::background},           // prefer, asked by Sendmail
  }));
  INFO(c.request);
  const policy::Policy policy = load(kPolicy);
  FakeDelivery reports;
  answer_request(policy, SocketmapOptions{}, reports, c.request);
  REQUIRE(reports.priorities.size() == 1);
  CHECK(reports.priorities[0] == c.want);
}

TEST_CASE("answer_request: a connection queues probes within its miss budget", "[milter]") {
  const policy::Policy policy = load(kPolicy);
  FakeDelivery reports;
  reports.fresh["example.com"] = test::eligible_report("example.com");
  MissBudget budget(/*per_second=*/0.001, /*burst=*/3);  // no refill within the test
  log::set_level(log::Level::debug);
  for (int i = 0; i < 10; ++i) {
    const std::string name = "n" + std::to_string(i) + ".example.com";
    const SocketmapReply r =
        answer_request(policy, SocketmapOptions{}, reports, "forcetls " + name, &budget);
    // Every miss under `require` is TEMP, queued or not.
    CHECK(r.answer.kind == AnswerKind::temp);
    if (i >= 3) {
      // Logged at debug: one warning a minute says it instead.
      CHECK_THAT(r.log_line, Catch::Contains("note=miss-rate-limited"));
      CHECK(r.level == log::Level::debug);
    } else {
      CHECK(r.level == log::Level::info);
    }
  }
  CHECK(reports.looked_up.size() == 3);  // three queued a probe
  CHECK(budget.refused() == 7);
  CHECK(reports.peeked.size() == 7);  // the rest only read the cache
  // A hit costs nothing and is answered from the cache as before.
  const SocketmapReply hit =
      answer_request(policy, SocketmapOptions{}, reports, "forcetls example.com", &budget);
  CHECK(hit.answer.kind == AnswerKind::ok);
  log::set_level(log::Level::info);
  // The budget refills with time.
  MissBudget refill(1000, 1);
  const auto t0 = MissBudget::Clock::now();
  CHECK(refill.available(t0));
  refill.spend();
  CHECK_FALSE(refill.available(t0));
  CHECK(refill.available(t0 + std::chrono::milliseconds(5)));
}

TEST_CASE("answer_request: the log line", "[milter]") {
  const policy::Policy policy = load(kPolicy);
  FakeDelivery reports;
  reports.fresh["example.com"] = test::eligible_report("example.com");
  log::set_level(log::Level::debug);
  SocketmapReply r = answer_request(policy, SocketmapOptions{}, reports, "forcetls example.com");
  CHECK(r.log_line ==
        "socketmap map=forcetls key=example.com answer=OK "
        "value=\"encrypt protocols=>=TLSv1.2 ciphers=medium\" policy=require verdict=eligible "
        "cache=hit rule=policy.yaml:5");
  // At info, OK answers build no line at all (one per delivery would flood).
  log::set_level(log::Level::info);
  r = answer_request(policy, SocketmapOptions{}, reports, "forcetls example.com");
  CHECK(r.log_line.empty());
  r = answer_request(policy, SocketmapOptions{}, reports, "forcetls new.example.com");
  CHECK_THAT(r.log_line, Catch::Contains("answer=TEMP") && Catch::Contains("cache=miss"));
}

TEST_CASE("answer_request: configured map names", "[milter]") {
  const policy::Policy policy = load(kPolicy);
  FakeDelivery reports;
  reports.fresh["example.com"] = test::eligible_report("example.com");
  const SocketmapOptions maps{.postfix = "tlspol", .sts = ""};
  CHECK(answer_request(policy, maps, reports, "tlspol example.com").answer.kind == AnswerKind::ok);
  CHECK(answer_request(policy, maps, reports, "forcetls example.com").answer.kind ==
        AnswerKind::perm);
  CHECK(answer_request(policy, maps, reports, "sts example.com").answer.kind == AnswerKind::perm);
}
