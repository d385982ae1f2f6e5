// SPDX-License-Identifier: Apache-2.0
// Tests for cache/store with a fixed clock: expiry per class, grace, DNS TTL
// cap, shared address records, decode failures, map full, schema, file
// modes, the open-twice guard, noted uses and their flush, sweeping.
#include "cache/store.hpp"

#include "checker/report/domain_name.hpp"
#include "checker/report/judgement.hpp"
#include "checker/report/next_hop.hpp"

#include <lmdb.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <thread>

#include "cache_fixtures.hpp"

using namespace forcetls;
using namespace forcetls::cache;
using namespace forcetls::cache::test;
using checker::Eligibility;
using checker::Tri;

namespace {

std::unique_ptr<Store> open_store(const StoreOptions& o) {
  auto s = Store::open(o);
  INFO((s ? std::string() : s.error().message));
  REQUIRE(s);
  return std::move(*s);
}

// Writes one raw value with liblmdb itself, the Store being closed: how a
// test plants a corrupt record or a foreign schema.
void raw_put(const std::string& dir, const char* db, std::string_view key, std::string_view value) {
  MDB_env* env = nullptr;
  REQUIRE(mdb_env_create(&env) == 0);
  mdb_env_set_maxdbs(env, 8);
  REQUIRE(mdb_env_open(env, dir.c_str(), 0, 0600) == 0);
  MDB_txn* txn = nullptr;
  REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
  MDB_dbi dbi;
  REQUIRE(mdb_dbi_open(txn, db, MDB_CREATE, &dbi) == 0);
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v{value.size(), const_cast<char*>(value.data())};
  REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
  REQUIRE(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);
}

void raw_del(const std::string& dir, const char* db, std::string_view key) {
  MDB_env* env = nullptr;
  REQUIRE(mdb_env_create(&env) == 0);
  mdb_env_set_maxdbs(env, 8);
  REQUIRE(mdb_env_open(env, dir.c_str(), 0, 0600) == 0);
  MDB_txn* txn = nullptr;
  REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
  MDB_dbi dbi;
  REQUIRE(mdb_dbi_open(txn, db, 0, &dbi) == 0);
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  REQUIRE(mdb_del(txn, dbi, &k, nullptr) == 0);
  REQUIRE(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);
}

std::string schema_bytes(std::uint32_t v) {
  std::string s(4, '\0');
  std::memcpy(s.data(), &v, 4);
  return s;
}

}  // namespace

TEST_CASE("store: a stored report reads back fresh and re-judged", "[cache]") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(options_for(dir.sub("c"), clock));
  auto r = report("Example.TEST.",
                  {{"MX1.example.test", {good_address("192.0.2.1"), good_address("2001:DB8::1")}},
                   {"mx2.example.test", {good_address("192.0.2.2")}}});
  r.mta_sts_enforce = Tri::yes;
  r.dane = Tri::no;
  REQUIRE(store->put(r));

  Lookup l = store->lookup("example.test");
  REQUIRE(l.state == Freshness::fresh);
  CHECK(l.miss == Miss::none);
  CHECK(l.report->domain == "example.test");
  CHECK(l.report->checked_at == clock.now());
  CHECK(l.checked_at == clock.now());
  CHECK(l.expires_at == clock.now() + 24 * 3600);
  CHECK(l.report->mta_sts_enforce == Tri::yes);
  CHECK(l.report->dane == Tri::no);
  REQUIRE(l.report->mx.size() == 2);
  CHECK(l.report->mx[0].host == "mx1.example.test");
  CHECK(l.report->mx[0].priority == 10);
  REQUIRE(l.report->mx[0].addresses.size() == 2);
  CHECK(l.report->mx[0].addresses[1].address == "2001:db8::1");  // canonical form
  CHECK(l.report->mx[0].addresses[0].cert.sans == good_address("x").cert.sans);
  CHECK(l.report->mx[0].addresses[0].connections == 7);
  // The judgement is recomputed on read (the record stores no grade): every
  // answer good and MTA-STS enforce over every MX is 100 points, A+.
  CHECK(l.report->eligible == Eligibility::eligible);
  CHECK(to_string(l.report->grade.letter) == "A+");
  CHECK(l.report->grade.score == 100);
  CHECK_FALSE(l.report->grade.provisional);
  CHECK(l.report->grade.deductions.empty());
  CHECK(l.report->mx[0].addresses[0].grade.score == 100);

  CHECK(store->lookup("other.test").state == Freshness::missing);
  CHECK(store->lookup("other.test").miss == Miss::absent);
  CHECK(store->lookup("not a domain").state == Freshness::missing);
}

