// SPDX-License-Identifier: Apache-2.0
// Tests for checker/auth/dane: TLSA presentation and usability (tables), the
// per-MX and per-domain summaries (tables), and DaneVerifier on real OpenSSL
// handshakes against an in-process server over a socketpair (no TCP).
#include "checker/auth/dane.hpp"

#include <openssl/sha.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>
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

TlsaRecord record(std::uint8_t u, std::uint8_t s, std::uint8_t m, std::size_t n,
                  std::uint8_t fill = 0xab) {
  return TlsaRecord{
      .usage = u, .selector = s, .matching_type = m, .data = std::vector<std::uint8_t>(n, fill)};
}

}  // namespace

TEST_CASE("tlsa_presentation: RFC 6698 presentation form", "[checker]") {
  struct Case {
    std::string label;
    TlsaRecord input;
    std::string want;
  };
  auto c = GENERATE(values<Case>({
      {"3 1 1", {3, 1, 1, {0x00, 0x0f, 0xa0, 0xff}}, "3 1 1 000fa0ff"},
      {"2 0 2", {2, 0, 2, {0xde, 0xad}}, "2 0 2 dead"},
      {"no data", {1, 1, 1, {}}, "1 1 1"},
      {"large numbers", {255, 254, 253, {0x01}}, "255 254 253 01"},
  }));
  CAPTURE(c.label);
  CHECK(tlsa_presentation(c.input) == c.want);
}

TEST_CASE("tlsa_unusable_reason: RFC 7672 §3.1.3 and RFC 6698 §2.1", "[checker]") {
  struct Case {
    std::string label;
    TlsaRecord input;
    std::string want_substring;  // empty: usable
  };
  auto c = GENERATE(values<Case>({
      {"DANE-EE SPKI SHA2-256", record(3, 1, 1, 32), ""},
      {"DANE-EE full cert SHA2-512", record(3, 0, 2, 64), ""},
      {"DANE-TA full cert exact", record(2, 0, 0, 300), ""},
      {"DANE-TA SPKI SHA2-256", record(2, 1, 1, 32), ""},
      {"PKIX-TA", record(0, 0, 1, 32), "usage 0 (PKIX-TA)"},
      {"PKIX-EE", record(1, 1, 1, 32), "usage 1 (PKIX-EE)"},
      {"private usage 255", record(255, 1, 1, 32), "unknown usage 255"},
      {"selector 2", record(3, 2, 1, 32), "unknown selector 2"},
      {"matching type 3", record(3, 1, 3, 32), "unknown matching type 3"},
      {"SHA2-256 too short", record(3, 1, 1, 31), "not 32"},
      {"SHA2-512 of 32", record(3, 1, 2, 32), "not 64"},
      {"exact, empty", record(3, 1, 0, 0), "empty"},
  }));
  CAPTURE(c.label);
  std::string got = tlsa_unusable_reason(c.input);
  CAPTURE(got);
  if (c.want_substring.empty()) {
    CHECK(got.empty());
    CHECK(c.input.usable_for_smtp());
  } else {
    CHECK(got.find(c.want_substring) != std::string::npos);
    CHECK_FALSE(c.input.usable_for_smtp());
  }
}

