// SPDX-License-Identifier: Apache-2.0
// Per-recipient decisions: address -> domain -> policy -> cache -> Decision.
#include "milter/recipients/recipient_check.hpp"

#include <algorithm>
#include <chrono>

#include "checker/report/domain_name.hpp"
#include "common/duration_text.hpp"
#include "common/enum_names.hpp"
#include "common/log.hpp"
#include "common/unix_time.hpp"

namespace forcetls::milter {
namespace {

// The reply for a refusal the policy did not word itself (bad address,
// internal failure). RFC 3463: X.1.3 bad destination address syntax, X.3.0
// other mail system status.
policy::Reply refusal(policy::Action action, std::string_view enhanced_detail, std::string text) {
  policy::Reply r;
  if (action == policy::Action::reject) {
    r.code = "550";
    r.enhanced = "5." + std::string(enhanced_detail);
  } else {
    r.code = "451";
    r.enhanced = "4." + std::string(enhanced_detail);
  }
  r.text = std::move(text);
  return r;
}

RcptReply reply_of(policy::Action action) {
  switch (action) {
    case policy::Action::reject:
      return RcptReply::reject;
    case policy::Action::tempfail:
      return RcptReply::tempfail;
    default:
      return RcptReply::accept;
  }
}

// The non-SMTP path cannot refuse a recipient (Postfix defers the whole
// message as a configuration error): take it out at end of message and hold
// the message instead, so nothing goes out in clear and an admin sees it.
void apply_local_path(RecipientOutcome& out, bool local_submission) {
  if (local_submission && out.reply != RcptReply::accept) {
    out.reply = RcptReply::accept;
    out.removed = true;
  }
}

// An address without a domain, or with a dotless one, is a local recipient
// the MTA qualifies itself ("postmaster", "root@localhost"): not outbound
// mail and nothing to look up in public DNS.
bool is_local_address(std::string_view rcpt) {
  auto domain = checker::domain_of_address(rcpt);
  if (!domain) {
    std::string_view a = rcpt;
    if (a.starts_with('<') && a.ends_with('>')) {
      a = a.substr(1, a.size() - 2);
    }
    return !a.empty() && a.find('@') == std::string_view::npos &&
           a.find_first_of("\"[]<>:") == std::string_view::npos;
  }
  return !domain->empty() && domain->find('.') == std::string_view::npos &&
         !domain->starts_with('[');
}

}  // namespace

namespace {
constexpr NameTable<CacheUse, 7> kCacheUseNames{{
    {CacheUse::none, "none"},
    {CacheUse::hit, "hit"},
    {CacheUse::stale, "stale"},
    {CacheUse::probed, "probed"},
    {CacheUse::timeout, "timeout"},
    {CacheUse::miss, "miss"},
    {CacheUse::error, "error"},
}};
}  // namespace

std::string_view to_string(CacheUse c) { return name_in(kCacheUseNames, c); }

std::string RecipientOutcome::log_fields() const {
  std::string out = log::fields({{"rcpt", rcpt}}) + " " + policy::log_fields(decision);
  out += " " + log::fields({{"cache", to_string(cache)}});
  if (age_seconds >= 0) {
    out += " " + log::fields({{"age", age_text(age_seconds)}});
  }
  if (!address_error.empty()) {
    out += " " + log::fields({{"address_error", address_error}});
  }
  if (removed) {
    out += " applied=delrcpt+quarantine";
  }
  return out;
}

std::string printable(std::string_view s, std::size_t max) {
  std::string out;
  for (char c : s.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u >= 0x7f) ? '?' : c;
  }
  return out;
}

std::string escape_percent(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    out += c;
    if (c == '%') {
      out += '%';
    }
  }
  return out;
}

