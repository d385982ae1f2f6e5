// SPDX-License-Identifier: Apache-2.0
// forcetls-ctl cache commands over cache/admin.hpp.
#include "milter/ctl/ctl_cache.hpp"

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <iostream>

#include "cache/admin.hpp"
#include "checker/report/domain_name.hpp"
#include "checker/report/report_text.hpp"
#include "common/unix_time.hpp"
#include "milter/service/probe_service.hpp"
#include "milter/service/setup.hpp"

namespace forcetls::milter {
namespace {

constexpr std::string_view kCacheUsage =
    "usage: forcetls-ctl cache list [--stale|--ineligible]\n"
    "       forcetls-ctl cache show DOMAIN\n"
    "       forcetls-ctl cache refresh [--now] DOMAIN\n"
    "       forcetls-ctl cache purge DOMAIN|--all\n"
    "       forcetls-ctl cache stats\n"
    "       forcetls-ctl cache export [--json]\n"
    "       forcetls-ctl cache import [FILE|-]\n";

bool directory_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

int cache_usage(CtlEnv& env, std::string_view why) {
  env.err << "forcetls-ctl: cache: " << why << "\n" << kCacheUsage;
  return kExitUsage;
}

Result<std::string> domain_arg(const std::string& text) { return checker::normalize_domain(text); }

}  // namespace

std::unique_ptr<cache::Reports> open_cache_reports(const conf::Config& config) {
  if (!directory_exists(config.cache.path)) {
    return std::make_unique<cache::NoReports>();
  }
  auto store = cache::Store::open(store_options(config));
  if (!store) {
    return std::make_unique<cache::NoReports>();
  }
  return std::make_unique<cache::StoreReports>(std::move(*store));
}

std::unique_ptr<cache::Store> open_ctl_store(const conf::Config& config, bool must_exist,
                                             CtlEnv& env) {
  if (must_exist && !directory_exists(config.cache.path)) {
    env.err << "forcetls-ctl: no cache at " << config.cache.path << "\n";
    return nullptr;
  }
  auto opened = cache::Store::open(store_options(config));
  if (!opened) {
    env.err << "forcetls-ctl: cache " << config.cache.path << ": " << opened.error().message
            << "\n";
    return nullptr;
  }
  return std::move(*opened);
}

int cache_command(const conf::Config& config, const std::vector<std::string>& args, CtlEnv& env) {
  if (args.empty()) {
    return cache_usage(env, "a subcommand is needed");
  }
  const std::string& sub = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  const bool writes = sub == "refresh" || sub == "purge" || sub == "import";
  std::unique_ptr<cache::Store> opened = open_ctl_store(config, !writes, env);
  if (!opened) {
    return kExitProblem;
  }
  cache::Store& store = *opened;

  if (sub == "list") {
    cache::ListFilter filter = cache::ListFilter::all;
    if (rest.size() == 1 && rest[0] == "--stale") {
      filter = cache::ListFilter::stale;
    } else if (rest.size() == 1 && rest[0] == "--ineligible") {
      filter = cache::ListFilter::ineligible;
    } else if (!rest.empty()) {
      return cache_usage(env, "list takes --stale or --ineligible");
    }
    auto entries = cache::list(store, filter);
    if (!entries) {
      env.err << "forcetls-ctl: " << entries.error().message << "\n";
      return kExitProblem;
    }
    env.out << cache::format_list(*entries, unix_now());
    return kExitOk;
  }
  if (sub == "show" || sub == "refresh") {
    bool now = false;
    std::vector<std::string> names;
    for (const std::string& a : rest) {
      if (sub == "refresh" && a == "--now") {
        now = true;
      } else if (a.starts_with("-")) {
        return cache_usage(env, "unknown option " + a);
      } else {
        names.push_back(a);
      }
    }
    if (names.size() != 1) {
      return cache_usage(env, sub + " takes one DOMAIN");
    }
    auto domain = domain_arg(names[0]);
    if (!domain) {
      env.err << "forcetls-ctl: " << names[0] << ": " << domain.error().message << "\n";
      return kExitProblem;
    }
    if (sub == "show") {
      auto text = cache::show(store, *domain);
      if (!text) {
        env.err << "forcetls-ctl: " << *domain << ": " << text.error().message << "\n";
        return kExitProblem;
      }
      env.out << *text;
      return kExitOk;
    }
    if (!now) {
      auto marked = cache::refresh(store, *domain);
      if (!marked) {
        env.err << "forcetls-ctl: " << marked.error().message << "\n";
        return kExitProblem;
      }
      if (!*marked) {
        env.err << "forcetls-ctl: " << *domain
                << " is not cached (use --now to probe it from here)\n";
        return kExitProblem;
      }
      env.out << *domain << ": marked stale; the daemon re-probes it at its next scan\n";
      return kExitOk;
    }
    auto service =
        ProbeService::start(resolver_options(config), prober_options(config, this_host_name()),
                            &store, config.checker.probe_deadline);
    if (!service) {
      env.err << "forcetls-ctl: " << service.error().message << "\n";
      return kExitProblem;
    }
    ProbeService* raw = service->get();
    auto report = cache::refresh_now(store, *domain,
                                     [raw](const std::string& d) { return raw->probe_sync(d); });
    if (!report) {
      env.err << "forcetls-ctl: " << *domain << ": " << report.error().message << "\n";
      return kExitProblem;
    }
    env.out << checker::to_text(*report);
    return kExitOk;
  }
  if (sub == "purge") {
    if (rest.size() != 1) {
      return cache_usage(env, "purge takes one DOMAIN or --all");
    }
    if (rest[0] == "--all") {
      auto n = cache::purge_all(store);
      if (!n) {
        env.err << "forcetls-ctl: " << n.error().message << "\n";
        return kExitProblem;
      }
      env.out << "purged " << *n << " domains\n";
      return kExitOk;
    }
    auto domain = domain_arg(rest[0]);
    if (!domain) {
      env.err << "forcetls-ctl: " << rest[0] << ": " << domain.error().message << "\n";
      return kExitProblem;
    }
    auto removed = cache::purge(store, *domain);
    if (!removed) {
      env.err << "forcetls-ctl: " << removed.error().message << "\n";
      return kExitProblem;
    }
    env.out << *domain << (*removed ? ": purged\n" : ": was not cached\n");
    return *removed ? kExitOk : kExitProblem;
  }
  if (sub == "stats") {
    if (!rest.empty()) {
      return cache_usage(env, "stats takes no arguments");
    }
    env.out << cache::format_stats(store.stats());
    return kExitOk;
  }
  if (sub == "export") {
    if (!(rest.empty() || (rest.size() == 1 && rest[0] == "--json"))) {
      return cache_usage(env, "export writes JSON lines: export [--json]");
    }
    auto exported = cache::export_jsonl(store, env.out);
    if (!exported) {
      env.err << "forcetls-ctl: " << exported.error().message << "\n";
      return kExitProblem;
    }
    env.err << "exported " << exported->written << " domains"
            << (exported->skipped > 0
                    ? ", skipped " + std::to_string(exported->skipped) + " unreadable"
                    : "")
            << "\n";
    return kExitOk;
  }
  if (sub == "import") {
    if (rest.size() > 1) {
      return cache_usage(env, "import takes at most one FILE");
    }
    cache::ImportResult result;
    if (rest.empty() || rest[0] == "-") {
      result = cache::import_jsonl(store, std::cin);
    } else {
      std::ifstream in(rest[0]);
      if (!in) {
        env.err << "forcetls-ctl: cannot read " << rest[0] << "\n";
        return kExitProblem;
      }
      result = cache::import_jsonl(store, in);
    }
    for (const std::string& e : result.errors) {
      env.err << "forcetls-ctl: import: " << e << "\n";
    }
    env.out << "imported " << result.imported << " domains\n";
    return result.errors.empty() ? kExitOk : kExitProblem;
  }
  return cache_usage(env, "unknown subcommand '" + sub + "'");
}

}  // namespace forcetls::milter
