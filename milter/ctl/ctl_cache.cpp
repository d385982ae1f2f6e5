// SPDX-License-Identifier: Apache-2.0
// forcetls-ctl cache commands over cache/admin.hpp.
#include "milter/ctl/ctl_cache.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <expected>
#include <fstream>
#include <iostream>
#include <optional>
#include <string_view>

#include "cache/admin.hpp"
#include "checker/report/domain_name.hpp"
#include "checker/report/next_hop.hpp"
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
    "       forcetls-ctl cache unpin DOMAIN\n"
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

/// A domain, or another report key (`[mx.example.com]`, `example.com:2525`).
Result<std::string> domain_arg(const std::string& text) {
  auto target = checker::parse_report_key(text);
  if (target && target->kind == checker::ReportTarget::Kind::domain) {
    if (auto d = checker::normalize_domain(target->name); !d) {
      return std::unexpected(d.error());
    }
  }
  if (!target) {
    return std::unexpected(target.error());
  }
  return target->key();
}

/// Prints "forcetls-ctl: MESSAGE" and returns kExitProblem.
int problem(CtlEnv& env, const Error& error) {
  env.err << "forcetls-ctl: " << error.message << "\n";
  return kExitProblem;
}

/// Prints "forcetls-ctl: SUBJECT: MESSAGE" and returns kExitProblem.
int problem(CtlEnv& env, std::string_view subject, const Error& error) {
  env.err << "forcetls-ctl: " << subject << ": " << error.message << "\n";
  return kExitProblem;
}

/// One `cache` subcommand's inputs: the opened store and the arguments after
/// the subcommand's name.
struct CacheCall {
  const conf::Config& config;
  cache::Store& store;
  std::vector<std::string> rest;
  CtlEnv& env;
};

int cache_list(const CacheCall& call) {
  const std::vector<std::string>& rest = call.rest;
  cache::ListFilter filter = cache::ListFilter::all;
  if (rest.size() == 1 && rest[0] == "--stale") {
    filter = cache::ListFilter::stale;
  } else if (rest.size() == 1 && rest[0] == "--ineligible") {
    filter = cache::ListFilter::ineligible;
  } else if (!rest.empty()) {
    return cache_usage(call.env, "list takes --stale or --ineligible");
  }
  auto entries = cache::list(call.store, filter);
  if (!entries) {
    return problem(call.env, entries.error());
  }
  call.env.out << cache::format_list(*entries, unix_now());
  return kExitOk;
}

/// The arguments of `show DOMAIN` and `refresh [--now] DOMAIN`.
struct DomainArgs {
  std::string domain;
  bool now = false;  ///< --now, accepted by refresh only
};
/// Parses `sub`'s arguments; on a usage or domain error, prints why and
/// returns the exit status instead.
std::expected<DomainArgs, int> domain_args(const CacheCall& call, const std::string& sub) {
  DomainArgs parsed;
  std::vector<std::string> names;
  for (const std::string& a : call.rest) {
    if (sub == "refresh" && a == "--now") {
      parsed.now = true;
    } else if (a.starts_with("-")) {
      return std::unexpected(cache_usage(call.env, "unknown option " + a));
    } else {
      names.push_back(a);
    }
  }
  if (names.size() != 1) {
    return std::unexpected(cache_usage(call.env, sub + " takes one DOMAIN"));
  }
  auto domain = domain_arg(names[0]);
  if (!domain) {
    return std::unexpected(problem(call.env, names[0], domain.error()));
  }
  parsed.domain = std::move(*domain);
  return parsed;
}

int cache_show(const CacheCall& call) {
  auto args = domain_args(call, "show");
  if (!args) {
    return args.error();
  }
  auto text = cache::show(call.store, args->domain);
  if (!text) {
    return problem(call.env, args->domain, text.error());
  }
  call.env.out << *text;
  return kExitOk;
}