RecipientOutcome check_recipient(const policy::Policy& policy,
                                 const policy::MessageContext& message, std::string_view rcpt,
                                 cache::Reports& reports, const CheckOptions& options) {
  RecipientOutcome out;
  out.argument = std::string(rcpt);
  out.rcpt = printable(rcpt, 512);

  auto domain = checker::recipient_domain(rcpt);
  if (!domain) {
    // No policy rule can match an unreadable domain; the default rule says
    // whether unchecked destinations may pass. Under `require` an address
    // whose domain cannot be checked (IP literal, bad syntax) is refused
    // permanently: trying again will not make it checkable.
    const policy::Rule& rule = policy.default_rule();
    policy::Decision& d = out.decision;
    d.in_scope = policy.in_scope(message);
    d.mode = rule.options.mode;
    d.options = rule.options;
    d.rule = rule.origin.text();
    d.pattern = "default";
    out.address_error = printable(domain.error().message, 200);
    if (is_local_address(rcpt)) {
      d.reason = "local-recipient";
      return out;
    }
    d.verdict = policy::Verdict::not_checked;
    d.reason = "bad-address";
    if (d.in_scope && d.mode == policy::Mode::require) {
      d.action = policy::Action::reject;
      d.reply = refusal(d.action, "1.3",
                        "Forced TLS: recipient " + out.rcpt +
                            " has no domain that can be checked (" + out.address_error + ")");
      out.reply = RcptReply::reject;
    }
    apply_local_path(out, options.local_submission);
    return out;
  }

  const policy::Match match = policy.match(*domain, message);
  if (!policy::needs_report(match)) {
    out.decision = policy::decide(match, *domain, nullptr);
    out.reply = reply_of(out.decision.action);
    apply_local_path(out, options.local_submission);
    return out;
  }

  auto now = [&] { return options.now ? options.now() : unix_now(); };
  cache::Lookup found = reports.lookup(*domain);
  if (found.state != cache::Freshness::missing) {
    out.cache = found.state == cache::Freshness::fresh ? CacheUse::hit : CacheUse::stale;
    out.age_seconds = now() - found.checked_at;
    out.decision = policy::decide(match, *domain, found.report.get());
  } else if (options.on_miss == conf::MissBehaviour::wait &&
             match.rule->options.mode == policy::Mode::require) {
    // Only a `require` decision can change with the report; under `prefer`
    // the mail passes whatever the probe finds, so it never waits for one
    // (the lookup above queued the refresh; the header says not-checked).
    const auto deadline = std::chrono::steady_clock::now() + options.miss_deadline;
    auto fresh = reports.await_fresh(*domain, deadline);
    if (fresh) {
      out.cache = CacheUse::probed;
      out.age_seconds =
          fresh->checked_at > 0 ? std::max<std::int64_t>(0, now() - fresh->checked_at) : 0;
      out.decision = policy::decide(match, *domain, &*fresh);
    } else {
      out.cache = fresh.error().code == Errc::timeout ? CacheUse::timeout : CacheUse::error;
      out.decision = policy::decide(match, *domain, nullptr);
    }
  } else {
    out.cache = CacheUse::miss;
    out.decision = policy::decide(match, *domain, nullptr);
  }
  out.reply = reply_of(out.decision.action);
  apply_local_path(out, options.local_submission);
  return out;
}

RecipientOutcome failure_outcome(std::string_view rcpt, policy::Action on_error,
                                 std::string_view what, bool local_submission) {
  RecipientOutcome out;
  out.argument = std::string(rcpt);
  out.rcpt = printable(rcpt, 512);
  out.cache = CacheUse::error;
  policy::Decision& d = out.decision;
  if (auto domain = checker::recipient_domain(rcpt)) {
    d.domain = *domain;
  }
  d.verdict = policy::Verdict::unknown;
  d.action = on_error;
  d.reason = "internal-error(" + printable(what, 200) + ")";
  d.rule = "milter.on_error";
  d.pattern = "-";
  if (on_error == policy::Action::reject || on_error == policy::Action::tempfail) {
    d.reply =
        refusal(on_error, "3.0", "Forced TLS: the recipient could not be checked (internal error)");
  }
  out.reply = reply_of(on_error);
  apply_local_path(out, local_submission);
  return out;
}

}  // namespace forcetls::milter
