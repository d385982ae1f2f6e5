// SPDX-License-Identifier: Apache-2.0
// The policy file: schema, rule patterns, inheritance from `default`, and the
// checks that need several keys (redirect without an address, rules that
// could never apply).
#include <algorithm>
#include <filesystem>
#include <map>
#include <utility>

#include "checker/report/domain_name.hpp"
#include "conf/loader.hpp"
#include "conf/yaml_reader.hpp"

namespace forcetls::conf {
namespace {

using detail::Field;
using detail::section;
using detail::Where;
using detail::YamlReader;
using policy::Action;
using policy::DomainPattern;
using policy::RuleOptions;

Field leaf(std::string key, std::function<void(YamlReader&, const YAML::Node&, const Where&)> fn) {
  return Field{std::move(key), std::move(fn), {}};
}

Result<DomainPattern> parse_pattern(std::string_view text, bool allow_any) {
  if (text == "*") {
    if (!allow_any) {
      return fail(Errc::config, "'*' is not allowed here: leave the key out to match any sender");
    }
    return DomainPattern{DomainPattern::Kind::any, ""};
  }
  if (text.starts_with("*.")) {
    return fail(Errc::config, "'" + std::string(text) + "': write ." + std::string(text.substr(2)) +
                                  " (a leading dot) for every name below " +
                                  std::string(text.substr(2)));
  }
  if (text.find('@') != std::string_view::npos) {
    return fail(Errc::config, "'" + std::string(text) + "' is an address; give a domain");
  }
  const bool below = text.starts_with(".");
  auto name = checker::normalize_domain(below ? text.substr(1) : text);
  if (!name) {
    return std::unexpected(name.error());
  }
  return DomainPattern{below ? DomainPattern::Kind::subdomains : DomainPattern::Kind::exact,
                       std::move(*name)};
}

Result<std::string> parse_address(std::string_view text) {
  std::size_t at = text.rfind('@');
  if (at == std::string_view::npos || at == 0) {
    return fail(Errc::config, "'" + std::string(text) + "' is not an address (local@domain)");
  }
  std::string_view local = text.substr(0, at);
  for (unsigned char c : local) {
    if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == ',') {
      return fail(Errc::config,
                  "'" + std::string(text) + "': unexpected character in the local part");
    }
  }
  auto domain = checker::normalize_domain(text.substr(at + 1));
  if (!domain) {
    return fail(Errc::config, "'" + std::string(text) + "': " + domain.error().message);
  }
  return std::string(local) + "@" + *domain;
}

Field action_field(std::string key, Action& out) {
  return leaf(std::move(key), [&out](YamlReader& r, const YAML::Node& n, const Where& w) {
    r.read_enum<Action>(n, w, out, policy::action_from_string, policy::action_names());
  });
}

std::vector<Field> on_unknown_keys(policy::OnUnknown& o) {
  return {
      action_field("dns_failure", o.dns_failure),
      action_field("probe_failure", o.probe_failure),
      action_field("dnssec_bogus", o.dnssec_bogus),
      action_field("downgrade_suspected", o.downgrade_suspected),
      action_field("not_checked", o.not_checked),
  };
}

/// The options a rule or the default may set.
std::vector<Field> option_fields(RuleOptions& o) {
  Field on_unknown{"on_unknown", nullptr, on_unknown_keys(o.on_unknown)};
  on_unknown.read = [&o](YamlReader& r, const YAML::Node& n, const Where& w) {
    if (n.IsScalar()) {
      // One action for every cause.
      Action a = Action::tempfail;
      const std::size_t before = r.error_count();
      r.read_enum<Action>(n, w, a, policy::action_from_string, policy::action_names());
      if (r.error_count() == before) {
        o.on_unknown = {a, a, a, a};
      }
      return;
    }
    r.read_map(n, w, on_unknown_keys(o.on_unknown));
  };
  return {
      leaf("mode",
           [&o](YamlReader& r, const YAML::Node& n, const Where& w) {
             r.read_enum<policy::Mode>(n, w, o.mode, policy::mode_from_string,
                                       policy::mode_names());
           }),
      leaf("min_grade",
           [&o](YamlReader& r, const YAML::Node& n, const Where& w) {
             auto s = r.scalar(n, w, std::string("one of: ") + std::string(policy::grade_names()));
             if (!s) {
               return;
             }
             std::string up = *s;
             for (char& c : up) {
               c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
             }
             if (up == "NONE") {
               o.min_grade.reset();
             } else if (auto g = policy::grade_from_string(up)) {
               o.min_grade = *g;
             } else {
               r.error(w.mark, w.path + ": unknown grade '" + *s +
                                   "' (allowed: " + std::string(policy::grade_names()) + ")");
             }
           }),
      leaf("require_verified_cert",
           [&o](YamlReader& r, const YAML::Node& n, const Where& w) {
             r.read_bool(n, w, o.require_verified_cert);
           }),
      leaf("require",
           [&o](YamlReader& r, const YAML::Node& n, const Where& w) {
             r.read_enum<policy::Require>(n, w, o.require, policy::require_from_string,
                                          policy::require_names());
           }),
      leaf("tls13_counts", [&o](YamlReader& r, const YAML::Node& n,
                                const Where& w) { r.read_bool(n, w, o.tls13_counts); }),
      action_field("on_ineligible", o.on_ineligible),
      leaf("redirect_to",
           [&o](YamlReader& r, const YAML::Node& n, const Where& w) {
             std::string v;
             r.read_string(n, w, v);
             if (v.empty()) {
               o.redirect_to.clear();
               return;
             }
             auto a = parse_address(v);
             if (!a) {
               r.error(w.mark, w.path + ": " + a.error().message);
               return;
             }
             o.redirect_to = *a;
           }),
      on_unknown,
  };
}

bool uses_redirect(const RuleOptions& o) {
  const policy::OnUnknown& u = o.on_unknown;
  return o.on_ineligible == Action::redirect ||
         std::ranges::any_of(std::array{u.dns_failure, u.probe_failure, u.dnssec_bogus,
                                        u.not_checked, u.downgrade_suspected},
                             [](Action a) { return a == Action::redirect; });
}

void check_redirect(YamlReader& r, const RuleOptions& o, const YAML::Mark& mark,
                    const std::string& what) {
  if (uses_redirect(o) && o.redirect_to.empty()) {
    r.error(mark, what +
                      ": an action is 'redirect' but redirect_to is not set (here or in "
                      "default)");
  }
}

/// Reads a list of patterns at `w`, reporting each bad one at its own place.
std::vector<DomainPattern> read_patterns(YamlReader& r, const YAML::Node& n, const Where& w,
                                         bool allow_any) {
  std::vector<DomainPattern> out;
  auto items = r.read_string_list(n, w);
  if (items.empty() && (n.IsSequence() || n.IsNull())) {
    r.error(w.mark, w.path + ": the list is empty");
  }
  for (const auto& [text, mark] : items) {
    auto p = parse_pattern(text, allow_any);
    if (!p) {
      r.error(mark, w.path + ": " + p.error().message);
      continue;
    }
    if (std::find(out.begin(), out.end(), *p) != out.end()) {
      r.error(mark, w.path + ": " + p->text() + " is listed twice");
      continue;
    }
    out.push_back(std::move(*p));
  }
  return out;
}

struct RuleMarks {
  YAML::Mark domains{YAML::Mark::null_mark()};
  bool has_domains = false;
};

std::vector<Field> rule_fields(policy::Rule& rule, RuleMarks& marks) {
  std::vector<Field> fields{
      leaf("domains",
           [&rule, &marks](YamlReader& r, const YAML::Node& n, const Where& w) {
             marks.domains = w.mark;
             marks.has_domains = true;
             rule.recipients = read_patterns(r, n, w, true);
           }),
      leaf("senders", [&rule](YamlReader& r, const YAML::Node& n,
                              const Where& w) { rule.senders = read_patterns(r, n, w, false); }),
      leaf("users",
           [&rule](YamlReader& r, const YAML::Node& n, const Where& w) {
             for (const auto& [user, mark] : r.read_string_list(n, w)) {
               if (user.empty()) {
                 r.error(mark, w.path + ": empty user name");
                 continue;
               }
               rule.users.push_back(user);
             }
           }),
  };
  for (Field& f : option_fields(rule.options)) {
    fields.push_back(std::move(f));
  }
  return fields;
}

std::vector<Field> scope_fields(policy::Scope& s) {
  return {
      leaf("mail",
           [&s](YamlReader& r, const YAML::Node& n, const Where& w) {
             r.read_enum<bool>(
                 n, w, s.all_mail,
                 [](std::string_view v) -> std::optional<bool> {
                   if (v == "all") {
                     return true;
                   }
                   if (v == "outbound") {
                     return false;
                   }
                   return std::nullopt;
                 },
                 "all, outbound");
           }),
      leaf("daemon_names",
           [&s](YamlReader& r, const YAML::Node& n, const Where& w) {
             s.daemon_names.clear();
             if (n.IsNull()) {
               return;  // `daemon_names:` with nothing: none
             }
             for (const auto& [name, mark] : r.read_string_list(n, w)) {
               if (name.empty()) {
                 r.error(mark, w.path + ": empty daemon name");
                 continue;
               }
               s.daemon_names.push_back(name);
             }
           }),
      leaf("authenticated", [&s](YamlReader& r, const YAML::Node& n,
                                 const Where& w) { r.read_bool(n, w, s.authenticated); }),
      leaf("local_submissions", [&s](YamlReader& r, const YAML::Node& n,
                                     const Where& w) { r.read_bool(n, w, s.local_submissions); }),
  };
}

/// The top level; `rules` is only captured here and read after `default`,
/// because rules inherit from it wherever it is written in the file.
/// `schema_rule`/`schema_marks` only give the `rules` field its children, for
/// policy_keys(); rules are read one by one into their own Rule.
std::vector<Field> top_fields(policy::Scope& scope, policy::Rule& def, YAML::Node& rules,
                              YAML::Mark& rules_mark, policy::Rule& schema_rule,
                              RuleMarks& schema_marks) {
  Field default_section = section("default", option_fields(def.options));
  Field rules_field{"rules", nullptr, rule_fields(schema_rule, schema_marks)};
  rules_field.read = [&rules, &rules_mark](YamlReader&, const YAML::Node& n, const Where& w) {
    rules = n;
    rules_mark = w.mark;
  };
  return {section("scope", scope_fields(scope)), default_section, rules_field};
}

std::string signature(const policy::Rule& rule, const DomainPattern& p) {
  std::vector<std::string> senders;
  for (const DomainPattern& s : rule.senders) {
    senders.push_back(s.text());
  }
  std::sort(senders.begin(), senders.end());
  std::vector<std::string> users;
  for (const std::string& u : rule.users) {
    users.push_back(YamlReader::lower(u));
  }
  std::sort(users.begin(), users.end());
  std::string sig = p.text() + "|";
  for (const auto& s : senders) {
    sig += s + ",";
  }
  sig += "|";
  for (const auto& u : users) {
    sig += u + ",";
  }
  return sig;
}

// The scope must let some mail count as outbound, or nothing is ever checked.
void check_scope(YamlReader& reader, const policy::Scope& scope) {
  if (!scope.all_mail && scope.daemon_names.empty() && !scope.authenticated &&
      !scope.local_submissions) {
    reader.error(YAML::Mark::null_mark(),
                 "scope: mail is 'outbound' but nothing marks mail as outbound (no "
                 "daemon_names, authenticated and local_submissions false): nothing would "
                 "ever be checked");
  }
}

// The `rules:` list, read item by item; a rule is kept when it reads without
// error and none of its domains clashes with an earlier rule's.
class RulesReader {
 public:
  RulesReader(YamlReader& reader, const policy::Rule& def, std::string_view name)
      : reader_(reader), def_(def), name_(name) {}

