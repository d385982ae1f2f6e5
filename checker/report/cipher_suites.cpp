// SPDX-License-Identifier: Apache-2.0
// Cipher-suite tables. Sources, per table below: the IANA "TLS Cipher Suites"
// registry (names), testssl.sh 3.0.8 etc/cipher-mapping.txt (code point <-> name
// <-> OpenSSL name, protocol column), the system OpenSSL 3.0 (`openssl ciphers -V
// -stdname 'ALL:COMPLEMENTOFALL:@SECLEVEL=0'`), and doc/checks.md
// "Cipher tables" (NIST lists from cisco/mercury crypto_assess.h quoting NIST SP
// 800-52r2 §3.3.1; r1 from NIST SP 800-52r1 as doc/checks.md gives it; weak lists).
#include "checker/report/cipher_suites.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

#include "checker/report/cipher_registry.hpp"

namespace forcetls::checker {
namespace {

using registry::kSuites;

// Signalling cipher-suite values (IANA registry names).
struct Scsv {
  std::uint16_t code;
  std::string_view name;
};
constexpr Scsv kScsv[] = {
    {kRenegotiationInfoScsv, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"},  // RFC 5746
    {kFallbackScsv, "TLS_FALLBACK_SCSV"},                           // RFC 7507
};

// NIST SP 800-52r2 TLS 1.2 suites. Source: doc/checks.md, from cisco/mercury
// src/libmerc/crypto_assess.h quoting NIST SP 800-52r2 §3.3.1, names mapped with
// testssl.sh cipher-mapping.txt. Grouped by certificate type as NIST does.
constexpr std::uint16_t kNistR2Tls12[] = {
    // ECDSA certificates (ECDHE)
    0xC02B,
    0xC02C,
    0xC0AC,
    0xC0AD,
    0xC0AE,
    0xC0AF,
    0xC023,
    0xC024,
    0xC009,
    0xC00A,
    // RSA certificates (ECDHE, DHE)
    0xC02F,
    0xC030,
    0x009E,
    0x009F,
    0xC09E,
    0xC09F,
    0xC0A2,
    0xC0A3,
    0xC027,
    0xC028,
    0x0067,
    0x006B,
    0xC013,
    0xC014,
    0x0033,
    0x0039,
    // DSA certificates (DHE_DSS)
    0x00A2,
    0x00A3,
    0x0040,
    0x006A,
    0x0032,
    0x0038,
    // DH_DSS
    0x00A4,
    0x00A5,
    0x003E,
    0x0068,
    0x0030,
    0x0036,
    // DH_RSA
    0x00A0,
    0x00A1,
    0x003F,
    0x0069,
    0x0031,
    0x0037,
    // ECDH_ECDSA
    0xC02D,
    0xC02E,
    0xC025,
    0xC026,
    0xC004,
    0xC005,
    // ECDH_RSA
    0xC031,
    0xC032,
    0xC029,
    0xC02A,
    0xC00E,
    0xC00F,
};

// NIST SP 800-52r2 TLS 1.3 suites (no CHACHA20). Source: doc/checks.md / mercury.
constexpr std::uint16_t kNistR2Tls13[] = {0x1301, 0x1302, 0x1304, 0x1305};

// All TLS 1.3 suites (RFC 8446 Appendix B.4).
constexpr std::uint16_t kTls13[] = {0x1301, 0x1302, 0x1303, 0x1304, 0x1305};

// NIST SP 800-52r1 (2014). Source: doc/checks.md (provenance weaker: partly recalled,
// partly checked against MatrixSSL's r1 profile): the r2 TLS 1.2 suites without
// the ECDHE-ECDSA CCM suites C0AC-C0AF (not shown to be in r1), plus RSA key
// transport, plus 3DES. No TLS 1.3 suites.
constexpr std::uint16_t kNistR1[] = {
    // r2 TLS 1.2 suites, ECDSA (without C0AC-C0AF)
    0xC02B,
    0xC02C,
    0xC023,
    0xC024,
    0xC009,
    0xC00A,
    // r2, RSA
    0xC02F,
    0xC030,
    0x009E,
    0x009F,
    0xC09E,
    0xC09F,
    0xC0A2,
    0xC0A3,
    0xC027,
    0xC028,
    0x0067,
    0x006B,
    0xC013,
    0xC014,
    0x0033,
    0x0039,
    // r2, DHE_DSS, DH_DSS, DH_RSA
    0x00A2,
    0x00A3,
    0x0040,
    0x006A,
    0x0032,
    0x0038,
    0x00A4,
    0x00A5,
    0x003E,
    0x0068,
    0x0030,
    0x0036,
    0x00A0,
    0x00A1,
    0x003F,
    0x0069,
    0x0031,
    0x0037,
    // r2, ECDH_ECDSA, ECDH_RSA
    0xC02D,
    0xC02E,
    0xC025,
    0xC026,
    0xC004,
    0xC005,
    0xC031,
    0xC032,
    0xC029,
    0xC02A,
    0xC00E,
    0xC00F,
    // RSA key transport
    0x000A,
    0x002F,
    0x0035,
    0x003C,
    0x003D,
    0x009C,
    0x009D,
    0xC09C,
    0xC09D,
    0xC0A0,
    0xC0A1,
    // 3DES
    0xC008,
    0xC012,
    0x0016,
    0x0013,
    0x000D,
    0x0010,
    0xC003,
    0xC00D,
};

// Weak suites by reason. Source: doc/checks.md, Weak (OpenSSL's EXPORT, LOW and
// MEDIUM categories plus old algorithms). NULL encryption and anonymous suites,
// which doc/checks.md names without code points, are recognised by their IANA names
// (`_WITH_NULL_`, `_anon_`) in weak_reasons().
constexpr std::uint16_t kExport[] = {0x0003, 0x0006, 0x0008, 0x000B, 0x000E, 0x0011, 0x0014,
                                     0x0017, 0x0019, 0x0026, 0x0027, 0x0028, 0x0029, 0x002A,
                                     0x002B, 0x0060, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065};
constexpr std::uint16_t kDes[] = {0x0009, 0x000C, 0x000F, 0x0012, 0x0015, 0x001A, 0x001E, 0x0022};
constexpr std::uint16_t kRc4[] = {0x0004, 0x0005, 0x0018, 0x0020, 0x0024, 0x0066, 0x008A, 0x008E,
                                  0x0092, 0xC002, 0xC007, 0xC00C, 0xC011, 0xC016, 0xC033};
constexpr std::uint16_t kRc2[] = {0x0006, 0x0027, 0x002A, 0x0061};
constexpr std::uint16_t kIdea[] = {0x0007, 0x0021, 0x0025};
constexpr std::uint16_t kSeed[] = {0x0096, 0x0097, 0x0098, 0x0099, 0x009A, 0x009B};
constexpr std::uint16_t k3des[] = {0x000A, 0x000D, 0x0010, 0x0013, 0x0016, 0x001B, 0x001F,
                                   0x0023, 0x008B, 0x008F, 0x0093, 0xC003, 0xC008, 0xC00D,
                                   0xC012, 0xC017, 0xC01A, 0xC01B, 0xC01C, 0xC034};
constexpr std::uint16_t kMd5Mac[] = {0x0001, 0x0003, 0x0004, 0x0006, 0x0017, 0x0018, 0x0022, 0x0023,
                                     0x0024, 0x0025, 0x0029, 0x002A, 0x002B, 0x0060, 0x0061};

struct WeakList {
  WeakReason reason;
  std::string_view label;
  std::span<const std::uint16_t> codes;
};
const WeakList kWeakLists[] = {
    {weak_export, "EXPORT", kExport}, {weak_des, "DES", kDes},        {weak_rc4, "RC4", kRc4},
    {weak_rc2, "RC2", kRc2},          {weak_idea, "IDEA", kIdea},     {weak_seed, "SEED", kSeed},
    {weak_3des, "3DES", k3des},       {weak_md5_mac, "MD5", kMd5Mac},
};

bool contains(std::span<const std::uint16_t> list, std::uint16_t code) {
  return std::find(list.begin(), list.end(), code) != list.end();
}

bool name_has(std::uint16_t code, std::string_view part) {
  const CipherSuite* s = find_suite(code);
  return s != nullptr && s->iana_name.find(part) != std::string_view::npos;
}

constexpr bool sorted_by_code() {
  for (std::size_t i = 1; i < std::size(kSuites); ++i) {
    if (kSuites[i - 1].code >= kSuites[i].code) {
      return false;
    }
  }
  return true;
}
static_assert(sorted_by_code(), "kSuites must be sorted by code point (binary search)");

}  // namespace

std::string_view version_name(TlsVersion v) {
  switch (v) {
    case TlsVersion::ssl3:
      return "SSLv3";
    case TlsVersion::tls1_0:
      return "TLSv1.0";
    case TlsVersion::tls1_1:
      return "TLSv1.1";
    case TlsVersion::tls1_2:
      return "TLSv1.2";
    case TlsVersion::tls1_3:
      return "TLSv1.3";
  }
  return "unknown";
}

std::optional<TlsVersion> version_from_wire(std::uint16_t w) {
  if (w >= wire(TlsVersion::ssl3) && w <= wire(TlsVersion::tls1_3)) {
    return static_cast<TlsVersion>(w);
  }
  return std::nullopt;
}

std::span<const CipherSuite> all_suites() { return kSuites; }

const CipherSuite* find_suite(std::uint16_t code) {
  auto it = std::lower_bound(std::begin(kSuites), std::end(kSuites), code,
                             [](const CipherSuite& s, std::uint16_t c) { return s.code < c; });
  if (it == std::end(kSuites) || it->code != code) {
    return nullptr;
  }
  return &*it;
}

std::string_view name_of(std::uint16_t code) {
  if (const CipherSuite* s = find_suite(code)) {
    return s->iana_name;
  }
  for (const Scsv& s : kScsv) {
    if (s.code == code) {
      return s.name;
    }
  }
  return {};
}

std::string display_name(std::uint16_t code) {
  std::string_view name = name_of(code);
  if (!name.empty()) {
    return std::string(name);
  }
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04X", code);
  return buf;
}

std::optional<std::uint16_t> code_of(std::string_view iana_name) {
  for (const CipherSuite& s : kSuites) {
    if (s.iana_name == iana_name) {
      return s.code;
    }
  }
  return std::nullopt;
}

std::uint16_t weak_reasons_uncached(std::uint16_t code) {
  std::uint16_t mask = 0;
  for (const WeakList& list : kWeakLists) {
    if (contains(list.codes, code)) {
      mask |= list.reason;
    }
  }
  if (name_has(code, "_WITH_NULL_") || code == 0x0000) {
    mask |= weak_null_cipher;
  }
  if (name_has(code, "_anon_")) {
    mask |= weak_anonymous;
  }
  return mask;
}

std::uint16_t weak_reasons(std::uint16_t code) {
  // The probe planner asks this thousands of times per address; scanning eight
  // lists and two names each time dominated its CPU time. One mask per table
  // row, derived once from those same lists (thread-safe static initialisation).
  static const auto kMasks = [] {
    std::array<std::uint16_t, std::size(kSuites)> masks{};
    for (std::size_t i = 0; i < masks.size(); ++i) {
      masks[i] = weak_reasons_uncached(kSuites[i].code);
    }
    return masks;
  }();
  const CipherSuite* s = find_suite(code);
  if (s == nullptr) {
    return weak_reasons_uncached(code);  // not in the table: only the lists can match
  }
  return kMasks[static_cast<std::size_t>(s - std::begin(kSuites))];
}

std::string weak_reason_names(std::uint16_t mask) {
  std::string out;
  auto add = [&out](std::string_view label) {
    if (!out.empty()) {
      out += ", ";
    }
    out += label;
  };
  for (const WeakList& list : kWeakLists) {
    if ((mask & list.reason) != 0) {
      add(list.label);
    }
  }
  if ((mask & weak_null_cipher) != 0) {
    add("NULL");
  }
  if ((mask & weak_anonymous) != 0) {
    add("anonymous");
  }
  return out;
}

bool is_export(std::uint16_t code) { return contains(kExport, code); }
bool is_nist_r1(std::uint16_t code) { return contains(kNistR1, code); }
bool is_nist_r2(std::uint16_t code) {
  return contains(kNistR2Tls12, code) || contains(kNistR2Tls13, code);
}
bool is_tls13_suite(std::uint16_t code) { return (code >> 8) == 0x13 && find_suite(code); }

TlsVersion min_version(std::uint16_t code) {
  const CipherSuite* s = find_suite(code);
  return s != nullptr ? s->min_version : TlsVersion::ssl3;
}

TlsVersion max_version(std::uint16_t code) {
  if (is_tls13_suite(code)) {
    return TlsVersion::tls1_3;
  }
  // RFC 4346 (TLS 1.1) §A.5: implementations MUST NOT negotiate EXPORT suites.
  if (is_export(code)) {
    return TlsVersion::tls1_0;
  }
  return TlsVersion::tls1_2;
}

bool valid_at(std::uint16_t code, TlsVersion v) {
  return find_suite(code) != nullptr && wire(min_version(code)) <= wire(v) &&
         wire(v) <= wire(max_version(code));
}

bool needs_ecc(std::uint16_t code) { return name_has(code, "_ECDH"); }

bool offerable(std::uint16_t code) {
  const CipherSuite* s = find_suite(code);
  if (s == nullptr || code == 0x0000) {
    return false;
  }
  for (std::string_view kx : {"PSK", "SRP", "KRB5"}) {
    if (s->iana_name.find(kx) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

std::span<const std::uint16_t> nist_r1_suites() { return kNistR1; }
std::span<const std::uint16_t> nist_r2_tls12_suites() { return kNistR2Tls12; }
std::span<const std::uint16_t> nist_r2_tls13_suites() { return kNistR2Tls13; }
std::span<const std::uint16_t> tls13_suites() { return kTls13; }

std::string openssl_cipher_list(std::span<const std::uint16_t> codes) {
  std::string out;
  for (std::uint16_t code : codes) {
    const CipherSuite* s = find_suite(code);
    if (s == nullptr || !s->in_openssl3 || s->openssl_name.empty() || is_tls13_suite(code)) {
      continue;
    }
    if (!out.empty()) {
      out += ':';
    }
    out += s->openssl_name;
  }
  return out;
}

}  // namespace forcetls::checker
