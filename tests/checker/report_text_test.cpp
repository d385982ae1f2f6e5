// SPDX-License-Identifier: Apache-2.0
// Tests for checker/report/report_text: rows show their answer and their mark,
// domains without probed servers say "not graded", verdict and reasons shown.
#include "checker/report/report_text.hpp"

#include <catch2/catch.hpp>

#include "checker/report/judgement.hpp"

using namespace forcetls::checker;

namespace {

// Every answer known and what the grade wants; TLS 1.0 and 1.1 refused, as a
// well-run server of today answers.
AddressReport perfect() {
  AddressReport a;
  a.address = "192.0.2.1";
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
  a.cert.not_after = "2027-03-01T00:00:00Z";
  a.protocol = "TLSv1.3";
  a.cipher = "TLS_AES_256_GCM_SHA384";
  a.connections = 6;
  return a;
}

// One MX, mx1.p.test, with one address; no MTA-STS (no TXT) and DANE not
// applicable (insecure DNS), as for most domains.
DomainReport one_mx(const AddressReport& a) {
  DomainReport r;
  r.domain = "p.test";
  r.source = MxSource::mx;
  r.dnssec = DnssecStatus::insecure;
  REQUIRE(set_sts_error(r.mta_sts, "no-txt"));
  r.mta_sts_enforce = Tri::no;
  r.tlsrpt.error = "no-txt";
  MxReport mx;
  mx.host = "mx1.p.test";
  mx.priority = 10;
  mx.dnssec = DnssecStatus::insecure;
  mx.dane.usable = Tri::no;
  mx.dane.match = Tri::no;
  mx.dane.error = "not looked up: the MX answer is not DNSSEC-secure";
  mx.addresses.push_back(a);
  r.mx.push_back(mx);
  r.dane = Tri::no;
  judge(r);
  return r;
}

MxReport host(std::string name, DnssecStatus dnssec = DnssecStatus::insecure) {
  MxReport mx;
  mx.host = std::move(name);
  mx.priority = 10;
  mx.dnssec = dnssec;
  return mx;
}

bool has(const std::string& text, const std::string& want) {
  return text.find(want) != std::string::npos;
}

}  // namespace

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
  CHECK(has(text, "    ✔ SSL 3.0 accepted: no\n"));
  CHECK(has(text, "    ? TLS 1.1 accepted: unknown\n"));
  CHECK(has(text, "    ✘ STARTTLS and TLS handshake: no\n"));
  CHECK(has(text, "Verdict: NOT eligible"));
  CHECK(has(text, "no-starttls(mx2.mixed.test)"));
  CHECK(has(text, "enable STARTTLS"));
  CHECK(has(text, "\nGrade F (provisional: some answers unknown)  0/100\n"));
  CHECK(has(text, "  marks: ✔ good  ✘ to fix  · information  ? unknown\n"));
}

TEST_CASE("text report: a perfect server shows no failure mark", "[checker]") {
  std::string text = to_text(one_mx(perfect()));
  CAPTURE(text);
  // The legend names every mark; no other line may show ✘ or ?.
  const std::string legend = "  marks: ✔ good  ✘ to fix  · information  ? unknown\n";
  REQUIRE(has(text, legend));
  std::string rows = text;
  rows.erase(rows.find(legend), legend.size());
  CHECK(rows.find("✘") == std::string::npos);
  CHECK(rows.find("?") == std::string::npos);
  for (const char* want : {
           "  192.0.2.1:25  grade A  100/100  6 connections\n",
           "    ✔ STARTTLS and TLS handshake: yes\n",
           "    ✔ SSL 3.0 accepted: no\n",
           "    · TLS 1.0 accepted: no\n",
           "    · TLS 1.1 accepted: no\n",
           "    ✔ TLS 1.2 accepted: yes\n",
           "    ✔ TLS 1.3 accepted: yes\n",
           "    ✔ weak ciphers off: yes\n",
           "    ✔ NIST SP 800-52r1 cipher accepted: yes\n",
           "    ✔ NIST SP 800-52r2 cipher accepted: yes\n",
           "    ✔ certificate from a trusted CA: yes\n",
           "    ✔ certificate expired: no  (not after 2027-03-01T00:00:00Z)\n",
           "    ✔ certificate names match mx1.p.test: yes\n",
           "  MTA-STS · no policy (no-txt)\n",
           "  DANE · 0 TLSA records, usable no, match no (not looked up: ",
           "\nGrade A  100/100\nVerdict: ELIGIBLE for Forced TLS\n",
       }) {
    CHECK(has(text, want));
  }
}

