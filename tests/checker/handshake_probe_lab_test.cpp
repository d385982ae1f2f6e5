// SPDX-License-Identifier: Apache-2.0
// Lab test of checker/tls/handshake_probe: one probe per MX address of
// tests/lab/servers.tsv (real Postfix personalities, the ServerHello
// emulator, the slow / flaky proxies, a refused address), compared with the
// table's expected facts. Also a raw exchange after STARTTLS. Runs inside
// the lab's namespace (127.0.0.x / ::1 only).
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <exception>
#include <string>
#include <vector>

#include "checker/smtp/raw_exchange.hpp"
#include "checker/tls/handshake_probe.hpp"
#include "tests/checker/rate_limit.hpp"
#include "tests/lab/lab_env.hpp"

using namespace forcetls;
using namespace forcetls::checker;
using namespace forcetls::labtest;
using namespace std::chrono_literals;

namespace {

void rethrow(std::exception_ptr e) {
  if (e) {
    std::rethrow_exception(e);
  }
}

const TlsClientContext& lab_context() {
  static TlsClientContext ctx = [] {
    auto made = TlsClientContext::create({.ca_file = env().ca_file});
    if (!made) {
      throw std::runtime_error(made.error().message);
    }
    return std::move(*made);
  }();
  return ctx;
}

HandshakeProbeResult probe(const std::string& addr, const std::string& host) {
  asio::io_context io;
  HandshakeProbeResult result;
  HandshakeProbeOptions options;
  options.smtp = SmtpOptions{.ehlo_name = "checker.lab.test",
                             .connect_timeout = 5s,
                             .greeting_timeout = 15s,
                             .command_timeout = 10s};
  options.tls.handshake_timeout = 10s;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        result = co_await probe_handshake(make_endpoint(asio::ip::make_address(addr), 25), host,
                                          lab_context(), options);
      },
      rethrow);
  io.run();
  return result;
}

std::string tri_text(Tri t) { return std::string(to_string(t)); }

}  // namespace

TEST_CASE("handshake probe on every lab MX address", "[checker][lab]") {
  for (const Row& row : servers()) {
    const std::string& addr = row.at("addr");
    if (addr == "::1" && env().vars.count("IPV6") != 0 && env().get("IPV6") != "yes") {
      continue;
    }
    const std::string& host = row.at("host");
    CAPTURE(addr, host, row.at("notes"));
    if (row.at("fault").starts_with("421-after=")) {
      // From an empty window this one connection is within the limit: the
      // facts below, not a 421 (the next test case makes the limit bite).
      wait_out(rate_limit_of(row));
    }
    HandshakeProbeResult r = probe(addr, host);
    CAPTURE(r.smtp.summary(), r.elapsed.count());
    CHECK(r.connections == 1);

    const std::string& starttls = row.at("starttls");
    if (starttls == "unknown") {
      CHECK(r.smtp.status == SmtpStatus::refused);
      CHECK_FALSE(r.tls);
      continue;
    }
    if (starttls == "no") {
      CHECK(r.smtp.status == SmtpStatus::no_starttls);
      CHECK(r.smtp.quit_sent);
      CHECK_FALSE(r.tls);
      continue;
    }
    REQUIRE(r.smtp.ok());
    CHECK(r.smtp.discarded_after_starttls == 0);
    REQUIRE(r.tls);
    const TlsHandshakeResult& t = *r.tls;
    CAPTURE(t.detail, t.alert_received, t.alert_sent, t.state);
    if (row.at("fault").starts_with("greeting-delay=")) {
      auto seconds = std::stoi(row.at("fault").substr(15));
      CHECK(r.smtp.elapsed >= std::chrono::seconds(seconds));
    }
    if (row.at("handshake") == "no") {
      CHECK_FALSE(t.ok());
      CHECK(t.chain.empty());
      continue;
    }
    REQUIRE(t.ok());
    CAPTURE(t.protocol, t.cipher);
    std::string want_protocol = row.at("tls1_3") == "yes"   ? "TLSv1.3"
                                : row.at("tls1_2") == "yes" ? "TLSv1.2"
                                : row.at("tls1_1") == "yes" ? "TLSv1.1"
                                                            : "TLSv1";
    CHECK(t.protocol == want_protocol);
    CHECK_FALSE(t.cipher.empty());
    CHECK(tri_text(t.cert.trusted) == row.at("cert_trusted"));
    CHECK(tri_text(t.cert.expired) == row.at("cert_expired"));
    CHECK(tri_text(t.cert.name_match) == row.at("cert_name_match"));
    REQUIRE_FALSE(t.chain.empty());
    CHECK_FALSE(t.chain[0].not_after.empty());
    REQUIRE(t.quit_reply);
    CHECK(t.quit_reply->code == 221);
  }
}

