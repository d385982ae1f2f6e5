// SPDX-License-Identifier: Apache-2.0
// Tests for checker/report/report_json: the JSON contract and strict reading.
#include "checker/report/report_json.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "checker/report/judgement.hpp"

using namespace forcetls::checker;

namespace {

DomainReport sample() {
  DomainReport r;
  r.domain = "example.test";
  r.checked_at = 1795000000;
  r.source = MxSource::mx;
  r.dnssec = DnssecStatus::secure;
  MxReport mx;
  mx.host = "mx1.example.test";
  mx.priority = 10;
  mx.dnssec = DnssecStatus::secure;
  AddressReport a;
  a.address = "192.0.2.10";
  a.starttls = Tri::yes;
  a.ssl3 = Tri::no;
  a.tls1_0 = Tri::yes;
  a.tls1_1 = Tri::unknown;
  a.tls1_2 = Tri::yes;
  a.tls1_3 = Tri::no;
  a.weak = Tri::yes;
  a.weak_suites = {0x0004, 0x000A};
  a.nist_r1 = Tri::yes;
  a.nist_r2 = Tri::yes;
  a.protocol = "TLSv1.2";
  a.cipher = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256";
  a.cert = CertInfo{.trusted = Tri::yes,
                    .expired = Tri::no,
                    .name_match = Tri::no,
                    .cn = "other.test",
                    .sans = {"other.test", "*.other.test"},
                    .issuer = "CN=Lab CA",
                    .not_after = "2027-01-01T00:00:00Z",
                    .not_after_unix = 1798761600,
                    .verify_error = ""};
  a.connections = 7;
  a.notes = {"server chose a suite it was not offered"};
  mx.addresses.push_back(a);
  mx.dane.tlsa = {"3 1 1 0123abcd"};
  mx.dane.usable = Tri::yes;
  mx.dane.match = Tri::no;
  mx.dane.error = "certificate does not match";
  r.mx.push_back(mx);
  r.mta_sts.txt = "v=STSv1; id=20261128T1";
  r.mta_sts.id = "20261128T1";
  r.mta_sts.mode = StsMode::enforce;
  r.mta_sts.mx_patterns = {"*.example.test"};
  r.mta_sts.max_age = 604800;
  r.mta_sts.mx_match = {"mx1.example.test"};
  r.mta_sts.fetched_at = 1795000000;
  r.mta_sts_enforce = Tri::yes;
  r.tlsrpt.txt = "v=TLSRPTv1; rua=mailto:tlsrpt@example.test";
  r.tlsrpt.rua = {"mailto:tlsrpt@example.test"};
  judge(r);
  return r;
}

}  // namespace

TEST_CASE("report JSON has the documented keys and tri-state strings", "[checker]") {
  nlohmann::json j = to_json(sample());
  CHECK(j["domain"] == "example.test");
  CHECK(j["eligible"] == "yes");
  CHECK(j["dnssec"] == "secure");
  CHECK(j["grade"] == "B?");  // name mismatch, weak ciphers; TLS 1.1 unknown
  const auto& a = j["mx"][0]["addresses"][0];
  CHECK(a["starttls"] == "yes");
  CHECK(a["tls1_1"] == "unknown");
  CHECK(a["weak_ciphers_off"] == "no");
  CHECK(a["weak_ciphers"].size() == 2);
  CHECK(a["cert"]["name_match"] == "no");
  CHECK(a["cert"]["sans"][1] == "*.other.test");
  CHECK(a["connections"] == 7);
  CHECK(j["mx"][0]["host"] == "mx1.example.test");
  CHECK(j["mx"][0]["priority"] == 10);
  CHECK(j["format"] == 2);
  CHECK(j["mta_sts"]["mode"] == "enforce");
  CHECK(j["mta_sts"]["mx_patterns"][0] == "*.example.test");
  CHECK(j["mta_sts"]["max_age"] == 604800);
  CHECK(j["mta_sts"]["mx_match"][0] == "mx1.example.test");
  CHECK(j["mta_sts"]["id"] == "20261128T1");
  CHECK(j["mta_sts_enforce"] == "yes");
  CHECK(j["tlsrpt"]["rua"][0] == "mailto:tlsrpt@example.test");
  CHECK(j["mx"][0]["dane"]["tlsa"][0] == "3 1 1 0123abcd");
  CHECK(j["mx"][0]["dane"]["usable"] == "yes");
  CHECK(j["mx"][0]["dane"]["match"] == "no");
  CHECK(j["mx"][0]["dane"]["error"] == "certificate does not match");
}

