// SPDX-License-Identifier: Apache-2.0
// Tests for checker/report/judgement: grade points, letters, eligibility rule and
// recommendations on constructed reports.
#include "checker/report/judgement.hpp"

#include <catch2/catch.hpp>

using namespace forcetls::checker;

namespace {

// A perfect address: every answer known and good.
AddressReport perfect(std::string address = "192.0.2.10") {
  AddressReport a;
  a.address = std::move(address);
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

DomainReport domain_with(std::vector<std::vector<AddressReport>> hosts) {
  DomainReport r;
  r.domain = "example.test";
  r.source = MxSource::mx;
  r.dnssec = DnssecStatus::insecure;
  int n = 1;
  for (auto& addresses : hosts) {
    MxReport mx;
    mx.host = "mx" + std::to_string(n) + ".example.test";
    mx.priority = static_cast<std::uint16_t>(10 * n);
    mx.addresses = std::move(addresses);
    r.mx.push_back(std::move(mx));
    ++n;
  }
  return r;
}

}  // namespace

TEST_CASE("grade_address: points and letters", "[checker]") {
  struct Case {
    std::string label;
    void (*mutate)(AddressReport&);
    int want_score;
    std::string want_letter;
    bool want_provisional;
  };
  auto c = GENERATE(values<Case>({
      {"perfect", [](AddressReport&) {}, 100, "A", false},
      {"no TLS 1.2", [](AddressReport& a) { a.tls1_2 = Tri::no; }, 75, "B", false},
      {"SSL 3.0 on", [](AddressReport& a) { a.ssl3 = Tri::yes; }, 75, "B", false},
      {"expired", [](AddressReport& a) { a.cert.expired = Tri::yes; }, 75, "B", false},
      {"untrusted", [](AddressReport& a) { a.cert.trusted = Tri::no; }, 75, "B", false},
      {"no r1", [](AddressReport& a) { a.nist_r1 = Tri::no; }, 75, "B", false},
      {"name mismatch", [](AddressReport& a) { a.cert.name_match = Tri::no; }, 92, "A", false},
      {"weak + no r2",
       [](AddressReport& a) {
         a.weak = Tri::yes;
         a.weak_suites = {0x0004};
         a.nist_r2 = Tri::no;
       },
       84, "B", false},
      {"self-signed, mismatched, weak",
       [](AddressReport& a) {
         a.cert.trusted = Tri::no;
         a.cert.name_match = Tri::no;
         a.weak = Tri::yes;
       },
       59, "D", false},
      {"legacy everything",
       [](AddressReport& a) {
         a.ssl3 = Tri::yes;
         a.tls1_2 = Tri::no;
         a.nist_r1 = Tri::no;
         a.cert.expired = Tri::yes;
         a.cert.trusted = Tri::no;
       },
       0, "F", false},
      {"no STARTTLS", [](AddressReport& a) { a.starttls = Tri::no; }, 0, "F", false},
      {"unknown ssl3", [](AddressReport& a) { a.ssl3 = Tri::unknown; }, 100, "A", true},
  }));
  CAPTURE(c.label);
  AddressReport a = perfect();
  c.mutate(a);
  Grade g = grade_address(a, "mx1.example.test");
  CHECK(g.score == c.want_score);
  CHECK(to_string(g.letter) == c.want_letter);
  CHECK(g.provisional == c.want_provisional);
  int sum = 0;
  for (const Deduction& d : g.deductions) {
    sum += d.points;
  }
  CHECK(std::max(0, 100 - sum) == g.score);
}

TEST_CASE("letter_for: boundaries", "[checker]") {
  CHECK(to_string(letter_for(100)) == "A");
  CHECK(to_string(letter_for(92)) == "A");
  CHECK(to_string(letter_for(91)) == "B");
  CHECK(to_string(letter_for(75)) == "B");
  CHECK(to_string(letter_for(74)) == "C");
  CHECK(to_string(letter_for(60)) == "C");
  CHECK(to_string(letter_for(59)) == "D");
  CHECK(to_string(letter_for(40)) == "D");
  CHECK(to_string(letter_for(39)) == "F");
}

TEST_CASE("eligibility: the Forced-TLS rule on constructed reports", "[checker]") {
  struct Case {
    std::string label;
    void (*mutate)(AddressReport&);
    bool tls13_counts;
    Eligibility want;
    std::string want_reason;  // formatted first reason, "" for none
  };
  auto c = GENERATE(values<Case>({
      {"perfect", [](AddressReport&) {}, false, Eligibility::eligible, ""},
      {"TLS 1.0 only with r1",
       [](AddressReport& a) {
         a.tls1_2 = Tri::no;
         a.tls1_3 = Tri::no;
         a.tls1_0 = Tri::yes;
       },
       false, Eligibility::eligible, ""},
      {"no STARTTLS", [](AddressReport& a) { a.starttls = Tri::no; }, false,
       Eligibility::ineligible, "no-starttls(mx1.example.test)"},
      {"TLS 1.1 only",
       [](AddressReport& a) {
         a.tls1_2 = Tri::no;
         a.tls1_3 = Tri::no;
         a.tls1_1 = Tri::yes;
       },
       false, Eligibility::ineligible, "no-tls10-or-tls12(mx1.example.test)"},
      {"TLS 1.3 only, rule as written",
       [](AddressReport& a) {
         a.tls1_2 = Tri::no;
         a.nist_r1 = Tri::no;
       },
       false, Eligibility::ineligible, "no-tls10-or-tls12(mx1.example.test)"},
      {"TLS 1.3 only, tls13_counts",
       [](AddressReport& a) {
         a.tls1_2 = Tri::no;
         a.nist_r1 = Tri::no;
       },
       true, Eligibility::eligible, ""},
      {"RC4 only at TLS 1.0 (no r1)",
       [](AddressReport& a) {
         a.tls1_2 = Tri::no;
         a.tls1_3 = Tri::no;
         a.tls1_0 = Tri::yes;
         a.nist_r1 = Tri::no;
         a.nist_r2 = Tri::no;
       },
       false, Eligibility::ineligible, "no-nist-r1-cipher(mx1.example.test)"},
      {"self-signed still eligible", [](AddressReport& a) { a.cert.trusted = Tri::no; }, false,
       Eligibility::eligible, ""},
      {"starttls unknown",
       [](AddressReport& a) {
         a.starttls = Tri::unknown;
         a.error = "connect: refused";
       },
       false, Eligibility::unknown, "probe-failed(mx1.example.test)"},
      {"versions unknown",
       [](AddressReport& a) {
         a.tls1_0 = Tri::unknown;
         a.tls1_2 = Tri::unknown;
       },
       false, Eligibility::unknown, "probe-failed(mx1.example.test)"},
      {"TLS 1.2 yes decides even if TLS 1.0 unknown",
       [](AddressReport& a) { a.tls1_0 = Tri::unknown; }, false, Eligibility::eligible, ""},
      {"not probed", [](AddressReport& a) { a.probed = false; }, false, Eligibility::ineligible,
       "address-refused(mx1.example.test)"},
  }));
  CAPTURE(c.label);
  AddressReport a = perfect();
  c.mutate(a);
  DomainReport r = domain_with({{a}});
  EligibilityResult v = eligibility(r, JudgeOptions{.tls13_counts = c.tls13_counts});
  CHECK(v.eligible == c.want);
  if (c.want_reason.empty()) {
    CHECK(v.reasons.empty());
  } else {
    REQUIRE_FALSE(v.reasons.empty());
    CHECK(format_reason(v.reasons.front()) == c.want_reason);
  }
}

TEST_CASE("eligibility: every MX and every address counts", "[checker]") {
  AddressReport bad = perfect("192.0.2.20");
  bad.starttls = Tri::no;
  AddressReport unknown = perfect("192.0.2.30");
  unknown.starttls = Tri::unknown;

  SECTION("one bad MX of two") {
    EligibilityResult v = eligibility(domain_with({{perfect()}, {bad}}));
    CHECK(v.eligible == Eligibility::ineligible);
    REQUIRE(v.reasons.size() == 1);
    CHECK(format_reason(v.reasons[0]) == "no-starttls(mx2.example.test)");
  }
  SECTION("one bad address of a multi-address MX") {
    EligibilityResult v = eligibility(domain_with({{perfect(), bad}}));
    CHECK(v.eligible == Eligibility::ineligible);
  }
  SECTION("a definite no beats an unknown") {
    EligibilityResult v = eligibility(domain_with({{unknown}, {bad}}));
    CHECK(v.eligible == Eligibility::ineligible);
  }
  SECTION("unknown makes the domain unknown, cause probe") {
    EligibilityResult v = eligibility(domain_with({{perfect()}, {unknown}}));
    CHECK(v.eligible == Eligibility::unknown);
    CHECK(v.unknown_cause == UnknownCause::probe_failure);
  }
}

TEST_CASE("eligibility: DNS outcomes", "[checker]") {
  SECTION("null MX accepts no mail") {
    DomainReport r = domain_with({});
    r.source = MxSource::null_mx;
    EligibilityResult v = eligibility(r);
    CHECK(v.eligible == Eligibility::ineligible);
    REQUIRE(v.reasons.size() == 1);
    CHECK(v.reasons[0].code == "null-mx");
  }
  SECTION("bogus DNSSEC is a DNS failure, verdict unknown") {
    DomainReport r = domain_with({});
    r.dns_failure = UnknownCause::dnssec_bogus;
    r.dns_error = "signature expired";
    EligibilityResult v = eligibility(r);
    CHECK(v.eligible == Eligibility::unknown);
    CHECK(v.unknown_cause == UnknownCause::dnssec_bogus);
    CHECK(v.reasons.at(0).code == "dnssec-bogus");
  }
  SECTION("SERVFAIL is a DNS failure") {
    DomainReport r = domain_with({});
    r.dns_failure = UnknownCause::dns_failure;
    CHECK(eligibility(r).unknown_cause == UnknownCause::dns_failure);
  }
  SECTION("an MX host without addresses is skipped; the rest decides") {
    DomainReport r = domain_with({{}, {perfect()}});
    r.mx[0].dns_error = "no address records";
    CHECK(eligibility(r).eligible == Eligibility::eligible);
  }
  SECTION("an MX host whose address lookup failed makes it unknown") {
    DomainReport r = domain_with({{}, {perfect()}});
    r.mx[0].dns_failure = UnknownCause::dns_failure;
    CHECK(eligibility(r).eligible == Eligibility::unknown);
  }
  SECTION("no MX host with any address") {
    DomainReport r = domain_with({{}});
    CHECK(eligibility(r).eligible == Eligibility::ineligible);
  }
}

TEST_CASE("judge: domain grade is the worst MX, recommendations per MX", "[checker]") {
  AddressReport weak = perfect("192.0.2.20");
  weak.weak = Tri::yes;
  weak.weak_suites = {0x0005, 0x000A};
  AddressReport expired = perfect("192.0.2.30");
  expired.cert.expired = Tri::yes;
  expired.cert.not_after = "2026-03-01T00:00:00Z";
  DomainReport r = domain_with({{perfect()}, {weak}, {expired}});
  judge(r);
  CHECK(r.mx[0].grade.score == 100);
  CHECK(r.mx[1].grade.score == 92);
  CHECK(r.mx[2].grade.score == 75);
  CHECK(r.grade.score == 75);
  CHECK(to_string(r.grade.letter) == "B");
  CHECK(r.eligible == Eligibility::eligible);
  CHECK(r.mx[0].recommendations.empty());
  REQUIRE(r.mx[2].recommendations.size() == 1);
  CHECK(r.mx[2].recommendations[0].find("expired 2026-03-01") != std::string::npos);
  REQUIRE(r.mx[1].recommendations.size() == 1);
  CHECK(r.mx[1].recommendations[0].find("remove weak cipher suites") != std::string::npos);
}

TEST_CASE("judge: a provisional mark when anything is unknown", "[checker]") {
  AddressReport a = perfect();
  a.nist_r2 = Tri::unknown;
  DomainReport r = domain_with({{a}});
  judge(r);
  CHECK(r.grade.provisional);
  CHECK(r.eligible == Eligibility::eligible);
}

TEST_CASE("judge: A+ needs a perfect grade and MTA-STS enforce or DANE on every MX", "[checker]") {
  struct Case {
    std::string label;
    void (*mutate)(DomainReport&);
    std::string want_domain;
    std::vector<std::string> want_mx;
  };
  // Two perfect MX hosts; each case sets the authenticated-TLS facts.
  auto c = GENERATE(values<Case>({
      {"nothing authenticated", [](DomainReport&) {}, "A", {"A", "A"}},
      {"DANE on every MX",
       [](DomainReport& r) {
         r.dane = Tri::yes;
         r.mx[0].dane.match = r.mx[1].dane.match = Tri::yes;
       },
       "A+",
       {"A+", "A+"}},
      {"MTA-STS enforce covering every MX",
       [](DomainReport& r) { r.mta_sts_enforce = Tri::yes; },
       "A+",
       {"A+", "A+"}},
      {"MTA-STS not enforce, no DANE",
       [](DomainReport& r) {
         r.mta_sts_enforce = Tri::no;
         r.dane = Tri::no;
       },
       "A",
       {"A", "A"}},
      {"DANE on one MX only",
       [](DomainReport& r) {
         r.dane = Tri::no;
         r.mx[0].dane.match = Tri::yes;
         r.mx[1].dane.match = Tri::no;
       },
       "A",
       {"A+", "A"}},
      {"DANE and MTA-STS unknown",
       [](DomainReport& r) {
         r.dane = Tri::unknown;
         r.mta_sts_enforce = Tri::unknown;
         r.mx[0].dane.match = r.mx[1].dane.match = Tri::unknown;
       },
       "A",
       {"A", "A"}},
      {"DANE everywhere, one name mismatch (92)",
       [](DomainReport& r) {
         r.dane = Tri::yes;
         r.mx[0].dane.match = r.mx[1].dane.match = Tri::yes;
         r.mx[1].addresses[0].cert.name_match = Tri::no;
       },
       "A",
       {"A+", "A"}},
      {"MTA-STS enforce, one weak MX",
       [](DomainReport& r) {
         r.mta_sts_enforce = Tri::yes;
         r.mx[1].addresses[0].weak = Tri::yes;
         r.mx[1].addresses[0].nist_r2 = Tri::no;
       },
       "B",
       {"A+", "B"}},
      {"DANE everywhere, but an answer unknown (provisional)",
       [](DomainReport& r) {
         r.dane = Tri::yes;
         r.mx[0].dane.match = r.mx[1].dane.match = Tri::yes;
         r.mx[0].addresses[0].ssl3 = Tri::unknown;
       },
       "A",
       {"A", "A+"}},
      {"DANE everywhere, untrusted certificate (75)",
       [](DomainReport& r) {
         r.dane = Tri::yes;
         r.mx[0].dane.match = r.mx[1].dane.match = Tri::yes;
         r.mx[0].addresses[0].cert.trusted = Tri::no;
         r.mx[1].addresses[0].cert.trusted = Tri::no;
       },
       "B",
       {"B", "B"}},
  }));
  DomainReport r = domain_with({{perfect("192.0.2.10")}, {perfect("192.0.2.20")}});
  c.mutate(r);
  judge(r);
  std::vector<std::string> got_mx;
  for (const MxReport& mx : r.mx) {
    got_mx.push_back(std::string(to_string(mx.grade.letter)));
  }
  CAPTURE(c.label, to_string(r.grade.letter), got_mx, r.grade.score, r.grade.provisional);
  CHECK(to_string(r.grade.letter) == c.want_domain);
  CHECK(got_mx == c.want_mx);
  // DANE and MTA-STS lift the grade only; the Forced-TLS verdict (and so
  // forcetls-check's exit code) never looks at them.
  CHECK(r.eligible == Eligibility::eligible);
}

TEST_CASE("judge: DANE does not change the Forced-TLS verdict", "[checker]") {
  struct Case {
    std::string label;
    bool starttls;
    Tri dane;
    Eligibility want;
    std::string want_letter;
  };
  auto c = GENERATE(values<Case>({
      {"no STARTTLS, DANE claimed", false, Tri::yes, Eligibility::ineligible, "F"},
      {"good, DANE mismatch", true, Tri::no, Eligibility::eligible, "A"},
      {"good, DANE unknown", true, Tri::unknown, Eligibility::eligible, "A"},
  }));
  AddressReport a = perfect();
  if (!c.starttls) {
    a.starttls = Tri::no;
  }
  DomainReport r = domain_with({{a}});
  r.dane = c.dane;
  r.mx[0].dane.match = c.dane;
  r.mx[0].dane.usable = Tri::yes;
  judge(r);
  CAPTURE(c.label);
  CHECK(r.eligible == c.want);
  CHECK(to_string(r.grade.letter) == c.want_letter);
}

TEST_CASE("judge: a recommendation when TLSA records exist but do not authenticate", "[checker]") {
  struct Case {
    std::string label;
    DaneReport dane;
    std::string want;  // substring of the one DANE line; empty: none
  };
  auto c = GENERATE(values<Case>({
      {"no TLSA records", {{}, Tri::no, Tri::no, "no TLSA records"}, ""},
      {"matching", {{"3 1 1 ab"}, Tri::yes, Tri::yes, ""}, ""},
      {"not matching",
       {{"3 1 1 ab"}, Tri::yes, Tri::no, "certificate does not match TLSA 3 1 1 ab"},
       "fix the TLSA records at _25._tcp.mx1.example.test"},
      {"only unusable records",
       {{"1 1 1 ab"}, Tri::no, Tri::no, "no usable TLSA records"},
       "replace the TLSA records at _25._tcp.mx1.example.test with DANE-EE(3) or DANE-TA(2)"},
      {"unknown match", {{"3 1 1 ab"}, Tri::yes, Tri::unknown, "not verified"}, ""},
  }));
  DomainReport r = domain_with({{perfect()}});
  r.mx[0].dane = c.dane;
  judge(r);
  CAPTURE(c.label, r.mx[0].recommendations);
  std::vector<std::string> dane_lines;
  for (const std::string& line : r.mx[0].recommendations) {
    if (line.find("TLSA") != std::string::npos) {
      dane_lines.push_back(line);
    }
  }
  if (c.want.empty()) {
    CHECK(dane_lines.empty());
  } else {
    REQUIRE(dane_lines.size() == 1);
    CHECK(dane_lines[0].find(c.want) != std::string::npos);
  }
}
