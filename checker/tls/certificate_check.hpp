// SPDX-License-Identifier: Apache-2.0
// Certificate facts and checks for a server's chain: names, issuer, validity,
// and three separate questions (trusted, expired, name match), each yes / no /
// unknown. Pure functions over OpenSSL objects the caller owns; any thread.
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "checker/report/report.hpp"

namespace forcetls::checker {

/// What one certificate says about itself.
struct CertificateInfo {
  std::string subject;                 ///< RFC 2253 one-line form
  std::string common_name;             ///< subject CN (the last one if several), empty if none
  std::vector<std::string> dns_names;  ///< subjectAltName dNSName entries, in order
  std::string issuer;                  ///< RFC 2253 one-line form
  std::string not_before;              ///< ISO 8601 UTC, "2026-03-01T12:00:00Z"
  std::string not_after;               ///< ISO 8601 UTC
  std::int64_t not_before_unix = 0;    ///< seconds since the epoch
  std::int64_t not_after_unix = 0;
  std::string serial;             ///< hex
  std::string sha256;             ///< fingerprint of the DER, lower-case hex
  std::vector<std::uint8_t> der;  ///< the certificate itself (for DANE matching, export)
};

/// Reads the facts above from a certificate.
CertificateInfo describe_certificate(X509* cert);

/// One verification error OpenSSL reported while building the chain.
struct VerifyError {
  int depth = 0;  ///< 0 = leaf
  int code = 0;   ///< X509_V_ERR_*
  std::string text;
};

/// The three questions, answered separately so that "expired" does not hide
/// "untrusted" and a name mismatch does not hide either.
struct CertificateChecks {
  /// Chains to a trusted CA; validity dates and names are ignored here.
  Tri trusted = Tri::unknown;
  Tri expired = Tri::unknown;        ///< leaf not_after is before now
  Tri not_yet_valid = Tri::unknown;  ///< leaf not_before is after now
  /// The host name matches a SAN dNSName (the CN only when there is no dNSName
  /// SAN); a wildcard only as the whole left-most label (X509_check_host).
  Tri name_match = Tri::unknown;
  std::string matched_name;                ///< the certificate name that matched
  std::string verify_error;                ///< first error's text ("" when trusted)
  std::vector<VerifyError> verify_errors;  ///< every error, in the order reported
};

/// Answers the three questions for `leaf` presented with `untrusted` (the rest
/// of the chain the server sent; may be null) against `store`. `now` decides
/// expiry (a seam for tests). An empty host name leaves name_match unknown.
CertificateChecks check_certificate(X509* leaf, STACK_OF(X509) * untrusted, X509_STORE* store,
                                    std::string_view host_name,
                                    std::chrono::system_clock::time_point now);

}  // namespace forcetls::checker
