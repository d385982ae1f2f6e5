// SPDX-License-Identifier: Apache-2.0
// Durations as text: the one place forcetls writes them. Three forms, for
// three readers; pure functions, any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace forcetls {

/// Exact, in the configuration's own syntax: the largest unit that divides
/// it ("20s", "90m", "1d", "1500ms"; "0ms"; negative as "0ms"). What the
/// loader reads back.
std::string duration_text(std::chrono::milliseconds d);

/// One unit, rounded down, as the log's `age=` field: seconds below two
/// minutes, minutes below two hours, hours below two days, then days
/// ("119s", "2m", "3h", "2d"; negative as "0s").
std::string age_text(std::int64_t seconds);

/// The two largest units, for people reading cache listings ("59s", "1m0s",
/// "23h59m", "1d1h"; negative with a sign, "-1m15s").
std::string span_text(std::int64_t seconds);

}  // namespace forcetls
