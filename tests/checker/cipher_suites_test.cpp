// SPDX-License-Identifier: Apache-2.0
// Tests for checker/report/cipher_suites: the NIST and weak classifications of every
// suite against tables typed in from the standards (standard_suites.hpp), spot
// checks, consistency with the IANA names, and every name the system OpenSSL 3
// knows checked against OpenSSL itself.
#include "checker/report/cipher_suites.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "common/c_handle.hpp"
#include "tests/checker/standard_suites.hpp"

using namespace forcetls::checker;
namespace standard = forcetls::test::standard;

namespace {

bool name_contains(const CipherSuite& s, std::string_view part) {
  return s.iana_name.find(part) != std::string_view::npos;
}

}  // namespace

TEST_CASE("cipher classification spot checks", "[checker]") {
  struct Case {
    const char* label;
    std::uint16_t code;
    bool r1;
    bool r2;
    std::uint16_t weak;
    const char* name;
  };
  auto c = GENERATE(values<Case>({
      {"RSA AES128-SHA: r1 only", 0x002F, true, false, 0, "TLS_RSA_WITH_AES_128_CBC_SHA"},
      {"ECDHE-RSA AES128-GCM: r1 and r2", 0xC02F, true, true, 0,
       "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
      {"RSA 3DES: r1 and weak", 0x000A, true, false, weak_3des, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
      {"RC4-MD5: weak", 0x0004, false, false, weak_rc4 | weak_md5_mac, "TLS_RSA_WITH_RC4_128_MD5"},
      {"TLS 1.3 AES128-GCM: r2 only", 0x1301, false, true, 0, "TLS_AES_128_GCM_SHA256"},
      {"ECDHE-ECDSA AES128-CCM: r2 not r1", 0xC0AC, false, true, 0,
       "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"},
      {"TLS 1.3 CHACHA20: neither", 0x1303, false, false, 0, "TLS_CHACHA20_POLY1305_SHA256"},
      {"TLS 1.3 CCM_8: r2", 0x1305, false, true, 0, "TLS_AES_128_CCM_8_SHA256"},
      {"ECDHE-RSA CHACHA20: neither", 0xCCA8, false, false, 0,
       "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
      // EXPORT RC4 suites are filed under EXPORT, not RC4.
      {"EXP-RC4-MD5", 0x0003, false, false, weak_export | weak_md5_mac,
       "TLS_RSA_EXPORT_WITH_RC4_40_MD5"},
      {"EXP-RC2-CBC-MD5", 0x0006, false, false, weak_export | weak_rc2 | weak_md5_mac,
       "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5"},
      {"NULL-SHA", 0x0002, false, false, weak_null_cipher, "TLS_RSA_WITH_NULL_SHA"},
      {"ADH-AES128-GCM", 0x00A6, false, false, weak_anonymous,
       "TLS_DH_anon_WITH_AES_128_GCM_SHA256"},
      {"AECDH-NULL-SHA", 0xC015, false, false, weak_anonymous | weak_null_cipher,
       "TLS_ECDH_anon_WITH_NULL_SHA"},
      {"ECDHE-RSA 3DES: r1 and weak", 0xC012, true, false, weak_3des,
       "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"},
      {"SEED", 0x0096, false, false, weak_seed, "TLS_RSA_WITH_SEED_CBC_SHA"},
      {"IDEA", 0x0007, false, false, weak_idea, "TLS_RSA_WITH_IDEA_CBC_SHA"},
      {"DES", 0x0009, false, false, weak_des, "TLS_RSA_WITH_DES_CBC_SHA"},
      {"DH_RSA AES128-GCM: r1 r2", 0x00A0, true, true, 0, "TLS_DH_RSA_WITH_AES_128_GCM_SHA256"},
      {"Camellia: neither, not weak", 0x0041, false, false, 0, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA"},
      {"draft EXPORT1024", 0x0064, false, false, weak_export, "TLS_RSA_EXPORT1024_WITH_RC4_56_SHA"},
  }));
  INFO(c.label);
  CHECK(is_nist_r1(c.code) == c.r1);
  CHECK(is_nist_r2(c.code) == c.r2);
  CHECK(weak_reasons(c.code) == c.weak);
  CHECK(is_weak(c.code) == (c.weak != 0));
  CHECK(name_of(c.code) == c.name);
  CHECK(code_of(c.name) == c.code);
}

TEST_CASE("NIST lists are the standards' lists", "[checker]") {
  auto r1 = nist_r1_suites();
  auto r2 = nist_r2_tls12_suites();
  auto r2_13 = nist_r2_tls13_suites();
  CHECK(standard::as_set(r1) == standard::as_set(standard::kNistR1));
  CHECK(standard::as_set(r2) == standard::as_set(standard::kNistR2Tls12));
  CHECK(standard::as_set(r2_13) == standard::as_set(standard::kNistR2Tls13));
  // No duplicates: the lists are offered as they are.
  CHECK(standard::as_set(r1).size() == r1.size());
  CHECK(standard::as_set(r2).size() == r2.size());
  CHECK(standard::as_set(r2_13).size() == r2_13.size());
  for (std::uint16_t c : r2) {
    INFO(display_name(c));
    REQUIRE(find_suite(c) != nullptr);
    CHECK(wire(max_version(c)) == wire(TlsVersion::tls1_2));
  }
  for (std::uint16_t c : r2_13) {
    CHECK(is_tls13_suite(c));
  }
  CHECK_FALSE(is_nist_r2(0x1303));
}

// Both predicates, for every suite in the table and every code point the
// standards name (including ones the table might lack).
TEST_CASE("is_nist_r1 and is_nist_r2 agree with the standards for every suite", "[checker]") {
  std::set<std::uint16_t> codes = standard::all_listed();
  for (const CipherSuite& s : all_suites()) {
    codes.insert(s.code);
  }
  codes.insert({kRenegotiationInfoScsv, kFallbackScsv, 0xC100});
  const auto r1 = standard::as_set(standard::kNistR1);
  auto r2 = standard::as_set(standard::kNistR2Tls12);
  r2.insert(std::begin(standard::kNistR2Tls13), std::end(standard::kNistR2Tls13));
  for (std::uint16_t c : codes) {
    INFO(display_name(c));
    CHECK(is_nist_r1(c) == (r1.count(c) == 1));
    CHECK(is_nist_r2(c) == (r2.count(c) == 1));
  }
}

TEST_CASE("weak_reasons agrees with the weak table for every suite", "[checker]") {
  std::set<std::uint16_t> codes = standard::all_listed();
  for (const CipherSuite& s : all_suites()) {
    codes.insert(s.code);
  }
  codes.insert({kRenegotiationInfoScsv, kFallbackScsv, 0xC100});
  for (std::uint16_t c : codes) {
    INFO(display_name(c));
    CHECK(weak_reasons(c) == standard::weak_mask(c));
    CHECK(is_weak(c) == (standard::weak_mask(c) != 0));
  }
  // Every weak code point the table names is a suite forcetls knows.
  for (const standard::WeakList& list : standard::kWeakLists) {
    for (std::uint16_t c : list.codes) {
      INFO(display_name(c));
      CHECK(find_suite(c) != nullptr);
    }
  }
}

// weak_reasons() reads a per-row table cached from the lists; it must say what
// the lists say for every code point, in the table or not.
TEST_CASE("weak_reasons' cached masks are the lists' own", "[checker]") {
  int weak = 0;
  for (unsigned c = 0; c <= 0xFFFF; ++c) {
    const auto code = static_cast<std::uint16_t>(c);
    INFO(display_name(code));
    REQUIRE(weak_reasons(code) == weak_reasons_uncached(code));
    weak += weak_reasons(code) != 0 ? 1 : 0;
  }
  CHECK(weak > 50);  // the comparison ran over the weak suites, not only strong ones
}

// The weak lists were transcribed by hand; check them both ways against what
// the IANA names say about the algorithms.
TEST_CASE("weak lists agree with the IANA names", "[checker]") {
  for (const CipherSuite& s : all_suites()) {
    INFO(s.iana_name);
    std::uint16_t w = weak_reasons(s.code);
    bool exp = name_contains(s, "EXPORT");
    CHECK(((w & weak_export) != 0) == exp);
    CHECK(((w & weak_3des) != 0) == name_contains(s, "3DES_EDE"));
    CHECK(((w & weak_rc4) != 0) == (name_contains(s, "RC4") && !exp));
    CHECK(((w & weak_rc2) != 0) == name_contains(s, "RC2"));
    CHECK(((w & weak_idea) != 0) == name_contains(s, "IDEA"));
    CHECK(((w & weak_seed) != 0) == name_contains(s, "SEED"));
    CHECK(((w & weak_des) != 0) == (name_contains(s, "WITH_DES_CBC_") && !exp));
    CHECK(((w & weak_md5_mac) != 0) == s.iana_name.ends_with("_MD5"));
    CHECK(((w & weak_anonymous) != 0) == name_contains(s, "_anon_"));
    CHECK(((w & weak_null_cipher) != 0) == (name_contains(s, "_WITH_NULL_") || s.code == 0x0000));
  }
}

TEST_CASE("table is well formed", "[checker]") {
  auto suites = all_suites();
  REQUIRE(suites.size() > 300);
  for (std::size_t i = 0; i < suites.size(); ++i) {
    const CipherSuite& s = suites[i];
    INFO(s.iana_name);
    CHECK((s.iana_name.starts_with("TLS_")));
    CHECK(find_suite(s.code) == &s);
    if (i > 0) {
      CHECK(suites[i - 1].code < s.code);
    }
    CHECK(s.iana_registered == !(s.code >= 0x0060 && s.code <= 0x0066));
    CHECK(is_tls13_suite(s.code) == ((s.code >> 8) == 0x13));
    if (needs_ecc(s.code)) {
      CHECK(wire(s.min_version) >= wire(TlsVersion::tls1_0));
    }
  }
  CHECK(name_of(kRenegotiationInfoScsv) == "TLS_EMPTY_RENEGOTIATION_INFO_SCSV");
  CHECK(name_of(kFallbackScsv) == "TLS_FALLBACK_SCSV");
  CHECK(find_suite(kRenegotiationInfoScsv) == nullptr);
  CHECK(name_of(0xC100).empty());
  CHECK(display_name(0xC100) == "0xC100");
  CHECK(display_name(0x0035) == "TLS_RSA_WITH_AES_256_CBC_SHA");
  CHECK_FALSE(code_of("TLS_NO_SUCH_SUITE").has_value());
}

TEST_CASE("protocol version ranges of suites", "[checker]") {
  struct Case {
    std::uint16_t code;
    TlsVersion v;
    bool valid;
  };
  auto c = GENERATE(values<Case>({
      {0x0003, TlsVersion::ssl3, true},  // EXPORT: up to TLS 1.0
      {0x0003, TlsVersion::tls1_0, true},
      {0x0003, TlsVersion::tls1_1, false},
      {0x0003, TlsVersion::tls1_2, false},
      {0x000A, TlsVersion::tls1_2, true},   // 3DES: everywhere below 1.3
      {0xC02F, TlsVersion::tls1_0, false},  // GCM needs TLS 1.2
      {0xC02F, TlsVersion::tls1_2, true},
      {0xC02F, TlsVersion::tls1_3, false},
      {0xC013, TlsVersion::ssl3, false},  // ECDHE needs hello extensions
      {0xC013, TlsVersion::tls1_0, true},
      {0x1301, TlsVersion::tls1_2, false},
      {0x1301, TlsVersion::tls1_3, true},
      {0x002F, TlsVersion::ssl3, true},
      {0x00FF, TlsVersion::tls1_2, false},  // the SCSV is never a choice
      {0xC100, TlsVersion::tls1_2, false},  // not in the table
  }));
  INFO(display_name(c.code) << " at " << version_name(c.v));
  CHECK(valid_at(c.code, c.v) == c.valid);
}

TEST_CASE("offerable excludes suites needing shared secrets", "[checker]") {
  CHECK(offerable(0xC02F));
  CHECK(offerable(0x0003));
  CHECK_FALSE(offerable(0x008C));  // PSK
  CHECK_FALSE(offerable(0xC01D));  // SRP
  CHECK_FALSE(offerable(0x001E));  // KRB5
  CHECK_FALSE(offerable(0x0000));
  CHECK_FALSE(offerable(0x00FF));
}

TEST_CASE("versions", "[checker]") {
  CHECK(version_name(TlsVersion::ssl3) == "SSLv3");
  CHECK(version_name(TlsVersion::tls1_3) == "TLSv1.3");
  CHECK(version_from_wire(0x0302) == TlsVersion::tls1_1);
  CHECK_FALSE(version_from_wire(0x0305).has_value());
  CHECK_FALSE(version_from_wire(0x0200).has_value());
  CHECK_FALSE(version_from_wire(0x7F1C).has_value());
}

TEST_CASE("weak reason names", "[checker]") {
  CHECK(weak_reason_names(weak_reasons(0x0003)) == "EXPORT, MD5");
  CHECK(weak_reason_names(weak_reasons(0xC017)) == "3DES, anonymous");
  CHECK(weak_reason_names(0).empty());
}

// Every suite the system OpenSSL knows: our IANA and OpenSSL names must be
// OpenSSL's, and in_openssl3 must be set exactly for them.
TEST_CASE("names agree with the system OpenSSL", "[checker]") {
  forcetls::CHandle<SSL_CTX, SSL_CTX_free> ctx{SSL_CTX_new(TLS_method())};
  REQUIRE(ctx);
  REQUIRE(SSL_CTX_set_cipher_list(ctx.get(), "ALL:COMPLEMENTOFALL:@SECLEVEL=0") == 1);
  REQUIRE(SSL_CTX_set_ciphersuites(ctx.get(),
                                   "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                   "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:"
                                   "TLS_AES_128_CCM_8_SHA256") == 1);
  forcetls::CHandle<SSL, SSL_free> ssl{SSL_new(ctx.get())};
  REQUIRE(ssl);
  STACK_OF(SSL_CIPHER)* list = SSL_get_ciphers(ssl.get());
  REQUIRE(list != nullptr);
  std::set<std::uint16_t> listed;
  for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(list, i);
    auto code = static_cast<std::uint16_t>(SSL_CIPHER_get_protocol_id(c));
    listed.insert(code);
    const CipherSuite* s = find_suite(code);
    INFO(SSL_CIPHER_standard_name(c));
    REQUIRE(s != nullptr);
    CHECK(s->iana_name == SSL_CIPHER_standard_name(c));
    CHECK(s->openssl_name == SSL_CIPHER_get_name(c));
    CHECK(s->in_openssl3);
  }
  int flagged = 0;
  for (const CipherSuite& s : all_suites()) {
    flagged += s.in_openssl3 ? 1 : 0;
    // Suites OpenSSL has compiled in but does not list (e.g. legacy ones)
    // must still carry OpenSSL's standard name.
    const unsigned char bytes[2] = {static_cast<unsigned char>(s.code >> 8),
                                    static_cast<unsigned char>(s.code & 0xFF)};
    if (const SSL_CIPHER* c = SSL_CIPHER_find(ssl.get(), bytes)) {
      INFO(s.iana_name);
      CHECK(s.iana_name == SSL_CIPHER_standard_name(c));
    }
  }
  CHECK(static_cast<std::size_t>(flagged) == listed.size());
}

TEST_CASE("OpenSSL cipher string for the r1 list", "[checker]") {
  std::string list = openssl_cipher_list(nist_r1_suites());
  CHECK(list.find("ECDHE-RSA-AES128-GCM-SHA256") != std::string::npos);
  CHECK(list.find("AES128-SHA") != std::string::npos);
  CHECK(list.find("DES-CBC3") == std::string::npos);  // not in this OpenSSL
  forcetls::CHandle<SSL_CTX, SSL_CTX_free> ctx{SSL_CTX_new(TLS_method())};
  REQUIRE(ctx);
  CHECK(SSL_CTX_set_cipher_list(ctx.get(), list.c_str()) == 1);
  CHECK(openssl_cipher_list(nist_r2_tls13_suites()).empty());
}
