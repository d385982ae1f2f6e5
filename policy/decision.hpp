// SPDX-License-Identifier: Apache-2.0
// Decision: what the policy does with one recipient domain, given the rule
// that matched (Policy::match) and the checker's report (or none). Pure
// functions over plain values; any thread. The milter turns a Decision into
// an SMTP reply, end-of-message actions, a header and a log line; the
// socketmap (delivery time) uses evaluate() and delivery_requirement().
//
// SMTP replies (RFC 5321 reply codes, RFC 3463 enhanced status codes):
//   verdict                 reject      tempfail
//   ineligible              550 5.7.4   450 4.7.4   X.7.4 "security features not
//       supported" by the destination; Postfix itself reports 4.7.4 when TLS is
//       required and not offered, so both halves of enforcement say the same.
//   unknown / not checked   550 5.7.1   451 4.7.1   X.7.1 "delivery not
//       authorized": the policy cannot authorise the recipient yet; 451 because
//       the failure is in our checking, not at the recipient (4.7.1 is what
//       greylisting uses for "try again later").
// Other actions (accept, quarantine, tag, redirect) accept the recipient and
// carry no reply. Reply text is printable ASCII on one line (no CR/LF), at
// most kMaxReplyText characters; the milter must still double any '%' for
// smfi_setreply.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "checker/report/report.hpp"
#include "policy/policy.hpp"
#include "policy/rule.hpp"

namespace forcetls::policy {

/// The verdict as the policy sees it: the eligibility rule plus the rule's
/// stricter options (min_grade, require_verified_cert, require, tls13_counts).
enum class Verdict : std::uint8_t {
  eligible,
  ineligible,
  unknown,      ///< some answer needed by the rule is unknown (see cause)
  not_checked,  ///< no report (cache miss), mode off, or message out of scope
};
std::string_view to_string(Verdict v);  ///< eligible, ineligible, unknown, not-checked

/// The verdict of a rule's options on a report, with what decided it.
struct Evaluation {
  Verdict verdict = Verdict::not_checked;
  checker::UnknownCause cause = checker::UnknownCause::none;  ///< set when unknown
  /// Ineligible: every failed check. Unknown: the unanswered ones.
  std::vector<checker::Reason> reasons;
};

/// Reads the judged verdict (`tls13_counted` when the rule sets tls13_counts)
/// and applies the rule's
/// stricter options, in three-valued logic: any definite failure makes the
/// domain ineligible, otherwise anything unknown makes it unknown. A
/// provisional grade is an upper bound: below min_grade it is a definite
/// failure, at or above it unknown.
Evaluation evaluate(const RuleOptions& options, const checker::DomainReport& report);

/// An SMTP reply; `code` empty means none (the recipient is accepted).
struct Reply {
  std::string code;      ///< "550"
  std::string enhanced;  ///< "5.7.4"
  std::string text;      ///< one line, printable ASCII
  bool empty() const { return code.empty(); }
  /// "550 5.7.4 Forced TLS: ..." (empty string when there is no reply).
  std::string line() const;
};

inline constexpr std::size_t kMaxReplyText = 400;

/// Printable ASCII only (anything else becomes '?'), so names from DNS
/// cannot inject CR/LF or bytes an SMTP client would choke on; at most
/// `limit` characters (cut ones end in "..."). For replies, log and map text.
std::string sanitize(std::string text, std::size_t limit);

struct Decision {
  std::string domain;
  bool in_scope = true;
  Mode mode = Mode::prefer;
  Verdict verdict = Verdict::not_checked;
  checker::UnknownCause cause = checker::UnknownCause::none;
  Action action = Action::accept;
  Reply reply;                           ///< set for reject and tempfail
  std::vector<checker::Reason> reasons;  ///< see Evaluation::reasons
  /// Log form, comma separated: `no-starttls(mx2.example.com)`; also
  /// `out-of-scope`, `policy-off`, `not-checked`; empty when eligible.
  std::string reason;
  /// Header fragment: `example.com=ineligible(no-starttls)`; empty when the
  /// domain was not looked at (mode off, out of scope).
  std::string header;
  std::string grade;        ///< "B", "B?" (provisional: at most B); empty without a graded address
  std::string redirect_to;  ///< set when action is redirect
  std::string rule;         ///< where the rule is written: "policy.yaml:12", "built-in"
  std::string pattern;  ///< the pattern that matched: "example.org", ".example.org", "*", "default"
  RuleOptions options;  ///< the options that applied
};

/// The decision for `domain` (normalised) under `match`, from `report`
/// (nullptr: not checked — a cache miss the milter will not wait for, or
/// whose wait timed out). `off` and out-of-scope decisions never look at the
/// report: check needs_report() first to avoid probing for nothing.
Decision decide(const Match& match, std::string_view domain, const checker::DomainReport* report);

/// Whether decide() would use a report for this match (in scope, mode not off).
bool needs_report(const Match& match);

/// `domain=example.com policy=require verdict=ineligible
/// reason=no-starttls(mx2.example.com) grade=F action=reject rule=policy.yaml:12`
/// (values quoted per common/log.hpp). The milter prefixes the queue id and
/// `rcpt=`, and adds cache fields.
std::string log_fields(const Decision& decision);

/// What delivery-time enforcement (socketmap) must make the MTA do.
enum class Delivery : std::uint8_t {
  opportunistic,  ///< NOTFOUND: the MTA's default (`may`)
  tls_required,   ///< encrypt / verify / secure / dane-only, derived from report and options
  defer,          ///< TEMP: fail closed, try later
  refuse,         ///< PERM
};
std::string_view to_string(Delivery d);

/// Delivery-time meaning of a decision made with Policy::match_delivery:
/// require + eligible -> tls_required; require + ineligible -> refuse for
/// `reject`, defer for `tempfail`, opportunistic for actions that let the
/// mail through (accept, tag, quarantine, redirect — such mail was accepted
/// deliberately); require + unknown/not checked -> defer whatever the
/// action (an unknown may be an attacker's doing; never a permanent answer
/// on an unknown); prefer and off -> opportunistic.
Delivery delivery_requirement(const Decision& decision);

}  // namespace forcetls::policy
