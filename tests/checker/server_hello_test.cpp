// SPDX-License-Identifier: Apache-2.0
// Tests for checker/wire/server_hello: captured answers of a real OpenSSL server
// (hex below, from tls_test_server runs), hand-made hostile inputs, every input
// fed whole, byte by byte and at random split points, and the classification.
#include "checker/wire/server_hello.hpp"

#include <catch2/catch.hpp>
#include <random>
#include <string>

using namespace forcetls::checker;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes hex(std::string_view h) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) {
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

Bytes record(std::uint8_t type, std::uint16_t version, const Bytes& payload) {
  Bytes r = {type, static_cast<std::uint8_t>(version >> 8), static_cast<std::uint8_t>(version),
             static_cast<std::uint8_t>(payload.size() >> 8),
             static_cast<std::uint8_t>(payload.size())};
  r.insert(r.end(), payload.begin(), payload.end());
  return r;
}

Bytes handshake(std::uint8_t type, const Bytes& body) {
  Bytes m = {type, static_cast<std::uint8_t>(body.size() >> 16),
             static_cast<std::uint8_t>(body.size() >> 8), static_cast<std::uint8_t>(body.size())};
  m.insert(m.end(), body.begin(), body.end());
  return m;
}

struct ShSpec {
  std::uint16_t version = 0x0303;
  std::uint16_t suite = 0xC02F;
  std::uint8_t sid_len = 0;
  std::uint8_t compression = 0;
  Bytes extensions = {};  // the extension list, without its length
  bool extensions_block = false;
  std::uint8_t random_byte = 0x11;
};

Bytes sh_body(const ShSpec& s) {
  Bytes b = {static_cast<std::uint8_t>(s.version >> 8), static_cast<std::uint8_t>(s.version)};
  b.insert(b.end(), 32, s.random_byte);
  b.push_back(s.sid_len);
  b.insert(b.end(), s.sid_len, 0xAB);
  b.push_back(static_cast<std::uint8_t>(s.suite >> 8));
  b.push_back(static_cast<std::uint8_t>(s.suite));
  b.push_back(s.compression);
  if (s.extensions_block || !s.extensions.empty()) {
    b.push_back(static_cast<std::uint8_t>(s.extensions.size() >> 8));
    b.push_back(static_cast<std::uint8_t>(s.extensions.size()));
    b.insert(b.end(), s.extensions.begin(), s.extensions.end());
  }
  return b;
}

Bytes sh_record(const ShSpec& s) { return record(22, 0x0303, handshake(2, sh_body(s))); }

// Captured from OpenSSL 3.0 servers answering build_client_hello() output
// (first record only; the random of the hello was 0x5A bytes).
// TLS 1.2, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, max version 1.2.
const Bytes kTls12 =
    hex("1603030059020000550303d792bf2e0984d023e8ea0296df64a2dc296f5c892816135667f1436154dcd23b20"
        "0ec0ca960045700a7de48617c82d2ed7f5e8dc55c80394ee6ad9ca7bb609d9a7c02f00000dff01000100000b"
        "000403000102");
// The same from a TLS 1.3-capable server: random ends in "DOWNGRD\x01".
const Bytes kTls12Downgrade =
    hex("1603030059020000550303dcffb8470f4088c553c7993e694f7b8106f868cc84a2dd65444f574e4752440120"
        "bde781efe018a65c783e1e967405b624cb939e9e16520b4b3c7b387ba3183eefc02f00000dff01000100000b"
        "000403000102");
// TLS 1.0 only server, TLS_RSA_WITH_AES_128_CBC_SHA.
const Bytes kTls10 =
    hex("16030100510200004d03016716f20ecd2b180a0cd2aab0584a75dc03956777d2ea5196c055667ed7e0725020"
        "f101ad10e47abf0fd5824d3e6ec49c2a90c1b95dfde13103c86d98a41e595711002f000005ff01000100");
// TLS 1.3, TLS_AES_128_GCM_SHA256, x25519 share.
const Bytes kTls13 =
    hex("160303007a0200007603038db206a007d8fcdddc08db504984420cf19da0edf37af65beec4f0605454bb4720"
        "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a130100002e002b0002030400"
        "330024001d0020d2715fe1ca872a7704bd47e5ba21678c8940de967f03d78251d5437d108f6d57");
// HelloRetryRequest (server groups: P-384 only), TLS_AES_256_GCM_SHA384, then
// the middlebox-compatibility change_cipher_spec record.
const Bytes kHrr =
    hex("1603030058020000540303cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c20"
        "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a130200000c002b0002030400"
        "3300020018140303000101");
// OpenSSL's answer to an SSL 3.0 hello (no SSLv3 in this build): handshake_failure.
const Bytes kAlertSsl3 = hex("15030000020228");
// TLS 1.2 hello offering only RC4: handshake_failure.
const Bytes kAlertNoCipher = hex("15030300020228");

const Bytes kSmtpLine = text("454 4.7.0 TLS not available due to local problem\r\n");

}  // namespace

