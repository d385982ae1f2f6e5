// SPDX-License-Identifier: Apache-2.0
// Unit tests of checker/auth/mta_sts: policy, TXT and TLSRPT parsers, the MX
// pattern matcher, the enforce answer and the cache rule (fake clock: plain
// unix times).
#include "checker/auth/mta_sts.hpp"

#include <catch2/catch.hpp>

using namespace forcetls::checker;

namespace {

struct PolicyCase {
  const char* label;
  std::string text;
  bool ok;
  std::string want;  // ok: "mode|max_age|mx,mx"; else a substring of the error
};

std::string describe(const StsPolicy& p) {
  std::string mx;
  for (const auto& m : p.mx) {
    mx += (mx.empty() ? "" : ",") + m;
  }
  return std::string(to_string(p.mode)) + "|" + std::to_string(p.max_age) + "|" + mx;
}

}  // namespace

TEST_CASE("parse_sts_policy accepts RFC 8461 policies and names each problem", "[checker]") {
  auto c = GENERATE(values<PolicyCase>({
      {"RFC example, LF",
       "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 86400\n",
       true, "enforce|86400|mail.example.com,*.example.net"},
      {"CRLF", "version: STSv1\r\nmode: testing\r\nmx: mx.a.test\r\nmax_age: 0\r\n", true,
       "testing|0|mx.a.test"},
      {"no final terminator", "version: STSv1\nmode: none\nmax_age: 31557600", true,
       "none|31557600|"},
      {"no space after colon, trailing space",
       "version:STSv1\nmode:enforce  \nmx:MX.A.Test\nmax_age:5\n", true, "enforce|5|mx.a.test"},
      {"unknown key ignored",
       "version: STSv1\nmode: enforce\nfoo_bar: x y\nmx: a.test\nmax_age: 1\n", true,
       "enforce|1|a.test"},
      {"version not first", "mode: enforce\nversion: STSv1\nmx: a.test\nmax_age: 1\n", false,
       "line 1: the first field must be version"},
      {"bad version", "version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 1\n", false,
       "line 1: bad version"},
      {"mode case", "version: STSv1\nmode: Enforce\nmx: a.test\nmax_age: 1\n", false,
       "line 2: bad mode \"Enforce\""},
      {"mode repeated", "version: STSv1\nmode: enforce\nmode: testing\nmx: a.test\nmax_age: 1\n",
       false, "line 3: mode repeated"},
      {"max_age too large", "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 31557601\n", false,
       "line 4: max_age 31557601 above"},
      {"max_age negative", "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1\n", false,
       "line 4: bad max_age"},
      {"max_age 11 digits", "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 00000000001\n",
       false, "line 4: bad max_age"},
      {"no max_age", "version: STSv1\nmode: enforce\nmx: a.test\n", false, "no max_age"},
      {"no mode", "version: STSv1\nmx: a.test\nmax_age: 1\n", false, "no mode"},
      {"no mx in enforce", "version: STSv1\nmode: enforce\nmax_age: 1\n", false, "no mx"},
      {"wildcard in the middle", "version: STSv1\nmode: enforce\nmx: a.*.test\nmax_age: 1\n", false,
       "line 3: bad mx pattern"},
      {"bare wildcard", "version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n", false,
       "line 3: bad mx pattern"},
      {"empty line", "version: STSv1\n\nmode: enforce\nmx: a.test\nmax_age: 1\n", false,
       "line 2: empty line"},
      {"blank line at end", "version: STSv1\nmode: none\nmax_age: 1\n\n", false,
       "line 4: empty line"},
      {"line without colon", "version: STSv1\nmode enforce\nmx: a.test\nmax_age: 1\n", false,
       "line 2: no \"key:\""},
      {"space before colon", "version: STSv1\nmode : enforce\nmx: a.test\nmax_age: 1\n", false,
       "line 2: bad key"},
      {"lone CR", "version: STSv1\rmode: enforce\n", false, "line 1: control"},
      {"empty", "", false, "line 1: empty policy"},
      {"HTML error page", "<html><body>Not Found</body></html>\n", false, "line 1: no \"key:\""},
  }));
  INFO(c.label);
  auto got = parse_sts_policy(c.text);
  REQUIRE(got.has_value() == c.ok);
  if (c.ok) {
    CHECK(describe(*got) == c.want);
  } else {
    CHECK_THAT(got.error().message, Catch::Contains(c.want));
  }
}

