// SPDX-License-Identifier: Apache-2.0
// Politeness toward one MX address: the pause before its next connection, the
// back-off after a rate-limited answer (a 421, or the connection closed
// before the greeting), and the stop after too many of those in a row, so a
// server that keeps saying "too many connections" costs a bounded time and is
// reported unknown instead of waited on. Pure bookkeeping, no I/O or clock:
// the prober keeps one per address and asks it after each connection, on its
// io_context thread.
#pragma once

#include <chrono>
#include <string>

#include "checker/smtp/smtp_session.hpp"

namespace forcetls::checker {

using namespace std::chrono_literals;

/// The server asked us to slow down: a 421 reply (at any step), or the
/// connection closed before the greeting. A timeout is not counted: it says
/// nothing about rate limits.
bool rate_limited(const SmtpResult& smtp);

struct PolitenessOptions {
  std::chrono::milliseconds pause = 200ms;  ///< between connections
  /// After a rate-limited answer wait at least this long (fourfold after each
  /// further one, up to max_backoff; back down by a quarter per success):
  /// servers that rate-limit count connections over windows of a few seconds.
  std::chrono::milliseconds rate_limit_pause = 5s;
  std::chrono::milliseconds max_backoff = 20s;
  /// This many rate-limited answers in a row end the connections to the
  /// address (0: never stop; the connection budget still ends them).
  int rate_limit_stop = 2;
};

class AddressPoliteness {
 public:
  explicit AddressPoliteness(PolitenessOptions options);

  /// Records the outcome of one connection; returns how long to wait before
  /// the next one (zero once stopped: there is no next one).
  std::chrono::milliseconds after(const SmtpResult& smtp);
  /// No further connection may be made to the address.
  bool stopped() const { return !stop_reason_.empty(); }
  /// Why ("rate-limited: stopped after 2 consecutive 421 replies"); empty
  /// while connections are allowed.
  const std::string& stop_reason() const { return stop_reason_; }
  /// A new probe of the address begins: the stop and the count are
  /// forgotten, the pause (how slow the server wants us) is kept.
  void restart();
  std::chrono::milliseconds pause() const { return pause_; }

 private:
  PolitenessOptions options_;
  std::chrono::milliseconds pause_;
  int in_a_row_ = 0;      // rate-limited answers since the last other outcome
  bool only_421_ = true;  // ... and all of them 421 replies
  std::string stop_reason_;
};

}  // namespace forcetls::checker
