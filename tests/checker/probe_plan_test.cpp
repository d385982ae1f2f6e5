// SPDX-License-Identifier: Apache-2.0
// Tests for checker/wire/probe_plan: the question suite lists, and whole plans run
// against simulated servers (ServerHello/alert bytes through the real parser)
// and against real OpenSSL servers in memory, checking answers and the number
// of connections spent.
#include "checker/wire/probe_plan.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <stdexcept>
#include <string>

#include "common/c_handle.hpp"
#include "tests/checker/standard_suites.hpp"
#include "tests/checker/tls_test_server.hpp"

using namespace forcetls::checker;
using Bytes = std::vector<std::uint8_t>;
namespace standard = forcetls::test::standard;

namespace {

RandomSource fixed_random() {
  return [](std::span<std::uint8_t> out) { std::fill(out.begin(), out.end(), 0x5A); };
}

bool has(const std::vector<std::uint16_t>& v, std::uint16_t c) {
  return std::find(v.begin(), v.end(), c) != v.end();
}

// The protocol versions a simulated server may choose each of its suites at,
// from the RFCs that define them (not from checker/report/cipher_suites, so that a
// wrong version range there shows as a wrong answer): TLS 1.3 suites only at
// 1.3 (RFC 8446); AEAD and SHA-256/384 MAC suites from TLS 1.2 (RFC 5246, 5288,
// 5289, 6655, 7905); ECC suites from TLS 1.0, they need hello extensions (RFC
// 4492); EXPORT suites up to TLS 1.0 (RFC 4346 §A.5). DES and IDEA stay valid at
// TLS 1.2 as OpenSSL <= 1.0.2 servers negotiate them there; des_idea says which
// suites a server with des_idea_to_tls11 refuses at 1.2.
struct SuiteRange {
  std::uint16_t code;
  TlsVersion min, max;
  bool des_idea = false;
};
constexpr SuiteRange kSimRanges[] = {
    {0x1301, TlsVersion::tls1_3, TlsVersion::tls1_3},
    {0x1302, TlsVersion::tls1_3, TlsVersion::tls1_3},
    {0x1303, TlsVersion::tls1_3, TlsVersion::tls1_3},
    {0xC030, TlsVersion::tls1_2, TlsVersion::tls1_2},      // ECDHE-RSA AES256-GCM
    {0xC02F, TlsVersion::tls1_2, TlsVersion::tls1_2},      // ECDHE-RSA AES128-GCM
    {0xCCA8, TlsVersion::tls1_2, TlsVersion::tls1_2},      // ECDHE-RSA CHACHA20
    {0xC028, TlsVersion::tls1_2, TlsVersion::tls1_2},      // ECDHE-RSA AES256-SHA384
    {0xC027, TlsVersion::tls1_2, TlsVersion::tls1_2},      // ECDHE-RSA AES128-SHA256
    {0xC0AC, TlsVersion::tls1_2, TlsVersion::tls1_2},      // ECDHE-ECDSA AES128-CCM
    {0xC014, TlsVersion::tls1_0, TlsVersion::tls1_2},      // ECDHE-RSA AES256-SHA
    {0xC013, TlsVersion::tls1_0, TlsVersion::tls1_2},      // ECDHE-RSA AES128-SHA
    {0x0035, TlsVersion::ssl3, TlsVersion::tls1_2},        // RSA AES256-SHA
    {0x002F, TlsVersion::ssl3, TlsVersion::tls1_2},        // RSA AES128-SHA
    {0x000A, TlsVersion::ssl3, TlsVersion::tls1_2},        // RSA 3DES
    {0x0005, TlsVersion::ssl3, TlsVersion::tls1_2},        // RC4-SHA
    {0x0004, TlsVersion::ssl3, TlsVersion::tls1_2},        // RC4-MD5
    {0x0009, TlsVersion::ssl3, TlsVersion::tls1_2, true},  // DES-CBC-SHA
    {0x0003, TlsVersion::ssl3, TlsVersion::tls1_0},        // EXP-RC4-MD5
    {0x0006, TlsVersion::ssl3, TlsVersion::tls1_0},        // EXP-RC2-CBC-MD5
    {0x0008, TlsVersion::ssl3, TlsVersion::tls1_0},        // EXP-DES-CBC-SHA
};

const SuiteRange& sim_range(std::uint16_t code) {
  for (const SuiteRange& r : kSimRanges) {
    if (r.code == code) {
      return r;
    }
  }
  throw std::logic_error("simulated server suite without a version range: " + display_name(code));
}

bool sim_valid_at(std::uint16_t code, TlsVersion v) {
  const SuiteRange& r = sim_range(code);
  return wire(r.min) <= wire(v) && wire(v) <= wire(r.max);
}

// A model server: the versions it accepts and its suites in preference order.
// It answers like a correct TLS server: highest common version, first of its
// suites that was offered and is valid at that version, else an alert.
struct SimServer {
  std::vector<TlsVersion> versions;
  std::vector<std::uint16_t> suites;
  int unknown_first = 0;           // the first attempt of every question times out
  bool unknown_always = false;     // every probe times out
  bool bug_on_weak = false;        // answers the weak question with a suite not offered
  bool des_idea_to_tls11 = false;  // the lab emulator's RFC 5469 reading: no DES/IDEA at 1.2
};

Bytes record(std::uint8_t type, const Bytes& payload) {
  Bytes r(5 + payload.size());
  r[0] = type;
  r[1] = 3;
  r[2] = 3;
  r[3] = static_cast<std::uint8_t>(payload.size() >> 8);
  r[4] = static_cast<std::uint8_t>(payload.size());
  std::copy(payload.begin(), payload.end(), r.begin() + 5);
  return r;
}

Bytes server_hello(TlsVersion v, std::uint16_t suite) {
  const bool tls13 = v == TlsVersion::tls1_3;
  const std::uint16_t legacy = tls13 ? 0x0303 : wire(v);
  Bytes body = {static_cast<std::uint8_t>(legacy >> 8), static_cast<std::uint8_t>(legacy)};
  body.insert(body.end(), 32, 0x42);
  body.push_back(0);
  body.push_back(static_cast<std::uint8_t>(suite >> 8));
  body.push_back(static_cast<std::uint8_t>(suite));
  body.push_back(0);
  if (tls13) {
    for (std::uint8_t b : {0, 6, 0, 43, 0, 2, 3, 4}) {
      body.push_back(b);
    }
  }
  Bytes msg = {2, 0, static_cast<std::uint8_t>(body.size() >> 8),
               static_cast<std::uint8_t>(body.size())};
  msg.insert(msg.end(), body.begin(), body.end());
  return record(22, msg);
}

struct Reply {
  Bytes bytes;
  StreamEnd end = StreamEnd::closed;
};

Reply answer(const SimServer& s, const Probe& p, std::map<std::uint8_t, int>& attempts) {
  if (s.unknown_always || attempts[p.step]++ < s.unknown_first) {
    return {{}, StreamEnd::timeout};
  }
  if (s.bug_on_weak && p.question == Question::weak) {
    return {server_hello(TlsVersion::tls1_2, 0xC02F)};
  }
  const Bytes refuse = record(21, {2, 40});
  auto accepts = [&](TlsVersion v) {
    return std::find(s.versions.begin(), s.versions.end(), v) != s.versions.end();
  };
  // A pre-1.3 server ignores supported_versions and sees legacy_version 1.2.
  TlsVersion top = p.version;
  if (top == TlsVersion::tls1_3 && !accepts(TlsVersion::tls1_3)) {
    top = TlsVersion::tls1_2;
  }
  std::optional<TlsVersion> v;
  for (TlsVersion c : s.versions) {
    if (wire(c) <= wire(top) && (!v || wire(c) > wire(*v)) &&
        (c != TlsVersion::tls1_3 || p.version == TlsVersion::tls1_3)) {
      v = c;
    }
  }
  if (!v) {
    return {record(21, {2, 70})};
  }
  for (std::uint16_t suite : s.suites) {
    if (s.des_idea_to_tls11 && *v == TlsVersion::tls1_2 && sim_range(suite).des_idea) {
      continue;
    }
    if (has(p.suites, suite) && sim_valid_at(suite, *v)) {
      return {server_hello(*v, suite)};
    }
  }
  return {refuse};
}

struct Handshake {
  TlsVersion version;
  std::uint16_t suite;
};

struct Run {
  PlanAnswers answers;
  std::vector<Probe> asked;
};

Run run_sim(const SimServer& s, std::optional<Handshake> hs, PlanOptions options = {}) {
  ProbePlan plan(options);
  if (hs) {
    plan.note_handshake(hs->version, hs->suite);
  } else {
    plan.note_handshake_failed("no shared cipher");
  }
  Run run;
  std::map<std::uint8_t, int> attempts;
  while (auto p = plan.next()) {
    REQUIRE(run.asked.size() < 100);
    ClientHelloOptions o = p->hello("mx.example.com");
    auto hello = build_client_hello(o, fixed_random());
    REQUIRE(hello.has_value());  // every planned hello is buildable
    Reply r = answer(s, *p, attempts);
    ServerHelloParser parser;
    parser.feed(r.bytes);
    plan.record(*p, classify(parser, o, r.end));
    run.asked.push_back(*p);
  }
  run.answers = plan.answers();
  return run;
}

struct Want {
  Tri ssl3, tls1_0, tls1_1, tls1_2, tls1_3, weak, nist_r1, nist_r2;
  std::vector<std::uint16_t> weak_suites;
  bool weak_complete;
  int connections;
  bool categories_complete = true;
};

void check_answers(const PlanAnswers& a, const Want& w) {
  CHECK(a.ssl3 == w.ssl3);
  CHECK(a.tls1_0 == w.tls1_0);
  CHECK(a.tls1_1 == w.tls1_1);
  CHECK(a.tls1_2 == w.tls1_2);
  CHECK(a.tls1_3 == w.tls1_3);
  CHECK(a.weak == w.weak);
  CHECK(std::set<std::uint16_t>(a.weak_suites.begin(), a.weak_suites.end()) ==
        std::set<std::uint16_t>(w.weak_suites.begin(), w.weak_suites.end()));
  CHECK(a.weak_complete == w.weak_complete);
  CHECK(a.weak_categories_complete == w.categories_complete);
  CHECK(a.nist_r1 == w.nist_r1);
  CHECK(a.nist_r2 == w.nist_r2);
  CHECK(a.connections == w.connections);
}

constexpr Tri Y = Tri::yes;
constexpr Tri N = Tri::no;
constexpr Tri U = Tri::unknown;
constexpr TlsVersion S3 = TlsVersion::ssl3;
constexpr TlsVersion T10 = TlsVersion::tls1_0;
constexpr TlsVersion T11 = TlsVersion::tls1_1;
constexpr TlsVersion T12 = TlsVersion::tls1_2;
constexpr TlsVersion T13 = TlsVersion::tls1_3;

const SimServer kModern{
    {T12, T13}, {0x1302, 0x1301, 0x1303, 0xC030, 0xC02F, 0xCCA8, 0xC028, 0xC027, 0xC014, 0xC013}};
const SimServer kLegacy{{S3, T10, T11, T12},
                        {0xC030, 0xC014, 0x0035, 0x000A, 0x0005, 0x0004, 0x0003, 0x0009}};
// The lab's emulator profiles (tests/lab/labgen.py EMULATOR_PROFILES) with the
// emulator's validity rules; the facts it expects are in tests/lab/servers.tsv.
const SimServer kLabLegacy{
    {S3, T10, T11, T12},
    {0xC02F, 0x002F, 0x0035, 0x000A, 0x0005, 0x0004, 0x0009, 0x0003, 0x0006, 0x0008},
    0,
    false,
    false,
    true};
const SimServer kLabRc4Only{{T10}, {0x0005, 0x0004}, 0, false, false, true};

}  // namespace

