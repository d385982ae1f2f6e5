// SPDX-License-Identifier: Apache-2.0
// Tests for cache/admin: list filters, show, refresh, purge, stats text,
// export/import round trip, and import of hostile lines (an error per line,
// never a crash, the good lines still imported).
#include "cache/admin.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cache_fixtures.hpp"
#include "checker/report/report_json.hpp"

using namespace forcetls;
using namespace forcetls::cache;
using namespace forcetls::cache::test;

namespace {

struct Fixture {
  TempDir dir;
  FakeClock clock;
  std::unique_ptr<Store> store;
  explicit Fixture(const std::string& name = "c") {
    auto s = Store::open(options_for(dir.sub(name), clock));
    REQUIRE(s);
    store = std::move(*s);
  }
};

std::vector<std::string> names(const std::vector<ListEntry>& entries) {
  std::vector<std::string> out;
  for (const ListEntry& e : entries) {
    out.push_back(e.domain);
  }
  return out;
}

std::string exported_line(const checker::DomainReport& r) { return checker::to_json_text(r); }

}  // namespace

TEST_CASE("admin: list with filters", "[cache]") {
  Fixture f;
  REQUIRE(f.store->put(simple("good.test", good_address("192.0.2.1"), "mx.g.test")));
  REQUIRE(f.store->put(simple("plain.test", plain_address("192.0.2.2"), "mx.p.test")));
  REQUIRE(f.store->put(simple("unknown.test", failed_address("192.0.2.3"), "mx.u.test")));
  f.clock.advance(20 * 60);  // unknown (15 min) is stale now

  using V = std::vector<std::string>;
  struct Case {
    ListFilter filter;
    V want;
  };
  auto c = GENERATE(values<Case>({
      {ListFilter::all, {"good.test", "plain.test", "unknown.test"}},
      {ListFilter::stale, {"unknown.test"}},
      {ListFilter::ineligible, {"plain.test"}},
  }));
  auto got = list(*f.store, c.filter);
  REQUIRE(got);
  CHECK(names(*got) == c.want);

  auto all = list(*f.store, ListFilter::all);
  REQUIRE(all);
  std::string table = format_list(*all, f.clock.now());
  CHECK_THAT(table, Catch::StartsWith("DOMAIN"));
  CHECK_THAT(table, Catch::Contains("unknown.test"));
  CHECK_THAT(table, Catch::Contains("stale"));
  CHECK_THAT(table, Catch::Contains("ineligible"));
  CHECK_THAT(table, Catch::Contains("20m0s"));  // checked 20 minutes ago
}

TEST_CASE("admin: show, refresh, purge", "[cache]") {
  Fixture f;
  REQUIRE(f.store->put(simple("a.test", good_address("192.0.2.1"))));
  f.clock.advance(3600);
  auto text = show(*f.store, "A.test");
  REQUIRE(text);
  CHECK_THAT(*text, Catch::StartsWith("cache: a.test fresh, checked 1h0m ago, expires in 23h0m"));
  CHECK_THAT(*text, Catch::Contains("mx.example.test"));
  CHECK_THAT(*text, Catch::Contains("ELIGIBLE"));

  auto missing = show(*f.store, "b.test");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::not_found);

  REQUIRE(*refresh(*f.store, "a.test"));
  CHECK(f.store->peek("a.test").state == Freshness::stale);
  CHECK_THAT(*show(*f.store, "a.test"), Catch::StartsWith("cache: a.test stale"));
  CHECK(*refresh(*f.store, "b.test") == false);

  CHECK(*purge(*f.store, "a.test"));
  CHECK_FALSE(*purge(*f.store, "a.test"));
  REQUIRE(f.store->put(simple("x.test", good_address("192.0.2.1"))));
  CHECK(*purge_all(*f.store) == 1);
}

TEST_CASE("admin: refresh_now probes and stores", "[cache]") {
  Fixture f;
  int calls = 0;
  auto r = refresh_now(*f.store, "Now.Test", [&](const std::string& d) -> Result<Probed> {
    ++calls;
    return Probed{simple(d, good_address("192.0.2.1")), 60};
  });
  REQUIRE(r);
  CHECK(calls == 1);
  CHECK(r->domain == "now.test");
  CHECK(r->eligible == checker::Eligibility::eligible);
  CHECK(f.store->peek("now.test").expires_at == f.clock.now() + 60);

  auto failed = refresh_now(*f.store, "x.test", [](const std::string&) -> Result<Probed> {
    return fail(Errc::timeout, "resolver timeout");
  });
  REQUIRE_FALSE(failed);
  CHECK(failed.error().message == "resolver timeout");
}

TEST_CASE("admin: stats text", "[cache]") {
  Fixture f;
  REQUIRE(f.store->put(simple("a.test", good_address("192.0.2.1"))));
  f.store->lookup("a.test");
  f.store->lookup("zzz.test");
  std::string text = format_stats(f.store->stats());
  for (const char* want : {"domains: 1\n", "mx_addresses: 1\n", "hits: 1\n", "misses: 1\n",
                           "decode_failures: 0\n", "bytes_per_domain: "}) {
    INFO(want);
    CHECK_THAT(text, Catch::Contains(want));
  }
}

