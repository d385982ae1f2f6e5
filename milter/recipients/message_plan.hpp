// SPDX-License-Identifier: Apache-2.0
// MessagePlan: what the milter does at end of message, computed from the
// recipients' outcomes — the informational header, quarantine, recipients
// to delete and add (redirect, local-path removal) — and the per-message
// summary log line. Pure functions over values; any thread.
#pragma once

#include <string>
#include <vector>

#include "milter/recipients/recipient_check.hpp"

namespace forcetls::milter {

struct MessagePlan {
  std::string header_value;               ///< empty: add no header
  std::string quarantine_reason;          ///< empty: do not quarantine
  std::vector<std::string> delete_rcpts;  ///< RCPT arguments exactly as received
  std::vector<std::string> add_rcpts;     ///< each address once
};

/// The end-of-message actions for the recipients the MTA accepted.
/// `header_always`: milter.header (otherwise only when a rule says `tag`).
/// Refused recipients are not in the message and play no part.
MessagePlan plan_message(const std::vector<RecipientOutcome>& recipients, bool header_always);

/// `summary from=<a@b> rcpts=3 accepted=2 rejected=1 tempfailed=0 removed=0
/// redirected=0 quarantine=no header=yes` (no queue id: the caller prefixes it).
std::string summary_fields(std::string_view sender, const std::vector<RecipientOutcome>& recipients,
                           const MessagePlan& plan);

}  // namespace forcetls::milter
