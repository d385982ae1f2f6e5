// SPDX-License-Identifier: Apache-2.0
// Tests for checker/probe/async_util: gate limits and FIFO, single-flight sharing.
#include "checker/probe/async_util.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

using namespace forcetls::checker;
using namespace std::chrono_literals;

namespace {

struct InFlight {
  int now = 0;
  int max = 0;
};

asio::awaitable<int> square_later(int n, std::chrono::milliseconds delay, InFlight* flight) {
  flight->max = std::max(flight->max, ++flight->now);
  co_await sleep_for(delay);
  --flight->now;
  co_return n* n;
}

}  // namespace

TEST_CASE("AsyncGate never admits more than its limit, in FIFO order", "[checker]") {
  asio::io_context io;
  AsyncGate gate(2);
  int inside = 0;
  int max_inside = 0;
  std::vector<int> order;
  for (int i = 0; i < 6; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          GateSlot slot = co_await GateSlot::take(gate);
          order.push_back(i);
          ++inside;
          max_inside = std::max(max_inside, inside);
          co_await sleep_for(2ms);
          --inside;
        },
        asio::detached);
  }
  io.run();
  CHECK(max_inside == 2);
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4, 5});
  CHECK(gate.available() == 2);
}

TEST_CASE("SingleFlight runs one computation per key for concurrent askers", "[checker]") {
  asio::io_context io;
  SingleFlight<std::string, int> flight;
  std::vector<int> results;
  for (int i = 0; i < 5; ++i) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          int v = co_await flight.get("192.0.2.1", []() -> asio::awaitable<int> {
            co_await sleep_for(3ms);
            co_return 42;
          });
          results.push_back(v);
        },
        asio::detached);
  }
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        int v = co_await flight.get("192.0.2.2", []() -> asio::awaitable<int> { co_return 7; });
        results.push_back(v);
      },
      asio::detached);
  io.run();
  CHECK(flight.computations() == 2);
  REQUIRE(results.size() == 6);
  CHECK(std::count(results.begin(), results.end(), 42) == 5);
  CHECK(std::count(results.begin(), results.end(), 7) == 1);
}

TEST_CASE("gather runs tasks concurrently and keeps their order", "[checker]") {
  asio::io_context io;
  std::vector<int> got;
  InFlight flight;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        std::vector<asio::awaitable<int>> tasks;
        tasks.push_back(square_later(3, 30ms, &flight));
        tasks.push_back(square_later(4, 10ms, &flight));
        tasks.push_back(square_later(5, 20ms, &flight));
        got = co_await gather(std::move(tasks));
      },
      asio::detached);
  io.run();
  CHECK(got == std::vector<int>{9, 16, 25});
  CHECK(flight.max == 3);  // all three were running at once
}

TEST_CASE("SingleFlight without keep forgets a finished computation", "[checker]") {
  asio::io_context io;
  SingleFlight<std::string, int> flight(/*keep=*/false);
  int runs = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto make = [&runs]() -> asio::awaitable<int> { co_return ++runs; };
        int first = co_await flight.get("k", make);
        int second = co_await flight.get("k", make);
        CHECK(first == 1);
        CHECK(second == 2);
      },
      asio::detached);
  io.run();
  CHECK(flight.computations() == 2);
}
