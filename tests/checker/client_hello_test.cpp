// SPDX-License-Identifier: Apache-2.0
// Tests for checker/wire/client_hello: hellos parsed back by a small independent
// parser here and by a real OpenSSL server (in memory), size rules, errors.
#include "checker/wire/client_hello.hpp"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <optional>

#include "common/c_handle.hpp"
#include "tests/checker/tls_test_server.hpp"

using namespace forcetls::checker;
using Bytes = std::vector<std::uint8_t>;

namespace {

// Fills with a counter: deterministic and visibly not zero.
RandomSource counting_random(std::uint8_t start) {
  return [start](std::span<std::uint8_t> out) mutable {
    for (std::uint8_t& b : out) {
      b = start++;
    }
  };
}

struct Hello {
  std::uint16_t record_version = 0;
  std::uint16_t client_version = 0;
  Bytes random;
  Bytes session_id;
  std::vector<std::uint16_t> suites;
  Bytes compression;
  bool has_extensions = false;
  std::vector<std::uint16_t> ext_order;
  std::map<std::uint16_t, Bytes> ext;
  std::size_t body_len = 0;
};

// Independent strict parser: every length must add up exactly.
std::optional<Hello> parse_hello(const Bytes& rec) {
  Hello h;
  std::size_t p = 0;
  auto need = [&](std::size_t n) { return p + n <= rec.size(); };
  auto u8 = [&]() { return rec[p++]; };
  auto u16 = [&]() {
    std::uint16_t v = static_cast<std::uint16_t>(rec[p] << 8 | rec[p + 1]);
    p += 2;
    return v;
  };
  if (!need(5) || u8() != 22) {
    return std::nullopt;
  }
  h.record_version = u16();
  if (u16() != rec.size() - 5 || !need(4) || u8() != 1) {
    return std::nullopt;
  }
  std::size_t len = static_cast<std::size_t>(rec[p] << 16 | rec[p + 1] << 8 | rec[p + 2]);
  p += 3;
  if (len != rec.size() - 9) {
    return std::nullopt;
  }
  h.body_len = len;
  if (!need(2 + 32 + 1)) {
    return std::nullopt;
  }
  h.client_version = u16();
  h.random.assign(rec.begin() + static_cast<long>(p), rec.begin() + static_cast<long>(p + 32));
  p += 32;
  std::size_t sid = u8();
  if (!need(sid + 2)) {
    return std::nullopt;
  }
  h.session_id.assign(rec.begin() + static_cast<long>(p), rec.begin() + static_cast<long>(p + sid));
  p += sid;
  std::size_t cs = u16();
  if (cs % 2 != 0 || !need(cs + 1)) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < cs / 2; ++i) {
    h.suites.push_back(u16());
  }
  std::size_t comp = u8();
  if (!need(comp)) {
    return std::nullopt;
  }
  h.compression.assign(rec.begin() + static_cast<long>(p),
                       rec.begin() + static_cast<long>(p + comp));
  p += comp;
  if (p == rec.size()) {
    return h;
  }
  h.has_extensions = true;
  if (!need(2) || u16() != rec.size() - p) {
    return std::nullopt;
  }
  while (p < rec.size()) {
    if (!need(4)) {
      return std::nullopt;
    }
    std::uint16_t type = u16();
    std::size_t elen = u16();
    if (!need(elen) || h.ext.count(type) != 0) {
      return std::nullopt;
    }
    h.ext_order.push_back(type);
    h.ext[type].assign(rec.begin() + static_cast<long>(p),
                       rec.begin() + static_cast<long>(p + elen));
    p += elen;
  }
  return h;
}

std::vector<std::uint16_t> u16s(const Bytes& b, std::size_t from) {
  std::vector<std::uint16_t> out;
  for (std::size_t i = from; i + 1 < b.size(); i += 2) {
    out.push_back(static_cast<std::uint16_t>(b[i] << 8 | b[i + 1]));
  }
  return out;
}

Bytes build(const ClientHelloOptions& o, std::uint8_t seed = 1) {
  auto r = build_client_hello(o, counting_random(seed));
  REQUIRE(r.has_value());
  return *r;
}

const std::vector<std::uint16_t> kEcdheRsa = {0xC02F, 0xC030, 0xC013};
const std::vector<std::uint16_t> kRsaOnly = {0x002F, 0x0035, 0x000A};
const std::vector<std::uint16_t> kTls13 = {0x1301, 0x1302, 0x1303};

}  // namespace