TEST_CASE("store: a failed probe is stored and read back unknown (never ineligible)", "[cache]") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(options_for(dir.sub("c"), clock));
  auto r =
      checker::unknown_report("slow.test", clock.now(), checker::UnknownCause::probe_failure,
                              {"probe-timeout", "", "the probe of slow.test passed its deadline"});
  CHECK(r.eligible == Eligibility::unknown);
  CHECK(r.reasons.front().code == "probe-timeout");
  REQUIRE(store->put(r, PutOptions{.probed = true}));
  Lookup l = store->lookup("slow.test");
  REQUIRE(l.state == Freshness::fresh);
  CHECK(l.report->eligible == Eligibility::unknown);
  CHECK(l.report->unknown_cause == checker::UnknownCause::probe_failure);
  CHECK(l.report->tls13_counted.eligible == Eligibility::unknown);
  REQUIRE_FALSE(l.report->reasons.empty());
  CHECK(l.report->reasons.front().code == "probe-failed");
  CHECK(l.report->reasons.front().detail == "the probe of slow.test passed its deadline");
  CHECK(l.expires_at - clock.now() == store->options().ttls.unknown);
  CHECK_FALSE(store->pin("slow.test").has_value());
}

TEST_CASE("store: the MTA-STS policy reads back alone, also past the report's expiry", "[cache]") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(options_for(dir.sub("c"), clock));
  auto r = report("sts.test", {{"mx.sts.test", {good_address("192.0.2.1")}}});
  r.mta_sts.id = "20261128";
  r.mta_sts.mode = checker::StsMode::enforce;
  r.mta_sts.mx_patterns = {"*.sts.test"};
  r.mta_sts.max_age = 604800;
  r.mta_sts.fetched_at = clock.now();
  REQUIRE(store->put(r));
  REQUIRE(store->put(report("plain.test", {{"mx.plain.test", {good_address("192.0.2.2")}}})));

  auto p = store->mta_sts_policy("STS.test.");
  REQUIRE(p.has_value());
  CHECK(p->id == "20261128");
  CHECK(p->mx_patterns == std::vector<std::string>{"*.sts.test"});
  CHECK(p->fetched_at == r.mta_sts.fetched_at);
  CHECK_FALSE(store->mta_sts_policy("plain.test").has_value());  // never fetched
  CHECK_FALSE(store->mta_sts_policy("other.test").has_value());  // no record

  // Two days on the report is past its grace, the week-long policy is not.
  clock.advance(2 * 24 * 3600);
  CHECK(store->lookup("sts.test").state == Freshness::missing);
  CHECK(store->mta_sts_policy("sts.test").has_value());
}

TEST_CASE("store: expiry and grace per TTL class", "[cache]") {
  struct Case {
    std::string label;
    AddressReport address;
    std::int64_t want_ttl;
  };
  Ttls ttls;  // defaults: 24 h, 1 h, 15 min, grace 1 h
  auto c = GENERATE_COPY(values<Case>({
      {"eligible", good_address("192.0.2.1"), ttls.good},
      {"ineligible", plain_address("192.0.2.1"), ttls.ineligible},
      {"unknown", failed_address("192.0.2.1"), ttls.unknown},
  }));
  INFO(c.label);
  TempDir dir;
  FakeClock clock;
  auto store = open_store(options_for(dir.sub("c"), clock));
  const std::int64_t t0 = clock.now();
  REQUIRE(store->put(simple("a.test", c.address)));

  struct Step {
    std::int64_t at;
    Freshness want;
  };
  for (Step s :
       {Step{0, Freshness::fresh}, Step{c.want_ttl - 1, Freshness::fresh},
        Step{c.want_ttl, Freshness::stale}, Step{c.want_ttl + ttls.grace - 1, Freshness::stale},
        Step{c.want_ttl + ttls.grace, Freshness::missing}}) {
    clock.set(t0 + s.at);
    Lookup l = store->lookup("a.test");
    INFO("at +" << s.at);
    CHECK(l.state == s.want);
    CHECK(l.expires_at == t0 + c.want_ttl);
    if (s.want == Freshness::missing) {
      CHECK(l.miss == Miss::expired);
    }
  }
}