TEST_CASE("handshake probe over the rate limit: the connection past the limit gets 421",
          "[checker][lab]") {
  for (const Row& row : servers()) {
    if (!row.at("fault").starts_with("421-after=")) {
      continue;
    }
    const std::string& addr = row.at("addr");
    CAPTURE(addr, row.at("fault"));
    const RateLimit limit = rate_limit_of(row);
    wait_out(limit);
    // The limit's worth of connections (each the whole probe, so the
    // backend's greeting came through the proxy), then one more.
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < limit.connections; ++i) {
      CAPTURE(i);
      HandshakeProbeResult r = probe(addr, row.at("host"));
      CHECK(r.ok());
    }
    HandshakeProbeResult r = probe(addr, row.at("host"));
    // All within one window, or the server had no reason to refuse.
    REQUIRE(std::chrono::steady_clock::now() - start < limit.window);
    CAPTURE(r.smtp.summary());
    CHECK(r.connections == 1);
    // A 421 is a rejection at the greeting (unknown upstream), never "no".
    CHECK(r.smtp.status == SmtpStatus::rejected);
    CHECK(r.smtp.step == SmtpStep::greeting);
    REQUIRE(r.smtp.stop_reply() != nullptr);
    CHECK(r.smtp.stop_reply()->code == 421);
    CHECK_FALSE(r.tls);
  }
}

TEST_CASE("raw exchange after STARTTLS on a lab Postfix", "[checker][lab]") {
  // A ClientHello the server cannot accept (TLS 1.2 record offering only the
  // NULL suite TLS_NULL_WITH_NULL_NULL, 0x0000): OpenSSL (the lab's Postfix)
  // answers with a fatal handshake_failure alert, then closes.
  const std::vector<std::uint8_t> hello = {
      0x16, 0x03, 0x01, 0x00, 0x2d,  // record: handshake, 45 bytes
      0x01, 0x00, 0x00, 0x29,        // ClientHello, 41 bytes
      0x03, 0x03,                    // client_version TLS 1.2
      0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
      0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
      0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,  // random
      0x00,                                                        // session id: empty
      0x00, 0x02, 0x00, 0x00,                                      // cipher_suites: 0x0000
      0x01, 0x00,                                                  // compression: null
  };
  asio::io_context io;
  SmtpResult smtp;
  RawExchangeResult raw;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        Socket socket(io);
        // Named, not a temporary inside co_await: see socket_io.hpp (GCC 12).
        SmtpOptions options{.ehlo_name = "checker.lab.test"};
        smtp = co_await smtp_connect_starttls(
            socket, make_endpoint(asio::ip::make_address("127.0.0.10"), 25), options);
        if (!smtp.ok()) {
          co_return;
        }
        raw = co_await exchange_raw(socket, hello, 5s, 4096, [](std::span<const std::uint8_t> b) {
          return b.size() >= 5 && b.size() >= 5u + ((b[3] << 8) | b[4]);
        });
        close_quietly(socket);
      },
      rethrow);
  io.run();
  REQUIRE(smtp.ok());
  CAPTURE(to_string(raw.end), raw.detail, raw.bytes.size());
  CHECK(raw.sent);
  REQUIRE(raw.end == RawEnd::enough);
  REQUIRE(raw.bytes.size() == 7);
  CHECK(raw.bytes[0] == 0x15);  // an alert record
  CHECK(raw.bytes[1] == 0x03);  // of TLS 1.x
  CHECK(raw.bytes[3] == 0x00);
  CHECK(raw.bytes[4] == 0x02);  // two bytes:
  CHECK(raw.bytes[5] == 2);     // fatal
  CHECK(raw.bytes[6] == 40);    // handshake_failure
}
