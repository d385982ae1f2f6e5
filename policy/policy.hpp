// SPDX-License-Identifier: Apache-2.0
// Policy: the loaded rule set and its matching — which rule governs a
// recipient domain for a given message. Immutable after construction; any
// thread may call the const members concurrently. A reload builds a new
// Policy (share it through std::shared_ptr<const Policy> and swap).
//
// Precedence, most specific first (documented in conf/policy.yaml):
//   1. recipient pattern: exact name > `.suffix` (the longest suffix wins)
//      > `*` > the `default` section;
//   2. among rules with the same recipient pattern: a rule whose `users`
//      condition matched > one whose `senders` matched (exact sender domain
//      > longest `.suffix`) > a rule without conditions;
//   3. still tied: the rule written first in the file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "policy/rule.hpp"

namespace forcetls::policy {

/// The rule that governs one recipient domain, and why.
/// `rule` points into the Policy that produced it: keep that Policy alive.
struct Match {
  const Rule* rule = nullptr;
  DomainPattern pattern;    ///< the recipient pattern that matched (unused for the default)
  bool is_default = false;  ///< no rule matched; the `default` section applies
  bool in_scope = true;     ///< false: the message is outside the policy's scope
  std::string why;          ///< e.g. "exact match example.org", "longest suffix .example.org"

  /// The pattern for logs: `example.org`, `.example.org`, `*` or `default`.
  std::string pattern_text() const;
};

class Policy {
 public:
  /// `prefer` everywhere, every message in scope: what the daemon runs when
  /// no policy file is configured.
  static Policy builtin_default();

  /// `rules` in file order. Patterns and names must be normalised
  /// (normalize_domain); conf/ validates before constructing.
  Policy(Scope scope, Rule default_rule, std::vector<Rule> rules);

  const Scope& scope() const { return scope_; }
  const Rule& default_rule() const { return default_; }
  const std::vector<Rule>& rules() const { return rules_; }

  /// Whether the message is in scope (see Scope).
  bool in_scope(const MessageContext& message) const;

  /// The rule for a recipient domain (normalised) of this message. Out-of-
  /// scope messages still get the matching rule, with in_scope = false.
  Match match(std::string_view domain, const MessageContext& message) const;

  /// The rule for delivery-time lookups (socketmap), which know only the
  /// next-hop name: the unconditional rule that matches, unless a `require`
  /// rule with `senders`/`users` conditions covers the name too — then the
  /// most specific such rule (the strictest), since mail of its senders may
  /// be in the queue. Scope does not apply (every queued message is delivered).
  Match match_delivery(std::string_view domain) const;

  /// match_delivery() for a next hop given as an IP address (`[192.0.2.1]`):
  /// only `*` rules and the default can cover it.
  Match match_delivery_address() const { return match_delivery(""); }

  /// Every rule that matches, most specific first, ending with the default
  /// (for `forcetls-ctl explain`: what won and what it shadowed).
  std::vector<Match> candidates(std::string_view domain, const MessageContext& message) const;

 private:
  /// any_conditions: every rule matches as if its conditions held.
  template <typename Visit>
  void walk(std::string_view domain, const MessageContext* message, bool any_conditions,
            Visit&& visit) const;

  Scope scope_;
  Rule default_;
  std::vector<Rule> rules_;
  // Recipient pattern -> rule indexes (file order), for O(labels) matching.
  std::unordered_map<std::string, std::vector<std::uint32_t>> exact_;
  std::unordered_map<std::string, std::vector<std::uint32_t>> suffix_;
  std::vector<std::uint32_t> any_;
};

}  // namespace forcetls::policy
