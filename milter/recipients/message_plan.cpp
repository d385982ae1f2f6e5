// SPDX-License-Identifier: Apache-2.0
// End-of-message actions and the summary line.
#include "milter/recipients/message_plan.hpp"

#include <algorithm>

#include "common/log.hpp"

namespace forcetls::milter {
namespace {

// smfi_quarantine() reasons end up in Postfix's log line; keep them short.
constexpr std::size_t kMaxQuarantineReason = 400;

void add_reason(std::string& reasons, const std::string& part) {
  if (reasons.size() >= kMaxQuarantineReason) {
    return;
  }
  reasons += reasons.empty() ? "forcetls: " : "; ";
  reasons += part;
  if (reasons.size() > kMaxQuarantineReason) {
    reasons.resize(kMaxQuarantineReason);
  }
}

// "notls.test ineligible(no-starttls(mx.notls.test))"; an address without a
// readable domain (IP literal, bad syntax) has none: "not-checked(bad-address)".
std::string verdict_text(const policy::Decision& d) {
  return (d.domain.empty() ? "" : d.domain + " ") + std::string(policy::to_string(d.verdict)) +
         (d.reason.empty() ? "" : "(" + d.reason + ")");
}

}  // namespace

MessagePlan plan_message(const std::vector<RecipientOutcome>& recipients, bool header_always) {
  MessagePlan plan;
  std::vector<std::string> fragments;
  bool tag = false;
  for (const RecipientOutcome& r : recipients) {
    if (r.reply != RcptReply::accept) {
      continue;  // refused at RCPT: not a recipient of this message
    }
    const policy::Decision& d = r.decision;
    if (r.removed) {
      plan.delete_rcpts.push_back(r.argument);
      add_reason(plan.quarantine_reason,
                 "local submission, " + r.rcpt + " removed: " + verdict_text(d));
      continue;
    }
    if (!d.header.empty() &&
        std::find(fragments.begin(), fragments.end(), d.header) == fragments.end()) {
      fragments.push_back(d.header);
    }
    switch (d.action) {
      case policy::Action::tag:
        tag = true;
        break;
      case policy::Action::quarantine:
        add_reason(plan.quarantine_reason, verdict_text(d));
        break;
      case policy::Action::redirect:
        if (!d.redirect_to.empty()) {
          plan.delete_rcpts.push_back(r.argument);
          if (std::find(plan.add_rcpts.begin(), plan.add_rcpts.end(), d.redirect_to) ==
              plan.add_rcpts.end()) {
            plan.add_rcpts.push_back(d.redirect_to);
          }
        }
        break;
      default:
        break;
    }
  }
  plan.header_required = tag && !fragments.empty();
  if ((header_always || tag) && !fragments.empty()) {
    for (const std::string& f : fragments) {
      plan.header_value += (plan.header_value.empty() ? "" : "; ") + f;
    }
  }
  return plan;
}

namespace {

void need(MessageChanges& c, policy::Action a) {
  switch (a) {
    case policy::Action::tag:
      c.header = true;
      break;
    case policy::Action::redirect:
      c.delete_rcpt = true;
      c.add_rcpt = true;
      break;
    case policy::Action::quarantine:
    case policy::Action::reject:
    case policy::Action::tempfail:
      // A local submission cannot be refused: it loses the recipient and
      // the message is held (RecipientOutcome::removed).
      c.quarantine = true;
      c.delete_rcpt = true;
      break;
    case policy::Action::accept:
      break;
  }
}

void need(MessageChanges& c, const policy::RuleOptions& o) {
  need(c, o.on_ineligible);
  need(c, o.on_unknown.dns_failure);
  need(c, o.on_unknown.probe_failure);
  need(c, o.on_unknown.dnssec_bogus);
  need(c, o.on_unknown.not_checked);
  need(c, o.on_unknown.downgrade_suspected);
}

}  // namespace

MessageChanges changes_needed(const policy::Policy& policy, const conf::Config::Milter& milter) {
  MessageChanges c;
  c.header = milter.header;
  need(c, milter.on_error);
  need(c, policy.default_rule().options);
  for (const policy::Rule& r : policy.rules()) {
    need(c, r.options);
  }
  // A require rule refuses an address it cannot read outright (5.1.3).
  bool require = policy.default_rule().options.mode == policy::Mode::require;
  for (const policy::Rule& r : policy.rules()) {
    require = require || r.options.mode == policy::Mode::require;
  }
  if (require) {
    need(c, policy::Action::reject);
  }
  return c;
}

PlanResult apply_plan(const MessagePlan& plan, const std::string& header_name,
                      MessageEditor& editor) {
  PlanResult result;
  if (!plan.header_value.empty() && !editor.add_header(header_name, plan.header_value)) {
    if (plan.header_required) {
      result.failed = "smfi_addheader";
      return result;
    }
    result.warnings.emplace_back("smfi_addheader failed");
  }
  for (const std::string& r : plan.delete_rcpts) {
    if (!editor.delete_rcpt(r)) {
      result.failed = "smfi_delrcpt";
      result.failed_rcpt = printable(r, 512);
      return result;
    }
  }
  for (const std::string& r : plan.add_rcpts) {
    if (!editor.add_rcpt(r)) {
      result.failed = "smfi_addrcpt";
      result.failed_rcpt = printable(r, 512);
      return result;
    }
  }
  if (!plan.quarantine_reason.empty() && !editor.quarantine(plan.quarantine_reason)) {
    result.failed = "smfi_quarantine";
  }
  return result;
}

std::string summary_fields(std::string_view sender, const std::vector<RecipientOutcome>& recipients,
                           const MessagePlan& plan) {
  int accepted = 0;
  int rejected = 0;
  int tempfailed = 0;
  int removed = 0;
  int redirected = 0;
  for (const RecipientOutcome& r : recipients) {
    if (r.reply == RcptReply::reject) {
      ++rejected;
    } else if (r.reply == RcptReply::tempfail) {
      ++tempfailed;
    } else if (r.removed) {
      ++removed;
    } else {
      ++accepted;
      if (r.decision.action == policy::Action::redirect && !r.decision.redirect_to.empty()) {
        ++redirected;
      }
    }
  }
  const std::string n = std::to_string(recipients.size());
  const std::string a = std::to_string(accepted);
  const std::string rj = std::to_string(rejected);
  const std::string t = std::to_string(tempfailed);
  const std::string rm = std::to_string(removed);
  const std::string rd = std::to_string(redirected);
  return "summary " + log::fields({{"from", sender},
                                   {"rcpts", n},
                                   {"accepted", a},
                                   {"rejected", rj},
                                   {"tempfailed", t},
                                   {"removed", rm},
                                   {"redirected", rd},
                                   {"quarantine", plan.quarantine_reason.empty() ? "no" : "yes"},
                                   {"header", plan.header_value.empty() ? "no" : "yes"}});
}

}  // namespace forcetls::milter
