// SPDX-License-Identifier: Apache-2.0
// Tests for common/log: field quoting and level filtering.
#include "common/log.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace forcetls;

TEST_CASE("log::quote quotes only what needs it", "[common]") {
  struct Case {
    std::string in;
    std::string want;
  };
  auto c = GENERATE(values<Case>({
      {"example.com", "example.com"},
      {"<bob@example.com>", "<bob@example.com>"},
      {"", "\"\""},
      {"a b", "\"a b\""},
      {"x=y", "\"x=y\""},
      {"say \"hi\"", "\"say \\\"hi\\\"\""},
      {"line\nbreak", "\"line\\x0abreak\""},
      {"back\\slash", "\"back\\\\slash\""},
  }));
  CAPTURE(c.in);
  CHECK(log::quote(c.in) == c.want);
}

TEST_CASE("log::fields joins key=value pairs", "[common]") {
  CHECK(log::fields({{"rcpt", "<a@b.test>"}, {"verdict", "ineligible"}, {"why", "no tls"}}) ==
        "rcpt=<a@b.test> verdict=ineligible why=\"no tls\"");
}

TEST_CASE("log level filter drops lines below the level", "[common]") {
  std::vector<std::string> got;
  log::set_sink([&](log::Level, std::string_view line) { got.emplace_back(line); });
  log::set_level(log::Level::warning);
  log::info("dropped");
  log::warning("kept");
  log::error("kept too");
  log::set_level(log::Level::info);
  log::set_sink({});
  CHECK(got == std::vector<std::string>{"kept", "kept too"});
}

TEST_CASE("log::parse_level accepts the five names only", "[common]") {
  log::Level level{};
  CHECK(log::parse_level("warning", level));
  CHECK(level == log::Level::warning);
  CHECK_FALSE(log::parse_level("WARN", level));
  CHECK_FALSE(log::parse_level("", level));
}

TEST_CASE("log::Throttle: the first event, then one per interval, with the count", "[common]") {
  forcetls::log::Throttle throttle(std::chrono::milliseconds(50));
  std::uint64_t n = 0;
  CHECK(throttle.due(&n));
  CHECK(n == 1);
  for (int i = 0; i < 5; ++i) {
    CHECK_FALSE(throttle.due());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  CHECK(throttle.due(&n));
  CHECK(n == 6);  // the five held back and this one
  CHECK_FALSE(throttle.due(&n));
  // Many threads at once: exactly one of them logs within the interval.
  forcetls::log::Throttle shared(std::chrono::minutes(1));
  std::atomic<int> logged{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        logged += shared.due() ? 1 : 0;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(logged == 1);
}
