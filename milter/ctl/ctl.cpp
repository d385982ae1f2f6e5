// SPDX-License-Identifier: Apache-2.0
// forcetls-ctl commands. Output is for people first, but stable enough to
// grep: one `key: value` per line for explain, one problem per line for
// config check.
#include "milter/ctl/ctl.hpp"

#include <ostream>
#include <utility>

#include "checker/report/domain_name.hpp"
#include "common/duration_text.hpp"
#include "conf/loader.hpp"
#include "milter/ctl/ctl_cache.hpp"
#include "milter/ctl/ctl_doctor.hpp"
#include "milter/ctl/ctl_export.hpp"
#include "milter/recipients/recipient_check.hpp"
#include "policy/decision.hpp"

namespace forcetls::milter {
namespace {

constexpr std::string_view kUsage =
    "usage: forcetls-ctl [--config FILE] [--policy FILE] COMMAND ...\n"
    "       forcetls-ctl --help | --version\n"
    "\n"
    "commands:\n"
    "  config check [FILE]\n"
    "      Validate the configuration (FILE, else --config, else\n"
    "      /etc/forcetls/forcetls.yaml if present, else the embedded defaults)\n"
    "      and the policy file it names. Every problem on its own line as\n"
    "      FILE:LINE:COLUMN: error|warning: message. Exit 0 when valid.\n"
    "  explain [--sender ADDRESS] [--user NAME] [--daemon-name NAME] [--local] ADDRESS\n"
    "      Which policy rule applies to ADDRESS (or a bare domain) and why, the\n"
    "      report it would use, and the decision the milter would take. The\n"
    "      options describe the message (envelope sender, authenticated user,\n"
    "      Postfix {daemon_name}, local submission) for sender rules and scope.\n"
    "  cache list [--stale|--ineligible]   cached domains, state, verdict, grade, ages\n"
    "  cache show DOMAIN                   the cached report, as forcetls-check prints it\n"
    "  cache refresh [--now] DOMAIN        re-probe: by the daemon at its next scan, or now\n"
    "  cache purge DOMAIN|--all            forget cached results\n"
    "  cache stats                         entries, hits, misses, decode failures, sizes\n"
    "  cache export [--json]               every cached report as JSON lines\n"
    "  cache import [FILE|-]               load what export wrote (validated line by line)\n"
    "  export --sendmail-access            Sendmail access-map lines (TLS_Rcpt:DOMAIN ENCR:128)\n"
    "                                      for the cached eligible domains under `require`\n"
    "  doctor [-c POSTFIX_DIR] [--resolv-conf FILE]\n"
    "      Check, from what postconf prints, that Postfix (the instance in\n"
    "      POSTFIX_DIR) is wired to forcetls: milter, policy map, milter timeouts\n"
    "      and default action, DNSSEC settings, relays, chroot. One ok/note/problem\n"
    "      line per item, each problem with its fix. Exit 0 when there is no problem.\n"
    "\n"
    "options:\n"
    "  --config FILE   the daemon configuration (default /etc/forcetls/forcetls.yaml)\n"
    "  --policy FILE   use this policy file instead of the configured one\n"
    "  -h, --help      print this text\n"
    "  --version       print the version\n"
    "\n"
    "exit status: 0 ok, 1 invalid configuration or address (doctor: a problem), 2 usage error\n";

int usage(CtlEnv& env, std::string_view why) {
  if (!why.empty()) {
    env.err << "forcetls-ctl: " << why << "\n";
  }
  env.err << kUsage;
  return kExitUsage;
}

std::string yes_no(bool b) { return b ? "yes" : "no"; }

std::string options_text(const policy::RuleOptions& o) {
  const policy::OnUnknown& u = o.on_unknown;
  std::string s = "mode=" + std::string(to_string(o.mode));
  s += " min_grade=" + (o.min_grade ? std::string(to_string(*o.min_grade)) : "none");
  s += " require_verified_cert=" + yes_no(o.require_verified_cert);
  s += " require=" + std::string(to_string(o.require));
  s += " tls13_counts=" + yes_no(o.tls13_counts);
  s += " on_ineligible=" + std::string(to_string(o.on_ineligible));
  s += " redirect_to=" + (o.redirect_to.empty() ? "-" : o.redirect_to);
  s += " on_unknown=dns_failure:" + std::string(to_string(u.dns_failure)) +
       ",probe_failure:" + std::string(to_string(u.probe_failure)) +
       ",dnssec_bogus:" + std::string(to_string(u.dnssec_bogus)) +
       ",not_checked:" + std::string(to_string(u.not_checked)) +
       ",downgrade_suspected:" + std::string(to_string(u.downgrade_suspected));
  return s;
}

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

std::string scope_text(const policy::Scope& s) {
  if (s.all_mail) {
    return "all mail";
  }
  std::string t = "outbound mail:";
  if (!s.daemon_names.empty()) {
    t += " daemon_name in [";
    for (std::size_t i = 0; i < s.daemon_names.size(); ++i) {
      t += (i ? "," : "") + s.daemon_names[i];
    }
    t += "]";
  }
  if (s.authenticated) {
    t += " or authenticated";
  }
  if (s.local_submissions) {
    t += " or local submission";
  }
  return t;
}

void print_problems(const std::vector<conf::Problem>& problems, std::ostream& out) {
  for (const conf::Problem& p : problems) {
    out << p.text() << "\n";
  }
}

struct Global {
  std::optional<std::string> config;
  std::optional<std::string> policy;
};

/// The configuration and policy the command works on; nullopt after printing
/// every problem and `why_not` to env.err.
std::optional<conf::Setup> load_or_explain(const Global& g, CtlEnv& env, std::string_view why_not) {
  conf::SetupOptions options;
  options.config_file = g.config;
  options.policy_file = g.policy;
  options.default_config_path = env.default_config_path;
  conf::Loaded<conf::Setup> setup = conf::load_setup(options);
  if (!setup.ok()) {
    print_problems(setup.problems, env.err);
    env.err << "forcetls-ctl: " << why_not << "\n";
    return std::nullopt;
  }
  return std::move(setup.value);
}

int config_check(const Global& g, const std::vector<std::string>& rest, CtlEnv& env) {
  if (rest.size() > 1) {
    return usage(env, "config check takes at most one FILE");
  }
  conf::SetupOptions options;
  options.config_file = rest.empty() ? g.config : std::optional<std::string>(rest.front());
  options.policy_file = g.policy;
  options.default_config_path = env.default_config_path;
  conf::Loaded<conf::Setup> setup = conf::load_setup(options);
  print_problems(setup.problems, env.out);
  std::size_t errors = 0;
  std::size_t warnings = 0;
  for (const conf::Problem& p : setup.problems) {
    (p.severity == conf::Problem::Severity::error ? errors : warnings) += 1;
  }
  const conf::Setup& s = setup.value;
  if (errors > 0) {
    env.out << errors << (errors == 1 ? " error" : " errors") << ", " << warnings
            << (warnings == 1 ? " warning" : " warnings")
            << ": the daemon would refuse this configuration\n";
    return kExitProblem;
  }
  env.out << s.config_source << ": ok (milter " << s.config.milter.socket.spec() << ", socketmap "
          << s.config.socketmap.socket.spec() << ")\n";
  env.out << s.policy_source << ": ok (" << s.policy->rules().size()
          << (s.policy->rules().size() == 1 ? " rule" : " rules") << ", default "
          << to_string(s.policy->default_rule().options.mode) << ", scope "
          << scope_text(s.policy->scope()) << ")\n";
  return kExitOk;
}

int explain_command(const Global& g, const std::vector<std::string>& rest, CtlEnv& env) {
  ExplainInput in;
  std::optional<std::string> address;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    const std::string& a = rest[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= rest.size()) {
        return false;
      }
      out = rest[++i];
      return true;
    };
    if (a == "--sender") {
      std::string sender;
      if (!value(sender)) {
        return usage(env, "--sender needs an address");
      }
      if (!sender.empty() && sender != "<>") {
        auto d = checker::recipient_domain(sender);
        if (!d) {
          env.err << "forcetls-ctl: --sender: " << d.error().message << "\n";
          return kExitProblem;
        }
        in.message.sender_domain = *d;
      }
    } else if (a == "--user") {
      if (!value(in.message.auth_user)) {
        return usage(env, "--user needs a name");
      }
    } else if (a == "--daemon-name") {
      if (!value(in.message.daemon_name)) {
        return usage(env, "--daemon-name needs a name");
      }
    } else if (a == "--local") {
      in.message.local_submission = true;
    } else if (a.starts_with("--")) {
      return usage(env, "unknown explain option " + a);
    } else if (address) {
      return usage(env, "explain takes one ADDRESS");
    } else {
      address = a;
    }
  }
  if (!address) {
    return usage(env, "explain needs an ADDRESS");
  }
  in.address = *address;

