// SPDX-License-Identifier: Apache-2.0
// Acceptance questions and the per-address probe plan (see the header for the
// order, the budget and the inference rules).
#include "checker/wire/probe_plan.hpp"

#include <algorithm>
#include <array>
#include <iterator>
#include <span>

namespace forcetls::checker {
namespace {

constexpr std::size_t kSuiteCap = kMaxHelloSuites - 1;  // the builder appends the SCSV

bool has(const std::vector<std::uint16_t>& list, std::uint16_t code) {
  return std::find(list.begin(), list.end(), code) != list.end();
}

std::size_t version_index(TlsVersion v) { return wire(v) - wire(TlsVersion::ssl3); }

// Broad list for a version question (see suites_for() in the header). Only the
// TLS 1.2 list reaches the cap; what it loses are static-DH/ECDH and
// anonymous/NULL variants no real mail server depends on.
std::vector<std::uint16_t> compute_broad(TlsVersion v) {
  std::vector<std::uint16_t> out;
  auto add = [&](std::uint16_t code) {
    if (out.size() < kSuiteCap && offerable(code) && valid_at(code, v) && !has(out, code)) {
      out.push_back(code);
    }
  };
  // 1. NIST r2, then r1: what the other questions care about most.
  for (std::uint16_t c : nist_r2_tls12_suites()) {
    add(c);
  }
  for (std::uint16_t c : nist_r1_suites()) {
    add(c);
  }
  // 2. Other strong suites the system OpenSSL has (ChaCha20, Camellia, ARIA-GCM, CCM).
  for (const CipherSuite& s : all_suites()) {
    if (!is_weak(s.code) && s.in_openssl3) {
      add(s.code);
    }
  }
  // 3. Weak but authenticated suites that servers really ran (3DES, RC4, DES,
  //    SEED, IDEA; EXPORT where the version allows it): a server that speaks a
  //    version only with those must not look like it lacks the version.
  constexpr std::uint16_t kDeployed[] = {weak_3des, weak_rc4,  weak_des,
                                         weak_seed, weak_idea, weak_export};
  for (std::uint16_t reason : kDeployed) {
    for (const CipherSuite& s : all_suites()) {
      std::uint16_t mask = weak_reasons(s.code);
      if ((mask & reason) != 0 && (mask & (weak_anonymous | weak_null_cipher)) == 0) {
        add(s.code);
      }
    }
  }
  // 4. The remaining strong suites, then anonymous and NULL ones.
  for (const CipherSuite& s : all_suites()) {
    if (!is_weak(s.code)) {
      add(s.code);
    }
  }
  for (const CipherSuite& s : all_suites()) {
    add(s.code);
  }
  return out;
}

// Every offerable weak suite defined at or below `version`, most often
// deployed first, so a server that honours the client's order reveals the
// ones admins most need to hear about.
std::vector<std::uint16_t> compute_weak(TlsVersion version) {
  constexpr std::uint16_t kOrder[] = {weak_3des,        weak_rc4,    weak_des,
                                      weak_seed,        weak_idea,   weak_anonymous,
                                      weak_null_cipher, weak_export, weak_rc2};
  std::vector<std::uint16_t> out;
  for (std::uint16_t reason : kOrder) {
    for (const CipherSuite& s : all_suites()) {
      std::uint16_t mask = weak_reasons(s.code);
      if ((mask & reason) != 0 && offerable(s.code) && !is_tls13_suite(s.code) &&
          wire(s.min_version) <= wire(version) && !has(out, s.code) && out.size() < kSuiteCap) {
        out.push_back(s.code);
      }
    }
  }
  return out;
}

// The broad and weak lists are pure functions of the version, needed on every
// planning step (the plan re-derives its next hello after each answer):
// computed once per process for all five versions (thread-safe static
// initialisation), from the functions above.
using PerVersion = std::array<std::vector<std::uint16_t>, 5>;
PerVersion per_version(std::vector<std::uint16_t> (*compute)(TlsVersion)) {
  PerVersion lists;
  for (TlsVersion v : {TlsVersion::ssl3, TlsVersion::tls1_0, TlsVersion::tls1_1, TlsVersion::tls1_2,
                       TlsVersion::tls1_3}) {
    lists[version_index(v)] = compute(v);
  }
  return lists;
}

const std::vector<std::uint16_t>& broad(TlsVersion v) {
  static const PerVersion kLists = per_version(compute_broad);
  return kLists.at(version_index(v));
}

const std::vector<std::uint16_t>& weak_list(TlsVersion v) {
  static const PerVersion kLists = per_version(compute_weak);
  return kLists.at(version_index(v));
}

bool is_version_question(Question q) {
  return q == Question::ssl3 || q == Question::tls1_0 || q == Question::tls1_1 ||
         q == Question::tls1_2 || q == Question::tls1_3;
}

}  // namespace

std::string_view question_name(Question q) {
  switch (q) {
    case Question::ssl3:
      return "ssl3";
    case Question::tls1_0:
      return "tls1_0";
    case Question::tls1_1:
      return "tls1_1";
    case Question::tls1_2:
      return "tls1_2";
    case Question::tls1_3:
      return "tls1_3";
    case Question::weak:
      return "weak";
    case Question::nist_r1:
      return "nist_r1";
    case Question::nist_r2:
      return "nist_r2";
  }
  return "unknown";
}

std::vector<std::uint16_t> suites_for(Question q, TlsVersion version) {
  std::vector<std::uint16_t> out;
  switch (q) {
    case Question::ssl3:
    case Question::tls1_0:
    case Question::tls1_1:
    case Question::tls1_2:
      return broad(version);
    case Question::tls1_3: {
      auto s = tls13_suites();
      return {s.begin(), s.end()};
    }
    case Question::weak:
      return weak_list(version);
    case Question::nist_r1:
      for (std::uint16_t c : nist_r1_suites()) {
        if (wire(min_version(c)) <= wire(version)) {
          out.push_back(c);
        }
      }
      return out;
    case Question::nist_r2:
      if (version == TlsVersion::tls1_3) {
        auto s = nist_r2_tls13_suites();
        return {s.begin(), s.end()};
      }
      for (std::uint16_t c : nist_r2_tls12_suites()) {
        if (wire(min_version(c)) <= wire(version)) {
          out.push_back(c);
        }
      }
      return out;
  }
  return out;
}

ClientHelloOptions Probe::hello(std::string server_name) const {
  return ClientHelloOptions{
      .version = version, .suites = suites, .server_name = std::move(server_name)};
}

ProbePlan::ProbePlan(PlanOptions options) : options_(options) {}

void ProbePlan::add_evidence(TlsVersion v, std::uint16_t suite) {
  for (const Evidence& e : accepted_) {
    if (e.version == v && e.suite == suite) {
      return;
    }
  }
  accepted_.push_back({v, suite});
}

void ProbePlan::note_handshake(TlsVersion version, std::uint16_t suite,
                               TlsVersion highest_offered) {
  ++connections_;
  add_evidence(version, suite);
  // RFC 8446 §4.2.1: a TLS 1.3 server offered TLS 1.3 must select it. Lower
  // versions are left to the version questions, whose offer is broader.
  if (version != TlsVersion::tls1_3 && highest_offered == TlsVersion::tls1_3) {
    version_no_[version_index(TlsVersion::tls1_3)] = true;
  }
}

void ProbePlan::note_handshake_failed(std::string reason) {
  ++connections_;
  notes_.push_back("full handshake failed: " + reason);
}

Tri ProbePlan::version_answer(TlsVersion v) const {
  for (const Evidence& e : accepted_) {
    if (e.version == v) {
      return Tri::yes;
    }
  }
  return version_no_[version_index(v)] ? Tri::no : Tri::unknown;
}

bool ProbePlan::none_at_or_below_tls12() const {
  for (TlsVersion v :
       {TlsVersion::ssl3, TlsVersion::tls1_0, TlsVersion::tls1_1, TlsVersion::tls1_2}) {
    if (version_answer(v) != Tri::no) {
      return false;
    }
  }
  return true;
}

bool ProbePlan::weak_low_needed() const {
  if (version_answer(TlsVersion::tls1_0) == Tri::no &&
      version_answer(TlsVersion::ssl3) == Tri::no) {
    return false;
  }
  // Best version <= 1.2 is at most TLS 1.0: the first weak hello landed there.
  return !(version_answer(TlsVersion::tls1_1) == Tri::no &&
           version_answer(TlsVersion::tls1_2) == Tri::no);
}

TlsVersion ProbePlan::weak_low_version() const {
  return version_answer(TlsVersion::tls1_0) != Tri::no ? TlsVersion::tls1_0 : TlsVersion::ssl3;
}

std::vector<std::uint16_t> ProbePlan::known_weak() const {
  std::vector<std::uint16_t> out;
  for (const Evidence& e : accepted_) {
    if (is_weak(e.suite) && !has(out, e.suite)) {
      out.push_back(e.suite);
    }
  }
  return out;
}

std::vector<std::uint16_t> ProbePlan::weak_candidates(Step s, bool sweep) const {
  const TlsVersion v = s == weak_high ? TlsVersion::tls1_2 : weak_low_version();
  const std::vector<std::uint16_t> known = known_weak();
  std::uint16_t covered = 0;
  for (std::uint16_t c : known) {
    covered |= weak_reasons(c);
  }
  std::vector<std::uint16_t> out;
  for (std::uint16_t c : weak_list(v)) {
    if (!has(known, c) && (!sweep || (weak_reasons(c) & ~covered) != 0)) {
      out.push_back(c);
    }
  }
  return out;
}

bool ProbePlan::needed(Step s, const PlanAnswers& a) const {
  const StepState& st = steps_[s];
  if (st.gave_up || st.refused) {
    return false;
  }
  switch (s) {
    case r2_tls12:
      return st.rounds == 0 && a.nist_r2 != Tri::yes && a.tls1_2 != Tri::no;
    case r1:
      return st.rounds == 0 && a.nist_r1 == Tri::unknown;
    case v_tls12:
      return st.rounds == 0 && a.tls1_2 == Tri::unknown;
    case v_tls10:
      return st.rounds == 0 && a.tls1_0 == Tri::unknown;
    case v_ssl3:
      return st.rounds == 0 && a.ssl3 == Tri::unknown;
    case v_tls11:
      return st.rounds == 0 && a.tls1_1 == Tri::unknown;
    case v_tls13:
      return st.rounds == 0 && a.tls1_3 == Tri::unknown;
    case r2_tls13:
      return st.rounds == 0 && a.nist_r2 != Tri::yes && a.nist_r2_tls13 == Tri::unknown &&
             a.tls1_3 != Tri::no &&
             (steps_[r2_tls12].refused || steps_[r2_tls12].gave_up || a.tls1_2 == Tri::no);
    case weak_high:
    case weak_low: {
      if (none_at_or_below_tls12() || (s == weak_low && !weak_low_needed())) {
        return false;
      }
      if (!options_.enumerate_weak && (st.rounds > 0 || !known_weak().empty())) {
        return false;
      }
      return make(s).has_value();
    }
    case step_count:
      break;
  }
  return false;
}

std::optional<Probe> ProbePlan::make(Step s) const {
  Probe p;
  p.step = s;
  p.attempt = steps_[s].failures + 1;
  switch (s) {
    case r2_tls12:
      p.question = Question::nist_r2;
      p.version = TlsVersion::tls1_2;
      p.purpose = "NIST SP 800-52r2 suites at TLS 1.2";
      break;
    case r1:
      p.question = Question::nist_r1;
      p.version = TlsVersion::tls1_2;
      p.purpose = "NIST SP 800-52r1 suites up to TLS 1.2";
      break;
    case v_tls12:
      p.question = Question::tls1_2;
      p.version = TlsVersion::tls1_2;
      break;
    case v_tls10:
      p.question = Question::tls1_0;
      p.version = TlsVersion::tls1_0;
      break;
    case v_ssl3:
      p.question = Question::ssl3;
      p.version = TlsVersion::ssl3;
      break;
    case v_tls11:
      p.question = Question::tls1_1;
      p.version = TlsVersion::tls1_1;
      break;
    case v_tls13:
      p.question = Question::tls1_3;
      p.version = TlsVersion::tls1_3;
      break;
    case r2_tls13:
      p.question = Question::nist_r2;
      p.version = TlsVersion::tls1_3;
      p.purpose = "NIST SP 800-52r2 suites at TLS 1.3";
      break;
    case weak_high:
    case weak_low: {
      p.question = Question::weak;
      p.version = s == weak_high ? TlsVersion::tls1_2 : weak_low_version();
      // After a first acceptance at this level, sweep for new categories first.
      if (steps_[s].rounds > 0 && !steps_[s].sweep_done) {
        p.suites = weak_candidates(s, true);
        p.category_sweep = !p.suites.empty();
      }
      if (p.suites.empty()) {
        p.suites = weak_candidates(s, false);
      }
      if (p.suites.empty()) {
        return std::nullopt;
      }
      p.purpose = "weak suites up to " + std::string(version_name(p.version));
      if (p.category_sweep) {
        p.purpose += ", categories not found yet";
      } else if (std::size_t known = known_weak().size(); known > 0) {
        p.purpose += ", " + std::to_string(known) + " already found left out";
      }
      return p;
    }
    case step_count:
      return std::nullopt;
  }
  p.suites = suites_for(p.question, p.version);
  if (p.purpose.empty()) {
    p.purpose = std::string(version_name(p.version)) + " with a broad suite list";
  }
  return p;
}

std::vector<Probe> ProbePlan::ordered(std::size_t limit) const {
  static constexpr Step kOrder[] = {r2_tls12,  r1,       v_tls12, v_tls10, v_ssl3,
                                    weak_high, weak_low, v_tls11, v_tls13, r2_tls13};
  // Enumeration alternates between the two weak levels: the one with fewer
  // rounds so far goes first, so the TLS 1.0 level (EXPORT, DES) is not starved.
  const bool low_first = steps_[weak_low].rounds < steps_[weak_high].rounds;
  const Step kWeakOrder[] = {low_first ? weak_low : weak_high, low_first ? weak_high : weak_low};
  std::vector<Probe> out;
  if (limit == 0) {
    return out;
  }
  // The answers are the same for every step of this call: derive them once.
  const PlanAnswers a = derive();
  auto take = [&](bool (*phase)(const StepState&), std::span<const Step> order) {
    for (Step s : order) {
      if (out.size() >= limit) {
        return;
      }
      if (phase(steps_[s]) && needed(s, a)) {
        if (auto p = make(s)) {
          out.push_back(std::move(*p));
        }
      }
    }
  };
  // First questions, then retries of unknowns ("later, on a fresh connection"),
  // then the weak-suite enumeration rounds: category sweeps before full lists.
  take([](const StepState& st) { return st.rounds == 0 && st.failures == 0; }, kOrder);
  take([](const StepState& st) { return st.failures > 0; }, kOrder);
  take([](const StepState& st) { return st.rounds > 0 && st.failures == 0 && !st.sweep_done; },
       kWeakOrder);
  take([](const StepState& st) { return st.rounds > 0 && st.failures == 0 && st.sweep_done; },
       kWeakOrder);
  return out;
}

std::size_t ProbePlan::budget() const {
  return static_cast<std::size_t>(std::max(0, options_.max_connections - connections_));
}

std::vector<Probe> ProbePlan::pending() const { return ordered(budget()); }

std::optional<Probe> ProbePlan::next() const {
  // Only the first entry is wanted: stop building the list there.
  std::vector<Probe> all = ordered(std::min<std::size_t>(budget(), 1));
  if (all.empty()) {
    return std::nullopt;
  }
  return std::move(all.front());
}

void ProbePlan::record(const Probe& probe, const ProbeResult& result) {
  ++connections_;
  if (probe.step >= step_count) {
    return;
  }
  StepState& st = steps_[probe.step];
  const std::string what = std::string(question_name(probe.question)) + " (" +
                           std::string(version_name(probe.version)) + ")";
  switch (result.acceptance) {
    case Acceptance::accepted: {
      if (!result.version) {
        st.gave_up = true;
        notes_.push_back(what + ": acceptance without a version");
        return;
      }
      add_evidence(*result.version, result.suite);
      ++st.rounds;
      st.failures = 0;
      // A version question's broad offer was answered with a lower version:
      // the versions in between are not accepted (highest common version).
      // The TLS 1.3 question offers only TLS 1.3 suites, so a lower answer
      // says nothing about the versions in between.
      if (probe.version == TlsVersion::tls1_3 && *result.version != TlsVersion::tls1_3) {
        version_no_[version_index(TlsVersion::tls1_3)] = true;
      } else if (is_version_question(probe.question) &&
                 wire(*result.version) < wire(probe.version)) {
        for (unsigned v = wire(*result.version) + 1; v <= wire(probe.version); ++v) {
          version_no_[v - wire(TlsVersion::ssl3)] = true;
        }
      }
      if (result.downgrade == Downgrade::tls1_2) {
        notes_.push_back(what + ": ServerHello carries the TLS 1.3 downgrade sentinel");
      }
      return;
    }
    case Acceptance::not_accepted:
      st.failures = 0;
      if (probe.category_sweep) {
        st.sweep_done = true;  // no new category; the full list comes next
        return;
      }
      st.refused = true;
      if (is_version_question(probe.question)) {
        version_no_[version_index(probe.version)] = true;
      }
      return;
    case Acceptance::server_bug:
      st.gave_up = true;
      notes_.push_back(what + ": server bug: " + result.reason);
      return;
    case Acceptance::unknown:
      if (++st.failures >= 2) {
        st.gave_up = true;
        notes_.push_back(what + ": no answer after 2 attempts: " + result.reason);
      }
      return;
  }
}

PlanAnswers ProbePlan::derive() const {
  PlanAnswers a;
  a.ssl3 = version_answer(TlsVersion::ssl3);
  a.tls1_0 = version_answer(TlsVersion::tls1_0);
  a.tls1_1 = version_answer(TlsVersion::tls1_1);
  a.tls1_2 = version_answer(TlsVersion::tls1_2);
  a.tls1_3 = version_answer(TlsVersion::tls1_3);
  const bool nothing_le12 = none_at_or_below_tls12();

  // Weak: each weak hello level is done when refused or when nothing is left to offer.
  a.weak_suites = known_weak();
  auto level_done = [&](Step s) {
    return steps_[s].refused || (!steps_[s].gave_up && !make(s).has_value());
  };
  const bool high_done = level_done(weak_high);
  const bool low_done = !weak_low_needed() || level_done(weak_low);
  a.weak_complete = nothing_le12 || (high_done && low_done);
  auto categories_done = [&](Step s) {
    return steps_[s].refused || steps_[s].sweep_done ||
           (steps_[s].rounds > 0 && weak_candidates(s, true).empty());
  };
  a.weak_categories_complete =
      a.weak_complete ||
      (categories_done(weak_high) && (!weak_low_needed() || categories_done(weak_low)));
  if (!a.weak_suites.empty()) {
    a.weak = Tri::yes;
  } else if (a.weak_complete) {
    a.weak = Tri::no;
  }

  bool r1_seen = false;
  bool r2_12_seen = false;
  bool r2_13_seen = false;
  for (const Evidence& e : accepted_) {
    r1_seen = r1_seen || (is_nist_r1(e.suite) && e.version != TlsVersion::tls1_3);
    r2_12_seen = r2_12_seen || (is_nist_r2(e.suite) && e.version == TlsVersion::tls1_2);
    r2_13_seen = r2_13_seen || (is_nist_r2(e.suite) && e.version == TlsVersion::tls1_3);
  }
  a.nist_r1 = r1_seen ? Tri::yes : (steps_[r1].refused || nothing_le12) ? Tri::no : Tri::unknown;
  const Tri r2_12 = r2_12_seen                                          ? Tri::yes
                    : (steps_[r2_tls12].refused || a.tls1_2 == Tri::no) ? Tri::no
                                                                        : Tri::unknown;
  a.nist_r2_tls13 = r2_13_seen                                          ? Tri::yes
                    : (steps_[r2_tls13].refused || a.tls1_3 == Tri::no) ? Tri::no
                                                                        : Tri::unknown;
  a.nist_r2 = (r2_12 == Tri::yes || a.nist_r2_tls13 == Tri::yes) ? Tri::yes
              : (r2_12 == Tri::no && a.nist_r2_tls13 == Tri::no) ? Tri::no
                                                                 : Tri::unknown;

  a.connections = connections_;
  return a;
}

PlanAnswers ProbePlan::answers() const {
  PlanAnswers a = derive();
  a.notes = notes_;
  for (TlsVersion v : {TlsVersion::ssl3, TlsVersion::tls1_0, TlsVersion::tls1_1, TlsVersion::tls1_2,
                       TlsVersion::tls1_3}) {
    if (version_no_[version_index(v)] && version_answer(v) == Tri::yes) {
      a.notes.push_back(std::string(version_name(v)) +
                        ": accepted by one hello, refused by another (counted as accepted)");
    }
  }
  if (connections_ >= options_.max_connections) {
    std::string open;
    for (const Probe& p : ordered()) {
      open += open.empty() ? "" : ", ";
      open += question_name(p.question);
    }
    if (!open.empty()) {
      a.notes.push_back("connection budget of " + std::to_string(options_.max_connections) +
                        " spent; not asked: " + open);
    }
  }
  return a;
}

void copy_answers(const PlanAnswers& answers, AddressReport& report) {
  report.ssl3 = answers.ssl3;
  report.tls1_0 = answers.tls1_0;
  report.tls1_1 = answers.tls1_1;
  report.tls1_2 = answers.tls1_2;
  report.tls1_3 = answers.tls1_3;
  report.weak = answers.weak;
  report.weak_suites = answers.weak_suites;
  report.nist_r1 = answers.nist_r1;
  report.nist_r2 = answers.nist_r2;
  report.connections = answers.connections;
  report.notes.insert(report.notes.end(), answers.notes.begin(), answers.notes.end());
  if (answers.weak == Tri::yes && !answers.weak_complete) {
    report.notes.push_back(answers.weak_categories_complete
                               ? "weak suite list is partial (every weak category is listed)"
                               : "weak suite list is partial (connection budget)");
  }
}

}  // namespace forcetls::checker
