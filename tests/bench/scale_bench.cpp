// SPDX-License-Identifier: Apache-2.0
// scale_bench: the lab scale run of the cache. N domains sharing 20
// provider MX hosts are checked through the daemon's own pieces — a Store in
// a temporary directory, a ProbeService reusing fresh address results from
// it, a RefreshEngine bound to both — and it prints the TCP connections the
// prober opened next to the number of MX addresses and of domains. A second
// pass re-probes every domain on the warm cache. Not a test: run it by hand
// inside a scale lab and read the figures (tests/bench/scale_bench.sh does
// it all: lab up --scale, this, lab down).
//
//   scale_bench [--limit=N] [--waiters=4] [--concurrency=N] [--pause=MS]
//               [--deadline=S] [--dir=PATH] [--keep] [--per-address] [--no-recent]
//
// Needs the scale lab's environment (doc/lab.md: SCALE_DOMAINS,
// SCALE_MX, RESOLVER, RESOLVER_OPTION, TRUST_ANCHOR, CA_FILE, MX_LOG) and runs only inside
// the lab's network namespace (FORCETLS_IN_LAB=1, set by `lab exec`): every
// connection goes to the lab's 127.0.x.y servers.
//
// Defaults are the daemon's (conf::Config: concurrency 32, pause 500 ms,
// one connection at a time per address); --concurrency and --pause change
// them. The server side's own count of connections per address is read from
// MX_LOG (the scale services log as postfix/<host>/smtpd). --no-recent turns
// off the ProbeService's memory of recent address results (recent_window 0),
// to see what the store alone saves.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cache/refresh.hpp"
#include "cache/store.hpp"
#include "checker/dns/dns.hpp"
#include "checker/report/report.hpp"
#include "conf/config.hpp"
#include "milter/service/probe_service.hpp"
#include "milter/service/setup.hpp"

using namespace forcetls;
using SteadyClock = std::chrono::steady_clock;

namespace {

struct Flags {
  std::size_t limit = 0;  // 0: every domain of SCALE_DOMAINS
  int waiters = 4;
  int concurrency = 0;  // 0: the daemon's default
  int pause_ms = -1;    // -1: the daemon's default
  int deadline_s = 0;   // 0: the daemon's default probe deadline
  std::string dir;
  bool keep = false;
  bool per_address = false;
  bool recent = true;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: scale_bench [--limit=N] [--waiters=N] [--concurrency=N] [--pause=MS] "
               "[--deadline=S] [--dir=PATH] [--keep] [--per-address] [--no-recent]\n");
  std::exit(2);
}

Flags parse(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      std::size_t n = std::strlen(name);
      return a.compare(0, n, name) == 0 ? a.c_str() + n : nullptr;
    };
    if (const char* v = value("--limit=")) {
      f.limit = std::strtoull(v, nullptr, 10);
    } else if (const char* v = value("--waiters=")) {
      f.waiters = std::max(0, std::atoi(v));
    } else if (const char* v = value("--concurrency=")) {
      f.concurrency = std::max(1, std::atoi(v));
    } else if (const char* v = value("--pause=")) {
      f.pause_ms = std::max(0, std::atoi(v));
    } else if (const char* v = value("--deadline=")) {
      f.deadline_s = std::max(1, std::atoi(v));
    } else if (const char* v = value("--dir=")) {
      f.dir = v;
    } else if (a == "--keep") {
      f.keep = true;
    } else if (a == "--per-address") {
      f.per_address = true;
    } else if (a == "--no-recent") {
      f.recent = false;
    } else {
      usage();
    }
  }
  return f;
}

std::string need_env(const char* key) {
  const char* v = std::getenv(key);
  if (v == nullptr || *v == '\0') {
    std::fprintf(stderr,
                 "scale_bench: %s is not set: run it inside a scale lab "
                 "(tests/bench/scale_bench.sh, or tests/lab/lab up DIR --scale N; "
                 "tests/lab/lab exec DIR -- scale_bench)\n",
                 key);
    std::exit(2);
  }
  return v;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) {
      out.push_back(line);
    }
  }
  return out;
}

double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

// The receiving Postfix's count of connections per scale MX host, from the
// MX_LOG bytes after `offset` ("... postfix/<host>/smtpd[pid]: connect from").
std::map<std::string, std::uint64_t> server_connections(const std::string& log,
                                                        std::uintmax_t offset) {
  std::map<std::string, std::uint64_t> counts;
  std::ifstream in(log);
  in.seekg(static_cast<std::streamoff>(offset));
  for (std::string line; std::getline(in, line);) {
    std::size_t at = line.find("/smtpd[");
    if (at == std::string::npos || line.find("]: connect from ", at) == std::string::npos) {
      continue;
    }
    std::size_t start = line.rfind(" postfix/", at);
    if (start == std::string::npos) {
      continue;
    }
    start += std::strlen(" postfix/");
    ++counts[line.substr(start, at - start)];
  }
  return counts;
}