TEST_CASE("captured answers parse", "[checker]") {
  ServerHelloParser p;
  const ServerReply& r = p.feed(kTls12);
  REQUIRE(std::holds_alternative<ServerHello>(r));
  const ServerHello& sh = std::get<ServerHello>(r);
  CHECK(sh.record_version == 0x0303);
  CHECK(sh.legacy_version == 0x0303);
  CHECK(sh.cipher_suite == 0xC02F);
  CHECK(sh.compression == 0);
  CHECK(sh.session_id.size() == 32);
  CHECK(sh.has_extensions);
  REQUIRE(sh.extensions.size() == 2);
  CHECK(sh.extensions[0].type == 0xFF01);  // renegotiation_info
  CHECK(sh.extensions[1].type == 11);      // ec_point_formats
  CHECK_FALSE(sh.supported_version.has_value());
  CHECK_FALSE(sh.hello_retry_request);
  CHECK(sh.downgrade == Downgrade::none);
  CHECK(sh.selected_version() == 0x0303);
  CHECK(p.bytes_seen() == kTls12.size());
  CHECK(p.pending_bytes() == 0);

  ServerHelloParser p13;
  const ServerHello& t13 = std::get<ServerHello>(p13.feed(kTls13));
  CHECK(t13.legacy_version == 0x0303);
  CHECK(t13.supported_version == 0x0304);
  CHECK(t13.selected_version() == 0x0304);
  CHECK(t13.key_share_group == 0x001D);
  CHECK(t13.cipher_suite == 0x1301);

  ServerHelloParser hrr;
  const ServerHello& h = std::get<ServerHello>(hrr.feed(kHrr));
  CHECK(h.hello_retry_request);
  CHECK(h.key_share_group == 0x0018);
  CHECK(h.cipher_suite == 0x1302);

  ServerHelloParser dg;
  CHECK(std::get<ServerHello>(dg.feed(kTls12Downgrade)).downgrade == Downgrade::tls1_2);

  ServerHelloParser t10;
  const ServerHello& s10 = std::get<ServerHello>(t10.feed(kTls10));
  CHECK(s10.record_version == 0x0301);
  CHECK(s10.legacy_version == 0x0301);
  CHECK(s10.cipher_suite == 0x002F);

  ServerHelloParser a;
  const Alert& alert = std::get<Alert>(a.feed(kAlertSsl3));
  CHECK(alert.level == 2);
  CHECK(alert.description == 40);
  CHECK(alert_name(alert.description) == "handshake_failure");
}

