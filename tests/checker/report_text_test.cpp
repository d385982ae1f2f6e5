// Tests for checker/report_text: marks, verdict line and reasons are shown.
#include "checker/report_text.hpp"

#include <catch2/catch.hpp>

#include "checker/judgement.hpp"

using namespace forcetls::checker;

TEST_CASE("text report shows marks, grade, verdict and reasons", "[checker]") {
  DomainReport r;
  r.domain = "mixed.test";
  r.source = MxSource::mx;
  MxReport good;
  good.host = "mx1.mixed.test";
  AddressReport a;
  a.address = "192.0.2.1";
  a.starttls = Tri::yes;
  a.ssl3 = Tri::no;
  a.tls1_2 = Tri::yes;
  a.nist_r1 = Tri::yes;
  a.tls1_1 = Tri::unknown;
  good.addresses.push_back(a);
  MxReport bad;
  bad.host = "mx2.mixed.test";
  AddressReport b;
  b.address = "192.0.2.2";
  b.starttls = Tri::no;
  bad.addresses.push_back(b);
  r.mx = {good, bad};
  judge(r);
  std::string text = to_text(r);
  CAPTURE(text);
  CHECK(text.find("✔ SSL 3.0 off") != std::string::npos);
  CHECK(text.find("? TLS 1.1 accepted") != std::string::npos);
  CHECK(text.find("✘ STARTTLS and TLS handshake") != std::string::npos);
  CHECK(text.find("Verdict: NOT eligible") != std::string::npos);
  CHECK(text.find("no-starttls(mx2.mixed.test)") != std::string::npos);
  CHECK(text.find("enable STARTTLS") != std::string::npos);
  CHECK(text.find("Grade F") != std::string::npos);
}

TEST_CASE("text report: MTA-STS / TLSRPT block and a DANE line per MX", "[checker]") {
  struct Case {
    const char* label;
    std::string mode;
    std::vector<std::string> matched;
    std::string error;
    Tri enforce;
    std::vector<std::string> want;
  };
  auto c = GENERATE(values<Case>({
      {"enforce, all covered",
       "enforce",
       {"mx1.s.test", "mx2.s.test"},
       "",
       Tri::yes,
       {"MTA-STS ✔ mode enforce, id A1, max_age 86400; mx *.s.test; covers every MX",
        "TLSRPT  reports to mailto:r@s.test"}},
      {"one not covered",
       "enforce",
       {"mx1.s.test"},
       "",
       Tri::no,
       {"MTA-STS ✘ mode enforce", "does not cover mx2.s.test"}},
      {"404", "", {}, "http-status(404)", Tri::no, {"MTA-STS ✘ no policy (http-status(404))"}},
      {"timeout", "", {}, "timeout", Tri::unknown, {"MTA-STS ? no policy (timeout)"}},
  }));
  INFO(c.label);
  DomainReport r;
  r.domain = "s.test";
  r.source = MxSource::mx;
  for (const char* host : {"mx1.s.test", "mx2.s.test"}) {
    MxReport m;
    m.host = host;
    r.mx.push_back(m);
  }
  r.mx[0].dane.tlsa = {"3 1 1 00ff"};
  r.mx[0].dane.usable = Tri::yes;
  r.mx[0].dane.match = Tri::yes;
  r.mta_sts.txt = "v=STSv1; id=A1";
  r.mta_sts.id = "A1";
  r.mta_sts.mode = c.mode;
  r.mta_sts.max_age = 86400;
  r.mta_sts.mx_patterns =
      c.mode.empty() ? std::vector<std::string>{} : std::vector<std::string>{"*.s.test"};
  r.mta_sts.mx_match = c.matched;
  r.mta_sts.error = c.error;
  r.mta_sts_enforce = c.enforce;
  r.tlsrpt.rua = {"mailto:r@s.test"};
  std::string text = to_text(r);
  CAPTURE(text);
  for (const std::string& want : c.want) {
    CHECK(text.find(want) != std::string::npos);
  }
  CHECK(text.find("DANE ✔ 1 TLSA record, usable yes, match yes") != std::string::npos);
  // mx2 has no DANE facts at all: no line.
  CHECK(text.find("DANE ?") == std::string::npos);
}