TEST_CASE("hello layout per version", "[checker]") {
  struct Case {
    const char* label;
    ClientHelloOptions options;
    std::uint16_t record_version;
    std::uint16_t client_version;
    std::size_t session_id_len;
    bool has_extensions;
    std::vector<std::uint16_t> ext_types;  // in order, padding excluded
    std::string sni;
    std::vector<std::uint16_t> supported_versions;
  };
  auto c = GENERATE_REF(values<Case>({
      {"SSL 3.0: no extensions, no SNI",
       {.version = TlsVersion::ssl3, .suites = kRsaOnly, .server_name = "mx.example.com"},
       0x0300,
       0x0300,
       0,
       false,
       {},
       "",
       {}},
      {"TLS 1.0 RSA only: SNI alone",
       {.version = TlsVersion::tls1_0, .suites = kRsaOnly, .server_name = "mx.example.com"},
       0x0301,
       0x0301,
       0,
       true,
       {0},
       "mx.example.com",
       {}},
      {"TLS 1.0 ECDHE: groups and point formats, no signature_algorithms",
       {.version = TlsVersion::tls1_0, .suites = kEcdheRsa, .server_name = "mx.example.com."},
       0x0301,
       0x0301,
       0,
       true,
       {0, 10, 11},
       "mx.example.com",
       {}},
      {"TLS 1.1 without a name",
       {.version = TlsVersion::tls1_1, .suites = kEcdheRsa},
       0x0301,
       0x0302,
       0,
       true,
       {10, 11},
       "",
       {}},
      {"TLS 1.2 ECDHE",
       {.version = TlsVersion::tls1_2, .suites = kEcdheRsa, .server_name = "MX1.Example.COM"},
       0x0301,
       0x0303,
       0,
       true,
       {0, 10, 11, 13},
       "MX1.Example.COM",
       {}},
      {"TLS 1.2 RSA only, IP literal: no SNI",
       {.version = TlsVersion::tls1_2, .suites = kRsaOnly, .server_name = "192.0.2.7"},
       0x0301,
       0x0303,
       0,
       true,
       {13},
       "",
       {}},
      {"TLS 1.3 alone",
       {.version = TlsVersion::tls1_3, .suites = kTls13, .server_name = "mx.example.com"},
       0x0301,
       0x0303,
       32,
       true,
       {0, 10, 11, 13, 43, 45, 51},
       "mx.example.com",
       {0x0304}},
      {"TLS 1.3 down to 1.0, IPv6 literal",
       {.version = TlsVersion::tls1_3,
        .lowest_version = TlsVersion::tls1_0,
        .suites = kTls13,
        .server_name = "2001:db8::25"},
       0x0301,
       0x0303,
       32,
       true,
       {10, 11, 13, 43, 45, 51},
       "",
       {0x0304, 0x0303, 0x0302, 0x0301}},
  }));
  INFO(c.label);
  Bytes rec = build(c.options);
  auto h = parse_hello(rec);
  REQUIRE(h.has_value());
  CHECK(h->record_version == c.record_version);
  CHECK(h->client_version == c.client_version);
  CHECK(h->session_id.size() == c.session_id_len);
  CHECK(h->compression == Bytes{0});
  std::vector<std::uint16_t> want_suites = c.options.suites;
  want_suites.push_back(kRenegotiationInfoScsv);
  CHECK(h->suites == want_suites);
  CHECK(h->has_extensions == c.has_extensions);
  std::vector<std::uint16_t> types = h->ext_order;
  if (!types.empty() && types.back() == hello_ext::padding) {
    types.pop_back();
  }
  CHECK(types == c.ext_types);
  if (!c.sni.empty()) {
    const Bytes& sni = h->ext[hello_ext::server_name];
    REQUIRE(sni.size() == 5 + c.sni.size());
    CHECK(sni[2] == 0);  // host_name
    CHECK(std::string(sni.begin() + 5, sni.end()) == c.sni);
  }
  if (!c.supported_versions.empty()) {
    const Bytes& sv = h->ext[hello_ext::supported_versions];
    REQUIRE(!sv.empty());
    CHECK(sv[0] == sv.size() - 1);
    CHECK(u16s(sv, 1) == c.supported_versions);
  }
}