namespace {

struct ParseCase {
  const char* label;
  Bytes input;
  std::size_t want_index;  // 0 NeedMore, 1 ServerHello, 2 Alert, 3 Garbage
  GarbageKind kind;        // when Garbage
};

// Hostile and odd inputs, each with the reply it must produce.
std::vector<ParseCase> parse_cases() {
  const Bytes sh12 = handshake(2, sh_body({}));
  const Bytes hello_request = handshake(0, {});
  Bytes many_requests;
  while (many_requests.size() <= ServerHelloParser::kMaxBytes) {
    Bytes r = record(22, 0x0303, hello_request);
    many_requests.insert(many_requests.end(), r.begin(), r.end());
  }
  return {
      {"TLS 1.2 captured", kTls12, 1, {}},
      {"TLS 1.3 captured", kTls13, 1, {}},
      {"HRR captured", kHrr, 1, {}},
      {"alert captured", kAlertNoCipher, 2, {}},
      {"empty input", {}, 0, {}},
      {"truncated ServerHello", Bytes(kTls12.begin(), kTls12.begin() + 40), 0, {}},
      {"record header only", Bytes(kTls12.begin(), kTls12.begin() + 5), 0, {}},
      {"ServerHello split over two records",
       cat({record(22, 0x0303, Bytes(sh12.begin(), sh12.begin() + 20)),
            record(22, 0x0303, Bytes(sh12.begin() + 20, sh12.end()))}),
       1,
       {}},
      {"hello_request first", cat({record(22, 0x0303, hello_request), kTls12}), 1, {}},
      {"warning unrecognized_name first", cat({hex("15030300020170"), kTls12}), 1, {}},
      {"alert split over two records", hex("150303000102150303000128"), 2, {}},
      {"close_notify", hex("15030300020100"), 2, {}},
      {"SMTP reply line", kSmtpLine, 3, GarbageKind::plaintext},
      {"SSLv2 server hello", hex("802e0400010002008000000000"), 3, GarbageKind::sslv2},
      {"record version 2.1", hex("160201000402000000"), 3, GarbageKind::plaintext},
      {"record longer than 2^14", hex("1603034001"), 3, GarbageKind::bad_record},
      {"empty handshake record", hex("1603030000"), 3, GarbageKind::bad_record},
      {"bad content type after a record", cat({record(22, 0x0303, hello_request), hex("19030300")}),
       3, GarbageKind::bad_record},
      {"change_cipher_spec first", hex("140303000101"), 3, GarbageKind::unexpected_message},
      {"application data first", record(23, 0x0303, text("hello")), 3,
       GarbageKind::unexpected_message},
      {"heartbeat first", record(24, 0x0303, hex("0100")), 3, GarbageKind::unexpected_message},
      {"certificate first", record(22, 0x0303, handshake(11, hex("000000"))), 3,
       GarbageKind::unexpected_message},
      {"hello_request with a body", record(22, 0x0303, handshake(0, hex("00"))), 3,
       GarbageKind::bad_message},
      {"ServerHello claims 64 KiB", hex("16030300040200ffff"), 3, GarbageKind::oversized},
      {"32 KiB of hello_requests", many_requests, 3, GarbageKind::oversized},
      {"alert level 3", hex("15030300020328"), 3, GarbageKind::bad_message},
      {"session id of 33", sh_record({.sid_len = 33}), 3, GarbageKind::bad_message},
      {"ServerHello cut before the suite", record(22, 0x0303, handshake(2, Bytes(35, 3))), 3,
       GarbageKind::bad_message},
      {"extensions length too long",
       record(22, 0x0303, handshake(2, cat({sh_body({}), hex("0005ff0100")}))), 3,
       GarbageKind::bad_message},
      {"extension overruns its block", sh_record({.extensions = hex("ff010005000000")}), 3,
       GarbageKind::bad_message},
      {"duplicate extension", sh_record({.extensions = hex("ff01000100ff01000100")}), 3,
       GarbageKind::bad_message},
      {"supported_versions of 3 bytes", sh_record({.extensions = hex("002b0003030400")}), 3,
       GarbageKind::bad_message},
      {"key_share entry with empty key", sh_record({.extensions = hex("00330004001d0000")}), 3,
       GarbageKind::bad_message},
      {"empty extensions block", sh_record({.extensions_block = true}), 1, {}},
      {"one byte after compression",
       record(22, 0x0303, handshake(2, cat({sh_body({}), hex("00")}))), 3,
       GarbageKind::bad_message},
  };
}

void same_reply(const ServerReply& a, const ServerReply& b) {
  REQUIRE(a.index() == b.index());
  if (const auto* x = std::get_if<ServerHello>(&a)) {
    const auto& y = std::get<ServerHello>(b);
    CHECK(x->cipher_suite == y.cipher_suite);
    CHECK(x->selected_version() == y.selected_version());
    CHECK(x->random == y.random);
    CHECK(x->extensions.size() == y.extensions.size());
  } else if (const auto* x = std::get_if<Alert>(&a)) {
    CHECK(x->level == std::get<Alert>(b).level);
    CHECK(x->description == std::get<Alert>(b).description);
  } else if (const auto* x = std::get_if<Garbage>(&a)) {
    CHECK(x->kind == std::get<Garbage>(b).kind);
  }
}

}  // namespace

