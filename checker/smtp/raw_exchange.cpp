// SPDX-License-Identifier: Apache-2.0
// Raw write-then-read exchange: see raw_exchange.hpp.
#include "checker/smtp/raw_exchange.hpp"

#include "common/enum_names.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace forcetls::checker {

namespace {
constexpr NameTable<RawEnd, 7> kRawEndNames{{
    {RawEnd::enough, "enough"},
    {RawEnd::limit, "limit"},
    {RawEnd::eof, "eof"},
    {RawEnd::reset, "reset"},
    {RawEnd::timeout, "timeout"},
    {RawEnd::write_failed, "write_failed"},
    {RawEnd::error, "error"},
}};
}  // namespace

std::string_view to_string(RawEnd end) { return name_in(kRawEndNames, end); }

asio::awaitable<RawExchangeResult> exchange_raw(Socket& socket, std::span<const std::uint8_t> hello,
                                                std::chrono::milliseconds timeout,
                                                std::size_t max_bytes, RawEnough enough) {
  RawExchangeResult result;
  auto start = SteadyClock::now();
  Deadline deadline = start + timeout;
  auto finish = [&](RawEnd end, std::string detail) {
    result.end = end;
    result.detail = std::move(detail);
    result.elapsed = elapsed_since(start);
  };

  IoResult io = co_await write_all_before(socket, hello, deadline);
  if (io.timed_out) {
    finish(RawEnd::timeout, describe_timeout(timeout) + " (sending)");
    co_return result;
  }
  if (io.error) {
    finish(RawEnd::write_failed, io.error.message());
    co_return result;
  }
  result.sent = true;

  std::array<std::uint8_t, 4096> buffer{};
  while (result.bytes.size() < max_bytes) {
    std::size_t want = std::min(buffer.size(), max_bytes - result.bytes.size());
    io = co_await read_some_before(socket, std::span(buffer.data(), want), deadline);
    if (io.timed_out) {
      finish(RawEnd::timeout, describe_timeout(timeout));
      co_return result;
    }
    if (io.error) {
      switch (peer_end(io.error)) {
        case PeerEnd::eof:
          finish(RawEnd::eof, "connection closed by the server");
          break;
        case PeerEnd::reset:
          finish(RawEnd::reset, io.error.message());
          break;
        case PeerEnd::none:
          finish(RawEnd::error, io.error.message());
          break;
      }
      co_return result;
    }
    result.bytes.insert(result.bytes.end(), buffer.begin(), buffer.begin() + io.bytes);
    if (enough && enough(result.bytes)) {
      finish(RawEnd::enough, "");
      co_return result;
    }
  }
  finish(RawEnd::limit, "read " + std::to_string(max_bytes) + " bytes");
  co_return result;
}

}  // namespace forcetls::checker
