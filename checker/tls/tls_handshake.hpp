// SPDX-License-Identifier: Apache-2.0
// The one full OpenSSL handshake of a probe, right after STARTTLS: the widest
// offer (TLS 1.0-1.3, security level 0), the negotiated protocol and cipher,
// and the server's chain with its checks. A TlsClientContext is made once and
// shared (read-only after create(), any thread); tls_handshake() runs on the
// socket's executor and closes the socket when done.
#pragma once

#include <openssl/ssl.h>

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checker/smtp/smtp_reply.hpp"
#include "checker/smtp/socket_io.hpp"
#include "checker/tls/certificate_check.hpp"
#include "checker/tls/tls_channel.hpp"
#include "common/error.hpp"

namespace forcetls::checker {

using namespace std::chrono_literals;

struct TlsClientOptions {
  std::string ca_file = {};  ///< PEM bundle of trusted CAs; with ca_path empty: the system store
  std::string ca_path = {};  ///< hashed CA directory (c_rehash)
  /// Every TLS <= 1.2 suite Debian's OpenSSL 3 has, minus anonymous ones (no
  /// certificate to check), PSK and SRP (need credentials): 71 suites, below
  /// the 128 that make some servers drop a ClientHello (doc/checks.md).
  std::string cipher_list = "ALL:!aNULL:!PSK:!SRP:@SECLEVEL=0";
  /// All five TLS 1.3 suites of RFC 8446 §B.4.
  std::string ciphersuites =
      "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:"
      "TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256";
  int min_version = TLS1_VERSION;  ///< Debian's OpenSSL has no SSL 3.0
  int max_version = TLS1_3_VERSION;
};

/// The client SSL_CTX and its trust store. Move-only.
class TlsClientContext {
 public:
  static Result<TlsClientContext> create(const TlsClientOptions& options = {});
  /// The same, but trusting exactly what `trust` trusts: the new context shares
  /// its store, so the CAs are loaded once (parsing the system bundle takes
  /// milliseconds). options.ca_file and options.ca_path are not read.
  static Result<TlsClientContext> create(const TlsClientOptions& options,
                                         const TlsClientContext& trust);

  SSL_CTX* native() const { return ctx_.get(); }
  /// The trusted CAs the "trusted" check uses.
  X509_STORE* store() const { return SSL_CTX_get_cert_store(ctx_.get()); }

 private:
  explicit TlsClientContext(SslCtxHandle ctx) : ctx_(std::move(ctx)) {}
  // `shared`: the store to use; nullptr loads options' CAs (or the system's).
  static Result<TlsClientContext> build(const TlsClientOptions& options, X509_STORE* shared);
  SslCtxHandle ctx_;
};

struct TlsHandshakeOptions {
  std::chrono::milliseconds handshake_timeout = 30s;
  /// After a completed handshake: QUIT inside TLS, then close_notify.
  bool quit = true;
  std::chrono::milliseconds quit_timeout = 2s;
  /// "Now" for the expiry check; empty means the system clock.
  std::function<std::chrono::system_clock::time_point()> clock = {};
  /// Called with the client SSL after its setup (SNI, versions) and before the
  /// ClientHello: the place for SSL_dane_enable() / SSL_dane_tlsa_add() (the
  /// context has SSL_CTX_dane_enable() done) or extra restrictions.
  std::function<void(SSL*)> before_handshake = {};
  /// Called after a completed handshake, before QUIT: read DANE results
  /// (SSL_get0_dane_authority) or anything else from the live SSL.
  std::function<void(SSL*)> after_handshake = {};
};

/// How the handshake ended.
enum class HandshakeStatus {
  completed,
  timeout,      ///< no complete handshake before the deadline
  closed,       ///< the server closed or reset the connection during the handshake
  failed,       ///< TLS failure: alert received or sent, garbage, no common version/suite
  local_error,  ///< could not set up the client SSL
};
std::string_view to_string(HandshakeStatus status);

struct TlsHandshakeResult {
  HandshakeStatus status = HandshakeStatus::local_error;
  std::string detail;          ///< why it failed, one line (OpenSSL's reasons, socket error)
  std::string alert_received;  ///< first alert from the server, "fatal handshake failure"
  std::string alert_sent;      ///< first alert we sent
  std::string state;           ///< handshake state at the end, "SSLv3/TLS read server hello"
  std::string sni;             ///< server name sent, empty if none

  std::string protocol;         ///< "TLSv1.2"
  int protocol_version = 0;     ///< 0x0303
  std::string cipher;           ///< IANA name, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
  std::string cipher_openssl;   ///< OpenSSL name, "ECDHE-RSA-AES256-GCM-SHA384"
  std::uint16_t cipher_id = 0;  ///< IANA code point, 0xC030
  int cipher_bits = 0;

  std::vector<CertificateInfo> chain;  ///< as the server sent it, leaf first
  CertificateChecks cert;              ///< checks of chain[0]; all unknown without a chain

  std::optional<SmtpReply> quit_reply;  ///< the reply to QUIT inside TLS, if one came
  std::chrono::milliseconds elapsed{};  ///< handshake only

  bool ok() const { return status == HandshakeStatus::completed; }
};

/// Runs the client handshake on `socket` (positioned right after the 220 to
/// STARTTLS), with SNI `host_name` (not for IP literals) and name checks
/// against it. `context` must outlive the coroutine. The socket is closed when
/// it returns.
asio::awaitable<TlsHandshakeResult> tls_handshake(Socket& socket, const TlsClientContext& context,
                                                  std::string host_name,
                                                  TlsHandshakeOptions options);

/// Fills the negotiated-parameter and certificate fields of `result` from a
/// completed `ssl` (exposed for other handshakes, e.g. a quick eligibility probe).
void collect_session(SSL* ssl, X509_STORE* store, std::string_view host_name,
                     std::chrono::system_clock::time_point now, TlsHandshakeResult& result);

}  // namespace forcetls::checker
