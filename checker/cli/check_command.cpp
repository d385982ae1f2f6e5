// SPDX-License-Identifier: Apache-2.0
// forcetls-check: parse, normalise, resolve and probe every domain
// concurrently (bounded), print reports in input order.
#include "checker/cli/check_command.hpp"

#include <unistd.h>

#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <ostream>

#include "checker/cli/check_args.hpp"
#include "checker/dns/dns.hpp"
#include "checker/probe/prober.hpp"
#include "checker/report/domain_name.hpp"
#include "checker/report/report_json.hpp"
#include "checker/report/report_text.hpp"
#include "common/log.hpp"

namespace forcetls::checker {
namespace {

// Domains checked at once; each probes its addresses concurrently too.
constexpr std::size_t kConcurrentDomains = 32;

Result<std::vector<std::string>> read_list(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return fail(Errc::io, "cannot read " + path);
  }
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    auto hash = line.find('#');
    if (hash != std::string::npos) {
      line.erase(hash);
    }
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) {
      continue;
    }
    auto last = line.find_last_not_of(" \t\r");
    out.push_back(line.substr(first, last - first + 1));
  }
  return out;
}

struct Job {
  std::string target;  // normalised domain, or host for --mx
  std::uint16_t port = 25;
  bool server = false;
};

struct Run {
  Prober* prober = nullptr;
  std::vector<Job> jobs;
  std::vector<std::optional<DomainReport>> reports;
  std::size_t next = 0;
  std::size_t done = 0;
  bool progress = false;
  std::ostream* err = nullptr;
};

asio::awaitable<void> worker(Run* run) {
  while (run->next < run->jobs.size()) {
    std::size_t i = run->next++;
    const Job& job = run->jobs[i];
    std::string target = job.target;
    if (job.server) {
      run->reports[i] = co_await run->prober->check_server(target, job.port);
    } else {
      run->reports[i] = co_await run->prober->check_domain(target);
    }
    ++run->done;
    if (run->progress) {
      *run->err << "\rchecked " << run->done << "/" << run->jobs.size() << std::flush;
    }
  }
}

// The mta_sts part of each report of an earlier `--json` run, by domain.
Result<std::map<std::string, MtaStsReport>> read_previous(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return fail(Errc::io, "cannot read " + path);
  }
  std::map<std::string, MtaStsReport> out;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      continue;
    }
    auto report = report_from_json_text(line);
    if (!report) {
      return fail(Errc::invalid_argument,
                  path + " line " + std::to_string(number) + ": " + report.error().message);
    }
    out[report->domain] = std::move(report->mta_sts);
  }
  return out;
}

// The previous run's mta_sts reports, by domain (empty without --previous).
using PreviousReports = std::map<std::string, MtaStsReport>;

// What the arguments ask to check, before anything is resolved or probed.
struct CheckPlan {
  std::vector<Job> jobs;
  std::shared_ptr<PreviousReports> previous = std::make_shared<PreviousReports>();
  FamilyChoice families = FamilyChoice::automatic;
};

// The domain jobs: the named domains, then those of --list, normalised.
Result<std::vector<Job>> domain_jobs(const CheckArgs& a, const std::vector<std::string>& names) {
  std::vector<Job> jobs;
  for (const std::string& name : names) {
    auto domain = normalize_domain(name);
    if (!domain) {
      return fail(domain.error().code, name + ": " + domain.error().message);
    }
    jobs.push_back({*domain, a.port, false});
  }
  return jobs;
}

// One --mx HOST[:PORT] job: an address as given, a name normalised.
Result<Job> server_job(const CheckArgs& a, const std::string& mx) {
  auto hp = parse_host_port(mx, a.port);
  if (!hp) {
    return std::unexpected(hp.error());
  }
  asio::error_code ec;
  (void)asio::ip::make_address(hp->host, ec);
  std::string host = hp->host;
  if (ec) {
    auto name = normalize_domain(hp->host);
    if (!name) {
      return fail(name.error().code, hp->host + ": " + name.error().message);
    }
    host = *name;
  }
  return Job{host, hp->port, true};
}

// Reads --list and --previous and makes the jobs; an error's message follows
// "forcetls-check: ".
Result<CheckPlan> plan_check(const CheckArgs& a) {
  CheckPlan plan;
  std::vector<std::string> names = a.domains;
  if (!a.list_file.empty()) {
    auto list = read_list(a.list_file);
    if (!list) {
      return std::unexpected(list.error());
    }
    names.insert(names.end(), list->begin(), list->end());
  }
  if (!a.previous.empty()) {
    auto read = read_previous(a.previous);
    if (!read) {
      return fail(read.error().code, "--previous: " + read.error().message);
    }
    *plan.previous = std::move(*read);
  }
  auto jobs = domain_jobs(a, names);
  if (!jobs) {
    return std::unexpected(jobs.error());
  }
  plan.jobs = std::move(*jobs);
  for (const std::string& mx : a.mx) {
    auto job = server_job(a, mx);
    if (!job) {
      return std::unexpected(job.error());
    }
    plan.jobs.push_back(std::move(*job));
  }
  auto choice = parse_family_choice(a.families);
  if (!choice) {
    return std::unexpected(choice.error());
  }
  plan.families = *choice;
  return plan;
}