TEST_CASE("question suite lists", "[checker]") {
  struct Case {
    Question q;
    TlsVersion v;
  };
  auto c = GENERATE(values<Case>({{Question::ssl3, S3},
                                  {Question::tls1_0, T10},
                                  {Question::tls1_1, T11},
                                  {Question::tls1_2, T12},
                                  {Question::tls1_3, T13},
                                  {Question::weak, T12},
                                  {Question::weak, T10},
                                  {Question::weak, S3},
                                  {Question::nist_r1, T12},
                                  {Question::nist_r2, T12},
                                  {Question::nist_r2, T13}}));
  INFO(question_name(c.q) << " at " << version_name(c.v));
  auto suites = suites_for(c.q, c.v);
  INFO(suites.size() << " suites");
  REQUIRE_FALSE(suites.empty());
  CHECK(suites.size() <= kMaxHelloSuites - 1);
  CHECK(std::set<std::uint16_t>(suites.begin(), suites.end()).size() == suites.size());
  for (std::uint16_t s : suites) {
    INFO(display_name(s));
    CHECK(offerable(s));
    CHECK(wire(min_version(s)) <= wire(c.v));
    if (c.q != Question::weak && c.q != Question::nist_r1) {
      CHECK(valid_at(s, c.v));
    }
    if (c.q == Question::weak) {
      CHECK(standard::weak_mask(s) != 0);
    }
  }
  // Each hello is buildable and, for SSL 3.0 (no padding possible), small.
  auto hello = build_client_hello(
      {.version = c.v, .suites = suites, .server_name = "mx.example.com"}, fixed_random());
  REQUIRE(hello.has_value());
  CHECK(hello->size() <= 600);
  if (c.v == S3) {
    CHECK(hello->size() - 9 < 256);
  }
}

