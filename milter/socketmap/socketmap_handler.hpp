// SPDX-License-Identifier: Apache-2.0
// SocketmapHandler: one socketmap request (`NAME KEY`) in, one reply out —
// map name -> key form -> policy (Policy::match_delivery) -> cache -> the
// answer mapping (socketmap_answer.hpp), plus the log line. Free of sockets,
// so unit tests run it with an in-memory DeliveryReports. answer() is
// reentrant: the responder calls it from every connection thread.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>

#include "cache/reports.hpp"
#include "common/log.hpp"
#include "milter/socketmap/socketmap_answer.hpp"
#include "policy/policy.hpp"

namespace forcetls::milter {

/// The map names the responder answers (config socketmap.name / sts_name)
/// and what its answers may assume about Postfix.
struct SocketmapOptions {
  std::string postfix = "forcetls";  ///< smtp_tls_policy_maps values
  std::string sts = "sts";           ///< Sendmail FEATURE(sts) values; empty: not served
  /// socketmap.postfix_dnssec: Postfix validates DNSSEC (postfix_answer).
  bool postfix_dnssec = false;
};

/// The probes a map client may queue: a token bucket of `burst` misses
/// refilled at `per_second`. A miss beyond it is answered from what the
/// cache holds (unknown: TEMP under `require`) and queues nothing, so a
/// client flooding the map with new names cannot fill the probe queue.
/// One per connection, or one shared by every connection of a local user
/// on a unix socket (so reconnecting gains nothing); thread-safe.
class MissBudget {
 public:
  using Clock = std::chrono::steady_clock;
  MissBudget(double per_second, double burst)
      : per_second_(per_second), burst_(burst), tokens_(burst) {}
  /// Whether a miss may queue a probe now (refills first).
  bool available(Clock::time_point now);
  /// Spends one miss (after a lookup that queued one).
  void spend();
  /// Counts a miss refused; true at most once a minute (then log it).
  bool refuse();
  std::uint64_t refused() const { return refused_.load(); }

 private:
  mutable std::mutex mutex_;
  std::atomic<std::uint64_t> refused_{0};
  log::Throttle throttle_;
  double per_second_;
  double burst_;
  double tokens_;
  Clock::time_point last_{};
};

/// A reply and the log line it earns.
struct SocketmapReply {
  SocketmapAnswer answer;
  /// OK and NOTFOUND at debug (one per delivery: the mail log has Postfix's
  /// own line), TEMP and PERM at info (each defers or holds mail).
  log::Level level = log::Level::debug;
  /// `socketmap map=forcetls key=example.com answer=OK value="encrypt ..."
  /// policy=require verdict=eligible cache=hit rule=policy.yaml:3`; empty
  /// when `level` is not enabled (the line is not built).
  std::string log_line;
};

/// Answers one request payload. Every key a `require` rule covers — a
/// domain, a `[host]`, either with a port — is looked up (and probed on a
/// miss, within `budget` when given) under its own ReportTarget; none is
/// answered NOTFOUND for want of a report.
SocketmapReply answer_request(const policy::Policy& policy, const SocketmapOptions& options,
                              cache::Reports& reports, std::string_view request,
                              MissBudget* budget = nullptr);

}  // namespace forcetls::milter
