// SPDX-License-Identifier: Apache-2.0
// The wall clock as the reports and the cache keep time: Unix seconds.
// Components that need a fake clock take a function returning this.
#pragma once

#include <chrono>
#include <cstdint>

namespace forcetls {

inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace forcetls
