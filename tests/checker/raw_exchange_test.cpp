// SPDX-License-Identifier: Apache-2.0
// Tests for checker/smtp/raw_exchange: how a raw hello exchange ends, over a
// socketpair with a scripted peer.
#include "checker/smtp/raw_exchange.hpp"

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <exception>
#include <string>
#include <vector>

#include "tests/checker/fake_peer.hpp"

using namespace forcetls;
using namespace forcetls::checker;
using namespace forcetls::test;

namespace {

void rethrow(std::exception_ptr e) {
  if (e) {
    std::rethrow_exception(e);
  }
}

// Enough once a whole TLS record (5-byte header + length) is there.
bool one_record(std::span<const std::uint8_t> b) {
  return b.size() >= 5 && b.size() >= 5u + ((b[3] << 8) | b[4]);
}

struct Exchange {
  RawExchangeResult result;
  ServerLog log;
};

Exchange run_exchange(std::vector<Step> script, std::size_t max_bytes, RawEnough enough,
                      std::chrono::milliseconds timeout = 300ms) {
  asio::io_context io;
  auto [client, server] = make_socket_pair(io);
  Exchange ex;
  static const std::string kHello = "HELLO\n";
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        ex.result = co_await exchange_raw(
            client, std::span(reinterpret_cast<const std::uint8_t*>(kHello.data()), kHello.size()),
            timeout, max_bytes, enough);
        close_quietly(client);
      },
      rethrow);
  asio::co_spawn(io, run_script(server, std::move(script), ex.log, nullptr, 500ms), rethrow);
  io.run();
  return ex;
}

}  // namespace

TEST_CASE("raw exchange: how the read ends", "[checker]") {
  // An alert record: 15 03 03 00 02 02 28 (fatal handshake_failure).
  const std::string alert("\x15\x03\x03\x00\x02\x02\x28", 7);
  struct Case {
    std::string label;
    std::vector<Step> script;
    std::size_t max_bytes;
    bool use_predicate;
    RawEnd end;
    std::size_t bytes;
  };
  auto c = GENERATE_COPY(values<Case>({
      {"record in one piece",
       {read_line(), say(alert), delay(500ms)},
       4096,
       true,
       RawEnd::enough,
       7},
      {"record split with a pause",
       {read_line(), say(alert.substr(0, 3)), delay(50ms), say(alert.substr(3)), delay(500ms)},
       4096,
       true,
       RawEnd::enough,
       7},
      {"EOF after part of a record",
       {read_line(), say(alert.substr(0, 4)), hang_up()},
       4096,
       true,
       RawEnd::eof,
       4},
      {"EOF, nothing sent", {read_line(), hang_up()}, 4096, true, RawEnd::eof, 0},
      // Closing with the hello unread makes an AF_UNIX peer see a reset, as
      // a TCP peer does after an RST.
      {"reset", {delay(50ms), hang_up()}, 4096, true, RawEnd::reset, 0},
      {"silence", {read_line(), delay(1s)}, 4096, true, RawEnd::timeout, 0},
      {"partial record then silence",
       {read_line(), say(alert.substr(0, 2)), delay(1s)},
       4096,
       true,
       RawEnd::timeout,
       2},
      {"byte limit",
       {read_line(), say(std::string(100, 'x')), delay(500ms)},
       10,
       true,
       RawEnd::limit,
       10},
      {"no predicate: read to EOF",
       {read_line(), say(alert), say(alert), hang_up()},
       4096,
       false,
       RawEnd::eof,
       14},
  }));
  CAPTURE(c.label);
  // Only the timeout cases keep the short budget (their scripts stay silent far
  // longer); the others get one no scripted pause comes near on a loaded machine.
  std::chrono::milliseconds timeout = c.end == RawEnd::timeout ? 300ms : 20s;
  Exchange ex = run_exchange(c.script, c.max_bytes,
                             c.use_predicate ? RawEnough(one_record) : RawEnough(), timeout);
  CAPTURE(ex.result.detail);
  CHECK(ex.result.end == c.end);
  CHECK(ex.result.sent);
  CHECK(ex.result.bytes.size() == c.bytes);
  if (c.end == RawEnd::timeout) {
    CHECK(ex.result.elapsed >= 250ms);
  }
}

TEST_CASE("raw exchange: the hello reaches the peer unchanged", "[checker]") {
  Exchange ex = run_exchange({read_line(), hang_up()}, 100, nullptr);
  CHECK(ex.log.received == std::vector<std::string>{"HELLO"});
}

TEST_CASE("raw exchange: write to a closed connection", "[checker]") {
  asio::io_context io;
  auto [client, server] = make_socket_pair(io);
  close_quietly(server);
  RawExchangeResult result;
  std::vector<std::uint8_t> hello(64, 0x16);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        result = co_await exchange_raw(client, hello, 300ms, 100, nullptr);
      },
      rethrow);
  io.run();
  CHECK(result.end == RawEnd::write_failed);
  CHECK_FALSE(result.sent);
}

TEST_CASE("raw end names", "[checker]") {
  CHECK(to_string(RawEnd::write_failed) == "write_failed");
  CHECK(to_string(RawEnd::enough) == "enough");
}
