// SPDX-License-Identifier: Apache-2.0
// Rule matching. Each recipient pattern is indexed by name, so a lookup costs
// one hash probe per label of the domain, whatever the number of rules.
#include "policy/policy.hpp"

#include <algorithm>
#include <optional>
#include <tuple>
#include <utility>

namespace forcetls::policy {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') {
      x = static_cast<char>(x - 'A' + 'a');
    }
    if (y >= 'A' && y <= 'Z') {
      y = static_cast<char>(y - 'A' + 'a');
    }
    if (x != y) {
      return false;
    }
  }
  return true;
}

std::size_t label_count(std::string_view name) {
  return static_cast<std::size_t>(std::count(name.begin(), name.end(), '.')) + 1;
}

/// How well a rule's conditions fit a message; higher is more specific.
/// (user matched, sender pattern kind, sender pattern labels)
using ConditionRank = std::tuple<int, int, std::size_t>;

struct ConditionFit {
  ConditionRank rank{0, 0, 0};
  std::string why;
};

/// How a walk treats `senders`/`users` conditions.
enum class Conditions : std::uint8_t {
  message,        ///< against the message given
  unconditional,  ///< no message: only rules without conditions
  any,            ///< no message: every rule, as if its conditions held
};

/// nullopt when the conditions exclude the message.
std::optional<ConditionFit> fit(const Rule& rule, const MessageContext* message,
                                Conditions conditions) {
  ConditionFit f;
  if (rule.users.empty() && rule.senders.empty()) {
    return f;
  }
  if (conditions == Conditions::any) {
    // Ahead of the unconditional rules of its tier, as for a message it fits.
    std::get<0>(f.rank) = 1;
    f.why = "; its senders/users conditions cannot be checked at delivery";
    return f;
  }
  if (message == nullptr) {
    return std::nullopt;
  }
  if (!rule.users.empty()) {
    if (message->auth_user.empty()) {
      return std::nullopt;
    }
    auto it = std::find_if(rule.users.begin(), rule.users.end(),
                           [&](const std::string& u) { return iequals(u, message->auth_user); });
    if (it == rule.users.end()) {
      return std::nullopt;
    }
    std::get<0>(f.rank) = 1;
    f.why += "; authenticated user " + message->auth_user;
  }
  if (!rule.senders.empty()) {
    if (message->sender_domain.empty()) {
      return std::nullopt;
    }
    const DomainPattern* best = nullptr;
    ConditionRank best_rank{0, 0, 0};
    for (const DomainPattern& p : rule.senders) {
      if (!p.matches(message->sender_domain)) {
        continue;
      }
      ConditionRank r{0, p.kind == DomainPattern::Kind::exact ? 2 : 1,
                      p.kind == DomainPattern::Kind::exact ? 0 : label_count(p.name)};
      if (best == nullptr || r > best_rank) {
        best = &p;
        best_rank = r;
      }
    }
    if (best == nullptr) {
      return std::nullopt;
    }
    std::get<1>(f.rank) = std::get<1>(best_rank);
    std::get<2>(f.rank) = std::get<2>(best_rank);
    f.why += "; sender domain " + message->sender_domain + " matches " + best->text();
  }
  return f;
}

}  // namespace

std::string Match::pattern_text() const { return is_default ? "default" : pattern.text(); }

Policy Policy::builtin_default() {
  Rule d;
  d.options.mode = Mode::prefer;
  return Policy(Scope{}, std::move(d), {});
}

Policy::Policy(Scope scope, Rule default_rule, std::vector<Rule> rules)
    : scope_(std::move(scope)), default_(std::move(default_rule)), rules_(std::move(rules)) {
  for (std::uint32_t i = 0; i < rules_.size(); ++i) {
    for (const DomainPattern& p : rules_[i].recipients) {
      std::vector<std::uint32_t>* slot = nullptr;
      switch (p.kind) {
        case DomainPattern::Kind::exact:
          slot = &exact_[p.name];
          break;
        case DomainPattern::Kind::subdomains:
          slot = &suffix_[p.name];
          break;
        case DomainPattern::Kind::any:
          slot = &any_;
          break;
      }
      // A rule listing the same pattern twice is indexed once.
      if (slot->empty() || slot->back() != i) {
        slot->push_back(i);
      }
    }
  }
}

