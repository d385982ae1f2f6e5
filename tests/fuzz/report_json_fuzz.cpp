// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the strict report reader (cache import, cache records).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "checker/report/report_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = forcetls::checker::report_from_json_text(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (r) {
    // Whatever decodes must encode again.
    (void)forcetls::checker::to_json_text(*r);
  }
  return 0;
}
