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