/// `refresh DOMAIN`: marks a cached domain stale for the daemon's next scan.
int mark_stale(const CacheCall& call, const std::string& domain) {
  auto marked = cache::refresh(call.store, domain);
  if (!marked) {
    return problem(call.env, marked.error());
  }
  if (!*marked) {
    call.env.err << "forcetls-ctl: " << domain
                 << " is not cached (use --now to probe it from here)\n";
    return kExitProblem;
  }
  call.env.out << domain << ": marked stale; the daemon re-probes it at its next scan\n";
  return kExitOk;
}

/// `refresh --now DOMAIN`: probes the domain from this host and stores the report.
int probe_now(const CacheCall& call, const std::string& domain) {
  const conf::Config& config = call.config;
  // No store for the prober: "now" means every address is asked again,
  // none answered from the cache's fresh address results.
  auto service =
      ProbeService::start(resolver_options(config), prober_options(config, this_host_name()),
                          nullptr, config.checker.probe_deadline);
  if (!service) {
    return problem(call.env, service.error());
  }
  ProbeService* raw = service->get();
  auto report = cache::refresh_now(call.store, domain,
                                   [raw](const std::string& d) { return raw->probe_sync(d); });
  if (!report) {
    return problem(call.env, domain, report.error());
  }
  call.env.out << checker::to_text(*report);
  return kExitOk;
}

int cache_refresh(const CacheCall& call) {
  auto args = domain_args(call, "refresh");
  if (!args) {
    return args.error();
  }
  return args->now ? probe_now(call, args->domain) : mark_stale(call, args->domain);
}

// An admin who knows a pinned domain really dropped TLS releases its pin:
// the next probe's verdict then stands.
int cache_unpin(const CacheCall& call) {
  if (call.rest.size() != 1) {
    return cache_usage(call.env, "unpin takes one DOMAIN");
  }
  auto domain = domain_arg(call.rest[0]);
  if (!domain) {
    return problem(call.env, call.rest[0], domain.error());
  }
  auto removed = call.store.unpin(*domain);
  if (!removed) {
    return problem(call.env, removed.error());
  }
  call.env.out << *domain
               << (*removed ? ": unpinned (the next probe decides; forcetls-ctl cache refresh "
                              "to probe now)\n"
                            : ": was not pinned\n");
  return *removed ? kExitOk : kExitProblem;
}

int cache_purge(const CacheCall& call) {
  const std::vector<std::string>& rest = call.rest;
  if (rest.size() != 1) {
    return cache_usage(call.env, "purge takes one DOMAIN or --all");
  }
  if (rest[0] == "--all") {
    auto n = cache::purge_all(call.store);
    if (!n) {
      return problem(call.env, n.error());
    }
    call.env.out << "purged " << *n << " domains\n";
    return kExitOk;
  }
  auto domain = domain_arg(rest[0]);
  if (!domain) {
    return problem(call.env, rest[0], domain.error());
  }
  auto removed = cache::purge(call.store, *domain);
  if (!removed) {
    return problem(call.env, removed.error());
  }
  call.env.out << *domain << (*removed ? ": purged\n" : ": was not cached\n");
  return *removed ? kExitOk : kExitProblem;
}

int cache_stats(const CacheCall& call) {
  if (!call.rest.empty()) {
    return cache_usage(call.env, "stats takes no arguments");
  }
  call.env.out << cache::format_stats(call.store.stats());
  return kExitOk;
}

int cache_export(const CacheCall& call) {
  const std::vector<std::string>& rest = call.rest;
  if (!(rest.empty() || (rest.size() == 1 && rest[0] == "--json"))) {
    return cache_usage(call.env, "export writes JSON lines: export [--json]");
  }
  auto exported = cache::export_jsonl(call.store, call.env.out);
  if (!exported) {
    return problem(call.env, exported.error());
  }
  call.env.err << "exported " << exported->written << " domains"
               << (exported->skipped > 0
                       ? ", skipped " + std::to_string(exported->skipped) + " unreadable"
                       : "")
               << "\n";
  return kExitOk;
}