TEST_CASE("question lists hold what they promise", "[checker]") {
  auto t12 = suites_for(Question::tls1_2, T12);
  // The NIST SP 800-52 Rev. 2 TLS 1.2 suites come first.
  const std::size_t n_r2 = std::size(standard::kNistR2Tls12);
  REQUIRE(t12.size() >= n_r2);
  CHECK(std::set<std::uint16_t>(t12.begin(), t12.begin() + n_r2) ==
        standard::as_set(standard::kNistR2Tls12));
  CHECK(has(t12, 0x000A));  // 3DES
  CHECK(has(t12, 0x0005));  // RC4
  CHECK(has(t12, 0xCCA8));  // CHACHA20
  CHECK(has(t12, 0xC011));  // ECDHE-RSA-RC4-SHA survives the cap
  CHECK(has(t12, 0x0009));  // DES
  CHECK(t12.size() == kMaxHelloSuites - 1);
  CHECK_FALSE(has(t12, 0x0003));  // EXPORT is not valid at 1.2
  auto s3 = suites_for(Question::ssl3, S3);
  CHECK(has(s3, 0x0003));
  CHECK(has(s3, 0x0004));
  CHECK(std::none_of(s3.begin(), s3.end(), needs_ecc));
  auto weak12 = suites_for(Question::weak, T12);
  CHECK(has(weak12, 0x0003));        // EXPORT offered too: a server at TLS 1.0 may pick it
  CHECK(has(weak12, 0x003B));        // NULL-SHA256
  CHECK_FALSE(has(weak12, 0x008A));  // PSK
  // The r1 question offers exactly the NIST SP 800-52 Rev. 1 list.
  auto r1 = suites_for(Question::nist_r1, T12);
  CHECK(r1.size() == std::size(standard::kNistR1));
  CHECK(std::set<std::uint16_t>(r1.begin(), r1.end()) == standard::as_set(standard::kNistR1));
  CHECK(suites_for(Question::nist_r2, T13) ==
        std::vector<std::uint16_t>{0x1301, 0x1302, 0x1304, 0x1305});
}