TEST_CASE("parser results do not depend on how bytes arrive", "[checker]") {
  for (const ParseCase& c : parse_cases()) {
    INFO(c.label);
    ServerHelloParser whole;
    const ServerReply& want = whole.feed(c.input);
    CHECK(want.index() == c.want_index);
    if (const auto* g = std::get_if<Garbage>(&want)) {
      CHECK(g->kind == c.kind);
      CHECK_FALSE(g->detail.empty());
    }
    ServerHelloParser bytewise;
    for (std::uint8_t b : c.input) {
      bytewise.feed(std::span(&b, 1));
    }
    same_reply(want, bytewise.reply());
    std::mt19937 rng(static_cast<unsigned>(c.input.size()));
    for (int round = 0; round < 20; ++round) {
      ServerHelloParser split;
      std::size_t at = 0;
      while (at < c.input.size()) {
        std::size_t n = 1 + rng() % 64;
        n = std::min(n, c.input.size() - at);
        split.feed(std::span(c.input).subspan(at, n));
        at += n;
      }
      same_reply(want, split.reply());
    }
  }
}

TEST_CASE("warnings before the answer are kept", "[checker]") {
  ServerHelloParser p;
  p.feed(cat({hex("15030300020170"), hex("1503030002015a"), kTls12}));
  REQUIRE(std::holds_alternative<ServerHello>(p.reply()));
  REQUIRE(p.warnings().size() == 2);
  CHECK(p.warnings()[0].description == 112);
  CHECK(p.warnings()[1].description == 90);
}

TEST_CASE("bytes after the answer are ignored", "[checker]") {
  ServerHelloParser p;
  p.feed(kHrr);
  const ServerReply& again = p.feed(kAlertNoCipher);
  CHECK(std::holds_alternative<ServerHello>(again));
  CHECK(p.bytes_seen() == kHrr.size());
}

TEST_CASE("plaintext detail is printable", "[checker]") {
  ServerHelloParser p;
  p.feed(text("421 4.3.2 Service shutting down\r\n"));
  const Garbage& g = std::get<Garbage>(p.reply());
  CHECK(g.detail == "421 4.3.2 Service shutting down");
  ServerHelloParser q;
  q.feed(hex("00ff41"));
  CHECK(std::get<Garbage>(q.reply()).detail == "\\x00\\xFFA");
}

