// SPDX-License-Identifier: Apache-2.0
// The full OpenSSL handshake of a probe: see tls_handshake.hpp.
#include "checker/tls/tls_handshake.hpp"

#include "checker/report/next_hop.hpp"
#include "common/enum_names.hpp"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <asio/ip/address.hpp>
#include <utility>

namespace forcetls::checker {
namespace {

// A client SSL for `host_name` (no trailing dot), with SNI unless the name is
// empty or an address literal. Null, with result.detail saying why, on failure.
SslHandle new_client_ssl(const TlsClientContext& context, const std::string& host_name,
                         TlsHandshakeResult& result) {
  ERR_clear_error();
  SslHandle ssl{SSL_new(context.native())};
  if (!ssl) {
    result.detail = "SSL_new: " + drain_openssl_errors();
    return ssl;
  }
  SSL_set_connect_state(ssl.get());
  if (!host_name.empty() && !normalize_address(host_name)) {
    // RFC 6066 §3: SNI carries a host name, never an address literal.
    if (SSL_set_tlsext_host_name(ssl.get(), host_name.c_str()) != 1) {
      result.detail = "SNI: " + drain_openssl_errors();
      return SslHandle{};
    }
    result.sni = host_name;
  }
  return ssl;
}

// The handshake's outcome as a HandshakeStatus and its detail.
void set_handshake_status(const TlsIoResult& hs, std::chrono::milliseconds timeout,
                          TlsHandshakeResult& result) {
  switch (hs.status) {
    case TlsIoStatus::ok:
      result.status = HandshakeStatus::completed;
      break;
    case TlsIoStatus::timeout:
      result.status = HandshakeStatus::timeout;
      result.detail = describe_timeout(timeout);
      break;
    case TlsIoStatus::closed:
    case TlsIoStatus::shutdown:
      result.status = HandshakeStatus::closed;
      result.detail = hs.detail;
      break;
    case TlsIoStatus::tls_error:
      result.status = HandshakeStatus::failed;
      result.detail = hs.detail;
      break;
  }
}

// Reads until one complete SMTP reply (nullopt if the channel or the parser
// fails first).
asio::awaitable<std::optional<SmtpReply>> read_reply(TlsChannel& channel, Deadline deadline) {
  SmtpReplyParser parser;
  std::vector<std::uint8_t> plain;
  for (;;) {
    auto reply = parser.next();
    if (!reply || *reply) {
      co_return reply ? std::move(*reply) : std::nullopt;
    }
    plain.clear();
    TlsIoResult r = co_await channel.read_some(plain, deadline);
    if (!r.ok()) {
      co_return std::nullopt;
    }
    parser.feed(std::span<const std::uint8_t>(plain));
  }
}

// Leave politely: QUIT inside TLS (RFC 5321 §4.1.1.10), read the 221 if it
// comes quickly, then close_notify. None of this changes the result; the
// reply to QUIT, if one came, is returned.
asio::awaitable<std::optional<SmtpReply>> quit_politely(TlsChannel& channel,
                                                        std::chrono::milliseconds timeout) {
  Deadline deadline = SteadyClock::now() + timeout;
  static constexpr std::string_view kQuit = "QUIT\r\n";
  TlsIoResult w = co_await channel.write(
      std::span(reinterpret_cast<const std::uint8_t*>(kQuit.data()), kQuit.size()), deadline);
  if (!w.ok()) {
    co_return std::nullopt;
  }
  std::optional<SmtpReply> reply = co_await read_reply(channel, deadline);
  co_await channel.shutdown(deadline);
  co_return reply;
}

}  // namespace

namespace {
constexpr NameTable<HandshakeStatus, 5> kHandshakeStatusNames{{
    {HandshakeStatus::completed, "completed"},
    {HandshakeStatus::timeout, "timeout"},
    {HandshakeStatus::closed, "closed"},
    {HandshakeStatus::failed, "failed"},
    {HandshakeStatus::local_error, "local_error"},
}};
}  // namespace

std::string_view to_string(HandshakeStatus status) {
  return name_in(kHandshakeStatusNames, status);
}

Result<TlsClientContext> TlsClientContext::create(const TlsClientOptions& options) {
  return build(options, nullptr);
}

Result<TlsClientContext> TlsClientContext::create(const TlsClientOptions& options,
                                                  const TlsClientContext& trust) {
  return build(options, trust.store());
}

Result<TlsClientContext> TlsClientContext::build(const TlsClientOptions& options,
                                                 X509_STORE* shared) {
  ERR_clear_error();
  SslCtxHandle ctx{SSL_CTX_new(TLS_client_method())};
  if (!ctx) {
    return fail(Errc::internal, "SSL_CTX_new: " + drain_openssl_errors());
  }
  SSL_CTX* c = ctx.get();
  // Security level 0: old servers (SHA-1 signatures, 1024-bit DH, TLS 1.0)
  // must still complete, because the probe reports what they do.
  SSL_CTX_set_security_level(c, 0);
  if (SSL_CTX_set_min_proto_version(c, options.min_version) != 1 ||
      SSL_CTX_set_max_proto_version(c, options.max_version) != 1) {
    return fail(Errc::invalid_argument, "unsupported TLS version range");
  }
  if (SSL_CTX_set_cipher_list(c, options.cipher_list.c_str()) != 1) {
    return fail(Errc::invalid_argument,
                "cipher list \"" + options.cipher_list + "\": " + drain_openssl_errors());
  }
  if (SSL_CTX_set_ciphersuites(c, options.ciphersuites.c_str()) != 1) {
    return fail(Errc::invalid_argument,
                "TLS 1.3 suites \"" + options.ciphersuites + "\": " + drain_openssl_errors());
  }
  // OpenSSL 3 refuses servers without RFC 5746 secure renegotiation unless
  // told otherwise; such servers exist and are to be measured, not skipped.
  SSL_CTX_set_options(c, SSL_OP_LEGACY_SERVER_CONNECT);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  // The handshake must complete whatever the certificate is: trust, expiry
  // and name are answered afterwards, separately (certificate_check.hpp).
  SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
  if (shared != nullptr) {
    SSL_CTX_set1_cert_store(c, shared);  // takes its own reference
  } else if (!options.ca_file.empty() || !options.ca_path.empty()) {
    const char* file = options.ca_file.empty() ? nullptr : options.ca_file.c_str();
    const char* path = options.ca_path.empty() ? nullptr : options.ca_path.c_str();
    if (SSL_CTX_load_verify_locations(c, file, path) != 1) {
      return fail(Errc::config, "cannot load CA certificates from " +
                                    (file != nullptr ? options.ca_file : options.ca_path) + ": " +
                                    drain_openssl_errors());
    }
  } else if (SSL_CTX_set_default_verify_paths(c) != 1) {
    return fail(Errc::config, "cannot use the system CA store: " + drain_openssl_errors());
  }
  // Ready for SSL_dane_enable() in a before_handshake hook; no effect otherwise.
  if (SSL_CTX_dane_enable(c) <= 0) {
    return fail(Errc::internal, "SSL_CTX_dane_enable: " + drain_openssl_errors());
  }
  return TlsClientContext(std::move(ctx));
}

void collect_session(SSL* ssl, X509_STORE* store, std::string_view host_name,
                     std::chrono::system_clock::time_point now, TlsHandshakeResult& result) {
  result.protocol = SSL_get_version(ssl);
  result.protocol_version = SSL_version(ssl);
  if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl); cipher != nullptr) {
    const char* standard = SSL_CIPHER_standard_name(cipher);
    result.cipher = standard != nullptr ? standard : "";
    result.cipher_openssl = SSL_CIPHER_get_name(cipher);
    result.cipher_id = SSL_CIPHER_get_protocol_id(cipher);
    result.cipher_bits = SSL_CIPHER_get_bits(cipher, nullptr);
  }
  // On the client side the peer chain includes the leaf.
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  X509* leaf = SSL_get0_peer_certificate(ssl);
  if (chain != nullptr) {
    for (int i = 0; i < sk_X509_num(chain); ++i) {
      result.chain.push_back(describe_certificate(sk_X509_value(chain, i)));
    }
  } else if (leaf != nullptr) {
    result.chain.push_back(describe_certificate(leaf));
  }
  result.cert = check_certificate(leaf, chain, store, host_name, now);
}

