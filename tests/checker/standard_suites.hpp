// SPDX-License-Identifier: Apache-2.0
// The cipher-suite classifications the prober must implement, typed into the
// tests by hand from the standards (IANA code points), so that a suite the
// implementation misfiles fails a test instead of moving both sides at once.
// Constant data; any thread. Never build these from checker/cipher_suites.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <span>

#include "checker/report/cipher_suites.hpp"

namespace forcetls::test::standard {

// NIST SP 800-52 Rev. 2 (2019) §3.3.1, TLS 1.2 suites, by certificate type.
inline constexpr std::uint16_t kNistR2Tls12[] = {
    // ECDSA certificates: ECDHE_ECDSA
    0xC02B, 0xC02C, 0xC0AC, 0xC0AD, 0xC0AE, 0xC0AF, 0xC023, 0xC024, 0xC009, 0xC00A,
    // RSA certificates: ECDHE_RSA, DHE_RSA
    0xC02F, 0xC030, 0x009E, 0x009F, 0xC09E, 0xC09F, 0xC0A2, 0xC0A3, 0xC027, 0xC028, 0x0067, 0x006B,
    0xC013, 0xC014, 0x0033, 0x0039,
    // DSA certificates: DHE_DSS
    0x00A2, 0x00A3, 0x0040, 0x006A, 0x0032, 0x0038,
    // DH_DSS
    0x00A4, 0x00A5, 0x003E, 0x0068, 0x0030, 0x0036,
    // DH_RSA
    0x00A0, 0x00A1, 0x003F, 0x0069, 0x0031, 0x0037,
    // ECDH_ECDSA
    0xC02D, 0xC02E, 0xC025, 0xC026, 0xC004, 0xC005,
    // ECDH_RSA
    0xC031, 0xC032, 0xC029, 0xC02A, 0xC00E, 0xC00F};

// NIST SP 800-52 Rev. 2, TLS 1.3 suites (TLS_CHACHA20_POLY1305_SHA256 is not listed).
inline constexpr std::uint16_t kNistR2Tls13[] = {0x1301, 0x1302, 0x1304, 0x1305};

// NIST SP 800-52 Rev. 1 (2014): the Rev. 2 TLS 1.2 suites except the
// ECDHE_ECDSA CCM suites C0AC-C0AF, plus RSA key transport, plus 3DES.
// No TLS 1.3 suites.
inline constexpr std::uint16_t kNistR1[] = {
    // ECDHE_ECDSA
    0xC02B, 0xC02C, 0xC023, 0xC024, 0xC009, 0xC00A,
    // ECDHE_RSA, DHE_RSA
    0xC02F, 0xC030, 0x009E, 0x009F, 0xC09E, 0xC09F, 0xC0A2, 0xC0A3, 0xC027, 0xC028, 0x0067, 0x006B,
    0xC013, 0xC014, 0x0033, 0x0039,
    // DHE_DSS, DH_DSS, DH_RSA
    0x00A2, 0x00A3, 0x0040, 0x006A, 0x0032, 0x0038, 0x00A4, 0x00A5, 0x003E, 0x0068, 0x0030, 0x0036,
    0x00A0, 0x00A1, 0x003F, 0x0069, 0x0031, 0x0037,
    // ECDH_ECDSA, ECDH_RSA
    0xC02D, 0xC02E, 0xC025, 0xC026, 0xC004, 0xC005, 0xC031, 0xC032, 0xC029, 0xC02A, 0xC00E, 0xC00F,
    // RSA key transport
    0x000A, 0x002F, 0x0035, 0x003C, 0x003D, 0x009C, 0x009D, 0xC09C, 0xC09D, 0xC0A0, 0xC0A1,
    // 3DES
    0xC008, 0xC012, 0x0016, 0x0013, 0x000D, 0x0010, 0xC003, 0xC00D};

// Weak suites by reason: OpenSSL's EXPORT, LOW and MEDIUM categories plus old
// algorithms, as IANA code points.
inline constexpr std::uint16_t kExport[] = {0x0003, 0x0006, 0x0008, 0x000B, 0x000E, 0x0011, 0x0014,
                                            0x0017, 0x0019, 0x0026, 0x0027, 0x0028, 0x0029, 0x002A,
                                            0x002B, 0x0060, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065};
inline constexpr std::uint16_t kDes[] = {0x0009, 0x000C, 0x000F, 0x0012,
                                         0x0015, 0x001A, 0x001E, 0x0022};
inline constexpr std::uint16_t kRc4[] = {0x0004, 0x0005, 0x0018, 0x0020, 0x0024,
                                         0x0066, 0x008A, 0x008E, 0x0092, 0xC002,
                                         0xC007, 0xC00C, 0xC011, 0xC016, 0xC033};
inline constexpr std::uint16_t kRc2[] = {0x0006, 0x0027, 0x002A, 0x0061};
inline constexpr std::uint16_t kIdea[] = {0x0007, 0x0021, 0x0025};
inline constexpr std::uint16_t kSeed[] = {0x0096, 0x0097, 0x0098, 0x0099, 0x009A, 0x009B};
inline constexpr std::uint16_t k3des[] = {0x000A, 0x000D, 0x0010, 0x0013, 0x0016, 0x001B, 0x001F,
                                          0x0023, 0x008B, 0x008F, 0x0093, 0xC003, 0xC008, 0xC00D,
                                          0xC012, 0xC017, 0xC01A, 0xC01B, 0xC01C, 0xC034};
inline constexpr std::uint16_t kMd5Mac[] = {0x0001, 0x0003, 0x0004, 0x0006, 0x0017,
                                            0x0018, 0x0022, 0x0023, 0x0024, 0x0025,
                                            0x0029, 0x002A, 0x002B, 0x0060, 0x0061};
// NULL encryption (IANA names *_WITH_NULL_*, and TLS_NULL_WITH_NULL_NULL).
inline constexpr std::uint16_t kNullCipher[] = {
    0x0000, 0x0001, 0x0002, 0x002C, 0x002D, 0x002E, 0x003B, 0x00B0, 0x00B1, 0x00B4, 0x00B5,
    0x00B8, 0x00B9, 0xC001, 0xC006, 0xC00B, 0xC010, 0xC015, 0xC039, 0xC03A, 0xC03B};
// Anonymous key exchange (DH_anon, ECDH_anon).
inline constexpr std::uint16_t kAnonymous[] = {
    0x0017, 0x0018, 0x0019, 0x001A, 0x001B, 0x0034, 0x003A, 0x0046, 0x006C,
    0x006D, 0x0089, 0x009B, 0x00A6, 0x00A7, 0x00BF, 0x00C5, 0xC015, 0xC016,
    0xC017, 0xC018, 0xC019, 0xC046, 0xC047, 0xC05A, 0xC05B, 0xC084, 0xC085};

struct WeakList {
  checker::WeakReason reason;
  std::span<const std::uint16_t> codes;
};
inline const WeakList kWeakLists[] = {
    {checker::weak_export, kExport},
    {checker::weak_des, kDes},
    {checker::weak_rc4, kRc4},
    {checker::weak_rc2, kRc2},
    {checker::weak_idea, kIdea},
    {checker::weak_seed, kSeed},
    {checker::weak_3des, k3des},
    {checker::weak_md5_mac, kMd5Mac},
    {checker::weak_null_cipher, kNullCipher},
    {checker::weak_anonymous, kAnonymous},
};

inline bool listed(std::span<const std::uint16_t> list, std::uint16_t code) {
  return std::find(list.begin(), list.end(), code) != list.end();
}

/// The WeakReason mask the standards give `code`; 0 = not weak.
inline std::uint16_t weak_mask(std::uint16_t code) {
  std::uint16_t mask = 0;
  for (const WeakList& list : kWeakLists) {
    if (listed(list.codes, code)) {
      mask |= list.reason;
    }
  }
  return mask;
}

inline std::set<std::uint16_t> as_set(std::span<const std::uint16_t> codes) {
  return {codes.begin(), codes.end()};
}

/// Every code point named in any list above.
inline std::set<std::uint16_t> all_listed() {
  std::set<std::uint16_t> out = as_set(kNistR1);
  for (auto list : {std::span<const std::uint16_t>(kNistR2Tls12),
                    std::span<const std::uint16_t>(kNistR2Tls13)}) {
    out.insert(list.begin(), list.end());
  }
  for (const WeakList& list : kWeakLists) {
    out.insert(list.codes.begin(), list.codes.end());
  }
  return out;
}

}  // namespace forcetls::test::standard
