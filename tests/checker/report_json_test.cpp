// Tests for checker/report_json: the JSON contract and strict reading.
#include "checker/report_json.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "checker/judgement.hpp"

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
  r.mta_sts.mode = "enforce";
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
  auto r = report_from_json(j);
  REQUIRE(r.has_value());
  CHECK(r->mta_sts.mode.empty());
  CHECK(r->tlsrpt.rua.empty());
  CHECK(r->mx[0].dane.tlsa.empty());
  CHECK(r->mta_sts_enforce == Tri::yes);  // the old top-level answer itself is kept
  CHECK(r->mx[0].addresses[0].connections == 7);
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