std::uintmax_t file_size(const std::string& path) {
  std::error_code ec;
  std::uintmax_t n = std::filesystem::file_size(path, ec);
  return ec ? 0 : n;
}

struct PassFigures {
  std::uint64_t connections = 0;
  std::uint64_t reused = 0;
  std::uint64_t reused_recent = 0;
  std::uint64_t probes = 0;  // domains probed by the engine
  std::uint64_t coalesced = 0;
  std::uint64_t abandoned = 0;
  std::uint64_t await_failures = 0;
  double wall = 0;
  std::map<std::string, std::uint64_t> server;  // MX host -> connections it saw
};

// One pass: every domain queued for a (re)probe, `waiters` threads awaiting
// their share as milter workers would, then the engine left to go idle.
PassFigures run_pass(const std::vector<std::string>& domains, cache::RefreshEngine& engine,
                     milter::ProbeService& service, int waiters, const std::string& mx_log) {
  PassFigures p;
  const int c0 = service.connections();
  const int r0 = service.reused();
  const int rr0 = service.reused_recent();
  const cache::EngineStats e0 = engine.stats();
  const std::uintmax_t log0 = file_size(mx_log);
  const auto t0 = SteadyClock::now();

  for (const std::string& d : domains) {
    engine.request_refresh(d, cache::Priority::background);
  }
  std::atomic<std::uint64_t> failures{0};
  std::vector<std::thread> threads;
  const auto deadline = SteadyClock::now() + std::chrono::hours(2);
  for (int w = 0; w < waiters; ++w) {
    threads.emplace_back([&, w] {
      for (std::size_t i = static_cast<std::size_t>(w); i < domains.size();
           i += static_cast<std::size_t>(waiters)) {
        if (!engine.await_fresh(domains[i], deadline)) {
          failures.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  // await_fresh returns at once for a domain still fresh; the re-probes
  // queued above finish after it.
  for (;;) {
    cache::EngineStats s = engine.stats();
    if (s.queued_waiting + s.queued_background + s.running == 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  p.wall = seconds_since(t0);
  const cache::EngineStats e1 = engine.stats();
  p.connections = static_cast<std::uint64_t>(service.connections() - c0);
  p.reused = static_cast<std::uint64_t>(service.reused() - r0);
  p.reused_recent = static_cast<std::uint64_t>(service.reused_recent() - rr0);
  p.probes = e1.probes_started - e0.probes_started;
  p.coalesced = e1.coalesced - e0.coalesced;
  p.abandoned = e1.probes_abandoned - e0.probes_abandoned;
  p.await_failures = failures.load();
  // Postfix's postlogd writes asynchronously; give the last lines a moment.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  p.server = server_connections(mx_log, log0);
  return p;
}

struct Census {
  std::uint64_t stored = 0;
  std::uint64_t fresh = 0;
  std::uint64_t eligible = 0;
  std::uint64_t ineligible = 0;
  std::uint64_t unknown = 0;
  std::set<std::string> hosts;
  std::set<std::string> addresses;    // host|address|port, as the cache keys them
  std::uint64_t address_entries = 0;  // over all stored domains
  // Connections one probe of the address cost, as stored (host -> count).
  std::map<std::string, int> probe_connections;
};

Census census(cache::Store& store, const std::vector<std::string>& domains) {
  Census c;
  for (const std::string& d : domains) {
    cache::Lookup l = store.peek(d);
    if (l.state == cache::Freshness::missing) {
      continue;
    }
    ++c.stored;
    c.fresh += l.state == cache::Freshness::fresh ? 1 : 0;
    switch (l.report->eligible) {
      case checker::Eligibility::eligible:
        ++c.eligible;
        break;
      case checker::Eligibility::ineligible:
        ++c.ineligible;
        break;
      case checker::Eligibility::unknown:
        ++c.unknown;
        break;
    }
    for (const checker::MxReport& mx : l.report->mx) {
      c.hosts.insert(mx.host);
      for (const checker::AddressReport& a : mx.addresses) {
        c.addresses.insert(mx.host + "|" + a.address + "|" + std::to_string(a.port));
        ++c.address_entries;
        c.probe_connections.emplace(mx.host, a.connections);
      }
    }
  }
  return c;
}

void print_pass(const char* name, const PassFigures& p, std::size_t domains, std::size_t addrs) {
  std::uint64_t server_total = 0;
  for (const auto& [host, n] : p.server) {
    server_total += n;
  }
  std::printf("%s pass:\n", name);
  // More probes than domains: a waiter's await_fresh looked in the store
  // just before the engine wrote the domain and asked for a flight just
  // after that domain's flight had ended, so it started a second probe.
  std::printf("  domains probed by the engine:      %" PRIu64 " (%" PRIu64
              " beyond one per domain; coalesced requests %" PRIu64 ", abandoned %" PRIu64
              ", await failures %" PRIu64 ")\n",
              p.probes, p.probes > domains ? p.probes - domains : 0, p.coalesced, p.abandoned,
              p.await_failures);
  std::printf("  TCP connections (prober):          %" PRIu64 "\n", p.connections);
  std::printf("  TCP connections (servers' logs):   %" PRIu64 " on %zu MX hosts\n", server_total,
              p.server.size());
  std::printf("  address results reused from cache: %" PRIu64 " (%" PRIu64
              " of them from the service's recent results)\n",
              p.reused, p.reused_recent);
  std::printf("  connections per MX address:        %.2f\n",
              addrs == 0 ? 0.0 : static_cast<double>(p.connections) / static_cast<double>(addrs));
  std::printf(
      "  connections per domain:            %.4f\n",
      domains == 0 ? 0.0 : static_cast<double>(p.connections) / static_cast<double>(domains));
  std::printf("  wall time:                         %.2f s (%.0f domains/s)\n", p.wall,
              p.wall > 0 ? static_cast<double>(domains) / p.wall : 0.0);
}

// How many times each address was probed: the servers' own connection
// counts against what one probe of that address cost (as stored), and where
// the address asks of the pass went.
void print_probes(const PassFigures& p, const Census& c, bool per_address) {
  std::uint64_t probes = 0;
  std::uint64_t repeated = 0;  // probes beyond the first, all addresses
  std::uint64_t extra_connections = 0;
  for (const auto& [host, n] : p.server) {
    auto it = c.probe_connections.find(host);
    const std::uint64_t per =
        it == c.probe_connections.end() ? 0 : static_cast<std::uint64_t>(it->second);
    const std::uint64_t k = per > 0 ? (n + per / 2) / per : 0;
    probes += k;
    repeated += k > 1 ? k - 1 : 0;
    extra_connections += per > 0 && n > per ? n - per : 0;
    if (per_address) {
      std::printf("    %-22s server saw %4" PRIu64 " connections, one probe costs %2" PRIu64
                  ": ~%" PRIu64 " probe(s)\n",
                  host.c_str(), n, per, k);
    }
  }
  // Every domain here asks for each of its addresses once per probe.
  const double per_domain =
      c.stored == 0 ? 0.0 : static_cast<double>(c.address_entries) / static_cast<double>(c.stored);
  const auto asks = static_cast<std::uint64_t>(static_cast<double>(p.probes) * per_domain + 0.5);
  const std::uint64_t to_prober = asks > p.reused ? asks - p.reused : 0;
  std::printf("  address asks:                      %" PRIu64 " (%" PRIu64
              " reused from the cache, %" PRIu64 " went to the prober's flights)\n",
              asks, p.reused, to_prober);
  std::printf("  address probes run (servers' connections / one probe's): ~%" PRIu64
              " for %zu addresses, so ~%" PRIu64
              " asks joined a probe already running; repeated probes of an address: ~%" PRIu64
              " (%" PRIu64 " connections)\n",
              probes, c.addresses.size(), to_prober > probes ? to_prober - probes : 0, repeated,
              extra_connections);
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = parse(argc, argv);
  if (std::getenv("FORCETLS_IN_LAB") == nullptr) {
    std::fprintf(stderr, "scale_bench: only inside the lab's namespace (tests/lab/lab exec)\n");
    return 2;
  }
  std::vector<std::string> domains = read_lines(need_env("SCALE_DOMAINS"));
  const std::vector<std::string> mx_lines = read_lines(need_env("SCALE_MX"));
  const std::string mx_log = need_env("MX_LOG");
  if (flags.limit > 0 && flags.limit < domains.size()) {
    domains.resize(flags.limit);
  }
  if (domains.empty()) {
    std::fprintf(stderr, "scale_bench: no domains in SCALE_DOMAINS\n");
    return 2;
  }

  bool temp = flags.dir.empty();
  if (temp) {
    char tmpl[] = "/tmp/forcetls-scale-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    flags.dir = tmpl;
  }

  conf::Config config;
  config.cache.path = flags.dir + "/cache";
  config.checker.resolver = need_env("RESOLVER");
  config.checker.trust_anchor = need_env("TRUST_ANCHOR");
  auto option = checker::parse_unbound_option(need_env("RESOLVER_OPTION"));
  if (!option) {
    std::fprintf(stderr, "scale_bench: RESOLVER_OPTION: %s\n", option.error().message.c_str());
    return 2;
  }
  config.checker.resolver_options = {*option};
  config.checker.ca_file = need_env("CA_FILE");
  config.checker.allow_private = true;  // the lab's MX hosts live on 127.0.x.y
  config.checker.ehlo_name = "scale-bench.lab.test";
  if (flags.concurrency > 0) {
    config.checker.concurrency = flags.concurrency;
  }
  if (flags.pause_ms >= 0) {
    config.checker.pause = std::chrono::milliseconds(flags.pause_ms);
  }
  if (flags.deadline_s > 0) {
    config.checker.probe_deadline = std::chrono::seconds(flags.deadline_s);
  }

  int status = 0;
  {
    auto store = cache::Store::open(milter::store_options(config));
    if (!store) {
      std::fprintf(stderr, "scale_bench: store: %s\n", store.error().message.c_str());
      return 1;
    }
    auto service = milter::ProbeService::start(
        milter::resolver_options(config), milter::prober_options(config, config.checker.ehlo_name),
        store->get(),
        std::chrono::duration_cast<std::chrono::milliseconds>(config.checker.probe_deadline),
        flags.recent ? milter::ProbeService::kRecentWindow : std::chrono::seconds(0));
    if (!service) {
      std::fprintf(stderr, "scale_bench: prober: %s\n", service.error().message.c_str());
      return 1;
    }
    milter::ProbeService* svc = service->get();
    cache::RefreshEngine engine(
        **store,
        [svc](const std::string& domain, cache::ProbeDone done) {
          svc->probe(domain, std::move(done));
        },
        milter::refresh_options(config));
    engine.start();

    std::printf("scale_bench: %zu domains, %zu provider MX hosts in SCALE_MX\n", domains.size(),
                mx_lines.size());
    std::printf(
        "  settings: concurrency %d domains, %d connection(s) at once per address, pause %lld "
        "ms, %d waiter threads, recent address results %s, store %s\n",
        config.checker.concurrency, config.checker.connections_per_address,
        static_cast<long long>(config.checker.pause.count()), flags.waiters,
        flags.recent ? "on" : "off", flags.dir.c_str());
    std::fflush(stdout);

    PassFigures cold = run_pass(domains, engine, *svc, flags.waiters, mx_log);
    Census after_cold = census(**store, domains);
    cache::StoreStats ss = (*store)->stats();

    std::printf("\ndomains checked:   %" PRIu64 " stored of %zu (eligible %" PRIu64
                ", ineligible %" PRIu64 ", unknown %" PRIu64 ")\n",
                after_cold.stored, domains.size(), after_cold.eligible, after_cold.ineligible,
                after_cold.unknown);
    std::printf("distinct MX hosts: %zu, distinct MX addresses: %zu\n", after_cold.hosts.size(),
                after_cold.addresses.size());
    print_pass("cold", cold, domains.size(), after_cold.addresses.size());

    print_probes(cold, after_cold, flags.per_address);
    std::printf("store: %" PRIu64 " domains, %" PRIu64
                " address records, %.1f MiB file, %.1f MiB "
                "used, %.0f bytes per domain\n",
                ss.domains, ss.addresses, static_cast<double>(ss.file_bytes) / (1 << 20),
                static_cast<double>(ss.used_bytes) / (1 << 20),
                ss.domains == 0
                    ? 0.0
                    : static_cast<double>(ss.used_bytes) / static_cast<double>(ss.domains));
    std::fflush(stdout);

    PassFigures warm = run_pass(domains, engine, *svc, flags.waiters, mx_log);
    Census after_warm = census(**store, domains);
    std::printf("\n");
    print_pass("warm (every domain re-probed; addresses fresh in the cache)", warm, domains.size(),
               after_warm.addresses.size());
    print_probes(warm, after_warm, false);
    std::printf("  after it: %" PRIu64 " stored, %" PRIu64 " fresh (eligible %" PRIu64
                ", ineligible %" PRIu64 ", unknown %" PRIu64 ")\n",
                after_warm.stored, after_warm.fresh, after_warm.eligible, after_warm.ineligible,
                after_warm.unknown);

    engine.stop();
    std::printf("\nsummary: %zu domains on %zu MX addresses: %" PRIu64
                " TCP connections cold (%.2f per address, %.4f per domain), %" PRIu64 " warm\n",
                domains.size(), after_cold.addresses.size(), cold.connections,
                after_cold.addresses.empty() ? 0.0
                                             : static_cast<double>(cold.connections) /
                                                   static_cast<double>(after_cold.addresses.size()),
                static_cast<double>(cold.connections) / static_cast<double>(domains.size()),
                warm.connections);
    if (after_cold.stored != domains.size() || cold.await_failures != 0) {
      std::printf("scale_bench: NOT every domain was checked\n");
      status = 1;
    }
  }
  if (temp && !flags.keep) {
    std::error_code ec;
    std::filesystem::remove_all(flags.dir, ec);
  }
  return status;
}
