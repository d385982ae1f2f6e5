// Tests for cache/record: round trips of every field and strict rejection
// of damaged, foreign or over-limit records.
#include "cache/record.hpp"

#include <catch2/catch.hpp>

#include "cache_fixtures.hpp"

using namespace forcetls;
using namespace forcetls::cache;

namespace {

DomainRecord sample_domain() {
  DomainRecord d;
  d.domain = "example.test";
  d.checked_at = 1'700'000'000;
  d.stored_at = 1'700'000'005;
  d.expires_at = 1'700'086'400;
  d.dns_ttl = 300;
  d.ttl_class = TtlClass::ineligible;
  d.eligible = checker::Eligibility::ineligible;
  d.source = checker::MxSource::implicit;
  d.dnssec = checker::DnssecStatus::secure;
  d.dns_error = "SERVFAIL on AAAA";
  d.dns_failure = checker::UnknownCause::dnssec_bogus;
  d.mta_sts_enforce = checker::Tri::yes;
  d.dane = checker::Tri::no;
  MxEntry m;
  m.host = "mx1.example.test";
  m.priority = 65535;
  m.dnssec = checker::DnssecStatus::bogus;
  m.dns_error = "bogus";
  m.dns_failure = checker::UnknownCause::probe_failure;
  m.addresses = {{"192.0.2.1", 25}, {"2001:db8::1", 2525}};
  m.dane.tlsa = {"3 1 1 00ff", "2 0 1 abcd"};
  m.dane.usable = checker::Tri::yes;
  m.dane.match = checker::Tri::no;
  m.dane.error = "no record matches";
  d.mx.push_back(m);
  m.host = "mx2.example.test";
  m.addresses.clear();
  m.dane = {};
  d.mx.push_back(m);
  d.mta_sts.txt = "v=STSv1; id=A1";
  d.mta_sts.id = "A1";
  d.mta_sts.mode = "enforce";
  d.mta_sts.mx_patterns = {"*.example.test"};
  d.mta_sts.max_age = 31557600;
  d.mta_sts.mx_match = {"mx1.example.test"};
  d.mta_sts.fetched_at = 1'700'000'001;
  d.mta_sts.error = "timeout; the cached policy fetched at 1700000001 applies";
  d.tlsrpt.txt = "v=TLSRPTv1; rua=mailto:r@example.test";
  d.tlsrpt.rua = {"mailto:r@example.test", "https://r.example.test/"};
  d.tlsrpt.error = "";
  return d;
}

AddressRecord sample_address() {
  AddressRecord a;
  a.checked_at = -5;  // negative numbers survive zigzag
  a.expires_at = INT64_MAX;
  a.ttl_class = TtlClass::good;
  a.report = test::good_address("192.0.2.1");
  a.report.port = 587;
  a.report.weak = checker::Tri::yes;
  a.report.weak_suites = {0x0005, 0xC011, 0xFFFF};
  a.report.cert.not_after_unix = INT64_MIN;
  a.report.cert.verify_error = "unable to get local issuer certificate";
  a.report.probed = false;
  a.report.error = "reset after STARTTLS";
  a.report.notes = {"banner before EHLO", "two 220 lines"};
  a.report.connections = 1 << 20;
  return a;
}

}  // namespace

TEST_CASE("record: domain record round trip keeps every field", "[cache]") {
  DomainRecord d = sample_domain();
  auto bytes = encode(d);
  REQUIRE(bytes);
  CHECK(static_cast<std::uint8_t>((*bytes)[0]) == kRecordMagic);
  CHECK((*bytes)[1] == 'D');
  CHECK(static_cast<std::uint8_t>((*bytes)[2]) == kRecordVersion);
  auto back = decode_domain(*bytes);
  REQUIRE(back);
  CHECK(back->domain == d.domain);
  CHECK(back->checked_at == d.checked_at);
  CHECK(back->stored_at == d.stored_at);
  CHECK(back->expires_at == d.expires_at);
  CHECK(back->dns_ttl == d.dns_ttl);
  CHECK(back->ttl_class == d.ttl_class);
  CHECK(back->eligible == d.eligible);
  CHECK(back->source == d.source);
  CHECK(back->dnssec == d.dnssec);
  CHECK(back->dns_error == d.dns_error);
  CHECK(back->dns_failure == d.dns_failure);
  CHECK(back->mta_sts_enforce == d.mta_sts_enforce);
  CHECK(back->dane == d.dane);
  REQUIRE(back->mx.size() == 2);
  CHECK(back->mx[0].host == "mx1.example.test");
  CHECK(back->mx[0].priority == 65535);
  CHECK(back->mx[0].dnssec == checker::DnssecStatus::bogus);
  CHECK(back->mx[0].dns_error == "bogus");
  CHECK(back->mx[0].dns_failure == checker::UnknownCause::probe_failure);
  REQUIRE(back->mx[0].addresses.size() == 2);
  CHECK(back->mx[0].addresses[1].address == "2001:db8::1");
  CHECK(back->mx[0].addresses[1].port == 2525);
  CHECK(back->mx[1].addresses.empty());
  CHECK(back->mx[0].dane.tlsa == d.mx[0].dane.tlsa);
  CHECK(back->mx[0].dane.usable == checker::Tri::yes);
  CHECK(back->mx[0].dane.match == checker::Tri::no);
  CHECK(back->mx[0].dane.error == "no record matches");
  CHECK(back->mx[1].dane.tlsa.empty());
  CHECK(back->mta_sts.txt == d.mta_sts.txt);
  CHECK(back->mta_sts.id == "A1");
  CHECK(back->mta_sts.mode == "enforce");
  CHECK(back->mta_sts.mx_patterns == d.mta_sts.mx_patterns);
  CHECK(back->mta_sts.max_age == 31557600);
  CHECK(back->mta_sts.mx_match == d.mta_sts.mx_match);
  CHECK(back->mta_sts.fetched_at == d.mta_sts.fetched_at);
  CHECK(back->mta_sts.error == d.mta_sts.error);
  CHECK(back->tlsrpt.txt == d.tlsrpt.txt);
  CHECK(back->tlsrpt.rua == d.tlsrpt.rua);
  // Encoding is deterministic: the same record gives the same bytes.
  CHECK(*encode(*back) == *bytes);
}

