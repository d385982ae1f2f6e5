// SPDX-License-Identifier: Apache-2.0
// Hand-built TLS ClientHello records for the acceptance probes: one record that
// offers exactly the versions and suites of one question (OpenSSL 3 cannot offer
// SSL 3.0, RC4, EXPORT, ...). Pure functions, no I/O; any thread. Randomness
// comes from a caller-provided RandomSource so tests are deterministic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "checker/report/cipher_suites.hpp"
#include "common/error.hpp"

namespace forcetls::checker {

/// Fills the span with random bytes (the hello's random and session id).
using RandomSource = std::function<void(std::span<std::uint8_t>)>;
/// OpenSSL's RAND_bytes (std::random_device if that ever fails).
RandomSource system_random();

/// At most this many cipher-suite values per hello, counting the SCSV: some
/// servers drop hellos with 128 or more (doc/checks.md, Connection cost).
inline constexpr std::size_t kMaxHelloSuites = 127;

/// What one hello offers.
struct ClientHelloOptions {
  /// Highest version offered. SSL 3.0 .. TLS 1.2: ClientHello.client_version,
  /// and the server picks any version up to it. TLS 1.3: legacy_version 0x0303
  /// and supported_versions = {1.3 .. lowest_version}.
  TlsVersion version = TlsVersion::tls1_2;
  /// TLS 1.3 hellos only: also list these lower versions in supported_versions
  /// (nullopt: TLS 1.3 alone). Ignored for lower `version`s.
  std::optional<TlsVersion> lowest_version = std::nullopt;
  /// The cipher suites offered, in preference order, no duplicates. The builder
  /// appends TLS_EMPTY_RENEGOTIATION_INFO_SCSV.
  std::vector<std::uint16_t> suites = {};
  /// SNI host name (RFC 6066); a trailing dot is dropped. Empty or an IP literal:
  /// no server_name extension. Never sent in SSL 3.0 hellos.
  std::string server_name = {};
  /// Pad hellos of 256..511 bytes to 512 (RFC 7685: some F5 BIG-IPs hang on them).
  bool padding = true;
};

/// The full record (5-byte record header + ClientHello). Errors (invalid_argument):
/// no suites, duplicates, too many suites, a malformed server_name.
///
/// Wire choices (all for compatibility with old servers):
/// - record-layer version 0x0300 for SSL 3.0 hellos, else 0x0301 (RFC 5246 E.1,
///   RFC 8446 §5.1);
/// - SSL 3.0 hellos carry no extensions block at all;
/// - ≤ TLS 1.2: empty session id; TLS 1.3: 32 random bytes (RFC 8446 D.4);
/// - extensions: server_name; supported_groups + ec_point_formats when an ECC
///   suite is offered (and always for TLS 1.3); signature_algorithms when TLS
///   1.2 or 1.3 is offered (RFC 5246 §7.4.1.4.1 forbids it below); for TLS 1.3
///   supported_versions, psk_key_exchange_modes (psk_dhe_ke) and key_share with
///   x25519 and secp256r1 entries; padding last.
/// - the key shares are fixed valid public values (the RFC 7748 §6.1 X25519 test
///   key, the P-256 base point): the probe never completes a key exchange.
Result<std::vector<std::uint8_t>> build_client_hello(const ClientHelloOptions& options,
                                                     const RandomSource& random);

/// Wire values the builder uses, exposed for tests and the lab's emulator.
namespace hello_ext {
inline constexpr std::uint16_t server_name = 0;
inline constexpr std::uint16_t supported_groups = 10;
inline constexpr std::uint16_t ec_point_formats = 11;
inline constexpr std::uint16_t signature_algorithms = 13;
inline constexpr std::uint16_t padding = 21;
inline constexpr std::uint16_t supported_versions = 43;
inline constexpr std::uint16_t psk_key_exchange_modes = 45;
inline constexpr std::uint16_t key_share = 51;
}  // namespace hello_ext

/// Named groups offered in supported_groups (RFC 8446 §4.2.7, RFC 7919).
std::span<const std::uint16_t> offered_groups(TlsVersion version);

}  // namespace forcetls::checker