  void read(const YAML::Node& rules_node, const YAML::Mark& rules_mark) {
    std::size_t i = 0;
    for (const YAML::Node& item : rules_node) {
      const std::string path = "rules[" + std::to_string(i++) + "]";
      read_item(item, path, YamlReader::mark_of(item, rules_mark));
    }
  }

  std::vector<policy::Rule> take_rules() { return std::move(rules_); }

 private:
  void read_item(const YAML::Node& item, const std::string& path, const YAML::Mark& mark) {
    if (!item.IsMap()) {
      reader_.error(mark, path + ": expected a rule (a mapping with domains and options), got " +
                              std::string(YamlReader::type_name(item)));
      return;
    }
    policy::Rule rule;
    rule.options = def_.options;  // inherit, then override
    rule.origin = policy::Origin{std::string(name_), mark.line + 1, mark.column + 1};
    RuleMarks marks;
    const std::size_t errors_before = reader_.error_count();
    reader_.read_map(item, Where{path, mark}, rule_fields(rule, marks));
    if (!marks.has_domains) {
      reader_.error(mark, path +
                              ": every rule needs 'domains' (use the default section "
                              "for all other domains)");
      return;
    }
    check_redirect(reader_, rule.options, mark, path);
    if (reader_.error_count() != errors_before) {
      return;
    }
    if (claim_domains(rule, marks, path, mark)) {
      rules_.push_back(std::move(rule));
    }
  }

