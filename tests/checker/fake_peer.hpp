// SPDX-License-Identifier: Apache-2.0
// Test helpers: AF_UNIX socketpairs as prober sockets, and a scripted fake
// SMTP server (optionally ending in a real OpenSSL TLS server) that runs as a
// coroutine in the same io_context as the client under test. Test-only.
#pragma once

#include <openssl/ssl.h>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "checker/smtp/socket_io.hpp"

namespace forcetls::test {

using checker::Socket;
using namespace std::chrono_literals;

/// Two connected AF_UNIX stream sockets wrapped as prober sockets.
std::pair<Socket, Socket> make_socket_pair(asio::io_context& io);

/// One step of a fake server's script.
struct Step {
  enum class Kind {
    send,           ///< write `text`
    pause,          ///< wait `ms`
    read_line,      ///< read one line (recorded in `received`)
    assert_silent,  ///< the client must not have sent anything yet
    close,          ///< close the connection
    tls,            ///< TLS server handshake, then read one line inside TLS and answer `text`
  };
  Kind kind = Kind::send;
  std::string text;
  std::chrono::milliseconds ms{0};
};

inline Step say(std::string text) { return {Step::Kind::send, std::move(text), 0ms}; }
inline Step delay(std::chrono::milliseconds ms) { return {Step::Kind::pause, "", ms}; }
inline Step read_line() { return {Step::Kind::read_line, "", 0ms}; }
inline Step assert_silent() { return {Step::Kind::assert_silent, "", 0ms}; }
inline Step hang_up() { return {Step::Kind::close, "", 0ms}; }
/// TLS handshake as server; then one line inside TLS is read (recorded with a
/// "TLS:" prefix) and `answer` is sent, then close_notify.
inline Step tls(std::string answer = "221 2.0.0 Bye\r\n") {
  return {Step::Kind::tls, std::move(answer), 0ms};
}

/// What the fake server saw.
struct ServerLog {
  std::vector<std::string> received;  ///< lines (without CR LF) in order
  std::vector<std::string> problems;  ///< script assertions that failed
  std::string tls_status;             ///< outcome of the tls step, "ok" or the failure
  std::string sni;                    ///< server name the client sent (tls step)
  std::string tls_version;            ///< negotiated protocol seen by the server (tls step)
};

/// Runs `script` on `socket`, then reads whatever the client still sends until
/// it closes (or `drain_timeout`). `server_ctx` is used by tls steps.
asio::awaitable<void> run_script(Socket& socket, std::vector<Step> script, ServerLog& log,
                                 SSL_CTX* server_ctx = nullptr,
                                 std::chrono::milliseconds drain_timeout = 2s);

/// The usual Postfix-like dialogue up to the 220 to STARTTLS.
std::vector<Step> postfix_until_starttls(const std::string& extra_after_220 = "");

}  // namespace forcetls::test
