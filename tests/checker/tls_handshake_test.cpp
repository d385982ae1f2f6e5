// SPDX-License-Identifier: Apache-2.0
// Tests for checker/tls/tls_handshake and checker/tls/handshake_probe: real OpenSSL
// handshakes against an in-process OpenSSL server at the other end of a
// socketpair, after a scripted SMTP dialogue. No TCP.
#include "checker/tls/tls_handshake.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "checker/tls/handshake_probe.hpp"
#include "tests/checker/fake_peer.hpp"
#include "tests/checker/test_pki.hpp"

using namespace forcetls;
using namespace forcetls::checker;
using namespace forcetls::test;

namespace {

void rethrow(std::exception_ptr e) {
  if (e) {
    std::rethrow_exception(e);
  }
}

// The certificate's SHA-256 fingerprint as lower-case hex, computed here with
// OpenSSL rather than by the code under test.
std::string der_sha256_hex(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &md_len) != 1) {
    return "X509_digest failed";
  }
  std::string out;
  for (unsigned int i = 0; i < md_len; ++i) {
    char byte[3];
    std::snprintf(byte, sizeof byte, "%02x", md[i]);
    out += byte;
  }
  return out;
}

struct Pki {
  Issued root = issue(
      {.cn = "forcetls test root", .not_before = k2020, .not_after = k2030, .ca = true}, nullptr);
  Issued intermediate = issue(
      {.cn = "forcetls test intermediate", .not_before = k2020, .not_after = k2030, .ca = true},
      &root);
  std::map<std::string, Issued> leaves;
  std::string ca_file = write_pem_file({root.cert.get()}, "root.pem");

  Pki() {
    auto spec = [](std::string name, std::int64_t from, std::int64_t to) {
      return CertSpec{.cn = name, .sans = {name}, .not_before = from, .not_after = to};
    };
    leaves.emplace("valid", issue(spec("mx.example.test", k2020, k2030), &root));
    leaves.emplace("expired", issue(spec("mx.example.test", k2020, k2021), &root));
    leaves.emplace("wrong name", issue(spec("other.example.net", k2020, k2030), &root));
    leaves.emplace("self-signed", issue(spec("mx.example.test", k2020, k2030), nullptr));
    leaves.emplace("wildcard", issue(spec("*.example.test", k2020, k2030), &root));
    leaves.emplace("via intermediate", issue(spec("mx.example.test", k2020, k2030), &intermediate));
  }
  ~Pki() {
    std::error_code ignored;
    std::filesystem::remove_all(std::filesystem::path(ca_file).parent_path(), ignored);
  }
};

Pki& pki() {
  static Pki instance;
  return instance;
}

const TlsClientContext& client_context() {
  static TlsClientContext ctx = [] {
    auto made = TlsClientContext::create({.ca_file = pki().ca_file});
    if (!made) {
      throw std::runtime_error(made.error().message);
    }
    return std::move(*made);
  }();
  return ctx;
}

// Timeouts far above what a loaded machine needs: none of these tests expects
// one to fire (the failure cases set their own short handshake timeout), and a
// short QUIT timeout would lose the 221 the success cases check.
HandshakeProbeOptions fast_options() {
  HandshakeProbeOptions o;
  o.smtp = SmtpOptions{.ehlo_name = "client.example.test",
                       .greeting_timeout = 20s,
                       .command_timeout = 20s,
                       .quit_timeout = 10s};
  o.tls.handshake_timeout = 20s;
  o.tls.quit_timeout = 10s;
  // 2025-06-01: inside every "valid" certificate, after the expired one.
  o.tls.clock = [] { return std::chrono::system_clock::time_point(std::chrono::seconds(k2025)); };
  return o;
}

struct Probe {
  HandshakeProbeResult result;
  ServerLog log;
};

