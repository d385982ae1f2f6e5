// SPDX-License-Identifier: Apache-2.0
// The lab's resolver as C++ lab tests configure forcetls for it: the
// ResolverOptions of an UnboundResolver, and RESOLVER_OPTION as the (name,
// value) pair that checker.resolver_options holds. Header-only, for tests
// that link the checker's DNS (forcetls_dns, directly or through the
// prober or the milter's service); any thread.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

#include "checker/dns/dns.hpp"
#include "tests/lab/lab_env.hpp"

namespace forcetls::labtest {

/// RESOLVER_OPTION split by forcetls's own parser: ("local-zone", "test. transparent").
inline std::pair<std::string, std::string> lab_resolver_option() {
  auto option = checker::parse_unbound_option(env().resolver_option);
  if (!option) {
    throw std::runtime_error("lab env RESOLVER_OPTION: " + option.error().message);
  }
  return *option;
}

/// The lab's validating unbound as forwarder, its trust anchors, and the
/// option that lets `.test` names reach it.
inline checker::ResolverOptions lab_resolver_options() {
  checker::ResolverOptions o;
  o.forwarder = env().resolver;
  o.trust_anchor_file = env().trust_anchor;
  o.unbound_options = {lab_resolver_option()};
  return o;
}

}  // namespace forcetls::labtest
