// SPDX-License-Identifier: Apache-2.0
// The acceptance questions the prober asks with hand-built ClientHellos, and the
// per-address plan that picks the next hello from what is known so far and turns
// the outcomes into yes/no/unknown answers. Pure, no I/O; one ProbePlan per
// address, used by one thread at a time.
//
// Connection budget per address (PlanOptions::max_connections, default 10,
// counting the prober's full OpenSSL handshake). One question per connection,
// asked in this order, each only while its answer is still unknown:
//   1. the full OpenSSL handshake (the prober's): protocol, cipher, certificate;
//      its (version, suite) is evidence like any ServerHello, and a TLS 1.2-or-
//      lower result to an offer that included TLS 1.3 answers tls1_3 = no.
//   2. nist_r2   r2 TLS 1.2 suites at TLS 1.2: an acceptance also proves tls1_2
//                and, unless the suite is C0AC-C0AF, nist_r1.
//   3. nist_r1   the r1 list, highest version TLS 1.2.
//   4. tls1_2    version question: broad suite list, client_version TLS 1.2.
//   5. tls1_0    6. ssl3 (no extensions at all)
//   7. weak      every offerable weak suite, highest version TLS 1.2: the
//                server answers at its best version <= 1.2.
//   8. weak      again at TLS 1.0 (or SSL 3.0) when a version <= 1.0 is accepted
//                and the server's best is above it: EXPORT suites exist only
//                there. Suites already known accepted are left out.
//   9. tls1_1    10. tls1_3 (only when the handshake did not answer it)
//  11. nist_r2   TLS 1.3 r2 suites, only when 2 was refused and TLS 1.3 is
//                not known to be refused and no r2 suite was seen under it
//                (e.g. the handshake negotiated TLS_CHACHA20_POLY1305_SHA256).
//  then retries (an unknown is asked once more, after the first round), then
//  weak-suite enumeration in two sweeps per level, alternating between the
//  levels (TLS 1.2, TLS 1.0): first only suites of weak categories not seen
//  yet (RC4, 3DES, EXPORT, NULL, anonymous, ...), so the categories an admin
//  must remove are known early; once that is refused, all weak suites not yet
//  found, until refused (the list is then complete) or the budget is spent.
// A server chooses one suite per hello, so an acceptance proves that suite only;
// a refusal of a question proves none of its suites is accepted.
// Measured cost (tests/checker/probe_plan_test.cpp, the handshake included):
// - modern server (TLS 1.2 + 1.3, no weak suite): 6 — handshake, r1 (which
//   also proves TLS 1.2), tls1_0, ssl3, weak, tls1_1;
// - TLS 1.3-only, CCM-only or TLS 1.0-only servers: 6-7; ChaCha20-only: 9;
// - SSLv3..TLS 1.2 server with five weak suites in five categories: 10 (all
//   five found, list not yet proven complete), 13 to prove it complete;
// - the lab's emulator personalities (tests/lab): rc4only 9, complete;
//   legacy (7 weak suites, no full handshake possible) 10 with 4 of them
//   listed, 17 for the proven-complete list: one ServerHello names one suite,
//   so a full list of n weak suites costs at least n + 2 connections;
// - the worst case without enumeration is 11 questions (handshake failed,
//   every answer a refusal): the lowest-priority one, r2 at TLS 1.3, is the
//   first left unknown. Unknowns are retried once, so a flaky server spends
//   the whole budget and stays unknown (never "no").
// For comparison (doc/checks.md, Connection cost): testssl.sh ~61 connections, sslscan ~141.
// A question's hello is at most 126 suites + SCSV and 521 bytes on the wire.
//
// Version inference: a version question offers a broad list, so a server that
// answers it with a lower version (v' < v) does not accept any version in
// (v', v] (it must pick the highest it shares, RFC 5246 §7.4.1.3); acceptances
// of the other questions only prove their own version.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checker/report/cipher_suites.hpp"
#include "checker/report/report.hpp"
#include "checker/wire/client_hello.hpp"
#include "checker/wire/server_hello.hpp"