TEST_CASE("record: address record round trip keeps every field", "[cache]") {
  AddressRecord a = sample_address();
  auto bytes = encode(a);
  REQUIRE(bytes);
  auto back = decode_address(*bytes);
  REQUIRE(back);
  const checker::AddressReport& want = a.report;
  const checker::AddressReport& got = back->report;
  CHECK(back->checked_at == -5);
  CHECK(back->expires_at == INT64_MAX);
  CHECK(back->ttl_class == TtlClass::good);
  CHECK(got.address == want.address);
  CHECK(got.port == 587);
  CHECK(got.probed == false);
  CHECK(got.starttls == want.starttls);
  CHECK(got.ssl3 == want.ssl3);
  CHECK(got.tls1_0 == want.tls1_0);
  CHECK(got.tls1_1 == want.tls1_1);
  CHECK(got.tls1_2 == want.tls1_2);
  CHECK(got.tls1_3 == want.tls1_3);
  CHECK(got.weak == checker::Tri::yes);
  CHECK(got.weak_suites == want.weak_suites);
  CHECK(got.nist_r1 == want.nist_r1);
  CHECK(got.nist_r2 == want.nist_r2);
  CHECK(got.protocol == want.protocol);
  CHECK(got.cipher == want.cipher);
  CHECK(got.cert.trusted == want.cert.trusted);
  CHECK(got.cert.expired == want.cert.expired);
  CHECK(got.cert.name_match == want.cert.name_match);
  CHECK(got.cert.cn == want.cert.cn);
  CHECK(got.cert.sans == want.cert.sans);
  CHECK(got.cert.issuer == want.cert.issuer);
  CHECK(got.cert.not_after == want.cert.not_after);
  CHECK(got.cert.not_after_unix == INT64_MIN);
  CHECK(got.cert.verify_error == want.cert.verify_error);
  CHECK(got.connections == 1 << 20);
  CHECK(got.error == want.error);
  CHECK(got.notes == want.notes);
  CHECK(*encode(*back) == *bytes);
}

TEST_CASE("record: every truncation of a record is rejected", "[cache]") {
  std::string d = *encode(sample_domain());
  std::string a = *encode(sample_address());
  for (std::size_t n = 0; n < d.size(); ++n) {
    INFO("domain prefix " << n);
    CHECK_FALSE(decode_domain(d.substr(0, n)));
  }
  for (std::size_t n = 0; n < a.size(); ++n) {
    INFO("address prefix " << n);
    CHECK_FALSE(decode_address(a.substr(0, n)));
  }
}

TEST_CASE("record: damaged headers and fields are errors naming the problem", "[cache]") {
  const std::string good = *encode(sample_domain());
  struct Case {
    std::string label;
    std::string bytes;
    std::string want;  // substring of the error
  };
  auto with = [&](std::size_t at, char c) {
    std::string s = good;
    s[at] = c;
    return s;
  };
  // Offsets: 3 header bytes, then the domain string (1 length byte + 12),
  // then checked_at as a varint.
  const std::size_t first_enum = [&] {
    // ttl_class follows domain, 3 zigzag times and dns_ttl: find it by
    // encoding a record that differs only there.
    DomainRecord other = sample_domain();
    other.ttl_class = TtlClass::good;
    std::string o = *encode(other);
    for (std::size_t i = 0; i < o.size(); ++i) {
      if (o[i] != good[i]) {
        return i;
      }
    }
    return std::size_t{0};
  }();
  REQUIRE(first_enum > 3);
  auto c = GENERATE_COPY(values<Case>({
      {"empty", "", "shorter than its header"},
      {"foreign magic", with(0, 'x'), "not a forcetls cache record"},
      {"address kind", with(1, 'A'), "another kind"},
      {"future version", with(2, static_cast<char>(kRecordVersion + 1)), "record version"},
      {"trailing byte", good + "x", "trailing bytes"},
      {"enum out of range", with(first_enum, 9), "bad TTL class"},
      {"string longer than the record", with(3, static_cast<char>(0xFF)), "string length"},
  }));
  INFO(c.label);
  auto r = decode_domain(c.bytes);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::protocol);
  CHECK_THAT(r.error().message, Catch::Contains(c.want));
}

