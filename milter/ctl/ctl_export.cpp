// SPDX-License-Identifier: Apache-2.0
// forcetls-ctl export --sendmail-access (ctl_export.hpp).
#include "milter/ctl/ctl_export.hpp"

#include <iostream>

#include "cache/store.hpp"
#include "checker/report/next_hop.hpp"
#include "milter/ctl/ctl_cache.hpp"
#include "milter/service/setup.hpp"
#include "milter/socketmap/socketmap_answer.hpp"

namespace forcetls::milter {

std::optional<std::string> sendmail_access_line(const policy::Decision& d,
                                                const checker::DomainReport& report) {
  if (policy::delivery_requirement(d) != policy::Delivery::tls_required) {
    return std::nullopt;
  }
  const char* bits = tls_ciphers(report) == "high" ? "128" : "112";
  const char* kind = d.options.require_verified_cert ? "VERIFY" : "ENCR";
  return "TLS_Rcpt:" + d.domain + " " + kind + ":" + bits;
}

int export_command(const conf::Config& config, const policy::Policy& policy,
                   const std::vector<std::string>& args, CtlEnv& env) {
  if (args.size() != 1 || args[0] != "--sendmail-access") {
    env.err << "forcetls-ctl: usage: forcetls-ctl export --sendmail-access\n";
    return kExitUsage;
  }
  std::unique_ptr<cache::Store> opened = open_ctl_store(config, true, env);
  if (!opened) {
    return kExitProblem;
  }
  cache::Store& store = *opened;
  std::vector<std::string> lines;
  std::size_t looked = 0;
  auto walked = store.for_each_domain([&](const std::string& domain) {
    // TLS_Rcpt: names a recipient domain: reports of a `[host]` or of
    // another port are not one.
    auto target = checker::parse_report_key(domain);
    if (!target || target->kind != checker::ReportTarget::Kind::domain || target->port != 25) {
      return true;
    }
    ++looked;
    const policy::Match match = policy.match_delivery(domain);
    if (!policy::needs_report(match) || match.rule->options.mode != policy::Mode::require) {
      return true;
    }
    // Stale entries count: the domain was eligible and is being re-checked;
    // entries past their grace window are gone from the answer.
    cache::Lookup found = store.peek(domain);
    if (found.state == cache::Freshness::missing) {
      return true;
    }
    const policy::Decision d = policy::decide(match, domain, found.report.get());
    if (auto line = sendmail_access_line(d, *found.report)) {
      lines.push_back(std::move(*line));
    }
    return true;
  });
  if (!walked) {
    env.err << "forcetls-ctl: " << walked.error().message << "\n";
    return kExitProblem;
  }
  env.out << "# forcetls-ctl export --sendmail-access: eligible domains under `require`\n"
          << "# (makemap hash /etc/mail/access < this file; needs FEATURE(`access_db'))\n";
  for (const std::string& line : lines) {
    env.out << line << "\n";
  }
  env.err << "exported " << lines.size() << " of " << looked << " cached domains\n";
  return kExitOk;
}

}  // namespace forcetls::milter