  std::optional<conf::Setup> setup =
      load_or_explain(g, env, "the configuration is invalid; nothing to explain");
  if (!setup) {
    return kExitProblem;
  }
  const conf::Setup& s = *setup;
  in.on_miss = s.config.milter.on_miss;
  in.miss_deadline = s.config.milter.miss_deadline;
  in.header_name = s.config.milter.header_name;
  in.header = s.config.milter.header;
  std::unique_ptr<cache::Reports> reports = env.open_reports(s.config);
  env.out << "config:     " << s.config_source << "\n";
  env.out << "policy:     " << s.policy_source << "\n";
  return explain(*s.policy, in, *reports, env.out) ? kExitOk : kExitProblem;
}

}  // namespace

namespace {

void explain_report(const cache::Lookup& found, std::int64_t age, cache::Reports& reports,
                    std::ostream& out) {
  const checker::DomainReport& r = *found.report;
  out << "report:     cached " << age_text(age) << " ago"
      << (found.state == cache::Freshness::stale ? " (stale: a refresh would be queued)" : "")
      << ": grade " << checker::to_string(r.grade.letter)
      << (r.grade.provisional ? " (provisional)" : "") << ", " << r.grade.score
      << " points, eligible " << checker::to_string(r.eligible);
  if (!r.reasons.empty()) {
    out << ", reasons";
    for (const checker::Reason& reason : r.reasons) {
      out << " " << checker::format_reason(reason);
    }
  }
  out << " [" << reports.describe() << "]\n";
}

void explain_decision(const RecipientOutcome& o, const ExplainInput& in, std::ostream& out) {
  const policy::Decision& d = o.decision;
  out << "verdict:    " << to_string(d.verdict);
  if (d.verdict == policy::Verdict::unknown) {
    out << " (" << checker::to_string(d.cause) << ")";
  }
  out << "\n";
  out << "action:     " << to_string(d.action);
  if (!d.redirect_to.empty()) {
    out << " to " << d.redirect_to;
  }
  out << "\n";
  if (o.removed) {
    out << "applied:    delete the recipient and quarantine the message (a local submission "
           "cannot be refused)\n";
  }
  if (!d.reply.empty()) {
    out << "reply:      " << d.reply.line() << "\n";
  }
  if (!d.header.empty()) {
    if (in.header || d.action == policy::Action::tag) {
      out << "header:     " << in.header_name << ": " << d.header << "\n";
    } else {
      out << "header:     none (milter.header is off)\n";
    }
  }
  out << "log:        " << o.log_fields() << "\n";
}

}  // namespace