TEST_CASE("plans against simulated servers", "[checker]") {
  struct Case {
    const char* label;
    SimServer server;
    std::optional<Handshake> handshake;
    PlanOptions options;
    Want want;
  };
  auto c = GENERATE_REF(values<Case>({
      {"modern TLS 1.2 + 1.3",
       kModern,
       Handshake{T13, 0x1302},
       {},
       {N, N, N, Y, Y, N, Y, Y, {}, true, 6}},
      {"legacy SSLv3..TLS 1.2 with weak suites, default budget",
       kLegacy,
       Handshake{T12, 0xC030},
       {},
       {Y, Y, Y, Y, N, Y, Y, Y, {0x000A, 0x0005, 0x0004, 0x0009, 0x0003}, false, 10, false}},
      {"legacy, budget for the whole weak list",
       kLegacy,
       Handshake{T12, 0xC030},
       {.max_connections = 20},
       {Y, Y, Y, Y, N, Y, Y, Y, {0x000A, 0x0005, 0x0004, 0x0009, 0x0003}, true, 13}},
      {"legacy, no enumeration",
       kLegacy,
       Handshake{T12, 0xC030},
       {.enumerate_weak = false},
       {Y, Y, Y, Y, N, Y, Y, Y, {0x000A}, false, 5, false}},
      {"TLS 1.0 only, 3DES only: r1 through 3DES",
       {{T10}, {0x000A}},
       std::nullopt,
       {},
       {N, Y, N, N, N, Y, Y, N, {0x000A}, true, 7}},
      {"TLS 1.3 only",
       {{T13}, {0x1301}},
       Handshake{T13, 0x1301},
       {},
       {N, N, N, N, Y, N, N, Y, {}, true, 7}},
      {"CHACHA20 only: neither NIST list",
       {{T12, T13}, {0x1303, 0xCCA8}},
       Handshake{T13, 0x1303},
       {},
       {N, N, N, Y, Y, N, N, N, {}, true, 9}},
      {"ECDSA CCM only: r2 but not r1",
       {{T12}, {0xC0AC}},
       Handshake{T12, 0xC0AC},
       {},
       {N, N, N, Y, N, N, N, Y, {}, true, 6}},
      {"lab legacy (emulator, no handshake), default budget",
       kLabLegacy,
       std::nullopt,
       {},
       {Y, Y, Y, Y, N, Y, Y, Y, {0x000A, 0x0005, 0x0004, 0x0009}, false, 10, false}},
      {"lab legacy, budget for the full list",
       kLabLegacy,
       std::nullopt,
       {.max_connections = 20},
       {Y,
        Y,
        Y,
        Y,
        N,
        Y,
        Y,
        Y,
        {0x0003, 0x0004, 0x0005, 0x0006, 0x0008, 0x0009, 0x000A},
        true,
        17}},
      {"lab rc4only (emulator, no handshake)",
       kLabRc4Only,
       std::nullopt,
       {},
       {N, Y, N, N, N, Y, N, N, {0x0004, 0x0005}, true, 9}},
      {"every first attempt times out",
       [] {
         SimServer s = kModern;
         s.unknown_first = 1;
         return s;
       }(),
       Handshake{T13, 0x1302},
       {.max_connections = 20},
       {N, N, N, Y, Y, N, Y, Y, {}, true, 13}},
  }));
  INFO(c.label);
  Run run = run_sim(c.server, c.handshake, c.options);
  std::string trace;
  for (const Probe& p : run.asked) {
    trace += std::string(question_name(p.question)) + "@" + std::string(version_name(p.version)) +
             (p.category_sweep ? "(sweep)" : "") + " ";
  }
  for (const std::string& n : run.answers.notes) {
    trace += "\nnote: " + n;
  }
  INFO(trace);
  check_answers(run.answers, c.want);
  CHECK(run.answers.connections <= c.options.max_connections);
}