asio::awaitable<TlsHandshakeResult> tls_handshake(Socket& socket, const TlsClientContext& context,
                                                  std::string host_name,
                                                  TlsHandshakeOptions options) {
  TlsHandshakeResult result;
  auto start = SteadyClock::now();
  if (host_name.ends_with('.')) {
    host_name.pop_back();
  }

  SslHandle ssl = new_client_ssl(context, host_name, result);
  if (!ssl) {
    close_quietly(socket);
    co_return result;
  }
  if (options.before_handshake) {
    options.before_handshake(ssl.get());
  }

  TlsChannel channel(socket, std::move(ssl));
  TlsIoResult hs = co_await channel.handshake(start + options.handshake_timeout);
  result.elapsed = elapsed_since(start);
  result.alert_received = channel.alert_received();
  result.alert_sent = channel.alert_sent();
  result.state = channel.state();
  set_handshake_status(hs, options.handshake_timeout, result);
  if (!result.ok()) {
    close_quietly(socket);
    co_return result;
  }

  auto now = options.clock ? options.clock() : std::chrono::system_clock::now();
  collect_session(channel.ssl(), context.store(), host_name, now, result);
  if (options.after_handshake) {
    options.after_handshake(channel.ssl());
  }

  if (options.quit) {
    result.quit_reply = co_await quit_politely(channel, options.quit_timeout);
  }
  close_quietly(socket);
  co_return result;
}

}  // namespace forcetls::checker