Probe run_probe(std::vector<Step> script, SSL_CTX* server_ctx, HandshakeProbeOptions options,
                std::string host = "mx.example.test",
                const TlsClientContext& context = client_context()) {
  asio::io_context io;
  auto [client, server] = make_socket_pair(io);
  Probe probe;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        probe.result = co_await probe_handshake_on(client, host, context, options);
      },
      rethrow);
  asio::co_spawn(io, run_script(server, std::move(script), probe.log, server_ctx, 1s), rethrow);
  io.run();
  return probe;
}

std::vector<Step> with_tls() {
  auto script = postfix_until_starttls();
  script.push_back(tls());
  return script;
}

}  // namespace

TEST_CASE("handshake probe: negotiated parameters and certificate checks", "[checker]") {
  struct Case {
    std::string label;
    std::string leaf;
    bool send_intermediate;
    ServerTls server;
    std::string protocol;
    int version;
    std::string cipher;
    std::string cipher_openssl;
    std::uint16_t cipher_id;
    Tri trusted;
    Tri expired;
    Tri name_match;
    std::size_t chain_length;
  };
  using T = Tri;
  auto c = GENERATE(values<Case>({
      {"TLS 1.3, valid",
       "valid",
       false,
       {},
       "TLSv1.3",
       0x0304,
       "TLS_AES_256_GCM_SHA384",
       "TLS_AES_256_GCM_SHA384",
       0x1302,
       T::yes,
       T::no,
       T::yes,
       1},
      {"TLS 1.2 only server",
       "valid",
       false,
       {.max_version = TLS1_2_VERSION, .cipher_list = "ECDHE-ECDSA-AES256-GCM-SHA384"},
       "TLSv1.2",
       0x0303,
       "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
       "ECDHE-ECDSA-AES256-GCM-SHA384",
       0xC02C,
       T::yes,
       T::no,
       T::yes,
       1},
      {"TLS 1.0 only server, CBC-SHA",
       "valid",
       false,
       {.min_version = TLS1_VERSION,
        .max_version = TLS1_VERSION,
        .cipher_list = "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0"},
       "TLSv1",
       0x0301,
       "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
       "ECDHE-ECDSA-AES128-SHA",
       0xC009,
       T::yes,
       T::no,
       T::yes,
       1},
      {"TLS 1.1 only server",
       "valid",
       false,
       {.min_version = TLS1_1_VERSION,
        .max_version = TLS1_1_VERSION,
        .cipher_list = "ECDHE-ECDSA-AES256-SHA:@SECLEVEL=0"},
       "TLSv1.1",
       0x0302,
       "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
       "ECDHE-ECDSA-AES256-SHA",
       0xC00A,
       T::yes,
       T::no,
       T::yes,
       1},
      {"expired certificate still completes",
       "expired",
       false,
       {},
       "TLSv1.3",
       0x0304,
       "TLS_AES_256_GCM_SHA384",
       "TLS_AES_256_GCM_SHA384",
       0x1302,
       T::yes,
       T::yes,
       T::yes,
       1},
      {"self-signed",
       "self-signed",
       false,
       {},
       "TLSv1.3",
       0x0304,
       "TLS_AES_256_GCM_SHA384",
       "TLS_AES_256_GCM_SHA384",
       0x1302,
       T::no,
       T::no,
       T::yes,
       1},
      {"wrong name",
       "wrong name",
       false,
       {},
       "TLSv1.3",
       0x0304,
       "TLS_AES_256_GCM_SHA384",
       "TLS_AES_256_GCM_SHA384",
       0x1302,
       T::yes,
       T::no,
       T::no,
       1},
      {"wildcard",
       "wildcard",
       false,
       {},
       "TLSv1.3",
       0x0304,
       "TLS_AES_256_GCM_SHA384",
       "TLS_AES_256_GCM_SHA384",
       0x1302,
       T::yes,
       T::no,
       T::yes,
       1},
      {"intermediate sent",
       "via intermediate",
       true,
       {},
       "TLSv1.3",
       0x0304,
       "TLS_AES_256_GCM_SHA384",
       "TLS_AES_256_GCM_SHA384",
       0x1302,
       T::yes,
       T::no,
       T::yes,
       2},
      {"intermediate missing",
       "via intermediate",
       false,
       {},
       "TLSv1.3",
       0x0304,
       "TLS_AES_256_GCM_SHA384",
       "TLS_AES_256_GCM_SHA384",
       0x1302,
       T::no,
       T::no,
       T::yes,
       1},
  }));
  CAPTURE(c.label);
  Pki& p = pki();
  std::vector<X509*> chain;
  if (c.send_intermediate) {
    chain.push_back(p.intermediate.cert.get());
  }
  auto server_ctx = make_server_ctx(p.leaves.at(c.leaf), chain, c.server);
  Probe probe = run_probe(with_tls(), server_ctx.get(), fast_options());
  const HandshakeProbeResult& r = probe.result;
  CAPTURE(r.smtp.summary());
  REQUIRE(r.smtp.ok());
  REQUIRE(r.tls);
  const TlsHandshakeResult& t = *r.tls;
  CAPTURE(t.detail, probe.log.tls_status);
  REQUIRE(t.ok());
  CHECK(r.ok());
  CHECK(r.connections == 1);
  CHECK(t.protocol == c.protocol);
  CHECK(t.protocol_version == c.version);
  CHECK(t.cipher == c.cipher);
  CHECK(t.cipher_openssl == c.cipher_openssl);
  CHECK(t.cipher_id == c.cipher_id);
  CHECK(t.cipher_bits >= 128);
  CHECK(t.cert.trusted == c.trusted);
  CHECK(t.cert.expired == c.expired);
  CHECK(t.cert.name_match == c.name_match);
  CHECK(t.chain.size() == c.chain_length);
  CHECK(t.chain[0].sha256 == der_sha256_hex(p.leaves.at(c.leaf).cert.get()));
  CHECK(t.chain[0].sha256.size() == 64);
  CHECK(t.sni == "mx.example.test");
  // The server saw SNI, then a QUIT inside TLS, and nothing else.
  CHECK(probe.log.tls_status == "ok");
  CHECK(probe.log.sni == "mx.example.test");
  CHECK(probe.log.tls_version == c.protocol);
  CHECK(probe.log.received ==
        std::vector<std::string>{"EHLO client.example.test", "STARTTLS", "TLS:QUIT"});
  CHECK(probe.log.problems.empty());
  REQUIRE(t.quit_reply);
  CHECK(t.quit_reply->code == 221);
}

