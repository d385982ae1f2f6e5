// SPDX-License-Identifier: Apache-2.0
// Test helpers: certificates made in-process with OpenSSL (a test CA, leaves
// valid, expired, wrong-name, self-signed, wildcard) and TLS server contexts
// that present them. P-256 keys, so generation is fast. Test-only.
#pragma once

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdint>
#include <string>
#include <vector>

#include "checker/tls/tls_channel.hpp"
#include "common/c_handle.hpp"

namespace forcetls::test {

using KeyHandle = CHandle<EVP_PKEY, EVP_PKEY_free>;
using CertHandle = CHandle<X509, X509_free>;

struct Issued {
  CertHandle cert;
  KeyHandle key;
};

struct CertSpec {
  std::string cn = {};                 ///< subject CN; empty = none
  std::vector<std::string> sans = {};  ///< dNSName SANs
  std::int64_t not_before = 0;         ///< unix time
  std::int64_t not_after = 0;
  bool ca = false;
  std::string eku = {};  ///< extendedKeyUsage value, e.g. "clientAuth"; empty = none
};

/// Fixed times the tests use with an injected clock.
inline constexpr std::int64_t k2020 = 1577836800;  // 2020-01-01T00:00:00Z
inline constexpr std::int64_t k2021 = 1609459200;  // 2021-01-01T00:00:00Z
inline constexpr std::int64_t k2025 = 1748736000;  // 2025-06-01T00:00:00Z
inline constexpr std::int64_t k2029 = 1861920000;  // 2029-01-01T00:00:00Z
inline constexpr std::int64_t k2030 = 1893456000;  // 2030-01-01T00:00:00Z

/// A new key and certificate; signed by `issuer`, or self-signed when null.
Issued issue(const CertSpec& spec, const Issued* issuer);

/// Writes the certificates as PEM to a new file under the temp directory.
std::string write_pem_file(const std::vector<X509*>& certs, const std::string& name);

struct ServerTls {
  int min_version = TLS1_VERSION;
  int max_version = TLS1_3_VERSION;
  std::string cipher_list = "ALL:@SECLEVEL=0";
};

/// A server SSL_CTX presenting `leaf` and then `chain` (intermediates).
checker::SslCtxHandle make_server_ctx(const Issued& leaf, const std::vector<X509*>& chain,
                                      const ServerTls& tls = {});

}  // namespace forcetls::test
