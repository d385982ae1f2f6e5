// SPDX-License-Identifier: Apache-2.0
// RecipientCheck: the milter's per-recipient decision, free of libmilter —
// RCPT argument -> domain -> policy match -> cache (or a wait for a probe) ->
// policy::Decision, the SMTP reply to give and the log fields. The cache is
// reached through the ReportLookup seam so unit tests run without LMDB or a
// prober. check_recipient() is reentrant: any libmilter worker thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "cache/reports.hpp"
#include "conf/config.hpp"
#include "policy/decision.hpp"
#include "policy/policy.hpp"

namespace forcetls::milter {

/// How the cache answered, for the log's `cache=` field.
enum class CacheUse : std::uint8_t {
  none,     ///< no report needed (mode off, out of scope, bad address)
  hit,      ///< fresh entry
  stale,    ///< stale entry inside grace (a refresh is queued)
  probed,   ///< missing, waited, and the probe answered in time
  timeout,  ///< missing, waited until miss_deadline: decided as not checked
  miss,     ///< missing and not waited for (answer-now, or not `require`): not checked
  error,    ///< the lookup failed: decided as not checked
};
std::string_view to_string(CacheUse c);

/// What the milter does with the recipient at RCPT time.
enum class RcptReply : std::uint8_t { accept, reject, tempfail };

/// One recipient's outcome.
struct RecipientOutcome {
  /// The RCPT argument as the MTA passed it, byte for byte (UTF-8, any
  /// length): what smfi_delrcpt must be given to remove this recipient.
  /// Never logged or put in a reply: use `rcpt`.
  std::string argument;
  /// `argument` for logs and replies: printable ASCII ('?' for any other
  /// byte), at most 512 characters ("<bob@example.com>").
  std::string rcpt;
  policy::Decision decision;
  CacheUse cache = CacheUse::none;
  std::int64_t age_seconds = -1;  ///< age of the report used; -1: none
  RcptReply reply = RcptReply::accept;
  /// Set when the address itself could not be read (no domain, IP literal, ...).
  std::string address_error;
  /// Local submission: a reject/tempfail the MTA cannot give, turned into
  /// delete-recipient + quarantine at end of message.
  bool removed = false;

  /// `rcpt=<bob@example.com> domain=... action=reject cache=hit age=3h`.
  std::string log_fields() const;
};

struct CheckOptions {
  conf::MissBehaviour on_miss = conf::MissBehaviour::wait;
  std::chrono::milliseconds miss_deadline{20000};
  /// The message came through the MTA's non-SMTP path (Postfix
  /// non_smtpd_milters), which cannot reject a recipient.
  bool local_submission = false;
  /// Unix time now (seconds), for the report's age. Empty: the system clock.
  std::function<std::int64_t()> now;
};

/// Decides one recipient. Never throws for bad input (the outcome says
/// why); exceptions from the seam propagate — the callback catches them
/// (see failure_outcome()).
RecipientOutcome check_recipient(const policy::Policy& policy,
                                 const policy::MessageContext& message, std::string_view rcpt,
                                 cache::Reports& reports, const CheckOptions& options);

/// The outcome for an internal failure (exception, cache error): `on_error`
/// applied, the reason naming the failure.
RecipientOutcome failure_outcome(std::string_view rcpt, policy::Action on_error,
                                 std::string_view what, bool local_submission);

/// Printable, single line, bounded (for logs and replies): every byte
/// outside printable ASCII becomes '?', at most `max` bytes kept.
std::string printable(std::string_view s, std::size_t max);

/// Doubles every '%' (smfi_setreply treats the text as a format).
std::string escape_percent(std::string_view text);

}  // namespace forcetls::milter