TEST_CASE("parse_sts_policy refuses a body above 64 KiB", "[checker]") {
  std::string big = "version: STSv1\nmode: none\nmax_age: 1\n";
  big += "x: " + std::string(kStsMaxPolicyBytes, 'a') + "\n";
  auto got = parse_sts_policy(big);
  REQUIRE_FALSE(got.has_value());
  CHECK_THAT(got.error().message, Catch::Contains("larger than"));
}

TEST_CASE("mx_match: the *. wildcard covers exactly one leftmost label", "[checker]") {
  struct Case {
    const char* pattern;
    const char* host;
    bool want;
  };
  auto c = GENERATE(values<Case>({
      {"mail.example.com", "mail.example.com", true},
      {"mail.example.com", "MAIL.Example.COM.", true},
      {"mail.example.com", "mail2.example.com", false},
      {"*.example.com", "mail.example.com", true},
      {"*.example.com", "example.com", false},
      {"*.example.com", "a.b.example.com", false},
      {"*.example.com", ".example.com", false},
      {"*.example.com", "mailexample.com", false},
      {"*.Example.com", "mx.EXAMPLE.com", true},
      {"*.example.com", "mail.example.com.evil.test", false},
      {"", "mail.example.com", false},
  }));
  INFO(c.pattern << " vs " << c.host);
  CHECK(mx_match(c.pattern, c.host) == c.want);
}

TEST_CASE("choose_sts_txt keeps exactly one valid v=STSv1 record", "[checker]") {
  struct Case {
    const char* label;
    std::vector<std::string> records;
    std::string id;
    std::string error;
  };
  auto c = GENERATE(values<Case>({
      {"RFC example", {"v=STSv1; id=20160831085700Z;"}, "20160831085700Z", ""},
      {"no trailing sep, extension", {"v=STSv1;id=abc;ext=1"}, "abc", ""},
      {"others discarded", {"v=spf1 -all", "v=STSv1; id=1"}, "1", ""},
      {"none", {"v=spf1 -all"}, "", "no-txt"},
      {"empty answer", {}, "", "no-txt"},
      {"v=STSv10 is not ours", {"v=STSv10; id=1"}, "", "no-txt"},
      {"two records", {"v=STSv1; id=1", "v=STSv1; id=2"}, "", "bad-txt(2 v=STSv1 records)"},
      {"id too long", {"v=STSv1; id=" + std::string(33, 'a')}, "", "bad-txt(bad id"},
      {"id with dash", {"v=STSv1; id=2016-08"}, "", "bad-txt(bad id"},
      {"no id", {"v=STSv1;"}, "", "bad-txt(no id)"},
      {"id repeated", {"v=STSv1; id=1; id=2"}, "", "bad-txt(id repeated)"},
      {"empty field", {"v=STSv1;; id=1"}, "", "bad-txt(field"},
  }));
  INFO(c.label);
  StsTxtChoice got = choose_sts_txt(c.records);
  CHECK(got.id == c.id);
  if (c.error.empty()) {
    CHECK(!got.failure);
  } else {
    CHECK_THAT(to_string(got.failure), Catch::StartsWith(c.error));
  }
}