TEST_CASE("an unreachable server is unknown, never no", "[checker]") {
  SimServer s = kModern;
  s.unknown_always = true;
  Run run = run_sim(s, std::nullopt);
  const PlanAnswers& a = run.answers;
  for (Tri t : {a.ssl3, a.tls1_0, a.tls1_1, a.tls1_2, a.tls1_3, a.weak, a.nist_r1, a.nist_r2}) {
    CHECK(t == Tri::unknown);
  }
  CHECK_FALSE(a.weak_complete);
  CHECK(a.connections == 10);
  REQUIRE_FALSE(a.notes.empty());
  CHECK(a.notes.back().find("connection budget of 10 spent") != std::string::npos);
  // First attempts come before any retry.
  bool retrying = false;
  for (const Probe& p : run.asked) {
    if (p.attempt > 1) {
      retrying = true;
    } else {
      CHECK_FALSE(retrying);
    }
  }
}

TEST_CASE("a second unknown gives up on that question", "[checker]") {
  SimServer s = kModern;
  s.unknown_always = true;
  Run run = run_sim(s, Handshake{T13, 0x1302}, {.max_connections = 40});
  const PlanAnswers& a = run.answers;
  CHECK(a.tls1_3 == Tri::yes);
  CHECK(a.nist_r2 == Tri::yes);
  CHECK(a.tls1_2 == Tri::unknown);
  std::map<std::uint8_t, int> per_step;
  for (const Probe& p : run.asked) {
    ++per_step[p.step];
  }
  for (auto [step, n] : per_step) {
    CHECK(n == 2);
  }
  CHECK(std::count_if(a.notes.begin(), a.notes.end(), [](const std::string& n) {
          return n.find("no answer after 2 attempts") != std::string::npos;
        }) == static_cast<long>(per_step.size()));
}

