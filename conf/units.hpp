// SPDX-License-Identifier: Apache-2.0
// Durations (`500ms`, `30s`, `15m`, `24h`, `7d`) and sizes (`512M`, `1G`) as
// written in the configuration. Pure; any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace forcetls::conf {

using Duration = std::chrono::milliseconds;

/// A whole number followed by one unit: ms, s, m, h, d. No bare numbers:
/// "30" could mean seconds or minutes, and a wrong guess is a silent bug.
Result<Duration> parse_duration(std::string_view text);

/// A whole number of bytes, optionally followed by K, M, G or T (powers of
/// 1024; an optional trailing B or iB, any case): `512M`, `1G`, `65536`.
Result<std::uint64_t> parse_size(std::string_view text);

/// The shortest exact form: 20000ms -> "20s", 86400000ms -> "1d".
/// The shortest exact form: 536870912 -> "512M".
std::string format_size(std::uint64_t bytes);

}  // namespace forcetls::conf