namespace forcetls::checker {

enum class Question : std::uint8_t { ssl3, tls1_0, tls1_1, tls1_2, tls1_3, weak, nist_r1, nist_r2 };
std::string_view question_name(Question q);

/// The suites a question offers in a hello whose highest version is `version`,
/// in offer order, at most kMaxHelloSuites - 1 (the builder adds the SCSV):
/// - ssl3 .. tls1_2: a broad list of offerable suites valid at that version:
///   r2, then r1, then other strong suites the system OpenSSL knows, then weak
///   authenticated suites (3DES, RC4, DES, SEED, IDEA, EXPORT), then the other
///   strong ones, then anonymous/NULL, cut at the cap (only the TLS 1.2 list,
///   210 candidates, is cut: it keeps 126 and loses static-DH/ECDH variants,
///   ARIA-CBC, Camellia-GCM and most anonymous/NULL suites);
/// - tls1_3: all five TLS 1.3 suites;
/// - weak: every offerable weak suite defined at or below `version`;
/// - nist_r1: the r1 list; nist_r2: the r2 TLS 1.2 list, or with `version`
///   TLS 1.3 the four r2 TLS 1.3 suites.
std::vector<std::uint16_t> suites_for(Question q, TlsVersion version);

/// One hello to send on a fresh connection.
struct Probe {
  Question question = Question::tls1_2;
  TlsVersion version = TlsVersion::tls1_2;  ///< highest version offered
  std::vector<std::uint16_t> suites;        ///< exactly what is offered
  int attempt = 1;                          ///< 2: the retry after an unknown
  std::string purpose;                      ///< one line for logs
  /// Weak enumeration: only suites of weak categories not found yet.
  bool category_sweep = false;
  std::uint8_t step = 0;  ///< plan-internal; pass the Probe back unchanged
  /// The builder's options for this probe (SNI from the MX host name).
  ClientHelloOptions hello(std::string server_name) const;
};

struct PlanOptions {
  int max_connections = 10;    ///< per address, the full OpenSSL handshake included
  bool enumerate_weak = true;  ///< spend the remaining budget listing weak suites
};

/// The answers so far, in the report's terms.
struct PlanAnswers {
  Tri ssl3 = Tri::unknown;
  Tri tls1_0 = Tri::unknown;
  Tri tls1_1 = Tri::unknown;
  Tri tls1_2 = Tri::unknown;
  Tri tls1_3 = Tri::unknown;
  Tri weak = Tri::unknown;                 ///< yes: some weak suite accepted
  std::vector<std::uint16_t> weak_suites;  ///< accepted weak suites, in discovery order
  bool weak_complete = false;  ///< weak_suites is the full list (the last weak hello was refused)
  /// Every weak category (WeakReason) the server accepts is represented in
  /// weak_suites, even if the list itself is not complete.
  bool weak_categories_complete = false;
  Tri nist_r1 = Tri::unknown;
  Tri nist_r2 = Tri::unknown;        ///< an r2 suite at TLS 1.2, or at TLS 1.3
  Tri nist_r2_tls13 = Tri::unknown;  ///< an r2 suite under TLS 1.3 (the policy's tls13_counts)
  int connections = 0;               ///< connections recorded, the handshake included
  std::vector<std::string> notes;    ///< server bugs, unusual alerts, budget exhaustion
};

class ProbePlan {
 public:
  explicit ProbePlan(PlanOptions options = {});

  /// The prober's full OpenSSL handshake completed with `version` and `suite`;
  /// `highest_offered` is the highest version that handshake offered. Counts
  /// one connection.
  void note_handshake(TlsVersion version, std::uint16_t suite,
                      TlsVersion highest_offered = TlsVersion::tls1_3);
  /// The full handshake failed (counts one connection; no evidence).
  void note_handshake_failed(std::string reason);

  /// The hellos still needed, best first, cut to the remaining budget. Later
  /// entries may change once earlier ones are answered: ask next(), record it,
  /// ask again.
  std::vector<Probe> pending() const;
  std::optional<Probe> next() const;
  /// The outcome of a probe returned by next()/pending(). Every call counts
  /// one connection, whatever the outcome (a refused connection, a 421 or a
  /// failed STARTTLS is recorded as Acceptance::unknown).
  void record(const Probe& probe, const ProbeResult& result);

  PlanAnswers answers() const;
  int connections() const { return connections_; }

 private:
  struct Evidence {
    TlsVersion version;
    std::uint16_t suite;
  };
  struct StepState {
    int rounds = 0;           // definite answers (accepted) so far
    int failures = 0;         // unknowns since the last definite answer
    bool refused = false;     // the last definite answer was not_accepted
    bool gave_up = false;     // second unknown in a row, or a server bug
    bool sweep_done = false;  // weak steps: the category sweep was refused
  };
  enum Step : std::uint8_t {
    r2_tls12,
    r1,
    v_tls12,
    v_tls10,
    v_ssl3,
    weak_high,
    weak_low,
    v_tls11,
    v_tls13,
    r2_tls13,
    step_count,
  };

  PlanAnswers derive() const;  // answers() without notes
  // pending() before the budget cut; only the first `limit` entries are built.
  std::vector<Probe> ordered(std::size_t limit = SIZE_MAX) const;
  std::size_t budget() const;  // connections left

  Tri version_answer(TlsVersion v) const;
  bool none_at_or_below_tls12() const;
  bool weak_low_needed() const;
  TlsVersion weak_low_version() const;
  std::vector<std::uint16_t> known_weak() const;
  std::vector<std::uint16_t> weak_candidates(Step s, bool sweep) const;
  bool needed(Step s, const PlanAnswers& a) const;  // `a`: derive() of the current state
  std::optional<Probe> make(Step s) const;
  void add_evidence(TlsVersion v, std::uint16_t suite);

  PlanOptions options_;
  int connections_ = 0;
  StepState steps_[step_count]{};
  std::vector<Evidence> accepted_;
  bool version_no_[5]{};  // indexed by version - 0x0300
  std::vector<std::string> notes_;
};

/// Copies the answers into the report's address entry: the eight questions,
/// weak_suites, connections (set, not added) and the notes (appended, plus one
/// saying so when the weak list is partial). Protocol, cipher and certificate
/// come from the prober's full handshake, not from here.
void copy_answers(const PlanAnswers& answers, AddressReport& report);

}  // namespace forcetls::checker
