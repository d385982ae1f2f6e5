// SPDX-License-Identifier: Apache-2.0
// Policy rules: the modes, actions and options an admin writes in the policy
// file, the domain patterns a rule applies to, and which mail is in scope.
// Plain values, immutable once loaded (conf/ builds them); any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checker/report/report.hpp"

namespace forcetls::policy {

/// Grade letters in order (the checker's); a rule's min_grade is one of these.
using checker::grade_from_string;
using checker::GradeLetter;

/// How a recipient domain is treated.
enum class Mode : std::uint8_t {
  off,      ///< not checked at all (no probe, no header)
  prefer,   ///< checked, logged and tagged; never blocks
  require,  ///< Forced TLS: only eligible domains pass, the rest get an action
};

/// What happens to a recipient (require mode) or what a failure turns into.
enum class Action : std::uint8_t {
  accept,      ///< let it through (the decision is still logged)
  reject,      ///< 5xx for this recipient only
  tempfail,    ///< 4xx for this recipient only
  quarantine,  ///< accept, then hold the message (end of message)
  tag,         ///< accept, add the informational header (end of message)
  redirect,    ///< replace the recipient by redirect_to (end of message)
};

/// Authenticated TLS a rule may demand on top of the eligibility rule.
enum class Require : std::uint8_t {
  none,
  mta_sts,  ///< MTA-STS policy in enforce mode covering every MX (RFC 8461)
  dane,     ///< usable DANE TLSA on every MX (RFC 7672)
  either,   ///< MTA-STS enforce or DANE
};

std::string_view to_string(Mode m);
std::string_view to_string(Action a);
std::string_view to_string(Require r);
std::optional<Mode> mode_from_string(std::string_view s);
std::optional<Action> action_from_string(std::string_view s);
std::optional<Require> require_from_string(std::string_view s);

/// The accepted spellings, for error messages: "off, prefer, require".
std::string_view mode_names();
std::string_view action_names();
std::string_view require_names();
std::string_view grade_names();

/// Action per cause of an unknown verdict.
struct OnUnknown {
  Action dns_failure = Action::tempfail;    ///< DNS lookup failed (SERVFAIL, timeout)
  Action probe_failure = Action::tempfail;  ///< probe timed out, refused, 421, ...
  Action dnssec_bogus = Action::tempfail;   ///< DNSSEC validation failed
  Action not_checked = Action::tempfail;    ///< no report yet (cache miss, answer at once)
  /// A pinned domain now looks ineligible in a way an attacker on the path
  /// can cause (cache/pins.hpp). Its own cause, so `tag` elsewhere does not
  /// let such mail out; tempfail unless the admin says otherwise.
  Action downgrade_suspected = Action::tempfail;
  bool operator==(const OnUnknown&) const = default;
};

/// What a rule says about its domains. Rules inherit every option they do
/// not set from the policy file's `default` section.
struct RuleOptions {
  Mode mode = Mode::prefer;
  std::optional<GradeLetter> min_grade;  ///< none: the grade does not matter
  bool require_verified_cert = false;    ///< every MX: trusted CA, not expired, name matches
  Require require = Require::none;
  bool tls13_counts = false;  ///< TLS 1.3 satisfies "TLS 1.0 and/or 1.2"
  Action on_ineligible = Action::reject;
  std::string redirect_to;  ///< fallback address for Action::redirect
  OnUnknown on_unknown;
  bool operator==(const RuleOptions&) const = default;
};

/// `example.org` (exactly that name), `.example.org` (every name below it,
/// not example.org itself) or `*` (any name). Names are normalised.
struct DomainPattern {
  enum class Kind : std::uint8_t { exact, subdomains, any };
  Kind kind = Kind::exact;
  std::string name;  ///< without the leading dot; empty for `any`

  bool matches(std::string_view domain) const;
  /// The pattern as written in normal form: `example.org`, `.example.org`, `*`.
  std::string text() const;
  bool operator==(const DomainPattern&) const = default;
};

/// Where something was written: file, 1-based line and column (0 = unknown).
struct Origin {
  std::string file;
  int line = 0;
  int column = 0;
  /// "policy.yaml:12" (or "built-in" for an empty file name).
  std::string text() const;
  bool operator==(const Origin&) const = default;
};

/// One rule: the recipient domains it covers, optional conditions on the
/// message, and the options. The `default` rule has no recipients.
struct Rule {
  std::vector<DomainPattern> recipients;
  /// If not empty, the sender's domain must match one of these.
  std::vector<DomainPattern> senders;
  /// If not empty, the authenticated user ({auth_authen}) must be one of
  /// these (ASCII case-insensitive).
  std::vector<std::string> users;
  RuleOptions options;
  Origin origin;
  bool operator==(const Rule&) const = default;
};

/// Which mail the policy applies to.
struct Scope {
  /// true: every message. false: only outbound mail, as recognised below.
  bool all_mail = true;
  /// Postfix `{daemon_name}` values marking outbound mail (e.g. a submission
  /// service with `-o milter_macro_daemon_name=ORIGINATING`).
  std::vector<std::string> daemon_names{"ORIGINATING"};
  /// An authenticated sender ({auth_authen} set) is outbound.
  bool authenticated = true;
  /// Mail from the local `sendmail` command (Postfix non_smtpd_milters) is outbound.
  bool local_submissions = true;
  bool operator==(const Scope&) const = default;
};

/// What the milter knows about the message when it asks.
struct MessageContext {
  std::string sender_domain;  ///< normalised; empty for the null sender
  std::string auth_user;      ///< {auth_authen}; empty when not authenticated
  std::string daemon_name;    ///< {daemon_name}
  bool local_submission = false;
};

}  // namespace forcetls::policy