TEST_CASE("text report: each row's mark follows the grade and the rule", "[checker]") {
  struct Case {
    const char* label;
    void (*mutate)(AddressReport&);
    const char* want;
  };
  auto c = GENERATE(values<Case>({
      {"TLS 1.0 refused, TLS 1.2 accepted: information", [](AddressReport&) {},
       "    · TLS 1.0 accepted: no\n"},
      {"TLS 1.0 accepted: information", [](AddressReport& a) { a.tls1_0 = Tri::yes; },
       "    · TLS 1.0 accepted: yes\n"},
      {"TLS 1.1 accepted: information", [](AddressReport& a) { a.tls1_1 = Tri::yes; },
       "    · TLS 1.1 accepted: yes\n"},
      {"TLS 1.3 refused: information, never a failure",
       [](AddressReport& a) { a.tls1_3 = Tri::no; }, "    · TLS 1.3 accepted: no\n"},
      {"SSL 3.0 accepted: bad", [](AddressReport& a) { a.ssl3 = Tri::yes; },
       "    ✘ SSL 3.0 accepted: yes\n"},
      {"TLS 1.2 refused: bad", [](AddressReport& a) { a.tls1_2 = Tri::no; },
       "    ✘ TLS 1.2 accepted: no\n"},
      {"TLS 1.0 and 1.2 refused: TLS 1.2 is the bad row",
       [](AddressReport& a) { a.tls1_2 = Tri::no; }, "    · TLS 1.0 accepted: no\n"},
      {"unknown: unknown", [](AddressReport& a) { a.tls1_2 = Tri::unknown; },
       "    ? TLS 1.2 accepted: unknown\n"},
      {"TLS 1.0 unknown: unknown", [](AddressReport& a) { a.tls1_0 = Tri::unknown; },
       "    ? TLS 1.0 accepted: unknown\n"},
      {"weak suites: bad, named",
       [](AddressReport& a) {
         a.weak = Tri::yes;
         a.weak_suites = {0x0004};
       },
       "    ✘ weak ciphers off: no  (accepted: TLS_RSA_WITH_RC4_128_MD5)\n"},
      {"no r1 suite: bad", [](AddressReport& a) { a.nist_r1 = Tri::no; },
       "    ✘ NIST SP 800-52r1 cipher accepted: no\n"},
      {"no r2 suite: bad", [](AddressReport& a) { a.nist_r2 = Tri::no; },
       "    ✘ NIST SP 800-52r2 cipher accepted: no\n"},
      {"untrusted: bad, with the error",
       [](AddressReport& a) {
         a.cert.trusted = Tri::no;
         a.cert.verify_error = "self-signed certificate";
       },
       "    ✘ certificate from a trusted CA: no  (self-signed certificate)\n"},
      {"expired: bad",
       [](AddressReport& a) {
         a.cert.expired = Tri::yes;
         a.cert.not_after = "2020-01-01T00:00:00Z";
       },
       "    ✘ certificate expired: yes  (not after 2020-01-01T00:00:00Z)\n"},
      {"name mismatch: bad", [](AddressReport& a) { a.cert.name_match = Tri::no; },
       "    ✘ certificate names match mx1.p.test: no\n"},
  }));
  INFO(c.label);
  AddressReport a = perfect();
  c.mutate(a);
  std::string text = to_text(one_mx(a));
  CAPTURE(text);
  CHECK(has(text, c.want));
}

