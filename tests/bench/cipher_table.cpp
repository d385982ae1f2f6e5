// SPDX-License-Identifier: Apache-2.0
// forcetls-bench-ciphers: prints the prober's cipher-suite table with its doc/checks.md
// classifications (weak, NIST SP 800-52r1, r2) as TSV, so tests/bench/check_bench
// judges the peers' cipher lists with exactly the checker's tables. Single thread.
#include <cstdio>

#include "checker/report/cipher_suites.hpp"

namespace {

void print_row(std::uint16_t code, std::string_view iana, std::string_view openssl) {
  namespace c = forcetls::checker;
  const std::uint16_t weak = c::weak_reasons(code);
  std::printf("%04X\t%.*s\t%.*s\t%s\t%s\t%s\t%s\n", code, static_cast<int>(iana.size()),
              iana.data(), openssl.empty() ? 1 : static_cast<int>(openssl.size()),
              openssl.empty() ? "-" : openssl.data(), weak != 0 ? "yes" : "no",
              c::is_nist_r1(code) ? "yes" : "no", c::is_nist_r2(code) ? "yes" : "no",
              weak != 0 ? c::weak_reason_names(weak).c_str() : "-");
}

}  // namespace

int main() {
  std::printf("code\tiana\topenssl\tweak\tnist_r1\tnist_r2\tweak_reasons\n");
  for (const forcetls::checker::CipherSuite& s : forcetls::checker::all_suites()) {
    print_row(s.code, s.iana_name, s.openssl_name);
  }
  return std::fflush(stdout) == 0 ? 0 : 1;
}
