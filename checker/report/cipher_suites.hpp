// SPDX-License-Identifier: Apache-2.0
// TLS protocol versions and the IANA cipher-suite tables the prober needs: names,
// minimum/maximum protocol version, and the classifications of doc/checks.md (NIST SP
// 800-52r1 / r2, weak). Immutable static data and pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace forcetls::checker {

/// A protocol version as it appears on the wire (ProtocolVersion, RFC 8446 §4.1.2).
enum class TlsVersion : std::uint16_t {
  ssl3 = 0x0300,
  tls1_0 = 0x0301,
  tls1_1 = 0x0302,
  tls1_2 = 0x0303,
  tls1_3 = 0x0304,
};

/// "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3" (the report's protocol strings).
std::string_view version_name(TlsVersion v);
/// The version for a wire value in 0x0300..0x0304; nullopt for anything else.
std::optional<TlsVersion> version_from_wire(std::uint16_t wire);
constexpr std::uint16_t wire(TlsVersion v) { return static_cast<std::uint16_t>(v); }

/// One row of the suite table.
struct CipherSuite {
  std::uint16_t code = 0;
  std::string_view iana_name;     ///< exact IANA registry name (see iana_registered)
  std::string_view openssl_name;  ///< OpenSSL's name; empty when no OpenSSL release had one
  TlsVersion min_version = TlsVersion::ssl3;  ///< lowest version the suite is defined for
  bool in_openssl3 = false;                   ///< the system OpenSSL 3.0 knows it (SECLEVEL=0 list)
  bool iana_registered = true;                ///< false: 0x0060-0x0066, expired-draft names
};

/// Why a suite is weak (doc/checks.md, Weak); a suite can have several reasons.
enum WeakReason : std::uint16_t {
  weak_export = 1u << 0,
  weak_des = 1u << 1,
  weak_rc4 = 1u << 2,
  weak_rc2 = 1u << 3,
  weak_idea = 1u << 4,
  weak_seed = 1u << 5,
  weak_3des = 1u << 6,
  weak_md5_mac = 1u << 7,
  weak_null_cipher = 1u << 8,
  weak_anonymous = 1u << 9,
};

/// Signalling values that travel in the cipher-suite list but are not suites.
inline constexpr std::uint16_t kRenegotiationInfoScsv = 0x00FF;  // RFC 5746
inline constexpr std::uint16_t kFallbackScsv = 0x5600;           // RFC 7507

/// Every suite in the table, sorted by code point.
std::span<const CipherSuite> all_suites();
/// The row for a code point, or nullptr (unknown to forcetls, or an SCSV).
const CipherSuite* find_suite(std::uint16_t code);
/// The IANA name ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"); also the two SCSV
/// names; empty for code points not in the table.
std::string_view name_of(std::uint16_t code);
/// name_of(), or "0xC0FF" when the code point is not in the table.
std::string display_name(std::uint16_t code);
/// The code point of an IANA name; nullopt when not in the table.
std::optional<std::uint16_t> code_of(std::string_view iana_name);

/// Bitmask of WeakReason; 0 = not weak. Unknown code points are not weak.
std::uint16_t weak_reasons(std::uint16_t code);
/// weak_reasons() computed from the weak lists and names directly, which is
/// what weak_reasons() caches per table row (its tests compare the two).
std::uint16_t weak_reasons_uncached(std::uint16_t code);
inline bool is_weak(std::uint16_t code) { return weak_reasons(code) != 0; }
/// "EXPORT, RC4, MD5" for a WeakReason mask, in a fixed order.
std::string weak_reason_names(std::uint16_t mask);
bool is_export(std::uint16_t code);

/// NIST SP 800-52r1 (2014) list of doc/checks.md: no TLS 1.3 suites, RSA key
/// transport and 3DES included, C0AC-C0AF excluded.
bool is_nist_r1(std::uint16_t code);
/// NIST SP 800-52r2 (2019): TLS 1.2 suites plus 1301 1302 1304 1305.
bool is_nist_r2(std::uint16_t code);
/// TLS 1.3 suites (0x13xx): usable only with TLS 1.3, and nothing else is.
bool is_tls13_suite(std::uint16_t code);

/// The lowest version a suite is defined for (SHA-256 MAC / AEAD suites: TLS 1.2;
/// ECC and SRP: TLS 1.0, they need hello extensions that SSL 3.0 lacks).
TlsVersion min_version(std::uint16_t code);
/// EXPORT suites: TLS 1.0 (RFC 4346 forbids them from TLS 1.1 on); TLS 1.3
/// suites: 1.3; others: TLS 1.2. DES and IDEA count as valid at TLS 1.2 too:
/// RFC 5246 §1.2 dropped them from 1.2, but OpenSSL <= 1.0.2 servers still
/// negotiate them there, and such an answer must read as "weak accepted", not
/// as a server bug.
TlsVersion max_version(std::uint16_t code);
/// A server may select `code` when it negotiates `v`.
bool valid_at(std::uint16_t code, TlsVersion v);
/// ECDH/ECDHE suites: the hello must carry supported_groups and ec_point_formats.
bool needs_ecc(std::uint16_t code);
/// Worth offering in a probe: a known, non-SCSV suite whose key exchange a
/// public server can complete without a pre-shared secret (no PSK, SRP, KRB5),
/// and not TLS_NULL_WITH_NULL_NULL.
bool offerable(std::uint16_t code);

/// The doc/checks.md lists as ordered code-point lists (the order is the offer order).
std::span<const std::uint16_t> nist_r1_suites();
std::span<const std::uint16_t> nist_r2_tls12_suites();
std::span<const std::uint16_t> nist_r2_tls13_suites();
/// All five TLS 1.3 suites: 1301 1302 1303 1304 1305.
std::span<const std::uint16_t> tls13_suites();

/// OpenSSL cipher string ("A:B:C") for the ≤ TLS 1.2 suites of `codes` that the
/// system OpenSSL 3 knows, in order; others are skipped. For the prober's own
/// OpenSSL handshakes (e.g. a quick r1 question).
std::string openssl_cipher_list(std::span<const std::uint16_t> codes);

}  // namespace forcetls::checker
