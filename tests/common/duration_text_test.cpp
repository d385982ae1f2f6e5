// SPDX-License-Identifier: Apache-2.0
// Tests for common/duration_text: the three forms, their edges.
#include "common/duration_text.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>

using namespace std::chrono_literals;
using forcetls::age_text;
using forcetls::duration_text;
using forcetls::span_text;

TEST_CASE("duration_text: the shortest exact form, as the configuration writes it", "[common]") {
  CHECK(duration_text(20s) == "20s");
  CHECK(duration_text(24h) == "1d");
  CHECK(duration_text(90min) == "90m");
  CHECK(duration_text(2h) == "2h");
  CHECK(duration_text(1500ms) == "1500ms");
  CHECK(duration_text(0ms) == "0ms");
  CHECK(duration_text(-5s) == "0ms");
}

TEST_CASE("age_text: one unit, rounded down", "[common]") {
  struct Case {
    std::int64_t seconds;
    const char* want;
  };
  auto c = GENERATE(Case{-5, "0s"}, Case{0, "0s"}, Case{119, "119s"}, Case{120, "2m"},
                    Case{7199, "119m"}, Case{3 * 3600, "3h"}, Case{2 * 86400 - 1, "47h"},
                    Case{2 * 86400, "2d"});
  CHECK(age_text(c.seconds) == c.want);
}

TEST_CASE("span_text: the two largest units", "[common]") {
  struct Case {
    std::int64_t seconds;
    const char* want;
  };
  auto c = GENERATE(values<Case>({
      {0, "0s"},
      {59, "59s"},
      {60, "1m0s"},
      {3599, "59m59s"},
      {3600, "1h0m"},
      {86399, "23h59m"},
      {90061, "1d1h"},
      {-75, "-1m15s"},
      {std::numeric_limits<std::int64_t>::min(), "-106751991167300d15h"},
  }));
  CHECK(span_text(c.seconds) == c.want);
}