TEST_CASE("classification of answers", "[checker]") {
  const ClientHelloOptions offer12{.version = TlsVersion::tls1_2, .suites = {0xC02F, 0x002F}};
  const ClientHelloOptions offer10{.version = TlsVersion::tls1_0, .suites = {0xC02F, 0x002F}};
  const ClientHelloOptions offer13{.version = TlsVersion::tls1_3, .suites = {0x1301, 0x1302}};
  const ClientHelloOptions offer13_12{.version = TlsVersion::tls1_3,
                                      .lowest_version = TlsVersion::tls1_2,
                                      .suites = {0x1301, 0xC02F}};
  const Bytes sv13 = hex("002b00020304");
  struct Case {
    const char* label;
    Bytes input;
    ClientHelloOptions offer;
    Acceptance want;
    std::optional<TlsVersion> version;
    std::uint16_t suite;
  };
  auto c = GENERATE_REF(values<Case>({
      {"TLS 1.2 as offered", kTls12, offer12, Acceptance::accepted, TlsVersion::tls1_2, 0xC02F},
      {"suite not offered",
       kTls12,
       {.suites = {0x002F}},
       Acceptance::server_bug,
       TlsVersion::tls1_2,
       0xC02F},
      {"version above the offer", kTls12, offer10, Acceptance::server_bug, TlsVersion::tls1_2,
       0xC02F},
      {"lower version than offered", kTls10, offer12, Acceptance::accepted, TlsVersion::tls1_0,
       0x002F},
      {"downgrade sentinel", kTls12Downgrade, offer12, Acceptance::accepted, TlsVersion::tls1_2,
       0xC02F},
      {"TLS 1.3", kTls13, offer13, Acceptance::accepted, TlsVersion::tls1_3, 0x1301},
      {"supported_versions not offered",
       kTls13,
       {.suites = {0x1301}},
       Acceptance::server_bug,
       TlsVersion::tls1_3,
       0x1301},
      {"TLS 1.3 suite not offered",
       kTls13,
       {.version = TlsVersion::tls1_3, .suites = {0x1302}},
       Acceptance::server_bug,
       TlsVersion::tls1_3,
       0x1301},
      {"HelloRetryRequest counts for TLS 1.3", kHrr, offer13, Acceptance::accepted,
       TlsVersion::tls1_3, 0x1302},
      {"GCM suite at TLS 1.0", sh_record({.version = 0x0301}), offer12, Acceptance::server_bug,
       TlsVersion::tls1_0, 0xC02F},
      {"TLS 1.3 suite at TLS 1.2", sh_record({.suite = 0x1301}), offer13_12, Acceptance::server_bug,
       TlsVersion::tls1_2, 0x1301},
      {"compression", sh_record({.compression = 1}), offer12, Acceptance::server_bug,
       TlsVersion::tls1_2, 0xC02F},
      {"the SCSV chosen", sh_record({.suite = 0x00FF}), offer12, Acceptance::server_bug,
       TlsVersion::tls1_2, 0x00FF},
      {"legacy 0x0304 without supported_versions", sh_record({.version = 0x0304}), offer13,
       Acceptance::server_bug, TlsVersion::tls1_3, 0xC02F},
      {"TLS 1.2 server ignoring supported_versions", sh_record({}), offer13_12,
       Acceptance::accepted, TlsVersion::tls1_2, 0xC02F},
      {"TLS 1.2 server answering a 1.3-only hello",
       sh_record({}),
       {.version = TlsVersion::tls1_3, .suites = {0x1301, 0xC02F}},
       Acceptance::accepted,
       TlsVersion::tls1_2,
       0xC02F},
      {"supported_versions selecting 1.2", sh_record({.extensions = hex("002b00020303")}),
       offer13_12, Acceptance::server_bug, TlsVersion::tls1_2, 0xC02F},
      {"supported_versions selecting 0x7F1C", sh_record({.extensions = hex("002b00027f1c")}),
       offer13, Acceptance::server_bug, std::nullopt, 0xC02F},
      {"SSL 3.0 to a TLS 1.0 hello", sh_record({.version = 0x0300, .suite = 0x002F}), offer10,
       Acceptance::accepted, TlsVersion::ssl3, 0x002F},
      {"version below SSL 3.0", sh_record({.version = 0x0200, .suite = 0x002F}), offer10,
       Acceptance::server_bug, std::nullopt, 0x002F},
      {"HRR random without TLS 1.3",
       record(22, 0x0303,
              handshake(2, cat({hex("0303"), Bytes(kHrr.begin() + 11, kHrr.begin() + 43),
                                hex("00c02f00")}))),
       offer13_12, Acceptance::server_bug, TlsVersion::tls1_2, 0xC02F},
      {"TLS 1.3 with sv", sh_record({.suite = 0x1302, .extensions = sv13}), offer13,
       Acceptance::accepted, TlsVersion::tls1_3, 0x1302},
      {"alert handshake_failure", kAlertNoCipher, offer12, Acceptance::not_accepted, std::nullopt,
       0},
      {"alert protocol_version", hex("15030100020246"), offer12, Acceptance::not_accepted,
       std::nullopt, 0},
      {"alert insufficient_security", hex("15030300020247"), offer12, Acceptance::not_accepted,
       std::nullopt, 0},
      {"close_notify", hex("15030300020100"), offer12, Acceptance::not_accepted, std::nullopt, 0},
      {"alert decode_error", hex("15030300020232"), offer12, Acceptance::unknown, std::nullopt, 0},
      {"alert internal_error", hex("15030300020250"), offer12, Acceptance::unknown, std::nullopt,
       0},
      {"fatal unrecognized_name", hex("15030300020270"), offer12, Acceptance::unknown, std::nullopt,
       0},
      {"SMTP line", kSmtpLine, offer12, Acceptance::unknown, std::nullopt, 0},
      {"SSLv2", hex("802e0400010002"), offer12, Acceptance::unknown, std::nullopt, 0},
      {"malformed ServerHello", sh_record({.sid_len = 40}), offer12, Acceptance::server_bug,
       std::nullopt, 0},
      {"certificate first", record(22, 0x0303, handshake(11, hex("000000"))), offer12,
       Acceptance::server_bug, std::nullopt, 0},
  }));
  INFO(c.label);
  ServerHelloParser p;
  ProbeResult r = classify(p.feed(c.input), c.offer);
  INFO(r.reason);
  CHECK(r.acceptance == c.want);
  CHECK(r.version == c.version);
  CHECK(r.suite == c.suite);
  CHECK_FALSE(r.reason.empty());
  if (r.acceptance == Acceptance::accepted) {
    CHECK(r.hello_retry == (c.input == kHrr));
  }
}