Result<std::unique_ptr<UnboundResolver>> make_resolver(asio::io_context& io, const CheckArgs& a) {
  ResolverOptions resolver_options;
  resolver_options.forwarder = a.resolver;
  resolver_options.unbound_options = a.resolver_options;
  if (!a.trust_anchor.empty()) {
    resolver_options.trust_anchor_file = a.trust_anchor;
  }
  resolver_options.timeout = std::max(a.timeout, std::chrono::milliseconds(5000));
  return UnboundResolver::create(io.get_executor(), resolver_options);
}

ProberOptions prober_options(const CheckArgs& a, const CheckPlan& plan) {
  ProberOptions options;
  options.smtp.ehlo_name = a.ehlo.empty() ? this_host_name() : a.ehlo;
  options.set_timeouts(a.timeout, a.timeout);
  options.port = a.port;
  options.per_address_connections = a.per_address_connections;
  options.politeness.pause = a.pause;
  options.mx.families = select_families(plan.families);
  options.mx.address_policy.allow_private = a.allow_private;
  options.tls.ca_file = a.ca_file;
  if (!plan.previous->empty()) {
    options.previous_mta_sts = [previous = plan.previous](const std::string& domain) {
      auto it = previous->find(domain);
      return it == previous->end() ? std::nullopt : std::optional<MtaStsReport>(it->second);
    };
  }
  options.quick = a.quick;
  options.judge.tls13_counts = a.tls13_counts;
  return options;
}

// Runs the jobs, kConcurrentDomains at a time, until all are done.
void run_jobs(asio::io_context& io, Run& run, std::ostream& err) {
  for (std::size_t i = 0; i < std::min(kConcurrentDomains, run.jobs.size()); ++i) {
    asio::co_spawn(io, worker(&run), [&err](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          err << "forcetls-check: internal error: " << ex.what() << "\n";
        }
      }
    });
  }
  io.run();
  if (run.progress) {
    err << "\n";
  }
}

// Prints the reports in input order; the exit status they make.
int print_reports(const Run& run, bool json, std::ostream& out) {
  bool any_no = false;
  bool any_unknown = false;
  for (std::size_t i = 0; i < run.reports.size(); ++i) {
    if (!run.reports[i]) {
      return exit_failure;
    }
    const DomainReport& r = *run.reports[i];
    if (json) {
      out << to_json_text(r) << "\n";
    } else {
      out << (i > 0 ? "\n" : "") << to_text(r);
    }
    any_no = any_no || r.eligible == Eligibility::ineligible;
    any_unknown = any_unknown || r.eligible == Eligibility::unknown;
  }
  return any_no ? exit_ineligible : any_unknown ? exit_unknown : exit_eligible;
}

}  // namespace

int run_check_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto parsed = parse_check_args(args);
  if (!parsed) {
    err << "forcetls-check: " << parsed.error().message << "\n" << check_usage();
    return exit_usage;
  }
  const CheckArgs& a = *parsed;
  if (a.help) {
    out << check_usage();
    return exit_eligible;
  }
  if (a.version) {
    out << "forcetls-check " << FORCETLS_VERSION << "\n";
    return exit_eligible;
  }
  auto plan = plan_check(a);
  if (!plan) {
    err << "forcetls-check: " << plan.error().message << "\n";
    return exit_usage;
  }

  log::init(log::Options{.ident = "forcetls-check",
                         .target = log::Target::stderr_stream,
                         .facility = -1,
                         .level = log::Level::warning});

  asio::io_context io;
  auto resolver = make_resolver(io, a);
  if (!resolver) {
    err << "forcetls-check: resolver: " << resolver.error().message << "\n";
    return exit_usage;
  }
  auto prober = Prober::create(**resolver, prober_options(a, *plan));
  if (!prober) {
    err << "forcetls-check: " << prober.error().message << "\n";
    return exit_usage;
  }

  Run run;
  run.prober = prober->get();
  run.jobs = std::move(plan->jobs);
  run.reports.resize(run.jobs.size());
  run.progress = run.jobs.size() > 1 && isatty(STDERR_FILENO) == 1 && !a.json;
  run.err = &err;
  run_jobs(io, run, err);
  return print_reports(run, a.json, out);
}

}  // namespace forcetls::checker