TEST_CASE("store: configured TTLs are used", "[cache]") {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = options_for(dir.sub("c"), clock);
  o.ttls = {.good = 1000, .ineligible = 100, .unknown = 10, .grace = 5};
  auto store = open_store(o);
  REQUIRE(store->put(simple("good.test", good_address("192.0.2.1"))));
  REQUIRE(store->put(simple("bad.test", plain_address("192.0.2.2"), "mx.bad.test")));
  REQUIRE(store->put(simple("unk.test", failed_address("192.0.2.3"), "mx.unk.test")));
  CHECK(store->lookup("good.test").expires_at - clock.now() == 1000);
  CHECK(store->lookup("bad.test").expires_at - clock.now() == 100);
  CHECK(store->lookup("unk.test").expires_at - clock.now() == 10);
  clock.advance(14);
  CHECK(store->lookup("unk.test").state == Freshness::stale);
  clock.advance(1);
  CHECK(store->lookup("unk.test").state == Freshness::missing);
}

TEST_CASE("store: a shorter DNS TTL caps the lifetime, a longer one does not", "[cache]") {
  struct Case {
    std::string label;
    std::optional<std::int64_t> dns_ttl;
    std::int64_t want_ttl;
  };
  auto c = GENERATE(values<Case>({
      {"no TTL given", std::nullopt, 24 * 3600},
      {"short TTL", 300, 300},
      {"longer than the class TTL", 7 * 86400, 24 * 3600},
      {"zero", 0, 0},
      {"negative is zero", -5, 0},
  }));
  INFO(c.label);
  TempDir dir;
  FakeClock clock;
  auto store = open_store(options_for(dir.sub("c"), clock));
  REQUIRE(store->put(simple("a.test", good_address("192.0.2.1")), {.dns_ttl = c.dns_ttl}));
  Lookup l = store->peek("a.test");
  CHECK(l.expires_at - clock.now() == c.want_ttl);
  CHECK(l.dns_ttl == (c.dns_ttl ? std::max<std::int64_t>(0, *c.dns_ttl) : -1));
}

TEST_CASE("store: checked_at of the report is the start of its lifetime", "[cache]") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(options_for(dir.sub("c"), clock));
  REQUIRE(store->put(
      simple("old.test", good_address("192.0.2.1"), "mx.example.test", clock.now() - 3600)));
  CHECK(store->lookup("old.test").expires_at == clock.now() + 23 * 3600);
  // A report from the future (clock skew) counts from now.
  REQUIRE(store->put(
      simple("future.test", good_address("192.0.2.1"), "mx.example.test", clock.now() + 3600)));
  CHECK(store->lookup("future.test").checked_at == clock.now());
}

TEST_CASE("store: an MX address shared by many domains is stored once", "[cache]") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(options_for(dir.sub("c"), clock));
  for (int i = 0; i < 50; ++i) {
    REQUIRE(store->put(report("d" + std::to_string(i) + ".test",
                              {{"mx1.provider.test", {good_address("192.0.2.1")}},
                               {"mx2.provider.test", {good_address("192.0.2.2")}}})));
  }
  StoreStats s = store->stats();
  CHECK(s.domains == 50);
  CHECK(s.addresses == 2);

  auto seen = store->fresh_address("MX1.provider.test.", "192.0.2.1", 25);
  REQUIRE(seen);
  CHECK(seen->starttls == Tri::yes);
  CHECK_FALSE(store->fresh_address("mx1.provider.test", "192.0.2.1", 587));
  CHECK_FALSE(store->fresh_address("mx9.provider.test", "192.0.2.1", 25));

  // A newer probe through one domain changes what every domain sees: the
  // provider dropped STARTTLS.
  clock.advance(60);
  REQUIRE(store->put(report("d0.test", {{"mx1.provider.test", {plain_address("192.0.2.1")}},
                                        {"mx2.provider.test", {good_address("192.0.2.2")}}})));
  Lookup other = store->lookup("d7.test");
  REQUIRE(other.state == Freshness::fresh);
  CHECK(other.report->eligible == Eligibility::ineligible);
  // ... and its lifetime follows the shorter-lived address record.
  CHECK(other.expires_at == clock.now() + 3600);

  clock.advance(24 * 3600);
  CHECK_FALSE(store->fresh_address("mx2.provider.test", "192.0.2.2", 25));
}

