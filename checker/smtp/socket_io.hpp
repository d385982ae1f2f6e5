// SPDX-License-Identifier: Apache-2.0
// Socket I/O with deadlines for the prober: one stream socket type for TCP and
// for the tests' socketpairs, and connect/read/write coroutines that end at a
// deadline instead of throwing. The caller owns the socket; one operation per
// socket at a time, on the socket's executor (one thread).
//
// GCC 12 miscompiles an aggregate or capturing-lambda temporary with a
// non-trivial destructor created inside a co_await expression: it is
// destroyed twice (double free). Never write `co_await f(SmtpOptions{...})`;
// name the options first (`SmtpOptions o{...}; co_await f(o);`).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/generic/stream_protocol.hpp>
#include <asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>

namespace forcetls::checker {

/// Every prober connection is one of these: a TCP socket in production, one
/// end of an AF_UNIX socketpair in unit tests.
using Socket = asio::generic::stream_protocol::socket;
using Endpoint = asio::generic::stream_protocol::endpoint;
using SteadyClock = std::chrono::steady_clock;
using Deadline = SteadyClock::time_point;

/// The TCP endpoint address:port as a generic endpoint.
Endpoint make_endpoint(const asio::ip::address& address, std::uint16_t port);

/// How an I/O step ended. Exactly one of: success, timed_out, error.
struct IoResult {
  std::error_code error;  ///< set when the operation failed
  std::size_t bytes = 0;  ///< bytes transferred (read_some: > 0 on success)
  bool timed_out = false;
  bool ok() const { return !error && !timed_out; }
};

/// How the peer ended a connection, from a read or write error.
enum class PeerEnd {
  none,   ///< not a peer ending (success, or a local failure)
  eof,    ///< orderly close (FIN)
  reset,  ///< reset, or broken pipe on write
};
PeerEnd peer_end(const std::error_code& error);

/// Opens `socket` for the endpoint's protocol and connects.
asio::awaitable<IoResult> connect_before(Socket& socket, Endpoint endpoint, Deadline deadline);
/// One read of at most buffer.size() bytes.
asio::awaitable<IoResult> read_some_before(Socket& socket, std::span<std::uint8_t> buffer,
                                           Deadline deadline);
/// Writes all of `data` (or fails).
asio::awaitable<IoResult> write_all_before(Socket& socket, std::span<const std::uint8_t> data,
                                           Deadline deadline);

/// Shuts down and closes the socket; errors are ignored (it is going away).
void close_quietly(Socket& socket);

/// "timeout after 30000 ms" style text for reports.
std::string describe_timeout(std::chrono::milliseconds timeout);

/// Milliseconds since `start`.
std::chrono::milliseconds elapsed_since(SteadyClock::time_point start);

}  // namespace forcetls::checker
