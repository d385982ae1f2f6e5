// SPDX-License-Identifier: Apache-2.0
// Fuzz target for checker/auth/mta_sts: the strict policy parser on hostile
// bodies, plus the TXT parsers and the pattern matcher on the same bytes.
// A policy that parses must satisfy the parser's own promises.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "checker/auth/mta_sts.hpp"

using namespace forcetls::checker;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto policy = parse_sts_policy(text)) {
    if (policy->max_age < 0 || policy->max_age > kStsMaxAge ||
        (policy->mode != StsMode::none && policy->mx.empty())) {
      std::abort();
    }
    for (const std::string& pattern : policy->mx) {
      // A wildcard never matches the bare parent domain.
      if (pattern.starts_with("*.") && mx_match(pattern, pattern.substr(2))) {
        std::abort();
      }
      if (!pattern.starts_with("*.") && !mx_match(pattern, pattern)) {
        std::abort();
      }
    }
  }
  (void)choose_sts_txt({std::string(text)});
  (void)choose_tlsrpt_txt({std::string(text)});
  const std::size_t half = size / 2;
  (void)mx_match(text.substr(0, half), text.substr(half));
  return 0;
}