TEST_CASE("record: lying counts and overlong numbers are refused before allocating", "[cache]") {
  // Header, empty domain, then numbers; a count of 2^60 MX hosts.
  std::string s = {static_cast<char>(kRecordMagic), 'D', static_cast<char>(kRecordVersion), 0};
  for (int i = 0; i < 4; ++i) {
    s.push_back(0);  // checked_at, stored_at, expires_at, dns_ttl
  }
  s += std::string{0, 0, 0, 0};  // ttl class, eligible, source, dnssec
  s.push_back(0);                // dns_error ""
  s += std::string{0, 0, 0};     // dns_failure, mta_sts, dane
  std::string huge = s;
  for (int i = 0; i < 8; ++i) {
    huge.push_back(static_cast<char>(0xFF));
  }
  huge.push_back(0x0F);
  auto r = decode_domain(huge);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains("too many MX hosts"));

  std::string eleven = s;
  for (int i = 0; i < 10; ++i) {
    eleven.push_back(static_cast<char>(0x80));
  }
  eleven.push_back(0);
  r = decode_domain(eleven);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains("number"));

  std::string zero = s;
  zero.push_back(0);  // no MX hosts
  // Version 2: empty MTA-STS (txt, id, mode, patterns, max_age, matched,
  // fetched_at, error) and TLSRPT (txt, rua, error): a valid record.
  CHECK_FALSE(decode_domain(zero));
  zero += std::string(11, '\0');
  CHECK(decode_domain(zero));
}

TEST_CASE("record: the encoder refuses what the decoder would refuse", "[cache]") {
  DomainRecord d = sample_domain();
  d.dns_error.assign(kMaxString + 1, 'x');
  auto r = encode(d);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::invalid_argument);

  d = sample_domain();
  d.mx.resize(kMaxMx + 1);
  CHECK_FALSE(encode(d));

  AddressRecord a = sample_address();
  a.report.notes.assign(kMaxList + 1, "n");
  CHECK_FALSE(encode(a));

  a = sample_address();
  a.report.cert.sans.assign(kMaxList, "x");  // at the limit: fine
  auto ok = encode(a);
  REQUIRE(ok);
  CHECK(decode_address(*ok));
}

TEST_CASE("record: record_kind reads the header", "[cache]") {
  CHECK(*record_kind(*encode(sample_domain())) == RecordKind::domain);
  CHECK(*record_kind(*encode(sample_address())) == RecordKind::address);
  CHECK_FALSE(record_kind("{\"format\":1}"));
  CHECK_FALSE(record_kind(std::string{static_cast<char>(kRecordMagic), 'Z', 1}));
}

TEST_CASE("record: a version 1 domain record (before MTA-STS and DANE) is still read", "[cache]") {
  // The version 1 layout: header, the domain fields, the MX list without
  // DANE facts, nothing after it.
  std::string v1 = {static_cast<char>(kRecordMagic), 'D', 1};
  v1 += std::string{12} + "example.test";
  v1 += std::string(4, '\0');          // checked_at, stored_at, expires_at, dns_ttl
  v1 += std::string{2, 1, 0, 1};       // ttl class, eligible, source, dnssec
  v1.push_back(0);                     // dns_error ""
  v1 += std::string{0, 1, 2};          // dns_failure, mta_sts_enforce yes, dane no
  v1.push_back(1);                     // one MX host
  v1 += std::string{7} + "mx.test";    // host
  v1 += std::string{10, 2, 0, 0};      // priority, dnssec, dns_error, dns_failure
  v1.push_back(1);                     // one address
  v1 += std::string{9} + "192.0.2.1";  // address
  v1.push_back(25);                    // port
  auto d = decode_domain(v1);
  REQUIRE(d);
  CHECK(d->domain == "example.test");
  CHECK(d->mta_sts_enforce == checker::Tri::yes);
  REQUIRE(d->mx.size() == 1);
  CHECK(d->mx[0].host == "mx.test");
  CHECK(d->mx[0].addresses[0].port == 25);
  CHECK(d->mx[0].dane.tlsa.empty());
  CHECK(d->mta_sts.mode.empty());
  CHECK(d->tlsrpt.rua.empty());
  // Version 0 never existed: an error, which the store counts as a miss.
  v1[2] = 0;
  CHECK_FALSE(decode_domain(v1));
  // A version 1 address record is the same layout as version 2.
  std::string a = *encode(sample_address());
  a[2] = 1;
  CHECK(decode_address(a));
}
