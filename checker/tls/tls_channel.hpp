// SPDX-License-Identifier: Apache-2.0
// A TLS connection over an Asio socket, driven through OpenSSL memory BIOs:
// OpenSSL never touches the socket, so every read and write has a deadline and
// the SSL* stays in our hands (hooks for DANE, inspection). Client or server
// role, as the SSL* is set up. Owns the SSL; borrows the socket, which must
// outlive it. One coroutine at a time, on the socket's executor.
#pragma once

#include <openssl/ssl.h>

#include <asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "checker/smtp/socket_io.hpp"
#include "common/c_handle.hpp"

namespace forcetls::checker {

using SslHandle = CHandle<SSL, SSL_free>;
using SslCtxHandle = CHandle<SSL_CTX, SSL_CTX_free>;

/// How a TLS operation ended.
enum class TlsIoStatus {
  ok,
  timeout,    ///< the deadline passed
  closed,     ///< the transport ended: EOF or reset (detail says which)
  tls_error,  ///< a TLS failure: alert received or sent, bad record, ... (detail)
  shutdown,   ///< the peer sent close_notify
};
std::string_view to_string(TlsIoStatus status);

struct TlsIoResult {
  TlsIoStatus status = TlsIoStatus::ok;
  std::string detail;     ///< OpenSSL's error queue or the socket error, one line
  std::size_t bytes = 0;  ///< application bytes read or written
  bool ok() const { return status == TlsIoStatus::ok; }
};

class TlsChannel {
 public:
  /// Takes `ssl` (connect or accept state already chosen by the caller) and
  /// gives it a pair of memory BIOs.
  TlsChannel(Socket& socket, SslHandle ssl);
  TlsChannel(const TlsChannel&) = delete;
  TlsChannel& operator=(const TlsChannel&) = delete;
  ~TlsChannel();

  SSL* ssl() const { return ssl_.get(); }

  asio::awaitable<TlsIoResult> handshake(Deadline deadline);
  /// Writes all of `data` as application data.
  asio::awaitable<TlsIoResult> write(std::span<const std::uint8_t> data, Deadline deadline);
  /// Appends at least one byte of application data to `out` (or fails).
  asio::awaitable<TlsIoResult> read_some(std::vector<std::uint8_t>& out, Deadline deadline);
  /// Sends close_notify; does not wait for the peer's.
  asio::awaitable<TlsIoResult> shutdown(Deadline deadline);

  /// First alert received / sent, "fatal handshake failure"; empty if none.
  const std::string& alert_received() const { return alert_received_; }
  const std::string& alert_sent() const { return alert_sent_; }
  /// Where the handshake state machine is, "SSLv3/TLS read server hello".
  std::string state() const;

 private:
  // Runs one SSL call to completion: feeds it socket bytes while it wants
  // them and sends what it produced (records, alerts) after every step.
  asio::awaitable<TlsIoResult> drive(std::function<int(SSL*)> op, Deadline deadline);
  asio::awaitable<IoResult> flush(Deadline deadline);
  static void info_callback(const SSL* ssl, int where, int ret);

  Socket& socket_;
  SslHandle ssl_;
  BIO* in_ = nullptr;   // owned by ssl_
  BIO* out_ = nullptr;  // owned by ssl_
  std::string alert_received_;
  std::string alert_sent_;
  std::vector<std::uint8_t> wire_;  // socket read buffer
};

/// OpenSSL's error queue of this thread as one line, and cleared.
std::string drain_openssl_errors();

}  // namespace forcetls::checker
