// SPDX-License-Identifier: Apache-2.0
// The handshake probe: see handshake_probe.hpp.
#include "checker/tls/handshake_probe.hpp"

#include <asio/this_coro.hpp>
#include <utility>

namespace forcetls::checker {
namespace {

asio::awaitable<void> after_starttls(Socket& socket, std::string host_name,
                                     const TlsClientContext& context,
                                     const HandshakeProbeOptions& options,
                                     HandshakeProbeResult& result) {
  if (!result.smtp.ok()) {
    co_return;  // smtp_starttls() has closed the socket
  }
  result.tls = co_await tls_handshake(socket, context, std::move(host_name), options.tls);
}

}  // namespace

asio::awaitable<HandshakeProbeResult> probe_handshake(Endpoint endpoint, std::string host_name,
                                                      const TlsClientContext& context,
                                                      HandshakeProbeOptions options) {
  HandshakeProbeResult result;
  auto start = SteadyClock::now();
  Socket socket(co_await asio::this_coro::executor);
  result.connections = 1;
  result.smtp = co_await smtp_connect_starttls(socket, std::move(endpoint), options.smtp);
  co_await after_starttls(socket, std::move(host_name), context, options, result);
  close_quietly(socket);
  result.elapsed = elapsed_since(start);
  co_return result;
}

asio::awaitable<HandshakeProbeResult> probe_handshake_on(Socket& socket, std::string host_name,
                                                         const TlsClientContext& context,
                                                         HandshakeProbeOptions options) {
  HandshakeProbeResult result;
  auto start = SteadyClock::now();
  result.connections = 1;
  result.smtp = co_await smtp_starttls(socket, options.smtp);
  co_await after_starttls(socket, std::move(host_name), context, options, result);
  close_quietly(socket);
  result.elapsed = elapsed_since(start);
  co_return result;
}

}  // namespace forcetls::checker