TEST_CASE("admin: export then import moves results between machines", "[cache]") {
  Fixture from("from");
  const std::int64_t t0 = from.clock.now();
  REQUIRE(from.store->put(
      report("multi.test",
             {{"mx1.p.test", {good_address("192.0.2.1"), good_address("2001:db8::5")}},
              {"mx2.p.test", {plain_address("192.0.2.2")}}}),
      {.dns_ttl = 600, .last_used = t0 - 50}));
  REQUIRE(from.store->put(simple("one.test", failed_address("192.0.2.7"), "mx.one.test")));
  std::stringstream out;
  auto exported = export_jsonl(*from.store, out);
  REQUIRE(exported);
  CHECK(exported->written == 2);
  CHECK(exported->skipped == 0);

  Fixture to("to");
  to.clock.set(t0 + 100);
  std::stringstream in(out.str());
  ImportResult imported = import_jsonl(*to.store, in);
  CHECK(imported.errors.empty());
  CHECK(imported.imported == 2);

  Lookup a = from.store->peek("multi.test");
  Lookup b = to.store->peek("multi.test");
  REQUIRE(b.state == Freshness::fresh);
  CHECK(checker::to_json_text(*b.report) == checker::to_json_text(*a.report));
  CHECK(b.checked_at == t0);        // kept
  CHECK(b.last_used == t0 - 50);    // kept
  CHECK(b.expires_at == t0 + 600);  // recomputed with the DNS TTL kept
  CHECK(to.store->peek("one.test").report->eligible == checker::Eligibility::unknown);
}

TEST_CASE("admin: a hostile import gets one error per bad line", "[cache]") {
  Fixture f;
  const std::string good =
      exported_line(simple("ok.test", good_address("192.0.2.1"), "mx.example.test", f.clock.now()));
  auto doc = nlohmann::json::parse(good);
  auto edited = [&](auto change) {
    nlohmann::json d = doc;
    change(d);
    return d.dump();
  };
  struct Case {
    std::string label;
    std::string line;
    std::string want;
  };
  std::vector<Case> cases = {
      {"not JSON", "{\"format\":", "not valid JSON"},
      {"an array", "[1,2,3]", "not a JSON object"},
      {"missing key", edited([](auto& d) { d.erase("domain"); }), "\"domain\""},
      {"format 3", edited([](auto& d) { d["format"] = 3; }), "format 3"},
      {"bad domain", edited([](auto& d) { d["domain"] = "evil domain\n.test"; }),
       "invalid character"},
      {"bad address",
       edited([](auto& d) { d["mx"][0]["addresses"][0]["address"] = "../../etc/passwd"; }),
       "not an IP address"},
      {"no checked_at", edited([](auto& d) { d["checked_at"] = 0; }), "checked_at"},
      {"cache not an object", edited([](auto& d) { d["cache"] = "x"; }), "\"cache\""},
      {"dns_ttl negative", edited([](auto& d) {
         d["cache"] = {{"dns_ttl", -1}};
       }),
       "dns_ttl"},
      {"huge string", edited([](auto& d) { d["dns_error"] = std::string(20000, 'x'); }), "string"},
      {"NUL byte", std::string("{\"a\":\0}", 7), "NUL"},
      {"too long", std::string(2 << 20, ' '), "longer than"},
  };
  std::string text;
  for (const Case& c : cases) {
    text += c.line + "\n" + good + "\n";
  }
  text += "# a comment\n\n" + good;  // last line without newline
  std::stringstream in(text);
  ImportResult r = import_jsonl(*f.store, in);
  CHECK(r.imported == cases.size() + 1);
  REQUIRE(r.errors.size() == cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO(cases[i].label << ": " << r.errors[i]);
    CHECK_THAT(r.errors[i], Catch::StartsWith("line " + std::to_string(2 * i + 1) + ": "));
    CHECK_THAT(r.errors[i], Catch::Contains(cases[i].want));
  }
  CHECK(f.store->stats().domains == 1);
}

TEST_CASE("admin: import reads format 1 and ignores the derived marks", "[cache]") {
  Fixture f;
  const nlohmann::json doc = nlohmann::json::parse(exported_line(
      simple("ok.test", good_address("192.0.2.1"), "mx.example.test", f.clock.now())));
  auto without_marks = [](nlohmann::json d) {
    for (nlohmann::json* obj : {&d, &d["mx"][0], &d["mx"][0]["addresses"][0]}) {
      obj->erase("marks");
      obj->erase("graded");
      obj->erase("not_graded_reason");
    }
    return d;
  };
  nlohmann::json format1 = without_marks(doc);
  format1["format"] = 1;
  format1.erase("mta_sts");
  format1.erase("tlsrpt");
  format1["mx"][0].erase("dane");
  nlohmann::json contradicting = doc;
  contradicting["mx"][0]["addresses"][0]["marks"]["tls1_0"] = "bad";
  contradicting["graded"] = false;
  const std::string lines[] = {format1.dump(), without_marks(doc).dump(), contradicting.dump()};
  for (const std::string& line : lines) {
    std::stringstream in(line + "\n");
    ImportResult r = import_jsonl(*f.store, in);
    INFO(line);
    CHECK(r.errors.empty());
    CHECK(r.imported == 1);
    // Exported again, the marks are judged from the stored answers.
    nlohmann::json back = nlohmann::json::parse(exported_line(*f.store->peek("ok.test").report));
    CHECK(back["mx"][0]["addresses"][0]["marks"]["tls1_0"] == "info");
    CHECK(back["graded"] == true);
  }
}