TEST_CASE("dane_report: one MX from its TLSA lookup and the outcome per address", "[checker]") {
  using O = std::optional<DaneOutcome>;
  const DaneOutcome yes{Tri::yes, "192.0.2.1: 3 1 1 ab matched"};
  const DaneOutcome no{Tri::no, "192.0.2.2: no matching DANE TLSA records"};
  const DaneOutcome open{Tri::unknown, "192.0.2.3: no completed TLS handshake"};
  auto found = [](std::vector<TlsaRecord> r) {
    TlsaResult t;
    t.state = TlsaState::found;
    t.records = std::move(r);
    return t;
  };
  auto stopped = [](DnssecStatus by) {
    TlsaResult t;
    t.state = TlsaState::not_looked_up;
    t.reason = "the MX answer is " + std::string(to_string(by)) + ", not DNSSEC-secure";
    t.stopped_by = by;
    return t;
  };
  auto state = [](TlsaState s, std::string reason) {
    TlsaResult t;
    t.state = s;
    t.reason = std::move(reason);
    return t;
  };
  struct Case {
    std::string label;
    TlsaResult tlsa;
    std::vector<O> at;
    std::size_t want_tlsa;
    Tri want_usable;
    Tri want_match;
    std::string want_error;  // substring; empty: error empty
  };
  const TlsaRecord ee = record(3, 1, 1, 32);
  const TlsaRecord pkix = record(1, 1, 1, 32);
  auto c = GENERATE_COPY(values<Case>({
      {"MX insecure: does not apply",
       stopped(DnssecStatus::insecure),
       {},
       0,
       Tri::no,
       Tri::no,
       "not looked up: the MX answer is insecure"},
      {"address bogus: unknown",
       stopped(DnssecStatus::bogus),
       {},
       0,
       Tri::unknown,
       Tri::unknown,
       "not looked up"},
      {"secure denial",
       state(TlsaState::none, "no TLSA records at _25._tcp.mx"),
       {},
       0,
       Tri::no,
       Tri::no,
       "no TLSA records"},
      {"TLSA insecure",
       state(TlsaState::insecure, "TLSA answer for x is insecure"),
       {},
       0,
       Tri::no,
       Tri::no,
       "not DNSSEC-secure"},
      {"TLSA bogus",
       state(TlsaState::failure, "TLSA lookup x failed: DNSSEC bogus: expired"),
       {},
       0,
       Tri::unknown,
       Tri::unknown,
       "DNSSEC bogus"},
      {"only PKIX-EE",
       found({pkix}),
       {O(open)},
       1,
       Tri::no,
       Tri::no,
       "no usable TLSA records (1 1 1 abab"},
      {"one address matches", found({ee}), {O(yes)}, 1, Tri::yes, Tri::yes, ""},
      {"PKIX-EE and DANE-EE, matches",
       found({pkix, ee}),
       {O(yes), O(yes)},
       2,
       Tri::yes,
       Tri::yes,
       ""},
      {"one of two does not match",
       found({ee}),
       {O(yes), O(no)},
       1,
       Tri::yes,
       Tri::no,
       "certificate does not match TLSA 3 1 1 abab"},
      {"mismatch beats unknown", found({ee}), {O(open), O(no)}, 1, Tri::yes, Tri::no, "192.0.2.2"},
      {"handshake failed: unknown",
       found({ee}),
       {O(yes), O(open)},
       1,
       Tri::yes,
       Tri::unknown,
       "not verified: 192.0.2.3"},
      {"address not probed: unknown",
       found({ee}),
       {O(yes), O()},
       1,
       Tri::yes,
       Tri::unknown,
       "not probed"},
      {"no address at all: unknown",
       found({ee}),
       {},
       1,
       Tri::yes,
       Tri::unknown,
       "no address probed"},
  }));
  CAPTURE(c.label);
  DaneReport got = dane_report(c.tlsa, c.at);
  CAPTURE(got.error, to_string(got.usable), to_string(got.match));
  CHECK(got.tlsa.size() == c.want_tlsa);
  CHECK(got.usable == c.want_usable);
  CHECK(got.match == c.want_match);
  if (c.want_error.empty()) {
    CHECK(got.error.empty());
  } else {
    CHECK(got.error.find(c.want_error) != std::string::npos);
  }
}

TEST_CASE("domain_dane: every MX host with addresses must match", "[checker]") {
  auto mx = [](Tri match, bool addresses = true, UnknownCause dns = UnknownCause::none) {
    MxReport m;
    m.host = "mx.example.test";
    if (addresses) {
      m.addresses.push_back(AddressReport{});
    }
    m.dns_failure = dns;
    m.dane.match = match;
    return m;
  };
  struct Case {
    std::string label;
    MxSource source;
    UnknownCause dns;
    std::vector<MxReport> hosts;
    Tri want;
  };
  auto c = GENERATE_COPY(values<Case>({
      {"all match", MxSource::mx, UnknownCause::none, {mx(Tri::yes), mx(Tri::yes)}, Tri::yes},
      {"one does not", MxSource::mx, UnknownCause::none, {mx(Tri::yes), mx(Tri::no)}, Tri::no},
      {"no beats unknown",
       MxSource::mx,
       UnknownCause::none,
       {mx(Tri::unknown), mx(Tri::no)},
       Tri::no},
      {"one unknown",
       MxSource::mx,
       UnknownCause::none,
       {mx(Tri::yes), mx(Tri::unknown)},
       Tri::unknown},
      {"host without address skipped",
       MxSource::mx,
       UnknownCause::none,
       {mx(Tri::yes), mx(Tri::unknown, false)},
       Tri::yes},
      {"host with DNS failure",
       MxSource::mx,
       UnknownCause::none,
       {mx(Tri::yes), mx(Tri::unknown, false, UnknownCause::dns_failure)},
       Tri::unknown},
      {"implicit MX", MxSource::implicit, UnknownCause::none, {mx(Tri::yes)}, Tri::yes},
      {"null MX", MxSource::null_mx, UnknownCause::none, {}, Tri::no},
      {"MX lookup failed", MxSource::none, UnknownCause::dnssec_bogus, {}, Tri::unknown},
      {"no host has an address",
       MxSource::mx,
       UnknownCause::none,
       {mx(Tri::unknown, false)},
       Tri::no},
  }));
  CAPTURE(c.label);
  DomainReport r;
  r.source = c.source;
  r.dns_failure = c.dns;
  r.mx = c.hosts;
  CHECK(domain_dane(r) == c.want);
}