TEST_CASE("a server bug is recorded, not counted", "[checker]") {
  SimServer s = kModern;
  s.bug_on_weak = true;
  Run run = run_sim(s, Handshake{T13, 0x1302});
  CHECK(run.answers.weak == Tri::unknown);
  CHECK(run.answers.weak_suites.empty());
  CHECK(run.answers.tls1_2 == Tri::yes);
  CHECK(std::any_of(run.answers.notes.begin(), run.answers.notes.end(), [](const std::string& n) {
    return n.find("server bug") != std::string::npos && n.find("not offered") != std::string::npos;
  }));
}

TEST_CASE("pending lists the open questions in order, within the budget", "[checker]") {
  ProbePlan plan;
  auto all = plan.pending();
  REQUIRE(all.size() == 9);  // r2 at TLS 1.3 only after r2 at TLS 1.2 was refused
  CHECK(all[0].question == Question::nist_r2);
  CHECK(all[1].question == Question::nist_r1);
  CHECK(all[2].question == Question::tls1_2);
  CHECK(all[8].question == Question::tls1_3);
  plan.note_handshake(T13, 0x1301);
  auto after = plan.pending();
  CHECK(after.size() == 7);  // r2 and tls1_3 answered; budget 9 left
  CHECK(after[0].question == Question::nist_r1);
  ProbePlan tiny({.max_connections = 2});
  tiny.note_handshake(T13, 0x1301);
  CHECK(tiny.pending().size() == 1);
}