  // Records the rule's domains under its conditions; false (after reporting
  // why) when one is '*' without conditions or an earlier rule has it.
  bool claim_domains(const policy::Rule& rule, const RuleMarks& marks, const std::string& path,
                     const YAML::Mark& mark) {
    const bool conditional = !rule.senders.empty() || !rule.users.empty();
    bool clash = false;
    for (const DomainPattern& p : rule.recipients) {
      if (p.kind == DomainPattern::Kind::any && !conditional) {
        reader_.error(marks.domains, path +
                                         ": '*' without senders or users is the default; put "
                                         "these options under 'default:'");
        clash = true;
        continue;
      }
      auto [it, fresh] = taken_.emplace(signature(rule, p), mark.line + 1);
      if (!fresh) {
        reader_.error(marks.domains, path + ": " + p.text() +
                                         " already has a rule with the same conditions "
                                         "at line " +
                                         std::to_string(it->second) +
                                         "; this one could never apply");
        clash = true;
      }
    }
    return !clash;
  }

  YamlReader& reader_;
  const policy::Rule& def_;
  std::string_view name_;
  std::map<std::string, int> taken_;  // signature -> line of the rule that has it
  std::vector<policy::Rule> rules_;
};

}  // namespace

Loaded<policy::Policy> parse_policy(std::string_view text, std::string_view name) {
  std::vector<Problem> problems;
  YamlReader reader(std::string(name), problems);
  policy::Scope scope;
  policy::Rule def;
  def.origin = policy::Origin{std::string(name), 0, 0};
  std::vector<policy::Rule> rules;

  if (auto root = reader.parse(text)) {
    YAML::Node rules_node;
    YAML::Mark rules_mark = YAML::Mark::null_mark();
    policy::Rule unused_rule;
    RuleMarks unused_marks;
    YAML::Mark default_mark = YAML::Mark::null_mark();
    reader.read_map(*root, Where{"", root->Mark()},
                    top_fields(scope, def, rules_node, rules_mark, unused_rule, unused_marks));
    if (auto at = reader.seen().find("default"); at != reader.seen().end()) {
      default_mark = at->second;
      def.origin =
          policy::Origin{std::string(name), default_mark.line + 1, default_mark.column + 1};
    }
    check_redirect(reader, def.options, default_mark, "default");
    check_scope(reader, scope);

    if (rules_node.IsDefined() && !rules_node.IsNull() && !rules_node.IsSequence()) {
      reader.error(rules_mark, "rules: expected a list of rules, got " +
                                   std::string(YamlReader::type_name(rules_node)));
    } else if (rules_node.IsSequence()) {
      RulesReader rules_reader(reader, def, name);
      rules_reader.read(rules_node, rules_mark);
      rules = rules_reader.take_rules();
    }
  }
  std::vector<std::string> keys;
  for (const auto& [key, mark] : reader.seen()) {
    keys.push_back(key);
  }
  return Loaded<policy::Policy>{policy::Policy(std::move(scope), std::move(def), std::move(rules)),
                                std::move(problems), std::move(keys)};
}