TEST_CASE("text report: refusing TLS 1.0 and 1.1 costs no mark", "[checker]") {
  // The grade-A server of the issue: only its TLS 1.0 / 1.1 answers are "no".
  std::string text = to_text(one_mx(perfect()));
  CAPTURE(text);
  CHECK_FALSE(has(text, "✘ TLS 1.0"));
  CHECK_FALSE(has(text, "✘ TLS 1.1"));
  CHECK_FALSE(has(text, "✘ TLS 1.3"));
}

TEST_CASE("text report: domains whose servers were never probed are not graded", "[checker]") {
  struct Case {
    const char* label;
    DomainReport report;
    std::vector<std::string> want;
  };
  auto base = [](MxSource source) {
    DomainReport r;
    r.domain = "n.test";
    r.source = source;
    return r;
  };
  DomainReport bogus = base(MxSource::none);
  bogus.dnssec = DnssecStatus::bogus;
  bogus.dns_failure = UnknownCause::dnssec_bogus;
  bogus.dns_error = "DNSSEC bogus: signature expired";
  DomainReport null_mx = base(MxSource::null_mx);
  null_mx.dnssec = DnssecStatus::secure;
  DomainReport nxdomain = base(MxSource::none);
  nxdomain.dns_error = "domain n.test does not exist (NXDOMAIN)";
  DomainReport no_address = base(MxSource::mx);
  no_address.mx.push_back(host("mx1.n.test"));
  no_address.mx[0].dns_error = "mx1.n.test has no address records";
  DomainReport bogus_address = base(MxSource::mx);
  bogus_address.mx.push_back(host("mx1.n.test", DnssecStatus::bogus));
  bogus_address.mx[0].dns_error = "DNSSEC bogus: no signatures";
  bogus_address.mx[0].dns_failure = UnknownCause::dnssec_bogus;
  DomainReport private_only = base(MxSource::mx);
  private_only.mx.push_back(host("mx1.n.test"));
  private_only.mx[0].addresses.emplace_back();
  private_only.mx[0].addresses[0].address = "10.0.0.25";
  private_only.mx[0].addresses[0].probed = false;
  DomainReport silent = base(MxSource::mx);
  silent.mx.push_back(host("mx1.n.test"));
  silent.mx[0].addresses.emplace_back();
  silent.mx[0].addresses[0].address = "192.0.2.9";
  silent.mx[0].addresses[0].error = "connect: timed out";
  silent.mx[0].addresses[0].connections = 2;

  auto c = GENERATE_COPY(values<Case>({
      {"DNSSEC-bogus MX answer",
       bogus,
       {"  DNSSEC bogus; mail servers not known: a DNSSEC-bogus answer is not used\n",
        "  DNS: DNSSEC bogus: signature expired\n",
        "\nNot graded: the DNS answer is DNSSEC-bogus, so no server was probed\n",
        "Verdict: UNKNOWN (could not be determined)\n"}},
      {"null MX",
       null_mx,
       {"  DNSSEC secure; a null MX: the domain accepts no mail\n",
        "\nNot graded: the domain publishes a null MX: it accepts no mail\n",
        "Verdict: NOT eligible for Forced TLS\n", "  - null-mx: "}},
      {"NXDOMAIN",
       nxdomain,
       {"  DNSSEC indeterminate; no mail server found\n",
        "\nNot graded: no mail server: domain n.test does not exist (NXDOMAIN)\n",
        "Verdict: NOT eligible for Forced TLS\n", "  - no-mail-server: "}},
      {"no MX address",
       no_address,
       {"\nMX 10 mx1.n.test  (DNSSEC insecure)  not graded (no address record)\n",
        "\nNot graded: no server was graded (mx1.n.test: no address record)\n",
        "Verdict: NOT eligible for Forced TLS\n", "  - no-mx-address: "}},
      {"DNSSEC-bogus address answer",
       bogus_address,
       {"\nMX 10 mx1.n.test  (DNSSEC bogus)  not graded (address answer DNSSEC-bogus)\n",
        "\nNot graded: no server was graded (mx1.n.test: address answer DNSSEC-bogus)\n",
        "Verdict: UNKNOWN"}},
      {"only a private address",
       private_only,
       {"  10.0.0.25:25  not graded (not probed)  0 connections\n",
        "\nNot graded: no server was graded (mx1.n.test: no address probed: private or reserved "
        "range)\n",
        "Verdict: NOT eligible for Forced TLS\n"}},
      {"no answer at all",
       silent,
       {"  192.0.2.9:25  not graded (no answer)  2 connections\n",
        "\nNot graded: no server was graded (mx1.n.test: no address answered)\n",
        "Verdict: UNKNOWN"}},
  }));
  INFO(c.label);
  judge(c.report);
  std::string text = to_text(c.report);
  CAPTURE(text);
  for (const std::string& want : c.want) {
    CHECK(has(text, want));
  }
  CHECK_FALSE(has(text, "Grade "));
  CHECK_FALSE(has(text, "grade "));
  CHECK_FALSE(has(text, "/100"));
  CHECK_FALSE(has(text, "from nothing"));
}

