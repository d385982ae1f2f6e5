// SPDX-License-Identifier: Apache-2.0
// One raw write-then-read exchange on a socket after STARTTLS: the transport of
// the hand-built ClientHello probes. The bytes are not interpreted here (the
// TLS wire parser does that); this says what came back and how the read ended.
// The caller owns the socket; the coroutine runs on its executor.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "checker/smtp/socket_io.hpp"

namespace forcetls::checker {

/// How the read after the hello ended.
enum class RawEnd {
  enough,        ///< the `enough` predicate said the bytes suffice
  limit,         ///< max_bytes were read without the predicate being satisfied
  eof,           ///< the server closed the connection (FIN)
  reset,         ///< the server reset the connection
  timeout,       ///< the deadline passed (while writing or reading)
  write_failed,  ///< the hello could not be sent completely (see `sent`)
  error,         ///< another socket error (detail)
};
std::string_view to_string(RawEnd end);

struct RawExchangeResult {
  std::vector<std::uint8_t> bytes;  ///< everything read, at most max_bytes
  RawEnd end = RawEnd::error;
  bool sent = false;  ///< the whole hello was written
  std::string detail;
  std::chrono::milliseconds elapsed{};
};

/// Called with all bytes read so far after each read; true ends the exchange.
using RawEnough = std::function<bool(std::span<const std::uint8_t> received)>;

/// Writes `hello`, then reads until `enough` says so, max_bytes, EOF, reset or
/// `timeout` (one deadline for write and reads together). `hello` must stay
/// valid until the coroutine completes. An empty `enough` reads until the end.
asio::awaitable<RawExchangeResult> exchange_raw(Socket& socket, std::span<const std::uint8_t> hello,
                                                std::chrono::milliseconds timeout,
                                                std::size_t max_bytes, RawEnough enough);

}  // namespace forcetls::checker