TEST_CASE("DaneVerifier::for_host: only usable records, a name needed", "[checker]") {
  CHECK_FALSE(DaneVerifier::for_host({"mx.example.test"}, {}));
  CHECK_FALSE(DaneVerifier::for_host({"mx.example.test"}, {record(1, 1, 1, 32)}));
  CHECK_FALSE(DaneVerifier::for_host({""}, {record(3, 1, 1, 32)}));
  auto v = DaneVerifier::for_host({"mx.example.test."}, {record(1, 1, 1, 32), record(3, 1, 1, 32)});
  REQUIRE(v);
  CHECK(v->usable() == std::vector<std::string>{tlsa_presentation(record(3, 1, 1, 32))});
  CHECK(v->key().rfind("mx.example.test|3 1 1 ", 0) == 0);
}

// --- OpenSSL's verdict on real handshakes ---------------------------------------

namespace {

void rethrow(std::exception_ptr e) {
  if (e) {
    std::rethrow_exception(e);
  }
}

std::vector<std::uint8_t> der_of(X509* cert) {
  unsigned char* out = nullptr;
  int n = i2d_X509(cert, &out);
  std::vector<std::uint8_t> der(out, out + std::max(n, 0));
  OPENSSL_free(out);
  return der;
}

std::vector<std::uint8_t> spki_of(X509* cert) {
  unsigned char* out = nullptr;
  int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &out);
  std::vector<std::uint8_t> der(out, out + std::max(n, 0));
  OPENSSL_free(out);
  return der;
}

std::vector<std::uint8_t> sha256(const std::vector<std::uint8_t>& in) {
  std::vector<std::uint8_t> out(SHA256_DIGEST_LENGTH);
  SHA256(in.data(), in.size(), out.data());
  return out;
}

struct DanePki {
  Issued root = issue(
      {.cn = "forcetls dane root", .not_before = k2020, .not_after = k2030, .ca = true}, nullptr);
  Issued other_root = issue(
      {.cn = "forcetls other root", .not_before = k2020, .not_after = k2030, .ca = true}, nullptr);
  std::map<std::string, Issued> leaves;
  // The client trusts only other_root: PKIX "trusted" stays no, so any
  // match below is DANE's own.
  std::string ca_file = write_pem_file({other_root.cert.get()}, "dane-root.pem");

  DanePki() {
    auto spec = [](std::string name, std::int64_t from, std::int64_t to) {
      return CertSpec{.cn = name, .sans = {name}, .not_before = from, .not_after = to};
    };
    leaves.emplace("valid", issue(spec("mx.example.test", k2020, k2030), &root));
    leaves.emplace("expired", issue(spec("mx.example.test", k2020, k2021), &root));
    leaves.emplace("wrong name", issue(spec("other.example.net", k2020, k2030), &root));
    leaves.emplace("self-signed", issue(spec("mx.example.test", k2020, k2030), nullptr));
  }
  ~DanePki() {
    std::error_code ignored;
    std::filesystem::remove_all(std::filesystem::path(ca_file).parent_path(), ignored);
  }
};

DanePki& dane_pki() {
  static DanePki instance;
  return instance;
}

const TlsClientContext& dane_client() {
  static TlsClientContext ctx = [] {
    auto made = TlsClientContext::create({.ca_file = dane_pki().ca_file});
    if (!made) {
      throw std::runtime_error(made.error().message);
    }
    return std::move(*made);
  }();
  return ctx;
}

struct Verdict {
  HandshakeProbeResult probe;
  DaneVerifier::Armed armed;
  std::optional<DaneOutcome> outcome;
};

Verdict handshake_with(const DaneVerifier& verifier, const Issued& leaf, bool send_root) {
  asio::io_context io;
  auto [client, server] = make_socket_pair(io);
  std::vector<X509*> chain;
  if (send_root) {
    chain.push_back(dane_pki().root.cert.get());
  }
  auto server_ctx = make_server_ctx(leaf, chain);
  Verdict v;
  HandshakeProbeOptions o;
  o.smtp = SmtpOptions{.ehlo_name = "client.example.test",
                       .greeting_timeout = 2s,
                       .command_timeout = 2s,
                       .quit_timeout = 500ms};
  o.tls.handshake_timeout = 2s;
  o.tls.quit_timeout = 300ms;
  o.tls.before_handshake = [&](SSL* ssl) { v.armed = verifier.arm(ssl); };
  o.tls.after_handshake = [&](SSL* ssl) { v.outcome = verifier.outcome(ssl, v.armed); };
  auto script = postfix_until_starttls();
  script.push_back(tls());
  ServerLog log;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        v.probe = co_await probe_handshake_on(client, "mx.example.test", dane_client(), o);
      },
      rethrow);
  asio::co_spawn(io, run_script(server, std::move(script), log, server_ctx.get(), 1s), rethrow);
  io.run();
  return v;
}

}  // namespace