TEST_CASE("report JSON: a format 1 document (no MTA-STS, TLSRPT, DANE) is still read",
          "[checker]") {
  nlohmann::json j = to_json(sample());
  j["format"] = 1;
  j.erase("mta_sts");
  j.erase("tlsrpt");
  j["mx"][0].erase("dane");
  // Nor had it the derived marks.
  for (nlohmann::json* obj : {&j, &j["mx"][0], &j["mx"][0]["addresses"][0]}) {
    obj->erase("marks");
    obj->erase("graded");
    obj->erase("not_graded_reason");
  }
  auto r = report_from_json(j);
  REQUIRE(r.has_value());
  CHECK(!r->mta_sts.mode);
  CHECK(r->tlsrpt.rua.empty());
  CHECK(r->mx[0].dane.tlsa.empty());
  CHECK(r->mta_sts_enforce == Tri::yes);  // the old top-level answer itself is kept
  CHECK(r->mx[0].addresses[0].connections == 7);
}

TEST_CASE("report JSON: marks judge each answer, beside the raw answers", "[checker]") {
  nlohmann::json j = to_json(sample());
  const auto& a = j["mx"][0]["addresses"][0];
  // The raw answers are as before.
  CHECK(a["tls1_0"] == "yes");
  CHECK(a["tls1_3"] == "no");
  CHECK(a["weak_ciphers_off"] == "no");
  const nlohmann::json want = nlohmann::json::parse(R"({
    "starttls": "good", "ssl3": "good", "tls1_0": "info", "tls1_1": "unknown",
    "tls1_2": "good", "tls1_3": "info", "weak_ciphers_off": "bad", "nist_r1": "good",
    "nist_r2": "good",
    "cert": {"trusted": "good", "expired": "good", "name_match": "bad"}
  })");
  CHECK(a["marks"] == want);
  CHECK(a["graded"] == true);
  CHECK(a["not_graded_reason"] == "");
  CHECK(j["mx"][0]["marks"] == nlohmann::json::parse(R"({"dane": "bad"})"));
  CHECK(j["mx"][0]["graded"] == true);
  CHECK(j["marks"] == nlohmann::json::parse(R"({"mta_sts": "good"})"));
  CHECK(j["graded"] == true);
  CHECK(j["not_graded_reason"] == "");
}

TEST_CASE("report JSON: a domain whose servers were never probed says graded false", "[checker]") {
  struct Case {
    const char* label;
    void (*build)(DomainReport&);
    const char* want_reason;
    const char* want_grade;  // the existing key, kept as it was
  };
  auto c = GENERATE(values<Case>({
      {"DNSSEC-bogus",
       [](DomainReport& r) {
         r.dnssec = DnssecStatus::bogus;
         r.dns_failure = UnknownCause::dnssec_bogus;
         r.dns_error = "DNSSEC bogus: signature expired";
       },
       "dnssec-bogus", "F?"},
      {"null MX", [](DomainReport& r) { r.source = MxSource::null_mx; }, "null-mx", "F?"},
      {"NXDOMAIN", [](DomainReport& r) { r.dns_error = "domain n.test does not exist (NXDOMAIN)"; },
       "no-mail-server", "F?"},
      {"no MX address",
       [](DomainReport& r) {
         r.source = MxSource::mx;
         r.mx.emplace_back();
         r.mx[0].host = "mx1.n.test";
         r.mx[0].dns_error = "mx1.n.test has no address records";
       },
       "no-mx-address", "F?"},
      {"only a private address",
       [](DomainReport& r) {
         r.source = MxSource::mx;
         r.mx.emplace_back();
         r.mx[0].host = "mx1.n.test";
         r.mx[0].addresses.emplace_back();
         r.mx[0].addresses[0].address = "10.0.0.25";
         r.mx[0].addresses[0].probed = false;
       },
       "address-refused", "A?"},
  }));
  INFO(c.label);
  DomainReport r;
  r.domain = "n.test";
  r.source = MxSource::none;
  c.build(r);
  judge(r);
  nlohmann::json j = to_json(r);
  CHECK(j["graded"] == false);
  CHECK(j["not_graded_reason"] == c.want_reason);
  CHECK(j["grade"] == c.want_grade);
  CHECK(j.contains("grade_detail"));
  for (const auto& mx : j["mx"]) {
    CHECK(mx["graded"] == false);
    CHECK(mx["not_graded_reason"] == c.want_reason);
  }
}

