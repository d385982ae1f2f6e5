// SPDX-License-Identifier: Apache-2.0
// Test helpers: see fake_peer.hpp.
#include "tests/checker/fake_peer.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <optional>
#include <stdexcept>
#include <system_error>

#include "checker/tls/tls_channel.hpp"

namespace forcetls::test {
namespace {

using checker::Deadline;
using checker::SteadyClock;

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

class Server {
 public:
  Server(Socket& socket, ServerLog& log) : socket_(socket), log_(log) {}

  // One line from the socket, without CR LF; nullopt on EOF/timeout.
  asio::awaitable<std::optional<std::string>> line(Deadline deadline) {
    std::array<std::uint8_t, 1024> buf{};
    for (;;) {
      if (auto nl = pending_.find('\n'); nl != std::string::npos) {
        std::string out = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        if (out.ends_with('\r')) {
          out.pop_back();
        }
        co_return out;
      }
      if (ended_) {
        co_return std::nullopt;
      }
      auto io = co_await checker::read_some_before(socket_, buf, deadline);
      if (!io.ok()) {
        ended_ = true;
        if (!pending_.empty()) {
          std::string out = std::move(pending_);
          pending_.clear();
          co_return out;
        }
        co_return std::nullopt;
      }
      pending_.append(reinterpret_cast<const char*>(buf.data()), io.bytes);
    }
  }

  asio::awaitable<void> run(const std::vector<Step>& script, SSL_CTX* server_ctx,
                            std::chrono::milliseconds drain_timeout) {
    for (const Step& step : script) {
      switch (step.kind) {
        case Step::Kind::send: {
          auto io = co_await checker::write_all_before(socket_, bytes_of(step.text),
                                                       SteadyClock::now() + 5s);
          if (!io.ok()) {
            log_.problems.push_back("send failed: " + io.error.message());
          }
          break;
        }
        case Step::Kind::pause: {
          asio::steady_timer timer(co_await asio::this_coro::executor, step.ms);
          co_await timer.async_wait(asio::use_awaitable);
          break;
        }
        case Step::Kind::read_line: {
          auto got = co_await line(SteadyClock::now() + 5s);
          if (got) {
            log_.received.push_back(*got);
          } else {
            log_.problems.push_back("read_line: nothing came");
          }
          break;
        }
        case Step::Kind::assert_silent: {
          std::error_code ec;
          if (!pending_.empty() || socket_.available(ec) > 0) {
            log_.problems.push_back("client spoke before the greeting ended");
          }
          break;
        }
        case Step::Kind::close:
          checker::close_quietly(socket_);
          co_return;
        case Step::Kind::tls:
          co_await serve_tls(step.text, server_ctx);
          break;
      }
    }
    if (!socket_.is_open()) {
      co_return;
    }
    // Whatever else the client says until it hangs up. After TLS that is
    // TLS records (close_notify), not lines: wait for the end, record nothing.
    bool after_tls = !script.empty() && script.back().kind == Step::Kind::tls;
    Deadline deadline = SteadyClock::now() + drain_timeout;
    while (auto got = co_await line(deadline)) {
      if (!after_tls) {
        log_.received.push_back(*got);
      }
    }
  }

 private:
  asio::awaitable<void> serve_tls(const std::string& answer, SSL_CTX* ctx) {
    if (!pending_.empty()) {
      log_.problems.push_back("client sent plaintext before the TLS handshake");
    }
    checker::SslHandle ssl{SSL_new(ctx)};
    SSL_set_accept_state(ssl.get());
    checker::TlsChannel channel(socket_, std::move(ssl));
    Deadline deadline = SteadyClock::now() + 5s;
    auto hs = co_await channel.handshake(deadline);
    if (!hs.ok()) {
      log_.tls_status = std::string(checker::to_string(hs.status)) + ": " + hs.detail;
      checker::close_quietly(socket_);
      co_return;
    }
    log_.tls_status = "ok";
    const char* sni = SSL_get_servername(channel.ssl(), TLSEXT_NAMETYPE_host_name);
    log_.sni = sni != nullptr ? sni : "";
    log_.tls_version = SSL_get_version(channel.ssl());
    std::vector<std::uint8_t> plain;
    for (;;) {
      auto nl = std::find(plain.begin(), plain.end(), '\n');
      if (nl != plain.end()) {
        std::string text(plain.begin(), nl);
        if (text.ends_with('\r')) {
          text.pop_back();
        }
        log_.received.push_back("TLS:" + text);
        break;
      }
      auto r = co_await channel.read_some(plain, deadline);
      if (!r.ok()) {
        log_.problems.push_back("TLS read: " + r.detail);
        break;
      }
    }
    co_await channel.write(bytes_of(answer), deadline);
    co_await channel.shutdown(deadline);
  }

  Socket& socket_;
  ServerLog& log_;
  std::string pending_;
  bool ended_ = false;  // the connection ended (or timed out): read no more
};

}  // namespace

std::pair<Socket, Socket> make_socket_pair(asio::io_context& io) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
    throw std::system_error(errno, std::generic_category(), "socketpair");
  }
  asio::generic::stream_protocol unix_stream(AF_UNIX, 0);
  return {Socket(io, unix_stream, fds[0]), Socket(io, unix_stream, fds[1])};
}

asio::awaitable<void> run_script(Socket& socket, std::vector<Step> script, ServerLog& log,
                                 SSL_CTX* server_ctx, std::chrono::milliseconds drain_timeout) {
  Server server(socket, log);
  co_await server.run(script, server_ctx, drain_timeout);
}

std::vector<Step> postfix_until_starttls(const std::string& extra_after_220) {
  return {
      say("220 mx.example.test ESMTP Postfix\r\n"),
      read_line(),
      say("250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n"
          "250-ENHANCEDSTATUSCODES\r\n250 CHUNKING\r\n"),
      read_line(),
      say("220 2.0.0 Ready to start TLS\r\n" + extra_after_220),
  };
}

}  // namespace forcetls::test
