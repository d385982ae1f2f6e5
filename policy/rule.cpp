// SPDX-License-Identifier: Apache-2.0
// String forms of the policy enumerations (they are the policy file's
// vocabulary and appear in log lines) and domain-pattern matching.
#include "policy/rule.hpp"

#include <array>
#include <utility>

#include "common/enum_names.hpp"

namespace forcetls::policy {
namespace {

constexpr std::array<std::pair<Mode, std::string_view>, 3> kModes{{
    {Mode::require, "require"},
    {Mode::prefer, "prefer"},
    {Mode::off, "off"},
}};

constexpr std::array<std::pair<Action, std::string_view>, 6> kActions{{
    {Action::accept, "accept"},
    {Action::reject, "reject"},
    {Action::tempfail, "tempfail"},
    {Action::quarantine, "quarantine"},
    {Action::tag, "tag"},
    {Action::redirect, "redirect"},
}};

constexpr std::array<std::pair<Require, std::string_view>, 4> kRequires{{
    {Require::none, "none"},
    {Require::mta_sts, "mta-sts"},
    {Require::dane, "dane"},
    {Require::either, "either"},
}};

}  // namespace

std::string_view to_string(Mode m) { return name_in(kModes, m); }
std::string_view to_string(Action a) { return name_in(kActions, a); }
std::string_view to_string(Require r) { return name_in(kRequires, r); }
std::optional<Mode> mode_from_string(std::string_view s) { return value_in(kModes, s); }
std::optional<Action> action_from_string(std::string_view s) { return value_in(kActions, s); }
std::optional<Require> require_from_string(std::string_view s) { return value_in(kRequires, s); }

std::string_view mode_names() { return "require, prefer, off"; }
std::string_view action_names() { return "accept, reject, tempfail, quarantine, tag, redirect"; }
std::string_view require_names() { return "none, mta-sts, dane, either"; }
std::string_view grade_names() { return "A+, A, B, C, D, F, none"; }

bool DomainPattern::matches(std::string_view domain) const {
  switch (kind) {
    case Kind::any:
      return true;
    case Kind::exact:
      return domain == name;
    case Kind::subdomains:
      // `.example.org` matches `a.example.org`, not `example.org` nor `badexample.org`.
      return domain.size() > name.size() + 1 && domain.ends_with(name) &&
             domain[domain.size() - name.size() - 1] == '.';
  }
  return false;
}

std::string DomainPattern::text() const {
  switch (kind) {
    case Kind::any:
      return "*";
    case Kind::exact:
      return name;
    case Kind::subdomains:
      return "." + name;
  }
  return name;
}

std::string Origin::text() const {
  if (file.empty()) {
    return "built-in";
  }
  if (line <= 0) {
    return file;
  }
  return file + ":" + std::to_string(line);
}

}  // namespace forcetls::policy