// Whole plans against real OpenSSL servers in memory.
TEST_CASE("plans against OpenSSL servers", "[checker]") {
  using testing::TestServerConfig;
  auto run_openssl = [](const TestServerConfig& cfg, PlanOptions options) {
    ProbePlan plan(options);
    while (auto p = plan.next()) {
      ClientHelloOptions o = p->hello("mx.example.com");
      auto hello = build_client_hello(o, fixed_random());
      REQUIRE(hello.has_value());
      auto run = testing::run_test_server(cfg, *hello);
      ServerHelloParser parser;
      parser.feed(run.output);
      ProbeResult r = classify(parser, o, StreamEnd::closed);
      INFO(question_name(p->question) << ": " << r.reason);
      REQUIRE(r.acceptance != Acceptance::server_bug);
      REQUIRE(r.acceptance != Acceptance::unknown);
      plan.record(*p, r);
    }
    return plan.answers();
  };

  SECTION("TLS 1.2 and 1.3, default suites") {
    PlanAnswers a = run_openssl({.min_version = TLS1_2_VERSION}, {});
    check_answers(a, {N, N, N, Y, Y, N, Y, Y, {}, true, 6});
  }
  SECTION("TLS 1.0 to 1.2 with every suite OpenSSL has, weak list enumerated") {
    TestServerConfig cfg{.min_version = TLS1_VERSION,
                         .max_version = TLS1_2_VERSION,
                         .ciphers = "ALL:COMPLEMENTOFALL:@SECLEVEL=0"};
    // The weak suites this server can choose with its RSA certificate: OpenSSL's
    // list, filtered by the standards' weak table and by OpenSSL's own key
    // exchange and authentication (no PSK or SRP: the prober has no secret).
    std::set<std::uint16_t> want;
    forcetls::CHandle<SSL_CTX, SSL_CTX_free> ctx{SSL_CTX_new(TLS_server_method())};
    REQUIRE(SSL_CTX_set_cipher_list(ctx.get(), cfg.ciphers.c_str()) == 1);
    forcetls::CHandle<SSL, SSL_free> ssl{SSL_new(ctx.get())};
    STACK_OF(SSL_CIPHER)* list = SSL_get_ciphers(ssl.get());
    for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) {
      const SSL_CIPHER* c = sk_SSL_CIPHER_value(list, i);
      auto code = static_cast<std::uint16_t>(SSL_CIPHER_get_protocol_id(c));
      int auth = SSL_CIPHER_get_auth_nid(c);
      int kx = SSL_CIPHER_get_kx_nid(c);
      bool shared_secret = kx == NID_kx_psk || kx == NID_kx_rsa_psk || kx == NID_kx_dhe_psk ||
                           kx == NID_kx_ecdhe_psk || kx == NID_kx_srp;
      if (standard::weak_mask(code) != 0 && !shared_secret && (code >> 8) != 0x13 &&
          (auth == NID_auth_rsa || auth == NID_auth_null)) {
        want.insert(code);
      }
    }
    REQUIRE(want.size() >= 10);
    PlanAnswers a = run_openssl(cfg, {.max_connections = 100});
    CHECK(a.weak == Tri::yes);
    CHECK(a.weak_complete);
    CHECK(std::set<std::uint16_t>(a.weak_suites.begin(), a.weak_suites.end()) == want);
    CHECK(a.tls1_0 == Tri::yes);
    CHECK(a.tls1_1 == Tri::yes);
    CHECK(a.tls1_2 == Tri::yes);
    CHECK(a.tls1_3 == Tri::no);
    CHECK(a.ssl3 == Tri::no);
    CHECK(a.nist_r1 == Tri::yes);
    CHECK(a.nist_r2 == Tri::yes);
    INFO(want.size() << " weak suites");
    CHECK(a.connections <= 8 + static_cast<int>(want.size()) + 4);
    // With the default budget the list is partial, but the categories at the
    // highest version (anonymous, NULL, MD5) are all found and say so.
    PlanAnswers b = run_openssl(cfg, {});
    CHECK(b.connections == 10);
    CHECK(b.weak == Tri::yes);
    CHECK_FALSE(b.weak_complete);
    std::uint16_t found = 0;
    for (std::uint16_t c : b.weak_suites) {
      CHECK(want.count(c) == 1);
      found |= standard::weak_mask(c);
    }
    CHECK(found == (weak_anonymous | weak_null_cipher | weak_md5_mac));
  }
  SECTION("TLS 1.0 only, AES-CBC with RSA key transport") {
    PlanAnswers a = run_openssl({.min_version = TLS1_VERSION,
                                 .max_version = TLS1_VERSION,
                                 .ciphers = "AES128-SHA:@SECLEVEL=0"},
                                {});
    check_answers(a, {N, Y, N, N, N, N, Y, N, {}, true, 6});
  }
  SECTION("TLS 1.3 with an HRR-forcing group") {
    PlanAnswers a = run_openssl({.min_version = TLS1_3_VERSION, .groups = "P-384"}, {});
    CHECK(a.tls1_3 == Tri::yes);
    CHECK(a.nist_r2 == Tri::yes);
    CHECK(a.nist_r1 == Tri::no);
    CHECK(a.tls1_2 == Tri::no);
  }
}

TEST_CASE("answers are copied into the report", "[checker]") {
  Run run = run_sim(kLegacy, Handshake{T12, 0xC030});
  AddressReport report;
  report.notes.push_back("earlier note");
  copy_answers(run.answers, report);
  CHECK(report.ssl3 == Tri::yes);
  CHECK(report.tls1_3 == Tri::no);
  CHECK(report.weak == Tri::yes);
  CHECK(report.weak_suites == run.answers.weak_suites);
  CHECK(report.nist_r1 == Tri::yes);
  CHECK(report.nist_r2 == Tri::yes);
  CHECK(report.connections == 10);
  REQUIRE(report.notes.size() == run.answers.notes.size() + 2);
  CHECK(report.notes.front() == "earlier note");
  CHECK(report.notes.back() == "weak suite list is partial (connection budget)");
}