TEST_CASE("store: a probe failure does not erase a fresh known answer", "[cache]") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(options_for(dir.sub("c"), clock));
  REQUIRE(store->put(simple("a.test", good_address("192.0.2.1"), "mx.provider.test")));
  clock.advance(60);
  REQUIRE(store->put(simple("b.test", failed_address("192.0.2.1"), "mx.provider.test")));
  Lookup b = store->lookup("b.test");
  REQUIRE(b.state == Freshness::fresh);
  CHECK(b.report->eligible == Eligibility::eligible);
  CHECK(store->lookup("a.test").report->eligible == Eligibility::eligible);

  // Once the known answer has expired, the failure is what there is.
  clock.advance(24 * 3600);
  REQUIRE(store->put(simple("b.test", failed_address("192.0.2.1"), "mx.provider.test")));
  CHECK(store->lookup("b.test").report->eligible == Eligibility::unknown);
}

TEST_CASE("store: lookups are read-only; uses are flushed in one write", "[cache]") {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = options_for(dir.sub("c"), clock);
  o.touch_interval = 300;
  auto store = open_store(o);
  REQUIRE(store->put(simple("a.test", good_address("192.0.2.1")), {.last_used = clock.now()}));
  const std::int64_t t0 = clock.now();
  const std::uint64_t txn_before = store->stats().last_txnid;

  clock.advance(1000);
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(store->lookup("a.test").state == Freshness::fresh);
  }
  CHECK(store->lookup("missing.test").state == Freshness::missing);
  CHECK(store->stats().last_txnid == txn_before);  // no commit from lookups
  CHECK(store->peek("a.test").last_used == t0);    // not written yet

  REQUIRE(store->flush());
  CHECK(store->stats().last_txnid == txn_before + 1);
  CHECK(store->peek("a.test").last_used == t0 + 1000);
  StoreStats s = store->stats();
  CHECK(s.hits == 1000);
  CHECK(s.misses == 1);

  // Within touch_interval of the last use, nothing is noted at all.
  clock.advance(10);
  store->lookup("a.test");
  REQUIRE(store->flush());
  CHECK(store->peek("a.test").last_used == t0 + 1000);
  // That flush wrote the one hit; a flush with nothing new commits nothing.
  const std::uint64_t t = store->stats().last_txnid;
  REQUIRE(store->flush());
  CHECK(store->stats().last_txnid == t);
}

TEST_CASE("store: counters persist across reopen", "[cache]") {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = options_for(dir.sub("c"), clock);
  {
    auto store = open_store(o);
    REQUIRE(store->put(simple("a.test", good_address("192.0.2.1"))));
    store->lookup("a.test");
    store->lookup("a.test");
    store->lookup("b.test");
    REQUIRE(store->flush());
  }
  auto store = open_store(o);
  StoreStats s = store->stats();
  CHECK(s.hits == 2);
  CHECK(s.misses == 1);
  CHECK(s.domains == 1);
}

TEST_CASE("store: undecodable records are counted misses, never crashes", "[cache]") {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = options_for(dir.sub("c"), clock);
  {
    auto store = open_store(o);
    REQUIRE(store->put(simple("a.test", good_address("192.0.2.1"), "mx.a.test")));
    REQUIRE(store->put(simple("b.test", good_address("192.0.2.2"), "mx.b.test")));
  }
  raw_put(o.path, "domains", "a.test", "garbage that is not a record");
  std::string addr_key = std::string("mx.b.test") + '\0' + "192.0.2.2" + '\0' + '\0' + '\x19';
  raw_put(o.path, "addresses", addr_key,
          std::string("\xF7"
                      "A\x01\x05",
                      4));
  raw_put(o.path, "domains", "c.test", "");

  auto store = open_store(o);
  struct Case {
    std::string domain;
    Miss want;
  };
  for (const Case& c : {Case{"a.test", Miss::corrupt}, Case{"b.test", Miss::corrupt},
                        Case{"c.test", Miss::corrupt}}) {
    INFO(c.domain);
    Lookup l = store->lookup(c.domain);
    CHECK(l.state == Freshness::missing);
    CHECK(l.miss == c.want);
  }
  StoreStats s = store->stats();
  CHECK(s.decode_failures == 3);
  CHECK(s.misses == 3);
  // The store stays usable: the entry is rewritten by the next probe.
  REQUIRE(store->put(simple("a.test", good_address("192.0.2.1"), "mx.a.test")));
  CHECK(store->lookup("a.test").state == Freshness::fresh);
  CHECK_FALSE(store->fresh_address("mx.b.test", "192.0.2.2", 25));
}