TEST_CASE("report JSON: marks and graded are derived, never read", "[checker]") {
  // A format 2 document of an earlier writer lacks them; one edited by hand
  // may carry nonsense: both read, and writing again judges the answers.
  nlohmann::json j = to_json(sample());
  SECTION("absent") {
    for (nlohmann::json* obj : {&j, &j["mx"][0], &j["mx"][0]["addresses"][0]}) {
      obj->erase("marks");
      obj->erase("graded");
      obj->erase("not_graded_reason");
    }
  }
  SECTION("contradicting the answers") {
    j["marks"] = "garbage";
    j["graded"] = "perhaps";
    j["mx"][0]["not_graded_reason"] = 7;
    j["mx"][0]["addresses"][0]["marks"] = {{"tls1_0", "bad"}};
  }
  auto r = report_from_json(j);
  REQUIRE(r.has_value());
  nlohmann::json again = to_json(*r);
  CHECK(again["mx"][0]["addresses"][0]["marks"]["tls1_0"] == "info");
  CHECK(again["marks"]["mta_sts"] == "good");
  CHECK(again["graded"] == true);
  CHECK(again["mx"][0]["not_graded_reason"] == "");
}

TEST_CASE("report JSON round-trips", "[checker]") {
  DomainReport r = sample();
  auto back = report_from_json_text(to_json_text(r));
  REQUIRE(back.has_value());
  CHECK(to_json(*back) == to_json(r));
}

TEST_CASE("report JSON reading is strict", "[checker]") {
  struct Case {
    std::string label;
    void (*mutate)(nlohmann::json&);
    std::string want_in_error;
  };
  auto c = GENERATE(values<Case>({
      {"missing domain", [](nlohmann::json& j) { j.erase("domain"); }, "\"domain\""},
      {"bad tri", [](nlohmann::json& j) { j["mx"][0]["addresses"][0]["ssl3"] = "maybe"; },
       "\"ssl3\""},
      {"wrong type", [](nlohmann::json& j) { j["mx"][0]["priority"] = "ten"; }, "\"priority\""},
      {"port out of range", [](nlohmann::json& j) { j["mx"][0]["addresses"][0]["port"] = 70000; },
       "\"port\""},
      {"future format", [](nlohmann::json& j) { j["format"] = 3; }, "format 3"},
      {"format 2 without mta_sts", [](nlohmann::json& j) { j.erase("mta_sts"); }, "\"mta_sts\""},
      {"format 2 without dane", [](nlohmann::json& j) { j["mx"][0].erase("dane"); }, "\"dane\""},
      {"bad mode", [](nlohmann::json& j) { j["mta_sts"]["mode"] = "strict"; }, "\"mode\""},
      {"unknown MTA-STS problem", [](nlohmann::json& j) { j["mta_sts"]["error"] = "oops(1)"; },
       "\"error\""},
      {"MTA-STS problem without its closing parenthesis",
       [](nlohmann::json& j) { j["mta_sts"]["error"] = "http-status(404"; }, "\"error\""},
      {"bad grade letter", [](nlohmann::json& j) { j["grade_detail"]["letter"] = "E"; },
       "\"letter\""},
      {"negative max_age", [](nlohmann::json& j) { j["mta_sts"]["max_age"] = -1; }, "\"max_age\""},
      {"rua not strings", [](nlohmann::json& j) { j["tlsrpt"]["rua"] = {1}; }, "\"rua\""},
      {"bad dane tri", [](nlohmann::json& j) { j["mx"][0]["dane"]["match"] = "maybe"; },
       "\"match\""},
      {"bad eligibility", [](nlohmann::json& j) { j["eligible"] = "perhaps"; }, "\"eligible\""},
  }));
  CAPTURE(c.label);
  nlohmann::json j = to_json(sample());
  c.mutate(j);
  auto r = report_from_json(j);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message.find(c.want_in_error) != std::string::npos);
}

TEST_CASE("report JSON: garbage text is an error", "[checker]") {
  CHECK_FALSE(report_from_json_text("").has_value());
  CHECK_FALSE(report_from_json_text("{").has_value());
  CHECK_FALSE(report_from_json_text("[1,2]").has_value());
}