bool Policy::in_scope(const MessageContext& message) const {
  if (scope_.all_mail) {
    return true;
  }
  if (scope_.authenticated && !message.auth_user.empty()) {
    return true;
  }
  if (scope_.local_submissions && message.local_submission) {
    return true;
  }
  return !message.daemon_name.empty() &&
         std::find(scope_.daemon_names.begin(), scope_.daemon_names.end(), message.daemon_name) !=
             scope_.daemon_names.end();
}

// Calls visit(Match&&) for every matching rule in precedence order; visit
// returns false to stop. The default comes last and always matches.
template <typename Visit>
void Policy::walk(std::string_view domain, const MessageContext* message, bool any_conditions,
                  Visit&& visit) const {
  const Conditions conditions = any_conditions  ? Conditions::any
                                : message       ? Conditions::message
                                                : Conditions::unconditional;
  struct Candidate {
    std::uint32_t index;
    ConditionFit fit;
  };
  // Visits the rules of one precedence tier: best conditions first, then file order.
  auto tier = [&](const std::vector<std::uint32_t>& indexes, const DomainPattern& pattern,
                  const std::string& why) {
    std::vector<Candidate> found;
    for (std::uint32_t i : indexes) {
      if (auto f = fit(rules_[i], message, conditions)) {
        found.push_back({i, std::move(*f)});
      }
    }
    std::stable_sort(found.begin(), found.end(), [](const Candidate& a, const Candidate& b) {
      return a.fit.rank > b.fit.rank;
    });
    for (Candidate& c : found) {
      Match m;
      m.rule = &rules_[c.index];
      m.pattern = pattern;
      m.why = why + c.fit.why;
      if (!visit(std::move(m))) {
        return false;
      }
    }
    return true;
  };

  const std::string d(domain);
  if (auto it = exact_.find(d); it != exact_.end()) {
    if (!tier(it->second, DomainPattern{DomainPattern::Kind::exact, d}, "exact match " + d)) {
      return;
    }
  }
  // Parent names, longest first: a.b.example.org -> b.example.org, example.org, org.
  for (std::size_t dot = d.find('.'); dot != std::string::npos; dot = d.find('.', dot + 1)) {
    const std::string parent = d.substr(dot + 1);
    if (auto it = suffix_.find(parent); it != suffix_.end()) {
      DomainPattern p{DomainPattern::Kind::subdomains, parent};
      if (!tier(it->second, p, d + " is below ." + parent + " (longest matching suffix)")) {
        return;
      }
    }
  }
  if (!any_.empty()) {
    if (!tier(any_, DomainPattern{DomainPattern::Kind::any, ""}, "rule for any domain (*)")) {
      return;
    }
  }
  Match m;
  m.rule = &default_;
  m.pattern = DomainPattern{DomainPattern::Kind::any, ""};
  m.is_default = true;
  m.why = "no rule matches " + d + ": the default applies";
  visit(std::move(m));
}

Match Policy::match(std::string_view domain, const MessageContext& message) const {
  Match result;
  walk(domain, &message, false, [&](Match&& m) {
    result = std::move(m);
    return false;
  });
  result.in_scope = in_scope(message);
  return result;
}

Match Policy::match_delivery(std::string_view domain) const {
  Match result;
  walk(domain, nullptr, false, [&](Match&& m) {
    result = std::move(m);
    return false;
  });
  if (result.rule->options.mode == Mode::require) {
    return result;
  }
  // The map knows no sender: a `require` rule with conditions that would
  // govern some sender's mail to the name (one ahead of the unconditional
  // winner) wins over it, or that sender's queued mail could leave in clear.
  walk(domain, nullptr, true, [&](Match&& m) {
    if (m.rule->users.empty() && m.rule->senders.empty()) {
      return false;  // the unconditional winner: what follows governs nobody
    }
    if (m.rule->options.mode != Mode::require) {
      return true;
    }
    m.why += " (the strictest rule covering it at delivery)";
    result = std::move(m);
    return false;
  });
  return result;
}

std::vector<Match> Policy::candidates(std::string_view domain,
                                      const MessageContext& message) const {
  std::vector<Match> out;
  const bool scoped = in_scope(message);
  walk(domain, &message, false, [&](Match&& m) {
    m.in_scope = scoped;
    out.push_back(std::move(m));
    return true;
  });
  return out;
}

}  // namespace forcetls::policy
