// SPDX-License-Identifier: Apache-2.0
// Tests for checker/dns/dns_record: rdata and message parsing from wire bytes.
#include "checker/dns/dns_record.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

using namespace forcetls::checker;

namespace {

using Bytes = std::vector<std::uint8_t>;

/// Wire form of a presentation name ("mx.example.com" -> 2mx7example3com0).
Bytes wire(const std::string& name) {
  Bytes out;
  std::size_t start = 0;
  while (start < name.size()) {
    auto dot = name.find('.', start);
    if (dot == std::string::npos) {
      dot = name.size();
    }
    out.push_back(static_cast<std::uint8_t>(dot - start));
    out.insert(out.end(), name.begin() + static_cast<long>(start),
               name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  out.push_back(0);
  return out;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) {
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

struct MxCase {
  const char* label;
  Bytes rdata;
  bool ok;
  std::uint16_t preference;
  std::string exchange;  ///< or error fragment
};

}  // namespace

TEST_CASE("MX rdata", "[checker]") {
  const MxCase c = GENERATE(values<MxCase>({
      {"ordinary", cat({{0x00, 0x0a}, wire("mx.example.com")}), true, 10, "mx.example.com"},
      {"upper case lowered", cat({{0x00, 0x14}, wire("MX2.Example.COM")}), true, 20,
       "mx2.example.com"},
      {"null MX", {0x00, 0x00, 0x00}, true, 0, "."},
      {"max preference", cat({{0xff, 0xff}, wire("a.b")}), true, 65535, "a.b"},
      {"odd bytes escaped", cat({{0x00, 0x01}, {0x03, 'a', '.', 0x07, 0x01, 'b', 0x00}}), true, 1,
       "a\\.\\007.b"},
      {"too short", {0x00, 0x0a}, false, 0, "shorter than 3"},
      {"name past the end", {0x00, 0x0a, 0x05, 'a', 'b'}, false, 0, "past the end"},
      {"no root label", {0x00, 0x0a, 0x01, 'a'}, false, 0, "past the end"},
      {"trailing bytes", cat({{0x00, 0x0a}, wire("a.b"), {0x00}}), false, 0, "trailing"},
      {"compression pointer", {0x00, 0x0a, 0xc0, 0x00}, false, 0, "compression pointer"},
      {"extended label type", {0x00, 0x0a, 0x41, 0x00}, false, 0, "label type"},
  }));
  INFO(c.label);
  auto got = parse_mx_rdata(c.rdata);
  REQUIRE(got.has_value() == c.ok);
  if (c.ok) {
    CHECK(got->preference == c.preference);
    CHECK(got->exchange == c.exchange);
    CHECK(got->is_null() == (c.exchange == "."));
  } else {
    CHECK(got.error().code == forcetls::Errc::protocol);
    CHECK_THAT(got.error().message, Catch::Contains(c.exchange));
  }
}

TEST_CASE("wire names longer than 255 octets are rejected", "[checker]") {
  Bytes name;
  for (int i = 0; i < 5; ++i) {  // 5 x (1 + 63) = 320 octets
    name.push_back(63);
    name.insert(name.end(), 63, 'a');
  }
  name.push_back(0);
  std::size_t offset = 0;
  auto got = parse_wire_name(name, offset);
  REQUIRE_FALSE(got.has_value());
  CHECK_THAT(got.error().message, Catch::Contains("255"));

  // Exactly 255: 3 x 64 + 62 + 1 = 255 octets.
  Bytes max;
  for (int i = 0; i < 3; ++i) {
    max.push_back(63);
    max.insert(max.end(), 63, 'a');
  }
  max.push_back(61);
  max.insert(max.end(), 61, 'b');
  max.push_back(0);
  REQUIRE(max.size() == 255);
  offset = 0;
  auto ok = parse_wire_name(max, offset);
  REQUIRE(ok.has_value());
  CHECK(offset == 255);
}

TEST_CASE("A and AAAA rdata", "[checker]") {
  CHECK(parse_a_rdata(Bytes{192, 0, 2, 1}).value().to_string() == "192.0.2.1");
  CHECK_FALSE(parse_a_rdata(Bytes{192, 0, 2}).has_value());
  CHECK_FALSE(parse_a_rdata(Bytes{192, 0, 2, 1, 0}).has_value());
  Bytes v6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
  CHECK(parse_aaaa_rdata(v6).value().to_string() == "2001:db8::1");
  v6.pop_back();
  CHECK_FALSE(parse_aaaa_rdata(v6).has_value());
  CHECK_FALSE(parse_aaaa_rdata(Bytes{}).has_value());
}

TEST_CASE("CNAME rdata", "[checker]") {
  CHECK(parse_cname_rdata(wire("Target.Example")).value() == "target.example");
  CHECK_FALSE(parse_cname_rdata(Bytes{0x03, 'a'}).has_value());
  CHECK_FALSE(parse_cname_rdata(cat({wire("a.b"), {0x01}})).has_value());
}

TEST_CASE("TXT rdata", "[checker]") {
  auto two = parse_txt_rdata(Bytes{3, 'v', '=', 'S', 4, 'T', 'S', 'v', '1'});
  REQUIRE(two.has_value());
  CHECK(two->strings == std::vector<std::string>{"v=S", "TSv1"});
  CHECK(two->joined() == "v=STSv1");
  auto empty_string = parse_txt_rdata(Bytes{0});
  REQUIRE(empty_string.has_value());
  CHECK(empty_string->strings == std::vector<std::string>{""});
  CHECK(parse_txt_rdata(Bytes{}).value().strings.empty());
  auto binary = parse_txt_rdata(Bytes{2, 0x00, 0xff});
  REQUIRE(binary.has_value());
  CHECK(binary->strings.front() == std::string("\0\xff", 2));
  CHECK_FALSE(parse_txt_rdata(Bytes{5, 'a', 'b'}).has_value());
  CHECK_FALSE(parse_txt_rdata(Bytes{1, 'a', 1}).has_value());
}

TEST_CASE("TLSA rdata and its usability for SMTP", "[checker]") {
  Bytes sha256(32, 0xab);
  auto rec = parse_tlsa_rdata(cat({{3, 1, 1}, sha256}));
  REQUIRE(rec.has_value());
  CHECK(rec->usage == 3);
  CHECK(rec->selector == 1);
  CHECK(rec->matching_type == 1);
  CHECK(rec->data == sha256);
  CHECK(rec->usable_for_smtp());

  struct Usable {
    Bytes rdata;
    bool usable;
  };
  const Usable u = GENERATE_COPY(values<Usable>({
      {cat({{2, 0, 1}, Bytes(32, 1)}), true},   // DANE-TA, full cert, SHA2-256
      {cat({{3, 1, 2}, Bytes(64, 1)}), true},   // DANE-EE, SPKI, SHA2-512
      {cat({{3, 0, 0}, Bytes(300, 1)}), true},  // DANE-EE, full cert
      {cat({{0, 0, 1}, Bytes(32, 1)}), false},  // PKIX-TA: not for SMTP (RFC 7672)
      {cat({{1, 1, 1}, Bytes(32, 1)}), false},  // PKIX-EE
      {cat({{3, 1, 1}, Bytes(31, 1)}), false},  // short digest
      {cat({{3, 2, 1}, Bytes(32, 1)}), false},  // unknown selector
      {cat({{3, 1, 3}, Bytes(32, 1)}), false},  // unknown matching type
      {Bytes{3, 1, 0}, false},                  // no data
  }));
  auto parsed = parse_tlsa_rdata(u.rdata);
  REQUIRE(parsed.has_value());
  CHECK(parsed->usable_for_smtp() == u.usable);

  CHECK_FALSE(parse_tlsa_rdata(Bytes{3, 1}).has_value());
}

namespace {

// A response to "alias.example. IN MX" as a server sends it, with
// compression: alias.example CNAME mail.example; mail.example MX 10 mx.mail.example.
const Bytes kCnameResponse = {
    0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,  // header
    // question at 12: alias.example MX IN
    0x05, 'a', 'l', 'i', 'a', 's', 0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0x00, 0x00, 0x0f, 0x00,
    0x01,
    // answer 1: ptr(12) CNAME IN ttl 300, rdlength 7: "mail" + ptr(18 = "example")
    0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x07, 0x04, 'm', 'a', 'i',
    'l', 0xc0, 0x12,
    // answer 2: ptr(43 = "mail.example") MX IN ttl 300, rdlength 7: 10, "mx" + ptr(43)
    0xc0, 0x2b, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x07, 0x00, 0x0a, 0x02, 'm',
    'x', 0xc0, 0x2b};

}  // namespace

TEST_CASE("DNS message with compression", "[checker]") {
  auto msg = parse_message(kCnameResponse);
  REQUIRE(msg.has_value());
  CHECK(msg->id == 0x1234);
  CHECK(msg->rcode == 0);
  REQUIRE(msg->answers.size() == 2);
  CHECK(msg->answers[0].owner == "alias.example");
  CHECK(msg->answers[0].type == 5);
  CHECK(msg->answers[0].ttl == 300);
  CHECK(msg->answers[1].owner == "mail.example");
  CHECK(msg->answers[1].type == 15);
  std::size_t at = msg->answers[1].rdata_offset + 2;
  CHECK(parse_message_name(kCnameResponse, at).value() == "mx.mail.example");
  CHECK(at == msg->answers[1].rdata_offset + msg->answers[1].rdata_length);

  CHECK(cname_chain(kCnameResponse, "ALIAS.example.") == std::vector<std::string>{"mail.example"});
  CHECK(cname_chain(kCnameResponse, "mail.example").empty());
}

TEST_CASE("DNS message parser refuses hostile input", "[checker]") {
  struct Hostile {
    const char* label;
    Bytes message;
  };
  Bytes self_pointer = kCnameResponse;
  self_pointer[32] = 31;  // answer 1 owner: pointer to itself
  Bytes forward_pointer = kCnameResponse;
  forward_pointer[32] = 60;  // answer 1 owner: pointer forward
  Bytes long_rdata = kCnameResponse;
  long_rdata[41] = 0x40;  // answer 1 rdlength 0x0007 -> 0x4007
  Bytes many_answers = kCnameResponse;
  many_answers[7] = 0xff;  // ancount 255
  const Hostile h = GENERATE_COPY(values<Hostile>({
      {"short header", Bytes{0x12, 0x34, 0x81}},
      {"pointer to itself", self_pointer},
      {"forward pointer", forward_pointer},
      {"rdata past the end", long_rdata},
      {"more answers than bytes", many_answers},
      {"truncated", Bytes(kCnameResponse.begin(), kCnameResponse.begin() + 50)},
  }));
  INFO(h.label);
  auto got = parse_message(h.message);
  CHECK_FALSE(got.has_value());
  CHECK(cname_chain(h.message, "alias.example").empty());
}

TEST_CASE("cname_chain stops at a loop", "[checker]") {
  // a.x CNAME b.x; b.x CNAME a.x (question a.x CNAME)
  Bytes m = {0, 1, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0};
  const Bytes q = cat({wire("a.x"), {0, 5, 0, 1}});
  m.insert(m.end(), q.begin(), q.end());
  const Bytes rr1 = cat({wire("a.x"), {0, 5, 0, 1, 0, 0, 0, 60, 0, 5}, wire("b.x")});
  const Bytes rr2 = cat({wire("b.x"), {0, 5, 0, 1, 0, 0, 0, 60, 0, 5}, wire("a.x")});
  m.insert(m.end(), rr1.begin(), rr1.end());
  m.insert(m.end(), rr2.begin(), rr2.end());
  CHECK(cname_chain(m, "a.x") == std::vector<std::string>{"b.x", "a.x"});
}

TEST_CASE("type and rcode names", "[checker]") {
  CHECK(type_name(DnsType::tlsa) == "TLSA");
  CHECK(type_name(static_cast<DnsType>(99)) == "TYPE99");
  CHECK(rcode_name(rcode::servfail) == "SERVFAIL");
  CHECK(rcode_name(9) == "RCODE9");
}

namespace {

// Responses captured from the lab's unbound (tests/lab, udp 127.0.0.1:53) with a
// plain RD query; the bytes as they came off the wire.
// mx.cnamemx.test A: CNAME host.cnamemx.test, A 127.0.0.32
const Bytes kCapturedCnameA = {
    0x42, 0x42, 0x81, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x6d,
    0x78, 0x07, 0x63, 0x6e, 0x61, 0x6d, 0x65, 0x6d, 0x78, 0x04, 0x74, 0x65, 0x73, 0x74,
    0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01,
    0x2c, 0x00, 0x07, 0x04, 0x68, 0x6f, 0x73, 0x74, 0xc0, 0x0f, 0xc0, 0x2d, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x04, 0x7f, 0x00, 0x00, 0x20,
};
// good.test MX: 10 mx1.good.test, 20 mx2.good.test (compressed rdata)
const Bytes kCapturedGoodMx = {
    0x42, 0x42, 0x81, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x04, 0x67,
    0x6f, 0x6f, 0x64, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x0f, 0x00, 0x01, 0xc0,
    0x0c, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x01, 0x29, 0x00, 0x08, 0x00, 0x0a, 0x03,
    0x6d, 0x78, 0x31, 0xc0, 0x0c, 0xc0, 0x0c, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x01,
    0x29, 0x00, 0x08, 0x00, 0x14, 0x03, 0x6d, 0x78, 0x32, 0xc0, 0x0c,
};
// _25._tcp.mx.signed.test TLSA 3 1 1 <sha256>
const Bytes kCapturedTlsa = {
    0x42, 0x42, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x03, 0x5f, 0x32,
    0x35, 0x04, 0x5f, 0x74, 0x63, 0x70, 0x02, 0x6d, 0x78, 0x06, 0x73, 0x69, 0x67, 0x6e, 0x65,
    0x64, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x34, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x34,
    0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x23, 0x03, 0x01, 0x01, 0x37, 0x40, 0xe9, 0x5d,
    0x06, 0xcc, 0x4b, 0xf7, 0xcf, 0x39, 0xb5, 0xdf, 0x7a, 0x00, 0x79, 0x95, 0xd4, 0xae, 0x0d,
    0x65, 0xd0, 0x38, 0x53, 0x07, 0x7b, 0x41, 0x0b, 0xf6, 0x19, 0xa7, 0x3e, 0xa9,
};
// nullmx.test MX 0 .
const Bytes kCapturedNullMx = {
    0x42, 0x42, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x06, 0x6e, 0x75,
    0x6c, 0x6c, 0x6d, 0x78, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x0f, 0x00, 0x01, 0xc0,
    0x0c, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x03, 0x00, 0x00, 0x00,
};

/// The rdata of answer `i` of a parsed message.
std::span<const std::uint8_t> rdata_of(const Bytes& msg, const WireRecord& rr) {
  return std::span<const std::uint8_t>(msg).subspan(rr.rdata_offset, rr.rdata_length);
}

}  // namespace

TEST_CASE("captured lab responses", "[checker]") {
  SECTION("CNAME then A") {
    auto msg = parse_message(kCapturedCnameA);
    REQUIRE(msg.has_value());
    CHECK(msg->rcode == rcode::noerror);
    REQUIRE(msg->answers.size() == 2);
    CHECK(msg->answers[0].owner == "mx.cnamemx.test");
    CHECK(msg->answers[0].type == static_cast<std::uint16_t>(DnsType::cname));
    CHECK(msg->answers[1].owner == "host.cnamemx.test");
    CHECK(parse_a_rdata(rdata_of(kCapturedCnameA, msg->answers[1])).value().to_string() ==
          "127.0.0.32");
    CHECK(cname_chain(kCapturedCnameA, "mx.cnamemx.test") ==
          std::vector<std::string>{"host.cnamemx.test"});
  }
  SECTION("MX with compressed exchange names") {
    auto msg = parse_message(kCapturedGoodMx);
    REQUIRE(msg.has_value());
    REQUIRE(msg->answers.size() == 2);
    std::vector<std::string> hosts;
    for (const auto& rr : msg->answers) {
      CHECK(rr.type == static_cast<std::uint16_t>(DnsType::mx));
      // Servers compress MX rdata; libunbound hands it over decompressed, which
      // is what parse_mx_rdata expects, so here the message reader is used.
      CHECK_FALSE(parse_mx_rdata(rdata_of(kCapturedGoodMx, rr)).has_value());
      std::size_t at = rr.rdata_offset + 2;
      hosts.push_back(parse_message_name(kCapturedGoodMx, at).value());
    }
    CHECK(hosts == std::vector<std::string>{"mx1.good.test", "mx2.good.test"});
    CHECK(cname_chain(kCapturedGoodMx, "good.test").empty());
  }
  SECTION("TLSA") {
    auto msg = parse_message(kCapturedTlsa);
    REQUIRE(msg.has_value());
    REQUIRE(msg->answers.size() == 1);
    auto tlsa = parse_tlsa_rdata(rdata_of(kCapturedTlsa, msg->answers[0]));
    REQUIRE(tlsa.has_value());
    CHECK(tlsa->usage == 3);
    CHECK(tlsa->selector == 1);
    CHECK(tlsa->matching_type == 1);
    CHECK(tlsa->data.size() == 32);
    CHECK(tlsa->data.front() == 0x37);
    CHECK(tlsa->usable_for_smtp());
  }
  SECTION("null MX") {
    auto msg = parse_message(kCapturedNullMx);
    REQUIRE(msg.has_value());
    REQUIRE(msg->answers.size() == 1);
    auto mx = parse_mx_rdata(rdata_of(kCapturedNullMx, msg->answers[0]));
    REQUIRE(mx.has_value());
    CHECK(mx->is_null());
    CHECK(mx->preference == 0);
  }
}
