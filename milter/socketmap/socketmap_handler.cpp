// SPDX-License-Identifier: Apache-2.0
// One socketmap request to one reply (socketmap_handler.hpp).
#include "milter/socketmap/socketmap_handler.hpp"

#include <algorithm>
#include <optional>

namespace forcetls::milter {
namespace {

enum class MapKind : std::uint8_t { postfix, sts };

constexpr std::string_view kRateLimited = "miss-rate-limited";

std::string_view cache_use(const cache::Lookup* found) {
  if (found == nullptr) {
    return "none";
  }
  return found->state == cache::Freshness::fresh   ? "hit"
         : found->state == cache::Freshness::stale ? "stale"
                                                   : "miss";
}

SocketmapReply finish(SocketmapAnswer answer, std::string_view map, std::string_view key,
                      const policy::Decision* decision, const cache::Lookup* found,
                      std::string_view note) {
  SocketmapReply r;
  // A miss over the connection's budget is said once a minute instead: a
  // flood of names must not flood the mail log.
  r.level =
      (answer.kind == AnswerKind::temp || answer.kind == AnswerKind::perm) && note != kRateLimited
          ? log::Level::info
          : log::Level::debug;
  r.answer = std::move(answer);
  if (!log::enabled(r.level)) {
    return r;
  }
  std::string line =
      "socketmap " +
      log::fields({{"map", map}, {"key", key}, {"answer", to_string(r.answer.kind)}});
  if (!r.answer.value.empty()) {
    line += " " + log::fields({{"value", r.answer.value}});
  }
  if (decision != nullptr) {
    line += " " + log::fields({{"policy", policy::to_string(decision->mode)},
                               {"verdict", policy::to_string(decision->verdict)},
                               {"cache", cache_use(found)},
                               {"rule", decision->rule}});
  }
  if (!note.empty()) {
    line += " " + log::fields({{"note", note}});
  }
  r.log_line = std::move(line);
  return r;
}

/// Whether the answer for this rule can depend on the report (else no
/// lookup, so no probe is queued for domains whose answer is fixed).
bool report_matters(const policy::Match& match, MapKind kind) {
  if (!policy::needs_report(match)) {
    return false;
  }
  const policy::RuleOptions& o = match.rule->options;
  return kind == MapKind::sts || o.mode == policy::Mode::require ||
         o.require != policy::Require::none;
}

}  // namespace

bool MissBudget::available(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (last_ != Clock::time_point{}) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * per_second_);
  }
  last_ = now;
  return tokens_ >= 1.0;
}

void MissBudget::spend() {
  std::lock_guard lock(mutex_);
  tokens_ -= 1.0;
}

bool MissBudget::refuse() {
  ++refused_;
  return throttle_.due();
}

SocketmapReply answer_request(const policy::Policy& policy, const SocketmapOptions& options,
                              cache::Reports& reports, std::string_view request,
                              MissBudget* budget) {
  const std::size_t space = request.find(' ');
  if (space == std::string_view::npos) {
    return finish({AnswerKind::perm, "forcetls: malformed request (want NAME KEY)"}, "", request,
                  nullptr, nullptr, "malformed");
  }
  const std::string_view map = request.substr(0, space);
  const std::string_view key = request.substr(space + 1);
  MapKind kind = MapKind::postfix;
  if (map == options.postfix) {
    kind = MapKind::postfix;
  } else if (!options.sts.empty() && map == options.sts) {
    kind = MapKind::sts;
  } else {
    // A misconfigured client must not deliver in clear by accident: PERM
    // makes Postfix defer (a table lookup error) and log the text.
    return finish({AnswerKind::perm, "forcetls: unknown map name"}, map, key, nullptr, nullptr,
                  "unknown-map");
  }

  const SocketmapKey parsed = parse_socketmap_key(key);
  switch (parsed.kind) {
    case SocketmapKey::Kind::parent:
      // Postfix asks `.parent` only after a NOTFOUND for the next hop, which
      // was already decided by its most specific rule (`.suffix` rules
      // included): a parent rule must not override that.
      return finish({}, map, key, nullptr, nullptr, "parent-key");
    case SocketmapKey::Kind::other:
      return finish({}, map, key, nullptr, nullptr, "not-a-next-hop");
    case SocketmapKey::Kind::domain:
    case SocketmapKey::Kind::host:
    case SocketmapKey::Kind::literal:
      break;
  }

  // A host is judged by the rule for its name, a port by the bare name's;
  // an address matches only `*` and the default.
  const policy::Match match = parsed.kind == SocketmapKey::Kind::literal
                                  ? policy.match_delivery_address()
                                  : policy.match_delivery(parsed.name);
  const std::string target = parsed.target.key();
  std::optional<cache::Lookup> found;
  const checker::DomainReport* report = nullptr;
  std::string_view note;
  if (report_matters(match, kind)) {
    if (budget == nullptr || budget->available(MissBudget::Clock::now())) {
      // Only a `require` rule's miss holds mail back (the MTA defers it
      // and asks again); others refresh in the background.
      const cache::Priority miss_priority = match.rule->options.mode == policy::Mode::require
                                                ? cache::Priority::delivery
                                                : cache::Priority::background;
      found = reports.lookup(target, miss_priority);
      if (budget != nullptr && found->state == cache::Freshness::missing) {
        budget->spend();
      }
    } else {
      found = reports.peek(target);  // over the budget: nothing is queued
      if (found->state == cache::Freshness::missing) {
        note = kRateLimited;
        if (budget->refuse()) {
          log::warning("socketmap " +
                       log::fields({{"event", "miss-rate-limited"},
                                    {"refused", std::to_string(budget->refused())},
                                    {"limit", "socketmap.miss_rate"},
                                    {"what",
                                     "new names beyond the connection's probe budget are "
                                     "answered from the cache alone, at debug level"}}));
        }
      }
    }
    if (found->state != cache::Freshness::missing) {
      report = found->report.get();
    }
  }
  const policy::Decision decision = policy::decide(match, target, report);
  SocketmapAnswer answer = kind == MapKind::postfix
                               ? postfix_answer(decision, report, options.postfix_dnssec)
                               : sts_answer(decision, report);
  return finish(std::move(answer), map, key, &decision, found ? &*found : nullptr, note);
}

}  // namespace forcetls::milter
