// SPDX-License-Identifier: Apache-2.0
// Fuzz target for checker/report/domain_name and next_hop: normalisation
// (libidn2 included), address parsing and report keys (the policy map's
// next hops) on arbitrary bytes. A normalised name or key must normalise to
// itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "checker/report/domain_name.hpp"
#include "checker/report/next_hop.hpp"

using namespace forcetls::checker;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto name = normalize_domain(input)) {
    auto again = normalize_domain(*name);
    if (!again || *again != *name || name->size() > kMaxDomainLength) {
      std::abort();
    }
  }
  if (auto domain = domain_of_address(input)) {
    // The domain is a view into the input, never outside it.
    if (domain->data() < input.data() || domain->data() + domain->size() > input.data() + size) {
      std::abort();
    }
    (void)normalize_domain(*domain);
  }
  if (auto key = normalize_report_key(input)) {
    auto again = normalize_report_key(*key);
    if (!again || *again != *key) {
      std::abort();
    }
  }
  return 0;
}