TEST_CASE("handshake probe: failures are data", "[checker]") {
  struct Case {
    std::string label;
    std::vector<Step> after_starttls;
    ServerTls server;
    HandshakeStatus status;
    std::string detail_contains;  // never empty: each failure says what happened
    std::string alert_contains;   // empty: no alert may have been received
  };
  auto c = GENERATE(values<Case>({
      {"no shared cipher: server alert",
       {tls()},
       {.max_version = TLS1_2_VERSION, .cipher_list = "aNULL:@SECLEVEL=0"},
       HandshakeStatus::failed,
       "handshake failure",
       "handshake failure"},
      {"server hangs up instead of ServerHello",
       {delay(100ms), hang_up()},
       {},
       HandshakeStatus::closed,
       "by the peer",
       ""},
      {"server silent after 220", {delay(1s)}, {}, HandshakeStatus::timeout, "500 ms", ""},
      {"server answers the ClientHello with text",
       {delay(100ms), say("500 5.5.1 what is this\r\n"), delay(1s)},
       {},
       HandshakeStatus::failed,
       "wrong version number",
       ""},
  }));
  CAPTURE(c.label);
  auto script = postfix_until_starttls();
  script.insert(script.end(), c.after_starttls.begin(), c.after_starttls.end());
  auto server_ctx = make_server_ctx(pki().leaves.at("valid"), {}, c.server);
  HandshakeProbeOptions options = fast_options();
  options.tls.handshake_timeout = 500ms;
  Probe probe = run_probe(script, server_ctx.get(), options);
  const HandshakeProbeResult& r = probe.result;
  REQUIRE(r.smtp.ok());
  REQUIRE(r.tls);
  const TlsHandshakeResult& t = *r.tls;
  CAPTURE(t.detail, t.alert_received, t.alert_sent, t.state);
  CHECK(t.status == c.status);
  CHECK_FALSE(r.ok());
  REQUIRE_FALSE(c.detail_contains.empty());
  CHECK_THAT(t.detail, Catch::Contains(c.detail_contains));
  if (c.alert_contains.empty()) {
    CHECK(t.alert_received.empty());
  } else {
    CHECK_THAT(t.alert_received, Catch::Contains(c.alert_contains));
  }
  CHECK_FALSE(t.state.empty());
  CHECK(t.chain.empty());
  CHECK(t.cert.trusted == Tri::unknown);
  CHECK(t.cert.expired == Tri::unknown);
  CHECK(t.cert.name_match == Tri::unknown);
  CHECK(t.protocol.empty());
}