bool explain(const policy::Policy& policy, const ExplainInput& in, cache::Reports& reports,
             std::ostream& out) {
  // The milter's own decision: check_recipient() over the cache, which
  // never probes here (a miss is decided as after the milter's wait).
  const CheckOptions options{.on_miss = in.on_miss,
                             .miss_deadline = in.miss_deadline,
                             .local_submission = in.message.local_submission,
                             .now = {}};
  // A bare domain is explained as a recipient at that domain.
  const std::string rcpt =
      in.address.find('@') == std::string::npos && in.address.find('<') == std::string::npos
          ? "<postmaster@" + in.address + ">"
          : in.address;
  const RecipientOutcome o = check_recipient(policy, in.message, rcpt, reports, options);
  const policy::MessageContext& m = in.message;
  out << "recipient:  " << in.address << "\n";
  if (!o.address_error.empty()) {
    out << "domain:     none (" << o.address_error << ")\n";
    out << "rule:       " << o.decision.rule << " (default): no rule can match an address "
        << "without a checkable domain\n";
    explain_decision(o, in, out);
    return false;
  }
  const std::string& domain = o.decision.domain;
  out << "domain:     " << domain << "\n";
  const bool scoped = policy.in_scope(m);
  out << "message:    sender_domain=" << or_dash(m.sender_domain)
      << " user=" << or_dash(m.auth_user) << " daemon_name=" << or_dash(m.daemon_name)
      << " local=" << yes_no(m.local_submission) << "\n";
  out << "scope:      " << scope_text(policy.scope()) << " -> "
      << (scoped ? "in scope" : "OUT OF SCOPE (the milter does not check this message)") << "\n";

  std::vector<policy::Match> all = policy.candidates(domain, m);
  const policy::Match& match = all.front();
  out << "rule:       " << match.rule->origin.text() << " (" << match.pattern_text()
      << "): " << match.why << "\n";
  for (std::size_t i = 1; i < all.size(); ++i) {
    out << "shadowed:   " << all[i].rule->origin.text() << " (" << all[i].pattern_text()
        << "): less specific\n";
  }
  out << "options:    " << options_text(match.rule->options) << "\n";

  const bool cached = o.cache == CacheUse::hit || o.cache == CacheUse::stale;
  if (!policy::needs_report(match)) {
    out << "report:     not needed (" << (scoped ? "mode off" : "out of scope") << ")\n";
  } else if (cached) {
    explain_report(reports.peek(domain), o.age_seconds, reports, out);
  } else {
    out << "report:     not cached [" << reports.describe() << "]\n";
  }
  explain_decision(o, in, out);
  if (o.cache == CacheUse::timeout) {
    out << "note:       not cached: the milter probes " << domain << " and waits up to "
        << duration_text(in.miss_deadline)
        << " for the answer; the decision above is the one it takes if the probe has not "
           "finished by then\n";
  } else if (o.cache == CacheUse::miss) {
    out << "note:       not cached: the milter answers at once ("
        << (in.on_miss == conf::MissBehaviour::wait ? "only require waits for a probe"
                                                    : "on_miss answer-now")
        << ") with the decision above and probes " << domain << " in the background\n";
  }
  return true;
}