TEST_CASE("store: a domain whose address record is gone is incomplete", "[cache]") {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = options_for(dir.sub("c"), clock);
  {
    auto store = open_store(o);
    REQUIRE(store->put(simple("a.test", good_address("192.0.2.1"), "mx.a.test")));
  }
  raw_del(o.path, "addresses",
          std::string("mx.a.test") + '\0' + "192.0.2.1" + '\0' + '\0' + '\x19');
  auto store = open_store(o);
  Lookup l = store->lookup("a.test");
  CHECK(l.state == Freshness::missing);
  CHECK(l.miss == Miss::incomplete);
  StoreStats s = store->stats();
  CHECK(s.misses == 1);
  CHECK(s.decode_failures == 0);
}

TEST_CASE("store: sweep removes what is past grace and nothing else", "[cache]") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(options_for(dir.sub("c"), clock));
  REQUIRE(store->put(simple("unknown.test", failed_address("192.0.2.1"), "mx.u.test")));
  REQUIRE(store->put(simple("good.test", good_address("192.0.2.2"), "mx.g.test")));
  clock.advance(15 * 60 + 3600);  // unknown: past grace; good: fresh
  auto swept = store->sweep();
  REQUIRE(swept);
  CHECK(*swept == 1);
  CHECK(store->peek("unknown.test").miss == Miss::absent);
  CHECK(store->peek("good.test").state == Freshness::fresh);
  StoreStats s = store->stats();
  CHECK(s.domains == 1);
  CHECK(s.addresses == 1);
}

TEST_CASE("store: purge, purge_all and invalidate", "[cache]") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(options_for(dir.sub("c"), clock));
  REQUIRE(store->put(simple("a.test", good_address("192.0.2.1"))));
  REQUIRE(store->put(simple("b.test", good_address("192.0.2.1"))));
  REQUIRE(store->put(simple("c.test", good_address("192.0.2.1"))));

  auto inv = store->invalidate("b.test");
  REQUIRE(inv);
  CHECK(*inv);
  Lookup b = store->lookup("b.test");
  CHECK(b.state == Freshness::stale);
  CHECK(b.last_used == clock.now());
  CHECK(*store->invalidate("nothere.test") == false);

  CHECK(*store->purge("A.test") == true);
  CHECK(*store->purge("a.test") == false);
  CHECK(store->lookup("a.test").miss == Miss::absent);
  CHECK(store->stats().addresses == 1);  // still used by b and c

  CHECK(*store->purge_all() == 2);
  StoreStats s = store->stats();
  CHECK(s.domains == 0);
  CHECK(s.addresses == 0);
  CHECK_FALSE(store->purge("bad name!"));
}

TEST_CASE("store: due_for_refresh picks used entries near expiry", "[cache]") {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = options_for(dir.sub("c"), clock);
  o.ttls = {.good = 1000, .ineligible = 1000, .unknown = 1000, .grace = 100};
  auto store = open_store(o);
  const std::int64_t t0 = clock.now();
  REQUIRE(store->put(simple("used.test", good_address("192.0.2.1")), {.last_used = t0}));
  REQUIRE(store->put(simple("idle.test", good_address("192.0.2.1")), {.last_used = t0 - 86400}));
  clock.advance(500);
  REQUIRE(store->put(simple("later.test", good_address("192.0.2.1")), {.last_used = t0}));

  auto due = [&](std::int64_t at) {
    clock.set(at);
    auto r = store->due_for_refresh(
        {.horizon = at + 1000, .used_since = t0 - 3600, .ahead_fraction = 0.1, .limit = 100});
    REQUIRE(r);
    std::vector<std::string> names;
    for (const Due& d : *r) {
      names.push_back(d.domain);
    }
    return names;
  };
  using V = std::vector<std::string>;
  CHECK(due(t0 + 800) == V{});               // 200 s left of 1000: not yet
  CHECK(due(t0 + 900) == V{"used.test"});    // last tenth
  CHECK(due(t0 + 1050) == V{"used.test"});   // stale, in grace
  CHECK(due(t0 + 1450) == V{"later.test"});  // used.test past grace
  CHECK(due(t0 + 1401) == V{"later.test"});
}