TEST_CASE("classification when the connection ends", "[checker]") {
  const ClientHelloOptions offer{.version = TlsVersion::tls1_2, .suites = {0xC02F}};
  struct Case {
    const char* label;
    Bytes input;
    StreamEnd end;
    Acceptance want;
  };
  auto c = GENERATE_REF(values<Case>({
      {"closed at once", {}, StreamEnd::closed, Acceptance::not_accepted},
      {"reset at once", {}, StreamEnd::reset, Acceptance::not_accepted},
      {"timeout", {}, StreamEnd::timeout, Acceptance::unknown},
      {"closed after a warning", hex("15030300020170"), StreamEnd::closed,
       Acceptance::not_accepted},
      {"closed mid-record", Bytes(kTls12.begin(), kTls12.begin() + 30), StreamEnd::closed,
       Acceptance::unknown},
      {"reset mid-header", hex("1603"), StreamEnd::reset, Acceptance::unknown},
      {"timeout mid-record", Bytes(kTls12.begin(), kTls12.begin() + 30), StreamEnd::timeout,
       Acceptance::unknown},
      {"answer complete, then closed", kTls12, StreamEnd::closed, Acceptance::accepted},
      {"alert, then reset", kAlertNoCipher, StreamEnd::reset, Acceptance::not_accepted},
  }));
  INFO(c.label);
  ServerHelloParser p;
  p.feed(c.input);
  ProbeResult r = classify(p, offer, c.end);
  CHECK(r.acceptance == c.want);
  CHECK_FALSE(r.reason.empty());
}

TEST_CASE("alert names", "[checker]") {
  CHECK(alert_name(70) == "protocol_version");
  CHECK(alert_name(112) == "unrecognized_name");
  CHECK(alert_name(255) == "alert_255");
}

TEST_CASE("cumulative feeding, as exchange_raw's predicate sees the bytes", "[checker]") {
  const Bytes input = cat({hex("15030300020170"), kTls12});
  ServerHelloParser p;
  bool done = false;
  for (std::size_t n = 1; n <= input.size() && !done; n += 7) {
    done = p.feed_cumulative(std::span(input).first(n)).index() != 0;
  }
  done = done || p.feed_cumulative(input).index() != 0;
  REQUIRE(done);
  const ServerHello& sh = std::get<ServerHello>(p.reply());
  CHECK(sh.cipher_suite == 0xC02F);
  CHECK(p.warnings().size() == 1);
  CHECK(p.bytes_seen() == input.size());
}
