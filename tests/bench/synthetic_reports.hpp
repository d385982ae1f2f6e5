// SPDX-License-Identifier: Apache-2.0
// Synthetic checker results for the benchmarks that fill an LMDB store
// (cache_bench, rcpt_bench): plain values, never contacted, any thread.
#pragma once

#include <cstdint>
#include <string>

#include "checker/report/report.hpp"

namespace forcetls::benchdata {

/// How often an address is not a good TLS server: `kind % failed_every == 0`
/// is a failed probe (unknown), `kind % no_starttls_every == 1` offers no
/// STARTTLS (ineligible); the rest is a modern server, a third of them also
/// with TLS 1.0/1.1.
struct AddressMix {
  std::uint64_t failed_every = 50;
  std::uint64_t no_starttls_every = 20;
};

inline checker::AddressReport synthetic_address(std::string text, std::uint64_t kind,
                                                AddressMix mix) {
  using checker::Tri;
  checker::AddressReport a;
  a.address = std::move(text);
  a.connections = 1;
  if (kind % mix.failed_every == 0) {
    a.error = "connect timeout";
    return a;
  }
  a.starttls = kind % mix.no_starttls_every == 1 ? Tri::no : Tri::yes;
  if (a.starttls == Tri::no) {
    return a;
  }
  a.ssl3 = Tri::no;
  a.tls1_0 = kind % 3 == 0 ? Tri::yes : Tri::no;
  a.tls1_1 = a.tls1_0;
  a.tls1_2 = Tri::yes;
  a.tls1_3 = Tri::yes;
  a.weak = Tri::no;
  a.nist_r1 = Tri::yes;
  a.nist_r2 = Tri::yes;
  a.protocol = "TLSv1.3";
  a.cipher = "TLS_AES_256_GCM_SHA384";
  a.cert.trusted = Tri::yes;
  a.cert.expired = Tri::no;
  a.cert.name_match = Tri::yes;
  a.cert.cn = "mx.example.net";
  a.cert.sans = {"mx.example.net", "*.mx.example.net"};
  a.cert.issuer = "R11";
  a.cert.not_after = "2027-03-01T00:00:00Z";
  a.cert.not_after_unix = 1803859200;
  a.connections = 9;
  return a;
}

inline std::string synthetic_domain(std::size_t i) { return "d" + std::to_string(i) + ".example"; }

}  // namespace forcetls::benchdata