int cache_import(const CacheCall& call) {
  const std::vector<std::string>& rest = call.rest;
  if (rest.size() > 1) {
    return cache_usage(call.env, "import takes at most one FILE");
  }
  cache::ImportResult result;
  if (rest.empty() || rest[0] == "-") {
    result = cache::import_jsonl(call.store, std::cin);
  } else {
    std::ifstream in(rest[0]);
    if (!in) {
      call.env.err << "forcetls-ctl: cannot read " << rest[0] << "\n";
      return kExitProblem;
    }
    result = cache::import_jsonl(call.store, in);
  }
  for (const std::string& e : result.errors) {
    call.env.err << "forcetls-ctl: import: " << e << "\n";
  }
  call.env.out << "imported " << result.imported << " domains\n";
  return result.errors.empty() ? kExitOk : kExitProblem;
}

struct CacheSubcommand {
  std::string_view name;
  int (*run)(const CacheCall&);
};
constexpr CacheSubcommand kCacheSubcommands[] = {
    {"list", cache_list},     {"show", cache_show},     {"refresh", cache_refresh},
    {"purge", cache_purge},   {"unpin", cache_unpin},   {"stats", cache_stats},
    {"export", cache_export}, {"import", cache_import},
};

}  // namespace

namespace {

/// The daemon's ids, for root's commands (none when not root or unknown).
std::optional<DaemonIds> ids_as_root(const conf::Config& config) {
  if (::geteuid() != 0 || config.daemon.user.empty()) {
    return std::nullopt;
  }
  if (auto found = daemon_ids(config)) {
    return *found;
  }
  return std::nullopt;
}

/// Store::open with the cache owner's rights when run as root.
Result<std::unique_ptr<cache::Store>> open_as_owner(const conf::Config& config,
                                                    std::optional<DaemonIds> ids) {
  const AsCacheOwner as_owner(config.cache.path, ids);
  if (!as_owner.ok()) {
    return fail(Errc::io, std::string("cannot act as daemon.user: ") + std::strerror(errno));
  }
  return cache::Store::open(store_options(config));
}

}  // namespace

std::unique_ptr<cache::Reports> open_cache_reports(const conf::Config& config) {
  if (!directory_exists(config.cache.path) ||
      (::geteuid() == 0 && !check_cache(config.cache.path))) {
    return std::make_unique<cache::NoReports>();
  }
  auto store = open_as_owner(config, ids_as_root(config));
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
  // As root, the cache (and any LMDB file this opening creates) belongs to
  // daemon.user, as the daemon makes it: otherwise the daemon, once it has
  // dropped privileges, could not open a cache forcetls-ctl created.
  const std::optional<DaemonIds> ids = ids_as_root(config);
  // Only a command that writes gives the cache away; a read as root still
  // refuses LMDB files that are links to elsewhere.
  auto own = [&] {
    if (::geteuid() != 0) {
      return true;
    }
    auto owned =
        !must_exist && ids ? own_cache(config.cache.path, *ids) : check_cache(config.cache.path);
    if (!owned) {
      env.err << "forcetls-ctl: " << owned.error().message << "\n";
    }
    return owned.has_value();
  };
  if (!own()) {
    return nullptr;
  }
  auto opened = open_as_owner(config, ids);
  if (!opened) {
    env.err << "forcetls-ctl: cache " << config.cache.path << ": " << opened.error().message
            << "\n";
    return nullptr;
  }
  if (!own()) {
    return nullptr;
  }
  return std::move(*opened);
}

int cache_command(const conf::Config& config, const std::vector<std::string>& args, CtlEnv& env) {
  if (args.empty()) {
    return cache_usage(env, "a subcommand is needed");
  }
  const std::string& sub = args[0];
  const bool writes = sub == "refresh" || sub == "purge" || sub == "import" || sub == "unpin";
  std::unique_ptr<cache::Store> opened = open_ctl_store(config, !writes, env);
  if (!opened) {
    return kExitProblem;
  }
  const CacheCall call{config, *opened, std::vector<std::string>(args.begin() + 1, args.end()),
                       env};
  for (const CacheSubcommand& entry : kCacheSubcommands) {
    if (entry.name == sub) {
      return entry.run(call);
    }
  }
  return cache_usage(env, "unknown subcommand '" + sub + "'");
}

}  // namespace forcetls::milter