TEST_CASE("choose_tlsrpt_txt reads rua URIs (RFC 8460)", "[checker]") {
  struct Case {
    const char* label;
    std::vector<std::string> records;
    std::vector<std::string> rua;
    std::string error;
  };
  auto c = GENERATE(values<Case>({
      {"mailto",
       {"v=TLSRPTv1; rua=mailto:reports@example.com"},
       {"mailto:reports@example.com"},
       ""},
      {"two URIs",
       {"v=TLSRPTv1;rua=mailto:a@x.test, https://r.x.test/v1"},
       {"mailto:a@x.test", "https://r.x.test/v1"},
       ""},
      {"extension", {"v=TLSRPTv1; rua=mailto:a@x.test; foo=bar;"}, {"mailto:a@x.test"}, ""},
      {"none", {"v=spf1"}, {}, "no-txt"},
      {"two records",
       {"v=TLSRPTv1; rua=mailto:a@x.test", "v=TLSRPTv1; rua=mailto:b@x.test"},
       {},
       "bad-txt(2"},
      {"no rua", {"v=TLSRPTv1;"}, {}, "bad-txt(no rua)"},
      {"http scheme", {"v=TLSRPTv1; rua=http://x.test/"}, {}, "bad-txt(bad rua URI"},
      {"empty URI", {"v=TLSRPTv1; rua=mailto:a@x.test,"}, {}, "bad-txt(bad rua URI"},
  }));
  INFO(c.label);
  TlsRptReport got = choose_tlsrpt_txt(c.records);
  CHECK(got.rua == c.rua);
  if (c.error.empty()) {
    CHECK(got.error.empty());
  } else {
    CHECK_THAT(got.error, Catch::StartsWith(c.error));
  }
}

TEST_CASE("sts_enforce: enforce and every MX covered, else no; transient failures unknown",
          "[checker]") {
  struct Case {
    const char* label;
    std::string mode;
    std::vector<std::string> patterns;
    std::string error;
    std::vector<std::string> hosts;
    Tri want;
    std::vector<std::string> matched;
  };
  auto c = GENERATE(values<Case>({
      {"all covered",
       "enforce",
       {"*.a.test"},
       "",
       {"mx1.a.test", "mx2.a.test"},
       Tri::yes,
       {"mx1.a.test", "mx2.a.test"}},
      {"one missed",
       "enforce",
       {"mx1.a.test"},
       "",
       {"mx1.a.test", "mx2.a.test"},
       Tri::no,
       {"mx1.a.test"}},
      {"testing", "testing", {"*.a.test"}, "", {"mx.a.test"}, Tri::no, {"mx.a.test"}},
      {"none", "none", {}, "", {"mx.a.test"}, Tri::no, {}},
      {"no MX host", "enforce", {"*.a.test"}, "", {}, Tri::no, {}},
      {"no txt", "", {}, "no-txt", {"mx.a.test"}, Tri::no, {}},
      {"404", "", {}, "http-status(404)", {"mx.a.test"}, Tri::no, {}},
      {"certificate", "", {}, "https-cert(self-signed)", {"mx.a.test"}, Tri::no, {}},
      {"timeout", "", {}, "timeout", {"mx.a.test"}, Tri::unknown, {}},
      {"dns", "", {}, "dns-failure(SERVFAIL)", {"mx.a.test"}, Tri::unknown, {}},
      {"503", "", {}, "http-status(503)", {"mx.a.test"}, Tri::unknown, {}},
  }));
  INFO(c.label);
  MtaStsReport sts;
  sts.mode = sts_mode_from_string(c.mode);
  sts.mx_patterns = c.patterns;
  REQUIRE(set_sts_error(sts, c.error));
  CHECK(sts_enforce(sts, c.hosts) == c.want);
  CHECK(sts.mx_match == c.matched);
}