TEST_CASE("random and session id come from the seam", "[checker]") {
  ClientHelloOptions o{.version = TlsVersion::tls1_3, .suites = kTls13};
  Bytes a = build(o, 1);
  Bytes b = build(o, 1);
  Bytes c = build(o, 100);
  CHECK(a == b);
  REQUIRE(a.size() == c.size());
  auto ha = parse_hello(a);
  auto hc = parse_hello(c);
  REQUIRE(ha.has_value());
  REQUIRE(hc.has_value());
  CHECK(ha->random != hc->random);
  CHECK(ha->session_id != hc->session_id);
  CHECK(ha->random[0] == 1);
  CHECK(ha->session_id[0] == 33);  // drawn right after the 32-byte random
  // Everything after the session id is the same.
  std::size_t tail = 9 + 2 + 32 + 1 + 32;
  CHECK(std::equal(a.begin() + static_cast<long>(tail), a.end(),
                   c.begin() + static_cast<long>(tail)));
}

TEST_CASE("key shares are valid public values", "[checker]") {
  auto h = parse_hello(build({.version = TlsVersion::tls1_3, .suites = kTls13}));
  REQUIRE(h.has_value());
  const Bytes& ks = h->ext[hello_ext::key_share];
  REQUIRE(ks.size() == 2 + 4 + 32 + 4 + 65);
  CHECK(static_cast<std::size_t>(ks[0] << 8 | ks[1]) == ks.size() - 2);
  CHECK((ks[2] << 8 | ks[3]) == 0x001D);
  CHECK((ks[4] << 8 | ks[5]) == 32);
  forcetls::CHandle<EVP_PKEY, EVP_PKEY_free> x25519{
      EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, ks.data() + 6, 32)};
  CHECK(x25519);
  CHECK((ks[38] << 8 | ks[39]) == 0x0017);
  CHECK((ks[40] << 8 | ks[41]) == 65);
  forcetls::CHandle<EC_GROUP, EC_GROUP_free> group{
      EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)};
  forcetls::CHandle<EC_POINT, EC_POINT_free> point{EC_POINT_new(group.get())};
  REQUIRE(point);
  CHECK(EC_POINT_oct2point(group.get(), point.get(), ks.data() + 42, 65, nullptr) == 1);
  CHECK(EC_POINT_is_on_curve(group.get(), point.get(), nullptr) == 1);
}

TEST_CASE("hello size stays out of the 256..511 band", "[checker]") {
  std::vector<std::uint16_t> all;
  for (const CipherSuite& s : all_suites()) {
    if (offerable(s.code) && !is_tls13_suite(s.code)) {
      all.push_back(s.code);
    }
  }
  int padded = 0;
  for (TlsVersion v : {TlsVersion::tls1_0, TlsVersion::tls1_2, TlsVersion::tls1_3}) {
    for (std::size_t n = 1; n <= kMaxHelloSuites - 1; ++n) {
      ClientHelloOptions o{
          .version = v,
          .suites = std::vector<std::uint16_t>(all.begin(), all.begin() + static_cast<long>(n)),
          .server_name = "mx.example.com"};
      Bytes rec = build(o);
      auto h = parse_hello(rec);
      INFO(version_name(v) << " with " << n << " suites: body " << h->body_len);
      REQUIRE(h.has_value());
      CHECK_FALSE((h->body_len >= 252 && h->body_len < 512));
      CHECK(rec.size() <= 1024);
      o.padding = false;
      auto unpadded = parse_hello(build(o));
      REQUIRE(unpadded.has_value());
      CHECK(unpadded->ext.count(hello_ext::padding) == 0);
      padded += h->ext.count(hello_ext::padding) != 0 ? 1 : 0;
      if (h->ext.count(hello_ext::padding) != 0) {
        CHECK(unpadded->body_len >= 252);
        CHECK(unpadded->body_len < 512);
      }
    }
  }
  CHECK(padded > 50);  // the band is actually exercised
}

TEST_CASE("invalid options are refused", "[checker]") {
  struct Case {
    const char* label;
    ClientHelloOptions options;
  };
  std::vector<std::uint16_t> too_many;
  for (std::uint16_t i = 0; i < 127; ++i) {
    too_many.push_back(static_cast<std::uint16_t>(0xC000 + i));
  }
  auto c = GENERATE_REF(values<Case>({
      {"no suites", {.suites = {}}},
      {"127 suites plus the SCSV", {.suites = too_many}},
      {"duplicate suite", {.suites = {0xC02F, 0x002F, 0xC02F}}},
      {"SCSV offered by hand", {.suites = {0xC02F, kRenegotiationInfoScsv}}},
      {"space in name", {.suites = kRsaOnly, .server_name = "mx example.com"}},
      {"empty label", {.suites = kRsaOnly, .server_name = "mx..example.com"}},
      {"leading dot", {.suites = kRsaOnly, .server_name = ".example.com"}},
      {"label of 64", {.suites = kRsaOnly, .server_name = std::string(64, 'a') + ".com"}},
      {"name of 254",
       {.suites = kRsaOnly,
        .server_name = std::string(120, 'a') + "." + std::string(120, 'b') + ".example"}},
      {"control byte", {.suites = kRsaOnly, .server_name = std::string("mx\x01.com")}},
      {"UTF-8 (not an A-label)", {.suites = kRsaOnly, .server_name = "m\xC3\xBCller.de"}},
  }));
  INFO(c.label);
  auto r = build_client_hello(c.options, counting_random(0));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == forcetls::Errc::invalid_argument);
}

