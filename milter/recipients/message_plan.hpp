// SPDX-License-Identifier: Apache-2.0
// MessagePlan: what the milter does at end of message, computed from the
// recipients' outcomes — the informational header, quarantine, recipients
// to delete and add (redirect, local-path removal) — and the per-message
// summary log line. Pure functions over values; any thread.
#pragma once

#include <string>
#include <vector>

#include "conf/config.hpp"
#include "milter/recipients/recipient_check.hpp"
#include "policy/policy.hpp"

namespace forcetls::milter {

struct MessagePlan {
  std::string header_value;               ///< empty: add no header
  std::string quarantine_reason;          ///< empty: do not quarantine
  std::vector<std::string> delete_rcpts;  ///< RCPT arguments exactly as received
  std::vector<std::string> add_rcpts;     ///< each address once
  /// A `tag` decision asked for the header: the message may not go on
  /// without it. (The header milter.header adds on its own is informational.)
  bool header_required = false;
};

/// The kinds of end-of-message change forcetls may make.
struct MessageChanges {
  bool header = false;       ///< add a header (milter.header, `tag`)
  bool quarantine = false;   ///< `quarantine`; a local submission's removal
  bool delete_rcpt = false;  ///< `redirect`; a local submission's removal
  bool add_rcpt = false;     ///< `redirect`
  bool operator==(const MessageChanges&) const = default;
};

/// Every change the policy and milter settings can call for: an MTA that
/// does not offer one of them is refused at negotiation. Every action any
/// rule, the default or milter.on_error names counts, whatever the mode: a
/// reject or tempfail needs the removal a local submission gets instead.
MessageChanges changes_needed(const policy::Policy& policy, const conf::Config::Milter& milter);

/// The MTA's end-of-message operations (smfi_addheader, smfi_delrcpt,
/// smfi_addrcpt, smfi_quarantine in the milter); each returns false when
/// the MTA did not take the change.
class MessageEditor {
 public:
  virtual ~MessageEditor() = default;
  virtual bool add_header(const std::string& name, const std::string& value) = 0;
  virtual bool delete_rcpt(const std::string& argument) = 0;
  virtual bool add_rcpt(const std::string& address) = 0;
  virtual bool quarantine(const std::string& reason) = 0;
};

struct PlanResult {
  /// Empty: every change the decisions need was made. Otherwise the change
  /// that failed ("smfi_delrcpt"), and nothing after it was tried: the
  /// message must be tempfailed, never passed on without it.
  std::string failed;
  std::string failed_rcpt;  ///< its recipient, printable (empty: none)
  /// Informational changes that failed (the message may go on without them).
  std::vector<std::string> warnings;
};

/// Makes the plan's changes through `editor`: header, removals, additions,
/// quarantine, stopping at the first required one that fails.
PlanResult apply_plan(const MessagePlan& plan, const std::string& header_name,
                      MessageEditor& editor);

/// The end-of-message actions for the recipients the MTA accepted.
/// `header_always`: milter.header (otherwise only when a rule says `tag`).
/// Refused recipients are not in the message and play no part.
MessagePlan plan_message(const std::vector<RecipientOutcome>& recipients, bool header_always);

/// `summary from=<a@b> rcpts=3 accepted=2 rejected=1 tempfailed=0 removed=0
/// redirected=0 quarantine=no header=yes` (no queue id: the caller prefixes it).
std::string summary_fields(std::string_view sender, const std::vector<RecipientOutcome>& recipients,
                           const MessagePlan& plan);

}  // namespace forcetls::milter