TEST_CASE("DaneVerifier: OpenSSL's DANE verdict on a real handshake", "[checker]") {
  DanePki* pki = &dane_pki();
  X509* valid = pki->leaves.at("valid").cert.get();
  X509* root = pki->root.cert.get();
  X509* other = pki->other_root.cert.get();
  auto rec = [](std::uint8_t u, std::uint8_t s, std::uint8_t m, std::vector<std::uint8_t> d) {
    return TlsaRecord{.usage = u, .selector = s, .matching_type = m, .data = std::move(d)};
  };
  struct Case {
    std::string label;
    std::string leaf;
    bool send_root;
    std::vector<TlsaRecord> records;
    Tri want;
    std::string want_detail;
  };
  auto c = GENERATE_COPY(values<Case>({
      {"3 1 1 of the leaf key",
       "valid",
       false,
       {rec(3, 1, 1, sha256(spki_of(valid)))},
       Tri::yes,
       "matched the server certificate"},
      {"3 0 1 of the leaf",
       "valid",
       false,
       {rec(3, 0, 1, sha256(der_of(valid)))},
       Tri::yes,
       "3 0 1 "},
      {"3 0 0 full leaf", "valid", false, {rec(3, 0, 0, der_of(valid))}, Tri::yes, "3 0 0 "},
      // RFC 7672 §3.1.1: DANE-EE ignores names and dates.
      {"3 1 1, leaf for another name",
       "wrong name",
       false,
       {rec(3, 1, 1, sha256(spki_of(pki->leaves.at("wrong name").cert.get())))},
       Tri::yes,
       "3 1 1"},
      {"3 1 1, expired leaf",
       "expired",
       false,
       {rec(3, 1, 1, sha256(spki_of(pki->leaves.at("expired").cert.get())))},
       Tri::yes,
       "3 1 1"},
      {"3 1 1, self-signed leaf",
       "self-signed",
       false,
       {rec(3, 1, 1, sha256(spki_of(pki->leaves.at("self-signed").cert.get())))},
       Tri::yes,
       "3 1 1"},
      {"3 1 1 of another key", "valid", false, {rec(3, 1, 1, sha256(spki_of(other)))}, Tri::no, ""},
      {"one wrong, one right",
       "valid",
       false,
       {rec(3, 1, 1, sha256(spki_of(other))), rec(3, 1, 1, sha256(spki_of(valid)))},
       Tri::yes,
       "3 1 1"},
      // DANE-TA: the issuer matches, then name and dates are checked.
      {"2 0 1 of the root, sent in the chain",
       "valid",
       true,
       {rec(2, 0, 1, sha256(der_of(root)))},
       Tri::yes,
       "matched the issuer at depth 1"},
      {"2 1 1 of the root, sent in the chain",
       "valid",
       true,
       {rec(2, 1, 1, sha256(spki_of(root)))},
       Tri::yes,
       "depth 1"},
      {"2 0 0 full root, not sent",
       "valid",
       false,
       {rec(2, 0, 0, der_of(root))},
       Tri::yes,
       "depth 1"},
      {"2 0 1 of the root, not sent",
       "valid",
       false,
       {rec(2, 0, 1, sha256(der_of(root)))},
       Tri::no,
       ""},
      {"2 0 1 of the root, wrong name",
       "wrong name",
       true,
       {rec(2, 0, 1, sha256(der_of(root)))},
       Tri::no,
       "hostname mismatch"},
      {"2 0 1 of the root, expired leaf",
       "expired",
       true,
       {rec(2, 0, 1, sha256(der_of(root)))},
       Tri::no,
       "expired"},
      {"2 0 1 of another root", "valid", true, {rec(2, 0, 1, sha256(der_of(other)))}, Tri::no, ""},
      {"3 0 0 that does not parse",
       "valid",
       false,
       {rec(3, 0, 0, {0x30, 0x01, 0x00})},
       Tri::no,
       "none of the TLSA records"},
  }));
  CAPTURE(c.label);
  auto verifier = DaneVerifier::for_host({"mx.example.test"}, c.records);
  REQUIRE(verifier);
  Verdict v = handshake_with(*verifier, pki->leaves.at(c.leaf), c.send_root);
  REQUIRE(v.probe.ok());
  REQUIRE(v.outcome);
  CAPTURE(v.outcome->detail, v.armed.error);
  CHECK(v.outcome->match == c.want);
  CHECK(v.outcome->detail.find(c.want_detail) != std::string::npos);
  // DANE is separate: the PKIX question still says the root is not trusted.
  CHECK(v.probe.tls->cert.trusted == Tri::no);
}
