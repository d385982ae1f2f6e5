// SPDX-License-Identifier: Apache-2.0
// Socket I/O with deadlines: see socket_io.hpp.
#include "checker/smtp/socket_io.hpp"

#include <asio/error.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <optional>
#include <tuple>
#include <utility>

namespace forcetls::checker {
namespace {

constexpr auto kAsTuple = asio::experimental::as_tuple(asio::use_awaitable);

// Runs `op` until `deadline`; nullopt when the deadline came first. The losing
// side is cancelled (per-operation cancellation of the socket or timer), so a
// silent peer costs one timer, not a stuck coroutine.
template <typename T>
asio::awaitable<std::optional<T>> before(Deadline deadline, asio::awaitable<T> op) {
  using namespace asio::experimental::awaitable_operators;
  if (SteadyClock::now() >= deadline) {
    co_return std::nullopt;
  }
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
  auto result = co_await (std::move(op) || timer.async_wait(asio::use_awaitable));
  if (result.index() == 0) {
    co_return std::move(std::get<0>(result));
  }
  co_return std::nullopt;
}

IoResult to_result(std::optional<std::tuple<std::error_code, std::size_t>> done) {
  IoResult r;
  if (!done) {
    r.timed_out = true;
    return r;
  }
  r.error = std::get<0>(*done);
  r.bytes = std::get<1>(*done);
  return r;
}

}  // namespace

Endpoint make_endpoint(const asio::ip::address& address, std::uint16_t port) {
  return Endpoint(asio::ip::tcp::endpoint(address, port));
}

PeerEnd peer_end(const std::error_code& error) {
  if (error == asio::error::eof) {
    return PeerEnd::eof;
  }
  if (error == asio::error::connection_reset || error == asio::error::broken_pipe ||
      error == asio::error::connection_aborted) {
    return PeerEnd::reset;
  }
  return PeerEnd::none;
}

asio::awaitable<IoResult> connect_before(Socket& socket, Endpoint endpoint, Deadline deadline) {
  auto op = [](Socket& s,
               Endpoint ep) -> asio::awaitable<std::tuple<std::error_code, std::size_t>> {
    auto [ec] = co_await s.async_connect(ep, kAsTuple);
    co_return std::tuple<std::error_code, std::size_t>{ec, 0};
  };
  co_return to_result(co_await before(deadline, op(socket, std::move(endpoint))));
}

asio::awaitable<IoResult> read_some_before(Socket& socket, std::span<std::uint8_t> buffer,
                                           Deadline deadline) {
  co_return to_result(co_await before(
      deadline, socket.async_read_some(asio::buffer(buffer.data(), buffer.size()), kAsTuple)));
}

asio::awaitable<IoResult> write_all_before(Socket& socket, std::span<const std::uint8_t> data,
                                           Deadline deadline) {
  co_return to_result(co_await before(
      deadline, asio::async_write(socket, asio::buffer(data.data(), data.size()), kAsTuple)));
}

void close_quietly(Socket& socket) {
  std::error_code ignored;
  if (socket.is_open()) {
    socket.shutdown(Socket::shutdown_both, ignored);
    socket.close(ignored);
  }
}

std::string describe_timeout(std::chrono::milliseconds timeout) {
  return "no answer within " + std::to_string(timeout.count()) + " ms";
}

std::chrono::milliseconds elapsed_since(SteadyClock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
}

}  // namespace forcetls::checker
