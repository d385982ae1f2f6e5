// SPDX-License-Identifier: Apache-2.0
// Test helper: a real OpenSSL server run in memory (memory BIOs, no sockets).
// It reads one ClientHello record, answers it, and reports what OpenSSL parsed
// from the hello and what it wrote back. Test threads only.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace forcetls::checker::testing {

struct TestServerConfig {
  int min_version = 0;  ///< OpenSSL constant, e.g. TLS1_VERSION; 0 = library default
  int max_version = 0;
  std::string ciphers = "DEFAULT:@SECLEVEL=0";  ///< TLS <= 1.2 cipher list
  std::string ciphersuites = {};                ///< TLS 1.3 suites; empty = default
  std::string groups = {};                      ///< e.g. "P-384"; empty = default
  bool ecdsa = false;                           ///< P-256 certificate instead of RSA-2048
};

struct TestServerRun {
  bool hello_seen = false;  ///< OpenSSL's client-hello callback ran
  std::uint16_t legacy_version = 0;
  std::vector<std::uint16_t> ciphers;  ///< as OpenSSL parsed them
  std::vector<int> extensions;         ///< extension types present, in order
  std::string sni;                     ///< server_name as OpenSSL parsed it
  std::vector<std::uint8_t> output;    ///< bytes the server wrote in answer
  int version = 0;                     ///< SSL_version() after the answer
  std::uint16_t cipher = 0;            ///< the pending cipher OpenSSL chose, if any
};

TestServerRun run_test_server(const TestServerConfig& config,
                              std::span<const std::uint8_t> client_hello);

}  // namespace forcetls::checker::testing