TEST_CASE("store: names and addresses are validated", "[cache]") {
  struct Case {
    std::string label;
    std::string domain;
    std::string host;
    std::string address;
    std::string want;
  };
  auto c = GENERATE(values<Case>({
      {"space in domain", "bad domain.test", "mx.test", "192.0.2.1", "invalid character"},
      {"empty label", "a..test", "mx.test", "192.0.2.1", "empty label"},
      {"long label", std::string(64, 'a') + ".test", "mx.test", "192.0.2.1", "longer than 63"},
      // UTF-8 is converted to A-labels (the normaliser recipients use), not refused.
      {"percent", "b%cher.test", "mx.test", "192.0.2.1", "invalid character"},
      {"bad host", "a.test", "mx/1.test", "192.0.2.1", "invalid character"},
      {"bad address", "a.test", "mx.test", "192.0.2.300", "not an IP address"},
      {"scoped v6", "a.test", "mx.test", "fe80::1%eth0", "not an IP address"},
      {"empty domain", "", "mx.test", "192.0.2.1", "empty name"},
  }));
  INFO(c.label);
  auto r = simple(c.domain, good_address(c.address), c.host);
  auto ok = check_storable(r);
  REQUIRE_FALSE(ok);
  CHECK_THAT(ok.error().message, Catch::Contains(c.want));
  TempDir dir;
  FakeClock clock;
  auto store = open_store(options_for(dir.sub("c"), clock));
  auto put = store->put(r);
  REQUIRE_FALSE(put);
  CHECK(put.error().code == Errc::invalid_argument);
}

TEST_CASE("store: host names and addresses as keys", "[cache]") {
  using forcetls::checker::normalize_host;
  CHECK(*normalize_host("Mail.Example.COM.") == "mail.example.com");
  CHECK(*normalize_host("_dmarc.x-y.test") == "_dmarc.x-y.test");
  CHECK(*normalize_host("mx-.Example.TEST") == "mx-.example.test");  // DNS may hold it
  CHECK(*normalize_host("MX.bücher.example") == "mx.xn--bcher-kva.example");
  CHECK_FALSE(normalize_host("."));
  CHECK_FALSE(normalize_host("a..b"));
  CHECK_FALSE(normalize_host("mx.exa mple.test"));
  CHECK_FALSE(normalize_host(std::string(254, 'a')));
  CHECK(*checker::normalize_address("2001:DB8:0:0::1") == "2001:db8::1");
  CHECK(*checker::normalize_address("192.0.2.1") == "192.0.2.1");
  CHECK_FALSE(checker::normalize_address("192.0.2"));
}

TEST_CASE("store: a tiny map grows instead of failing", "[cache]") {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = options_for(dir.sub("c"), clock);
  o.map_size = 128 * 1024;
  o.max_map_size = 64u << 20;
  auto store = open_store(o);
  for (int i = 0; i < 2000; ++i) {
    std::string n = std::to_string(i);
    auto r =
        store->put(simple("d" + n + ".test", good_address("198.51.100." + std::to_string(i % 250)),
                          "mx" + n + ".test"));
    REQUIRE(r);
  }
  StoreStats s = store->stats();
  CHECK(s.domains == 2000);
  CHECK(s.map_grows > 0);
  CHECK(s.evicted == 0);
  CHECK(s.map_bytes > o.map_size);
  CHECK(store->lookup("d0.test").state == Freshness::fresh);
  CHECK(store->lookup("d1999.test").state == Freshness::fresh);
}

TEST_CASE("store: a full map at its limit evicts the least recently used", "[cache]") {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = options_for(dir.sub("c"), clock);
  o.map_size = 1 << 20;
  o.max_map_size = 1 << 20;
  auto store = open_store(o);
  const int n = 10000;  // far more than 1 MiB holds
  for (int i = 0; i < n; ++i) {
    clock.advance(1);
    std::string s = std::to_string(i);
    auto r =
        store->put(simple("d" + s + ".test", good_address("198.51.100." + std::to_string(i % 250)),
                          "mx" + s + ".test"));
    INFO(i << ": " << (r ? "" : r.error().message));
    REQUIRE(r);
  }
  StoreStats st = store->stats();
  CHECK(st.evicted > 0);
  CHECK(st.domains < static_cast<std::uint64_t>(n));
  CHECK(st.domains + st.evicted == static_cast<std::uint64_t>(n));
  // The newest survive, the oldest went first; orphaned addresses went too.
  CHECK(store->lookup("d" + std::to_string(n - 1) + ".test").state == Freshness::fresh);
  CHECK(store->lookup("d0.test").miss == Miss::absent);
  CHECK(st.addresses <= st.domains);
  // Evicting early left room for the deletions: the limit held.
  CHECK(st.map_bytes <= o.max_map_size);
}