TEST_CASE("text report: a host without address beside a graded one", "[checker]") {
  DomainReport r = one_mx(perfect());
  r.mx.push_back(host("mx2.p.test"));
  r.mx[1].priority = 20;
  r.mx[1].dns_error = "mx2.p.test has no address records";
  judge(r);
  std::string text = to_text(r);
  CAPTURE(text);
  CHECK(has(text, "\nMX 10 mx1.p.test  (DNSSEC insecure)  grade A  100/100\n"));
  CHECK(has(text, "\nMX 20 mx2.p.test  (DNSSEC insecure)  not graded (no address record)\n"));
  CHECK(has(text, "\nGrade A  100/100\n"));
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
       {"mx1.s.test", "mx2.s.test", "mx3.s.test"},
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
      {"testing: information",
       "testing",
       {"mx1.s.test", "mx2.s.test", "mx3.s.test"},
       "",
       Tri::no,
       {"MTA-STS · mode testing"}},
      {"404", "", {}, "http-status(404)", Tri::no, {"MTA-STS ✘ no policy (http-status(404))"}},
      {"timeout", "", {}, "timeout", Tri::unknown, {"MTA-STS ? no policy (timeout)"}},
  }));
  INFO(c.label);
  DomainReport r;
  r.domain = "s.test";
  r.source = MxSource::mx;
  for (const char* host : {"mx1.s.test", "mx2.s.test", "mx3.s.test"}) {
    MxReport m;
    m.host = host;
    r.mx.push_back(m);
  }
  r.mx[0].dane.tlsa = {"3 1 1 00ff"};
  r.mx[0].dane.usable = Tri::yes;
  r.mx[0].dane.match = Tri::yes;
  r.mx[2].dane.tlsa = {"3 1 1 00ff"};
  r.mx[2].dane.usable = Tri::yes;
  r.mx[2].dane.match = Tri::no;
  r.mx[2].dane.error = "certificate does not match";
  r.mta_sts.txt = "v=STSv1; id=A1";
  r.mta_sts.id = "A1";
  r.mta_sts.mode = sts_mode_from_string(c.mode);
  r.mta_sts.max_age = 86400;
  r.mta_sts.mx_patterns =
      c.mode.empty() ? std::vector<std::string>{} : std::vector<std::string>{"*.s.test"};
  r.mta_sts.mx_match = c.matched;
  REQUIRE(set_sts_error(r.mta_sts, c.error));
  r.mta_sts_enforce = c.enforce;
  r.tlsrpt.rua = {"mailto:r@s.test"};
  std::string text = to_text(r);
  CAPTURE(text);
  for (const std::string& want : c.want) {
    CHECK(has(text, want));
  }
  CHECK(has(text, "DANE ✔ 1 TLSA record, usable yes, match yes"));
  CHECK(has(text, "DANE ✘ 1 TLSA record, usable yes, match no (certificate does not match)"));
  // mx2 has no DANE facts at all: no line; mx3's records authenticate nothing.
  CHECK_FALSE(has(text, "DANE ?"));
}
