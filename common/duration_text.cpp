// SPDX-License-Identifier: Apache-2.0
#include "common/duration_text.hpp"

#include <array>
#include <string_view>
#include <utility>

namespace forcetls {
namespace {

// Largest first.
constexpr std::array<std::pair<std::string_view, std::uint64_t>, 4> kSecondUnits{{
    {"d", 86400},
    {"h", 3600},
    {"m", 60},
    {"s", 1},
}};

std::string part(std::uint64_t value, std::string_view unit) {
  return std::to_string(value) + std::string(unit);
}

}  // namespace

std::string duration_text(std::chrono::milliseconds d) {
  const auto ms = static_cast<std::uint64_t>(d.count() < 0 ? 0 : d.count());
  if (ms != 0 && ms % 1000 == 0) {
    for (const auto& [unit, seconds] : kSecondUnits) {
      if ((ms / 1000) % seconds == 0) {
        return part(ms / 1000 / seconds, unit);
      }
    }
  }
  return part(ms, "ms");
}

std::string age_text(std::int64_t seconds) {
  const auto s = static_cast<std::uint64_t>(seconds < 0 ? 0 : seconds);
  // Each unit from twice its size: "119s" reads better than "1m".
  for (const auto& [unit, size] : kSecondUnits) {
    if (size == 1 || s >= 2 * size) {
      return part(s / size, unit);
    }
  }
  return part(s, "s");
}

std::string span_text(std::int64_t seconds) {
  const std::string sign = seconds < 0 ? "-" : "";
  // -(INT64_MIN) does not fit; add the one back after negating.
  const std::uint64_t s = seconds < 0 ? static_cast<std::uint64_t>(-(seconds + 1)) + 1
                                      : static_cast<std::uint64_t>(seconds);
  for (std::size_t i = 0; i + 1 < kSecondUnits.size(); ++i) {
    const auto& [unit, size] = kSecondUnits[i];
    if (s >= size) {
      const auto& [next_unit, next_size] = kSecondUnits[i + 1];
      return sign + part(s / size, unit) + part(s % size / next_size, next_unit);
    }
  }
  return sign + part(s, "s");
}

}  // namespace forcetls
