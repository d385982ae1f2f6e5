// SPDX-License-Identifier: Apache-2.0
// Tests for checker/report/marks: the marks agree with the grade, MTA-STS and DANE
// marks, and what counts as graded.
#include "checker/report/marks.hpp"

#include <catch2/catch.hpp>

#include "checker/report/judgement.hpp"

using namespace forcetls::checker;

namespace {

AddressReport perfect() {
  AddressReport a;
  a.address = "192.0.2.10";
  a.starttls = Tri::yes;
  a.ssl3 = Tri::no;
  a.tls1_0 = Tri::no;
  a.tls1_1 = Tri::no;
  a.tls1_2 = Tri::yes;
  a.tls1_3 = Tri::yes;
  a.weak = Tri::no;
  a.nist_r1 = Tri::yes;
  a.nist_r2 = Tri::yes;
  a.cert.trusted = Tri::yes;
  a.cert.expired = Tri::no;
  a.cert.name_match = Tri::yes;
  return a;
}

}  // namespace

TEST_CASE("marks: to_string names the JSON values", "[checker]") {
  CHECK(to_string(Mark::good) == "good");
  CHECK(to_string(Mark::bad) == "bad");
  CHECK(to_string(Mark::info) == "info");
  CHECK(to_string(Mark::unknown) == "unknown");
}

TEST_CASE("marks: a row is bad exactly when the grade deducts for its answer", "[checker]") {
  // Every answer of every row in turn, the others perfect.
  Tri AddressReport::*const plain[] = {
      &AddressReport::starttls, &AddressReport::ssl3,    &AddressReport::tls1_0,
      &AddressReport::tls1_1,   &AddressReport::tls1_2,  &AddressReport::tls1_3,
      &AddressReport::weak,     &AddressReport::nist_r1, &AddressReport::nist_r2};
  Tri CertInfo::*const cert[] = {&CertInfo::trusted, &CertInfo::expired, &CertInfo::name_match};
  const std::size_t field = GENERATE(range(0, 12));
  const Tri value = GENERATE(Tri::yes, Tri::no, Tri::unknown);
  AddressReport a = perfect();
  if (field < 9) {
    a.*plain[field] = value;
  } else {
    a.cert.*cert[field - 9] = value;
  }
  Grade g = grade_address(a, "mx.example.test");
  std::size_t bad = 0;
  std::size_t unknown = 0;
  for (const CheckRow& row : check_rows(a, "mx.example.test")) {
    bad += row.mark == Mark::bad;
    unknown += row.mark == Mark::unknown;
  }
  INFO("field " << field << " = " << to_string(value));
  CHECK(bad == g.deductions.size());
  CHECK((unknown > 0) == g.provisional);
}

TEST_CASE("marks: rows carry the JSON keys and the raw answers", "[checker]") {
  AddressReport a = perfect();
  a.weak = Tri::yes;
  std::vector<CheckRow> rows = check_rows(a, "mx.example.test");
  REQUIRE(rows.size() == 12);
  CHECK(rows[6].key == "weak_ciphers_off");
  CHECK(rows[6].answer == Tri::no);  // the JSON's weak_ciphers_off, not `weak`
  CHECK(rows[6].mark == Mark::bad);
  CHECK(rows[9].group == "cert");
  CHECK(rows[9].key == "trusted");
  CHECK(rows[11].label == "certificate names match mx.example.test");
}

TEST_CASE("marks: MTA-STS", "[checker]") {
  struct Case {
    const char* label;
    std::string txt;
    std::string mode;
    std::string error;
    Tri enforce;
    Mark want;
  };
  auto c = GENERATE(values<Case>({
      {"enforce, every MX", "v=STSv1; id=1", "enforce", "", Tri::yes, Mark::good},
      {"enforce, an MX left out", "v=STSv1; id=1", "enforce", "", Tri::no, Mark::bad},
      {"testing", "v=STSv1; id=1", "testing", "", Tri::no, Mark::info},
      {"none", "v=STSv1; id=1", "none", "", Tri::no, Mark::info},
      {"no TXT", "", "", "no-txt", Tri::no, Mark::info},
      {"TXT, policy 404", "v=STSv1; id=1", "", "http-status(404)", Tri::no, Mark::bad},
      {"bad TXT", "", "", "bad-txt(two records)", Tri::no, Mark::bad},
      {"timeout", "v=STSv1; id=1", "", "timeout", Tri::unknown, Mark::unknown},
  }));
  INFO(c.label);
  DomainReport r;
  r.mta_sts.txt = c.txt;
  r.mta_sts.mode = sts_mode_from_string(c.mode);
  REQUIRE(set_sts_error(r.mta_sts, c.error));
  r.mta_sts_enforce = c.enforce;
  CHECK(mta_sts_mark(r) == c.want);
}

TEST_CASE("marks: DANE", "[checker]") {
  struct Case {
    const char* label;
    std::vector<std::string> tlsa;
    Tri usable;
    Tri match;
    Mark want;
  };
  auto c = GENERATE(values<Case>({
      {"matching", {"3 1 1 00"}, Tri::yes, Tri::yes, Mark::good},
      {"records match nothing", {"3 1 1 00"}, Tri::yes, Tri::no, Mark::bad},
      {"no usable record", {"0 0 1 00"}, Tri::no, Tri::no, Mark::bad},
      {"no records / insecure", {}, Tri::no, Tri::no, Mark::info},
      {"lookup failed", {}, Tri::unknown, Tri::unknown, Mark::unknown},
      {"an address not probed", {"3 1 1 00"}, Tri::yes, Tri::unknown, Mark::unknown},
  }));
  INFO(c.label);
  DaneReport d;
  d.tlsa = c.tlsa;
  d.usable = c.usable;
  d.match = c.match;
  CHECK(dane_mark(d) == c.want);
}

TEST_CASE("marks: an MX with one graded address is graded", "[checker]") {
  MxReport mx;
  mx.host = "mx.example.test";
  AddressReport refused;
  refused.address = "10.0.0.1";
  refused.probed = false;
  mx.addresses = {refused, perfect()};
  CHECK_FALSE(not_graded(mx).has_value());
  CHECK(not_graded(mx.addresses[0])->code == "address-refused");
  // One known answer is a finding: STARTTLS refused grades F, rightly.
  AddressReport no_tls;
  no_tls.starttls = Tri::no;
  CHECK_FALSE(not_graded(no_tls).has_value());
}