TEST_CASE("store: schema older is rebuilt, newer is refused", "[cache]") {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = options_for(dir.sub("c"), clock);
  {
    auto store = open_store(o);
    REQUIRE(store->put(simple("a.test", good_address("192.0.2.1"))));
  }
  raw_put(o.path, "meta", "schema", schema_bytes(kSchemaVersion + 1));
  auto refused = Store::open(o);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == Errc::config);
  CHECK_THAT(refused.error().message, Catch::Contains("newer than this program"));

  raw_put(o.path, "meta", "schema", schema_bytes(0));
  auto store = open_store(o);
  CHECK(store->stats().domains == 0);  // rebuilt empty
  REQUIRE(store->put(simple("a.test", good_address("192.0.2.1"))));
  store.reset();
  store = open_store(o);  // and now at our schema: kept
  CHECK(store->stats().domains == 1);
}

TEST_CASE("store: a directory that is not LMDB is a clear error", "[cache]") {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = options_for(dir.sub("c"), clock);
  ::mkdir(o.path.c_str(), 0700);
  FILE* f = std::fopen((o.path + "/data.mdb").c_str(), "w");
  REQUIRE(f != nullptr);
  std::fputs(std::string(8192, 'x').c_str(), f);
  std::fclose(f);
  auto r = Store::open(o);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains("open"));
}

TEST_CASE("store: files are 0600, the directory 0700", "[cache]") {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = options_for(dir.sub("c"), clock);
  mode_t old = ::umask(0);  // even a permissive umask gives private files
  auto store = Store::open(o);
  ::umask(old);
  REQUIRE(store);
  for (const char* f : {"/data.mdb", "/lock.mdb"}) {
    struct stat st {};
    REQUIRE(::stat((o.path + f).c_str(), &st) == 0);
    INFO(f);
    CHECK((st.st_mode & 0777) == 0600);
  }
  struct stat st {};
  REQUIRE(::stat(o.path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
}

TEST_CASE("store: the same directory cannot be opened twice in one process", "[cache]") {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = options_for(dir.sub("c"), clock);
  auto first = open_store(o);
  auto second = Store::open(o);
  REQUIRE_FALSE(second);
  CHECK_THAT(second.error().message, Catch::Contains("already open"));
  // Another spelling of the same directory is the same directory.
  StoreOptions alias = o;
  alias.path = dir.path() + "/./c/";
  CHECK_FALSE(Store::open(alias));
  // Another directory is fine, and after closing, reopening is fine.
  auto other = open_store(options_for(dir.sub("d"), clock));
  first.reset();
  auto again = open_store(o);
  CHECK(again);
}

TEST_CASE("store: readers run while a writer writes", "[cache]") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(options_for(dir.sub("c"), clock));
  std::vector<PutItem> items;
  for (int i = 0; i < 500; ++i) {
    items.push_back({simple("d" + std::to_string(i) + ".test", good_address("192.0.2.1")), {}});
  }
  REQUIRE(store->put_many(items));
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      for (int i = t; !stop; i = (i + 7) % 500) {
        if (store->lookup("d" + std::to_string(i) + ".test").state != Freshness::fresh) {
          ++bad;
        }
        ++reads;
      }
    });
  }
  // Keep writing until the readers have really run alongside (on a busy
  // machine they may not be scheduled during the first 200 writes).
  for (int round = 0; round < 200 || (reads < 200 && round < 200000); ++round) {
    REQUIRE(
        store->put(simple("d" + std::to_string(round % 500) + ".test", good_address("192.0.2.1"))));
    if (round % 50 == 0) {
      REQUIRE(store->flush());
    }
  }
  stop = true;
  for (auto& t : readers) {
    t.join();
  }
  CHECK(bad == 0);
  CHECK(reads > 0);
}