TEST_CASE("policy cache: reuse while fresh with the same id, keep on failure", "[checker]") {
  MtaStsReport prev;
  prev.txt = "v=STSv1; id=A1";
  prev.id = "A1";
  prev.mode = StsMode::enforce;
  prev.mx_patterns = {"*.a.test"};
  prev.max_age = 1000;
  prev.fetched_at = 5000;

  struct Case {
    const char* label;
    std::string id_now;
    std::int64_t now;
    bool reuse;
  };
  auto c = GENERATE(values<Case>({
      {"fresh, same id", "A1", 5999, true},
      {"at fetch time", "A1", 5000, true},
      {"max_age ran out", "A1", 6000, false},
      {"id changed", "B2", 5500, false},
      {"TXT gone", "", 5500, false},
      {"clock before fetch", "A1", 4999, false},
  }));
  INFO(c.label);
  CHECK(sts_may_reuse(prev, c.id_now, c.now) == c.reuse);

  MtaStsReport failed;
  REQUIRE(set_sts_error(failed, "timeout"));
  MtaStsReport kept = sts_keep_cached(&prev, failed, c.now);
  bool fresh = c.now >= 5000 && c.now < 6000;
  CHECK(sts_policy_fresh(prev, c.now) == fresh);
  if (fresh) {
    CHECK(kept.mode == StsMode::enforce);
    CHECK(kept.fetched_at == 5000);
    CHECK_THAT(sts_error(kept), Catch::StartsWith("timeout; the cached policy"));
  } else {
    CHECK(!kept.mode);
    CHECK(sts_error(kept) == "timeout");
  }
  // A successful fetch always wins over the cache.
  MtaStsReport fetched = prev;
  fetched.mode = StsMode::testing;
  fetched.fetched_at = c.now;
  CHECK(sts_keep_cached(&prev, fetched, c.now).mode == StsMode::testing);
  CHECK(sts_error(sts_keep_cached(nullptr, failed, c.now)) == "timeout");
}

TEST_CASE("a previous report without a valid policy is never fresh", "[checker]") {
  MtaStsReport none;
  REQUIRE(set_sts_error(none, "no-txt"));
  none.max_age = 100;
  none.fetched_at = 10;
  CHECK_FALSE(sts_policy_fresh(none, 20));
  CHECK_FALSE(sts_may_reuse(none, "", 20));
}

TEST_CASE("MTA-STS failures: text form, read back, transient or not", "[checker]") {
  struct Case {
    StsFailure failure;
    std::string text;
    bool transient;
  };
  auto c = GENERATE(values<Case>({
      {{StsProblem::no_txt, ""}, "no-txt", false},
      {{StsProblem::http_status, "404"}, "http-status(404)", false},
      {{StsProblem::http_status, "503"}, "http-status(503)", true},
      {{StsProblem::http_status, "599"}, "http-status(599)", true},
      {{StsProblem::http_status, "600"}, "http-status(600)", false},
      {{StsProblem::http_status, "5031"}, "http-status(5031)", false},
      {{StsProblem::timeout, ""}, "timeout", true},
      {{StsProblem::connect_failed, "refused"}, "connect-failed(refused)", true},
      {{StsProblem::dns_failure, "_mta-sts.a.test: SERVFAIL"},
       "dns-failure(_mta-sts.a.test: SERVFAIL)",
       true},
      {{StsProblem::https_cert, "self-signed (x)"}, "https-cert(self-signed (x))", false},
      {{StsProblem::bad_policy, "line 2: bad mode"}, "bad-policy(line 2: bad mode)", false},
      // The policy host chooses this text: the note's own words inside it stay.
      {{StsProblem::bad_content_type, "a; the cached policy fetched at 7 applies"},
       "bad-content-type(a; the cached policy fetched at 7 applies)",
       false},
  }));
  CAPTURE(c.text);
  CHECK(to_string(c.failure) == c.text);
  CHECK(sts_failure_from_string(c.text) == c.failure);
  CHECK(sts_failure_transient(c.failure) == c.transient);
  for (const char* bad : {"http-status(503", "xyz", "(503)", "none(1)", "timeout)"}) {
    CHECK_FALSE(sts_failure_from_string(bad).has_value());
  }
  // A cached policy applying despite the failure says so, and reads back.
  MtaStsReport kept;
  kept.mode = StsMode::enforce;
  kept.fetched_at = 42;
  kept.failure = c.failure;
  CHECK(sts_error(kept) == c.text + "; the cached policy fetched at 42 applies");
  MtaStsReport back;
  REQUIRE(set_sts_error(back, sts_error(kept)));
  CHECK(back.failure == c.failure);
}