TEST_CASE("handshake probe: SMTP failure means no TLS attempt", "[checker]") {
  auto server_ctx = make_server_ctx(pki().leaves.at("valid"), {});
  Probe probe = run_probe(
      {say("220 mx\r\n"), read_line(), say("250 mx\r\n"), read_line(), say("221 bye\r\n")},
      server_ctx.get(), fast_options());
  CHECK(probe.result.smtp.status == SmtpStatus::no_starttls);
  CHECK_FALSE(probe.result.tls);
  CHECK(probe.result.connections == 1);
  CHECK(probe.log.received == std::vector<std::string>{"EHLO client.example.test", "QUIT"});
}

TEST_CASE("handshake probe: hooks see the SSL before and after (DANE-ready)", "[checker]") {
  // A DANE-EE SPKI SHA-256 record for a self-signed leaf, added through the
  // before hook, is honoured by OpenSSL; the after hook reads the outcome.
  const Issued& leaf = pki().leaves.at("self-signed");
  unsigned char* spki = nullptr;
  int spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf.cert.get()), &spki);
  REQUIRE(spki_len > 0);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(spki, static_cast<std::size_t>(spki_len), digest);
  OPENSSL_free(spki);

  bool before_called = false;
  int dane_depth = -2;
  long verify_result = -1;
  HandshakeProbeOptions options = fast_options();
  options.tls.before_handshake = [&](SSL* ssl) {
    before_called = true;
    REQUIRE(SSL_dane_enable(ssl, "mx.example.test") > 0);
    REQUIRE(SSL_dane_tlsa_add(ssl, 3, 1, 1, digest, sizeof digest) > 0);
  };
  options.tls.after_handshake = [&](SSL* ssl) {
    dane_depth = SSL_get0_dane_authority(ssl, nullptr, nullptr);
    verify_result = SSL_get_verify_result(ssl);
  };
  auto server_ctx = make_server_ctx(leaf, {});
  Probe probe = run_probe(with_tls(), server_ctx.get(), options);
  REQUIRE(probe.result.ok());
  CHECK(before_called);
  CHECK(dane_depth == 0);
  CHECK(verify_result == X509_V_OK);
  // The separate PKIX question is unchanged by DANE.
  CHECK(probe.result.tls->cert.trusted == Tri::no);
}

TEST_CASE("handshake probe: no SNI for an address literal", "[checker]") {
  auto server_ctx = make_server_ctx(pki().leaves.at("valid"), {});
  Probe probe = run_probe(with_tls(), server_ctx.get(), fast_options(), "192.0.2.1");
  REQUIRE(probe.result.ok());
  CHECK(probe.result.tls->sni.empty());
  CHECK(probe.log.sni.empty());
  CHECK(probe.result.tls->cert.name_match == Tri::no);
}