TEST_CASE("126 suites is the most a hello carries", "[checker]") {
  std::vector<std::uint16_t> suites;
  for (std::uint16_t i = 0; i < 126; ++i) {
    suites.push_back(static_cast<std::uint16_t>(0xC000 + i));
  }
  auto h = parse_hello(build({.suites = suites}));
  REQUIRE(h.has_value());
  CHECK(h->suites.size() == kMaxHelloSuites);
}

// A real OpenSSL parses each hello and sees exactly what was meant.
TEST_CASE("OpenSSL parses the hellos", "[checker]") {
  using testing::TestServerConfig;
  struct Case {
    const char* label;
    ClientHelloOptions options;
    TestServerConfig server;
    std::uint16_t want_legacy_version;
    std::vector<int> want_exts;  // present in OpenSSL's view
    int want_version;            // what OpenSSL then negotiated
    std::uint16_t want_cipher;
  };
  auto c = GENERATE_REF(values<Case>({
      {"TLS 1.2 ECDHE-RSA",
       {.version = TlsVersion::tls1_2, .suites = kEcdheRsa, .server_name = "mx.example.com"},
       {.max_version = TLS1_2_VERSION},
       0x0303,
       {0, 10, 11, 13},
       TLS1_2_VERSION,
       0xC02F},
      {"TLS 1.0 ECDHE at SECLEVEL 0",
       {.version = TlsVersion::tls1_0, .suites = {0xC013, 0x002F}, .server_name = "mx.example.com"},
       {.min_version = TLS1_VERSION, .max_version = TLS1_VERSION},
       0x0301,
       {0, 10, 11},
       TLS1_VERSION,
       0xC013},
      {"TLS 1.1 RSA key transport",
       {.version = TlsVersion::tls1_1, .suites = {0x0035}, .server_name = "mx.example.com"},
       {.min_version = TLS1_1_VERSION, .max_version = TLS1_1_VERSION},
       0x0302,
       {0},
       TLS1_1_VERSION,
       0x0035},
      {"TLS 1.3",
       {.version = TlsVersion::tls1_3, .suites = kTls13, .server_name = "mx.example.com"},
       {},
       0x0303,
       {0, 10, 11, 13, 43, 45, 51},
       TLS1_3_VERSION,
       0x1301},
      {"TLS 1.2 ECDSA certificate",
       {.version = TlsVersion::tls1_2, .suites = {0xC02F, 0xC02C}, .server_name = "mx.example.com"},
       {.max_version = TLS1_2_VERSION, .ecdsa = true},
       0x0303,
       {0, 10, 11, 13},
       TLS1_2_VERSION,
       0xC02C},
      {"TLS 1.2 DHE-RSA",
       {.version = TlsVersion::tls1_2, .suites = {0x009F}, .server_name = "mx.example.com"},
       {.max_version = TLS1_2_VERSION},
       0x0303,
       {0, 13},
       TLS1_2_VERSION,
       0x009F},
  }));
  INFO(c.label);
  Bytes hello = build(c.options);
  auto run = testing::run_test_server(c.server, hello);
  REQUIRE(run.hello_seen);
  CHECK(run.legacy_version == c.want_legacy_version);
  std::vector<std::uint16_t> want_ciphers = c.options.suites;
  want_ciphers.push_back(kRenegotiationInfoScsv);
  CHECK(run.ciphers == want_ciphers);
  for (int e : c.want_exts) {
    INFO("extension " << e);
    CHECK(std::find(run.extensions.begin(), run.extensions.end(), e) != run.extensions.end());
  }
  CHECK(run.extensions.size() <= c.want_exts.size() + 1);  // + padding
  if (!c.options.server_name.empty()) {
    CHECK(run.sni == c.options.server_name);
  }
  CHECK(run.version == c.want_version);
  CHECK(run.cipher == c.want_cipher);
  CHECK_FALSE(run.output.empty());
}
