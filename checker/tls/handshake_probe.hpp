// SPDX-License-Identifier: Apache-2.0
// The handshake probe of one MX address: connect, SMTP up to STARTTLS, one
// full OpenSSL handshake, polite close — one TCP connection. Outcomes are data.
// Coroutines run on the caller's executor; the TlsClientContext is shared and
// must outlive them.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "checker/smtp/smtp_session.hpp"
#include "checker/smtp/socket_io.hpp"
#include "checker/tls/tls_handshake.hpp"

namespace forcetls::checker {

struct HandshakeProbeOptions {
  SmtpOptions smtp = {};
  TlsHandshakeOptions tls = {};
};

struct HandshakeProbeResult {
  SmtpResult smtp;                        ///< how far SMTP got (ok() = STARTTLS accepted)
  std::optional<TlsHandshakeResult> tls;  ///< present when STARTTLS was accepted
  int connections = 0;                    ///< TCP connections opened (connect attempts): 0 or 1
  std::chrono::milliseconds elapsed{};

  /// STARTTLS accepted and the handshake completed.
  bool ok() const { return smtp.ok() && tls && tls->ok(); }
};

/// Connects to `endpoint` and runs the whole probe. `host_name` is the MX host
/// name: EHLO is not affected, SNI and the certificate name check use it.
asio::awaitable<HandshakeProbeResult> probe_handshake(Endpoint endpoint, std::string host_name,
                                                      const TlsClientContext& context,
                                                      HandshakeProbeOptions options);

/// The same on an already connected socket (a socketpair in tests);
/// `connections` is reported as 1. The socket is closed when it returns.
asio::awaitable<HandshakeProbeResult> probe_handshake_on(Socket& socket, std::string host_name,
                                                         const TlsClientContext& context,
                                                         HandshakeProbeOptions options);

}  // namespace forcetls::checker