int run_ctl(const std::vector<std::string>& args, CtlEnv& env) {
  Global g;
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--config" || a == "--policy") {
      if (i + 1 >= args.size()) {
        return usage(env, a + " needs a FILE");
      }
      (a == "--config" ? g.config : g.policy) = args[++i];
    } else if (a == "-h" || a == "--help" || a == "help") {
      env.out << kUsage;
      return kExitOk;
    } else if (a == "--version") {
      env.out << "forcetls-ctl " << FORCETLS_VERSION << "\n";
      return kExitOk;
    } else if (a.starts_with("-")) {
      return usage(env, "unknown option " + a);
    } else {
      break;
    }
  }
  if (i >= args.size()) {
    return usage(env, "");
  }
  const std::string& command = args[i];
  std::vector<std::string> rest(args.begin() + static_cast<long>(i) + 1, args.end());
  if (command == "config") {
    if (rest.empty() || rest.front() != "check") {
      return usage(env, "config: the only subcommand is 'check'");
    }
    rest.erase(rest.begin());
    return config_check(g, rest, env);
  }
  if (command == "explain") {
    return explain_command(g, rest, env);
  }
  if (command == "cache") {
    std::optional<conf::Setup> setup = load_or_explain(g, env, "the configuration is invalid");
    if (!setup) {
      return kExitProblem;
    }
    return cache_command(setup->config, rest, env);
  }
  if (command == "export") {
    std::optional<conf::Setup> setup = load_or_explain(g, env, "the configuration is invalid");
    if (!setup) {
      return kExitProblem;
    }
    return export_command(setup->config, *setup->policy, rest, env);
  }
  if (command == "doctor") {
    std::optional<conf::Setup> setup = load_or_explain(g, env, "the configuration is invalid");
    if (!setup) {
      return kExitProblem;
    }
    return doctor_command(*setup, rest, env);
  }
  return usage(env, "unknown command '" + command + "'");
}

}  // namespace forcetls::milter
