// SPDX-License-Identifier: Apache-2.0
// Duration and size parsing, overflow-checked.
#include "conf/units.hpp"

#include <array>
#include <limits>
#include <utility>

namespace forcetls::conf {
namespace {

/// Leading decimal digits of `text` as a number; false on none or overflow.
bool leading_number(std::string_view& text, std::uint64_t& out) {
  std::size_t i = 0;
  out = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    const auto digit = static_cast<std::uint64_t>(text[i] - '0');
    if (out > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
      return false;
    }
    out = out * 10 + digit;
    ++i;
  }
  if (i == 0) {
    return false;
  }
  text.remove_prefix(i);
  return true;
}

constexpr std::string_view kDurationForms =
    "a number with a unit: ms, s, m, h or d (e.g. 30s, 15m, 24h, 7d)";
constexpr std::string_view kSizeForms =
    "a number of bytes with an optional K, M, G or T (e.g. 512M, 1G)";

constexpr std::array<std::pair<std::string_view, std::uint64_t>, 5> kDurationUnits{{
    {"ms", 1},
    {"s", 1000},
    {"m", 60 * 1000},
    {"h", 60 * 60 * 1000},
    {"d", 24 * 60 * 60 * 1000},
}};

// Tried largest first by format_* so the shortest form wins.
constexpr std::array<std::pair<std::string_view, std::uint64_t>, 5> kSizeUnits{{
    {"", 1},
    {"K", 1ULL << 10},
    {"M", 1ULL << 20},
    {"G", 1ULL << 30},
    {"T", 1ULL << 40},
}};

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  std::string_view rest = text;
  std::uint64_t n = 0;
  if (!leading_number(rest, n)) {
    return fail(Errc::config, "bad duration '" + std::string(text) + "': expected " +
                                  std::string(kDurationForms));
  }
  if (rest.empty()) {
    return fail(Errc::config, "bad duration '" + std::string(text) + "': missing unit, expected " +
                                  std::string(kDurationForms));
  }
  for (const auto& [unit, ms] : kDurationUnits) {
    if (rest == unit) {
      // Bound well below overflow of milliseconds in int64: ~292 million years.
      if (n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / ms) {
        return fail(Errc::config, "duration '" + std::string(text) + "' is too large");
      }
      return Duration(static_cast<std::int64_t>(n * ms));
    }
  }
  return fail(Errc::config, "bad duration '" + std::string(text) + "': unknown unit '" +
                                std::string(rest) + "', expected " + std::string(kDurationForms));
}

Result<std::uint64_t> parse_size(std::string_view text) {
  std::string_view rest = text;
  std::uint64_t n = 0;
  if (!leading_number(rest, n)) {
    return fail(Errc::config,
                "bad size '" + std::string(text) + "': expected " + std::string(kSizeForms));
  }
  std::string unit;
  for (char c : rest) {
    unit += upper(c);
  }
  // Accept K, KB, KiB (all powers of 1024: LMDB map sizes are memory pages).
  if (unit.size() == 3 && unit.substr(1) == "IB") {
    unit.resize(1);
  } else if (unit.size() == 2 && unit[1] == 'B') {
    unit.resize(1);
  } else if (unit == "B") {
    unit.clear();
  }
  for (const auto& [name, factor] : kSizeUnits) {
    if (unit == name) {
      if (n > std::numeric_limits<std::uint64_t>::max() / factor) {
        return fail(Errc::config, "size '" + std::string(text) + "' is too large");
      }
      return n * factor;
    }
  }
  return fail(Errc::config, "bad size '" + std::string(text) + "': unknown unit '" +
                                std::string(rest) + "', expected " + std::string(kSizeForms));
}

std::string format_size(std::uint64_t bytes) {
  for (auto it = kSizeUnits.rbegin(); it != kSizeUnits.rend(); ++it) {
    if (bytes != 0 && bytes % it->second == 0) {
      return std::to_string(bytes / it->second) + std::string(it->first);
    }
  }
  return std::to_string(bytes);
}

}  // namespace forcetls::conf