TEST_CASE("handshake probe: QUIT inside TLS can be turned off", "[checker]") {
  HandshakeProbeOptions options = fast_options();
  options.tls.quit = false;
  auto server_ctx = make_server_ctx(pki().leaves.at("valid"), {});
  Probe probe = run_probe(with_tls(), server_ctx.get(), options);
  REQUIRE(probe.result.ok());
  CHECK_FALSE(probe.result.tls->quit_reply);
  // The server waited for a line inside TLS and got the connection's end.
  CHECK(probe.log.received == std::vector<std::string>{"EHLO client.example.test", "STARTTLS"});
}

TEST_CASE("handshake probe over connect(): refused counts one connection", "[checker]") {
  auto dir =
      std::filesystem::temp_directory_path() / ("forcetls-probe-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "down.sock").string();
  std::filesystem::remove(path);
  asio::io_context io;
  {
    // Bound, never listening, then closed: connect() is refused.
    asio::local::stream_protocol::acceptor acceptor(io);
    acceptor.open();
    acceptor.bind(asio::local::stream_protocol::endpoint(path));
  }
  HandshakeProbeResult result;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        result = co_await probe_handshake(Endpoint(asio::local::stream_protocol::endpoint(path)),
                                          "mx.example.test", client_context(), fast_options());
      },
      rethrow);
  io.run();
  CHECK(result.smtp.status == SmtpStatus::refused);
  CHECK_FALSE(result.tls);
  CHECK(result.connections == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("TLS client context: a missing CA file is a configuration error", "[checker]") {
  auto made = TlsClientContext::create({.ca_file = "/nonexistent/forcetls/ca.pem"});
  REQUIRE_FALSE(made);
  CHECK(made.error().code == Errc::config);
  auto bad_ciphers = TlsClientContext::create({.cipher_list = "NO-SUCH-CIPHER"});
  REQUIRE_FALSE(bad_ciphers);
  CHECK(bad_ciphers.error().code == Errc::invalid_argument);
  auto system = TlsClientContext::create();
  CHECK(system.has_value());
}

TEST_CASE("TLS client context: one made with another's trust trusts the same CAs", "[checker]") {
  // Its own CA file does not exist: only the shared store can trust the test root.
  auto shared = TlsClientContext::create(
      {.ca_file = "/nonexistent/forcetls/ca.pem", .max_version = TLS1_2_VERSION}, client_context());
  REQUIRE(shared);
  CHECK(shared->store() == client_context().store());
  auto server_ctx = make_server_ctx(pki().leaves.at("valid"), {});
  Probe probe = run_probe(with_tls(), server_ctx.get(), fast_options(), "mx.example.test", *shared);
  REQUIRE(probe.result.tls);
  CAPTURE(probe.result.tls->detail);
  REQUIRE(probe.result.tls->ok());
  CHECK(probe.result.tls->protocol == "TLSv1.2");  // its own protocol options apply
  CHECK(probe.result.tls->cert.trusted == Tri::yes);
  // The contrast: a context on the system store does not trust the test root.
  auto system = TlsClientContext::create();
  REQUIRE(system);
  Probe other = run_probe(with_tls(), server_ctx.get(), fast_options(), "mx.example.test", *system);
  REQUIRE(other.result.tls);
  REQUIRE(other.result.tls->ok());
  CHECK(other.result.tls->cert.trusted == Tri::no);
}

TEST_CASE("TLS client context: the widest offer stays under 128 suites", "[checker]") {
  SslHandle ssl{SSL_new(client_context().native())};
  REQUIRE(ssl);
  STACK_OF(SSL_CIPHER)* offered = SSL_get1_supported_ciphers(ssl.get());
  REQUIRE(offered != nullptr);
  int n = sk_SSL_CIPHER_num(offered);
  sk_SSL_CIPHER_free(offered);
  CHECK(n > 60);
  CHECK(n < 128);
}
