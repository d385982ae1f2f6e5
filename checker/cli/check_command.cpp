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

  std::vector<Job> jobs;
  std::vector<std::string> names = a.domains;
  if (!a.list_file.empty()) {
    auto list = read_list(a.list_file);
    if (!list) {
      err << "forcetls-check: " << list.error().message << "\n";
      return exit_usage;
    }
    names.insert(names.end(), list->begin(), list->end());
  }
  auto previous = std::make_shared<std::map<std::string, MtaStsReport>>();
  if (!a.previous.empty()) {
    auto read = read_previous(a.previous);
    if (!read) {
      err << "forcetls-check: --previous: " << read.error().message << "\n";
      return exit_usage;
    }
    *previous = std::move(*read);
  }
  for (const std::string& name : names) {
    auto domain = normalize_domain(name);
    if (!domain) {
      err << "forcetls-check: " << name << ": " << domain.error().message << "\n";
      return exit_usage;
    }
    jobs.push_back({*domain, a.port, false});
  }
  for (const std::string& mx : a.mx) {
    auto hp = parse_host_port(mx, a.port);
    if (!hp) {
      err << "forcetls-check: " << hp.error().message << "\n";
      return exit_usage;
    }
    asio::error_code ec;
    (void)asio::ip::make_address(hp->host, ec);
    std::string host = hp->host;
    if (ec) {
      auto name = normalize_domain(hp->host);
      if (!name) {
        err << "forcetls-check: " << hp->host << ": " << name.error().message << "\n";
        return exit_usage;
      }
      host = *name;
    }
    jobs.push_back({host, hp->port, true});
  }

  auto choice = parse_family_choice(a.families);
  if (!choice) {
    err << "forcetls-check: " << choice.error().message << "\n";
    return exit_usage;
  }

  log::init(log::Options{.ident = "forcetls-check",
                         .target = log::Target::stderr_stream,
                         .facility = -1,
                         .level = log::Level::warning});

  asio::io_context io;
  ResolverOptions resolver_options;
  resolver_options.forwarder = a.resolver;
  if (!a.trust_anchor.empty()) {
    resolver_options.trust_anchor_file = a.trust_anchor;
  }
  resolver_options.timeout = std::max(a.timeout, std::chrono::milliseconds(5000));
  auto resolver = UnboundResolver::create(io.get_executor(), resolver_options);
  if (!resolver) {
    err << "forcetls-check: resolver: " << resolver.error().message << "\n";
    return exit_usage;
  }

  ProberOptions options;
  options.smtp.ehlo_name = a.ehlo.empty() ? this_host_name() : a.ehlo;
  options.set_timeouts(a.timeout, a.timeout);
  options.port = a.port;
  options.per_address_connections = a.per_address_connections;
  options.pause = a.pause;
  options.mx.families = select_families(*choice);
  options.mx.address_policy.allow_private = a.allow_private;
  options.tls.ca_file = a.ca_file;
  if (!previous->empty()) {
    options.previous_mta_sts = [previous](const std::string& domain) {
      auto it = previous->find(domain);
      return it == previous->end() ? std::nullopt : std::optional<MtaStsReport>(it->second);
    };
  }
  options.quick = a.quick;
  options.judge.tls13_counts = a.tls13_counts;
  auto prober = Prober::create(**resolver, options);
  if (!prober) {
    err << "forcetls-check: " << prober.error().message << "\n";
    return exit_usage;
  }

  Run run;
  run.prober = prober->get();
  run.jobs = std::move(jobs);
  run.reports.resize(run.jobs.size());
  run.progress = run.jobs.size() > 1 && isatty(STDERR_FILENO) == 1 && !a.json;
  run.err = &err;
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

  bool any_no = false;
  bool any_unknown = false;
  for (std::size_t i = 0; i < run.reports.size(); ++i) {
    if (!run.reports[i]) {
      return exit_failure;
    }
    const DomainReport& r = *run.reports[i];
    if (a.json) {
      out << to_json_text(r) << "\n";
    } else {
      out << (i > 0 ? "\n" : "") << to_text(r);
    }
    any_no = any_no || r.eligible == Eligibility::ineligible;
    any_unknown = any_unknown || r.eligible == Eligibility::unknown;
  }
  return any_no ? exit_ineligible : any_unknown ? exit_unknown : exit_eligible;
}

}  // namespace forcetls::checker