Loaded<policy::Policy> load_policy_file(const std::string& path) {
  std::vector<Problem> problems;
  std::string text = detail::read_text_file(path, problems);
  if (!problems.empty()) {
    return {policy::Policy::builtin_default(), std::move(problems), {}};
  }
  return parse_policy(text, path);
}

std::vector<std::string> policy_keys() {
  policy::Scope scope;
  policy::Rule def;
  YAML::Node rules;
  YAML::Mark mark;
  policy::Rule rule;
  RuleMarks marks;
  std::vector<std::string> out;
  std::vector<Field> top = top_fields(scope, def, rules, mark, rule, marks);
  for (const Field& f : top) {
    const std::string prefix = f.key == "rules" ? "rules[]" : f.key;
    detail::list_keys(f.children, prefix, out);
  }
  return out;
}

Loaded<Setup> load_setup(const SetupOptions& options) {
  Loaded<Setup> out;
  Setup& s = out.value;
  std::optional<std::string> config_file = options.config_file;
  std::error_code ec;
  if (!config_file && std::filesystem::exists(options.default_config_path, ec)) {
    config_file = options.default_config_path;
  }
  if (config_file) {
    Loaded<Config> c = load_config_file(*config_file);
    s.config = std::move(c.value);
    s.config_source = *config_file;
    out.problems = std::move(c.problems);
  } else {
    s.config_source = "embedded defaults";
  }
  std::string policy_file = options.policy_file ? *options.policy_file : s.config.policy_file;
  if (policy_file.empty()) {
    s.policy = std::make_shared<const policy::Policy>(policy::Policy::builtin_default());
    s.policy_source = "built-in";
  } else {
    Loaded<policy::Policy> p = load_policy_file(policy_file);
    s.policy = std::make_shared<const policy::Policy>(std::move(p.value));
    s.policy_source = policy_file;
    for (Problem& problem : p.problems) {
      out.problems.push_back(std::move(problem));
    }
  }
  return out;
}

}  // namespace forcetls::conf
