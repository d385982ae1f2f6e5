// SPDX-License-Identifier: Apache-2.0
// rcpt_bench: warm-cache decision latency per RCPT, as the daemon makes it
// (the milter benchmarks). Not a test: run it by hand and read the figures.
//
//   rcpt_bench [--domains=100000] [--threads=1,2,4,8] [--seconds=3] [--dir=PATH]
//              [--decoded=N] [--max-map-mb=N]
//
// --decoded: domains kept decoded in memory (StoreOptions::decoded_domains;
// default the store's); --max-map-mb: the LMDB map's limit (cache.max_size),
// large enough at 1,000,000 domains that the fill evicts nothing. The disk
// and memory used are printed.
//
// What is timed, per RCPT, is what forcetls-milter's on_envrcpt does with a
// warm cache: check_recipient() (address -> domain -> policy match ->
// RefreshEngine::lookup() on the LMDB store -> decode -> judge -> decide)
// through the daemon's own EngineReports, then the recipient's log fields
// (RecipientOutcome::log_fields(), which the daemon formats when the message
// ends). Everything is real: an LMDB store filled with --domains reports,
// the refresh engine running (its thread, its used-time notes), a policy
// parsed from YAML with several rules. Domains are drawn at random, so the
// store's pages are as warm as a busy server's, not one hot key.
// Reports are synthetic but shaped like the prober's: 1-4 MX hosts, two
// addresses each, 7/8 eligible, the rest ineligible or unknown.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cache/refresh.hpp"
#include "cache/store.hpp"
#include "checker/report/report.hpp"
#include "conf/loader.hpp"
#include "milter/recipients/recipient_check.hpp"
#include "tests/bench/synthetic_reports.hpp"

using namespace forcetls;
using checker::Tri;
using SteadyClock = std::chrono::steady_clock;

namespace {

struct Flags {
  std::size_t domains = 100'000;
  std::vector<int> threads = {1, 2, 4, 8};
  double seconds = 3;
  std::string dir;
  std::optional<std::size_t> decoded;
  std::optional<std::size_t> max_map_mb;
};

Flags parse(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      std::size_t n = std::strlen(name);
      return a.compare(0, n, name) == 0 ? a.c_str() + n : nullptr;
    };
    if (const char* v = value("--domains=")) {
      f.domains = std::max<std::size_t>(1, std::strtoull(v, nullptr, 10));
    } else if (const char* v = value("--threads=")) {
      f.threads.clear();
      for (const char* p = v; *p != '\0';) {
        f.threads.push_back(std::max(1, std::atoi(p)));
        const char* comma = std::strchr(p, ',');
        p = comma != nullptr ? comma + 1 : p + std::strlen(p);
      }
    } else if (const char* v = value("--seconds=")) {
      f.seconds = std::atof(v);
    } else if (const char* v = value("--dir=")) {
      f.dir = v;
    } else if (const char* v = value("--decoded=")) {
      f.decoded = std::strtoull(v, nullptr, 10);
    } else if (const char* v = value("--max-map-mb=")) {
      f.max_map_mb = std::max<std::size_t>(1, std::strtoull(v, nullptr, 10));
    } else {
      std::fprintf(stderr,
                   "usage: rcpt_bench [--domains=N] [--threads=1,2,4] [--seconds=S] "
                   "[--dir=PATH] [--decoded=N] [--max-map-mb=N]\n");
      std::exit(2);
    }
  }
  return f;
}

// A policy with the shapes the daemon meets: exact names, suffixes,
// sender conditions, several modes; most domains fall to `default`.
constexpr const char* kPolicy = R"(default:
  mode: require
  on_ineligible: reject
  on_unknown: tempfail
rules:
  - domains: [partner.example, .partner.example]
    mode: require
    on_ineligible: reject
  - domains: [clinic.example, lab.example]
    mode: require
    min_grade: B
    require_verified_cert: true
    on_ineligible: redirect
    redirect_to: portal-inbox@secure-portal.example
  - domains: [.courts.example]
    senders: [legal.example.net]
    mode: require
    require: either
  - domains: [d7.example, d77.example, d777.example, .sub.example]
    mode: prefer
  - domains: [internal.example]
    mode: off
)";

std::string domain_name(std::size_t i) { return benchdata::synthetic_domain(i); }

checker::AddressReport address(std::string text, std::uint64_t kind) {
  return benchdata::synthetic_address(std::move(text), kind,
                                      {.failed_every = 40, .no_starttls_every = 10});
}

checker::DomainReport make(std::size_t i, std::int64_t now) {
  checker::DomainReport r;
  r.domain = domain_name(i);
  r.checked_at = now;
  r.source = checker::MxSource::mx;
  r.dnssec = checker::DnssecStatus::insecure;
  const std::uint64_t h = (i * 0x9E3779B97F4A7C15ull) >> 17;
  const int hosts = 1 + static_cast<int>(h % 4);
  // One domain in 8 has a bad first MX: no STARTTLS (ineligible) or a
  // failed probe (unknown), half each; the rest are eligible.
  const std::uint64_t bad = (h >> 8) % 8 != 0 ? 2 : ((h >> 16) % 2 == 0 ? 1 : 40);
  for (int k = 0; k < hosts; ++k) {
    checker::MxReport mx;
    mx.host = "mx" + std::to_string(k) + "." + r.domain;
    mx.priority = static_cast<std::uint16_t>(10 * (k + 1));
    const std::uint64_t kind = k == 0 ? bad : 2;
    mx.addresses.push_back(address(
        "10." + std::to_string(i % 250) + "." + std::to_string(k) + "." + std::to_string(i % 200),
        kind));
    mx.addresses.push_back(
        address("2001:db8::" + std::to_string(i % 9000) + ":" + std::to_string(k), kind));
    r.mx.push_back(std::move(mx));
  }
  return r;
}

struct Timings {
  std::vector<std::uint64_t> check_ns;  // check_recipient()
  std::vector<std::uint64_t> rcpt_ns;   // check_recipient() + log_fields()
  std::uint64_t accepted = 0, rejected = 0, tempfailed = 0, not_hit = 0;
  std::uint64_t involuntary = 0;
};

double q(const std::vector<std::uint64_t>& sorted, double p) {
  if (sorted.empty()) {
    return 0;
  }
  std::size_t k = std::min(sorted.size() - 1, static_cast<std::size_t>(p * sorted.size()));
  return static_cast<double>(sorted[k]) / 1000.0;
}

Timings run(cache::Reports& reports, const policy::Policy& pol, const Flags& f, int threads) {
  std::atomic<bool> stop{false};
  std::vector<Timings> per(static_cast<std::size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      Timings& r = per[static_cast<std::size_t>(t)];
      r.check_ns.reserve(2'000'000);
      r.rcpt_ns.reserve(2'000'000);
      std::mt19937_64 rng(0xF00Du + static_cast<unsigned>(t));
      std::uniform_int_distribution<std::size_t> pick(0, f.domains - 1);
      policy::MessageContext message{.sender_domain = "sender.example",
                                     .auth_user = "",
                                     .daemon_name = "ORIGINATING",
                                     .local_submission = false};
      milter::CheckOptions options;
      options.on_miss = conf::MissBehaviour::answer_now;
      struct rusage before {};
      ::getrusage(RUSAGE_THREAD, &before);
      while (!stop.load(std::memory_order_relaxed)) {
        const std::string rcpt =
            "<user" + std::to_string(pick(rng) % 1000) + "@" + domain_name(pick(rng)) + ">";
        const auto t0 = SteadyClock::now();
        milter::RecipientOutcome out =
            milter::check_recipient(pol, message, rcpt, reports, options);
        const auto t1 = SteadyClock::now();
        const std::string line = out.log_fields();
        const auto t2 = SteadyClock::now();
        r.check_ns.push_back(static_cast<std::uint64_t>(std::chrono::nanoseconds(t1 - t0).count()));
        r.rcpt_ns.push_back(static_cast<std::uint64_t>(std::chrono::nanoseconds(t2 - t0).count()));
        if (out.cache != milter::CacheUse::hit) {
          ++r.not_hit;
        }
        switch (out.reply) {
          case milter::RcptReply::accept:
            ++r.accepted;
            break;
          case milter::RcptReply::reject:
            ++r.rejected;
            break;
          case milter::RcptReply::tempfail:
            ++r.tempfailed;
            break;
        }
        if (line.empty()) {
          std::abort();
        }
      }
      struct rusage after {};
      ::getrusage(RUSAGE_THREAD, &after);
      r.involuntary = static_cast<std::uint64_t>(after.ru_nivcsw - before.ru_nivcsw);
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(f.seconds));
  stop = true;
  for (auto& th : pool) {
    th.join();
  }
  Timings all;
  for (Timings& r : per) {
    all.check_ns.insert(all.check_ns.end(), r.check_ns.begin(), r.check_ns.end());
    all.rcpt_ns.insert(all.rcpt_ns.end(), r.rcpt_ns.begin(), r.rcpt_ns.end());
    all.accepted += r.accepted;
    all.rejected += r.rejected;
    all.tempfailed += r.tempfailed;
    all.not_hit += r.not_hit;
    all.involuntary += r.involuntary;
  }
  std::sort(all.check_ns.begin(), all.check_ns.end());
  std::sort(all.rcpt_ns.begin(), all.rcpt_ns.end());
  return all;
}

// Resident set size of this process (/proc/self/statm), MiB.
double resident_mib() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  unsigned long long pages = 0, resident = 0;
  if (f != nullptr) {
    if (std::fscanf(f, "%llu %llu", &pages, &resident) != 2) {
      resident = 0;
    }
    std::fclose(f);
  }
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / 1048576.0;
}

}  // namespace

int main(int argc, char** argv) {
  const Flags f = parse(argc, argv);
  std::string dir = f.dir;
  bool temporary = false;
  if (dir.empty()) {
    char tmpl[] = "/tmp/forcetls-rcpt-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    dir = tmpl;
    temporary = true;
  }
  auto loaded = conf::parse_policy(kPolicy, "rcpt_bench policy");
  if (!loaded.ok()) {
    std::fprintf(stderr, "rcpt_bench: the built-in policy does not parse\n");
    return 1;
  }
  const policy::Policy& pol = loaded.value;

  cache::StoreOptions so;
  so.path = dir;
  if (f.decoded) {
    so.decoded_domains = *f.decoded;
  }
  if (f.max_map_mb) {
    so.max_map_size = *f.max_map_mb << 20;
  }
  auto store = cache::Store::open(so);
  if (!store) {
    std::fprintf(stderr, "rcpt_bench: %s\n", store.error().message.c_str());
    return 1;
  }
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  const auto fill0 = SteadyClock::now();
  std::vector<cache::PutItem> batch;
  for (std::size_t i = 0; i < f.domains; ++i) {
    batch.push_back({make(i, now), {}});
    if (batch.size() == 1000 || i + 1 == f.domains) {
      if (auto put = (*store)->put_many(batch); !put) {
        std::fprintf(stderr, "rcpt_bench: put: %s\n", put.error().message.c_str());
        return 1;
      }
      batch.clear();
    }
  }
  const double fill_s = std::chrono::duration<double>(SteadyClock::now() - fill0).count();

  std::atomic<std::uint64_t> probes{0};
  cache::RefreshEngine engine(**store, [&](const std::string&, cache::ProbeDone) { ++probes; });
  engine.start();
  cache::EngineReports reports(engine, **store);

  std::printf(
      "rcpt_bench: %zu domains in an LMDB store (filled in %.1f s), engine running; "
      "%u cores, load average before ",
      f.domains, fill_s, std::thread::hardware_concurrency());
  double load[3] = {0, 0, 0};
  if (::getloadavg(load, 3) == 3) {
    std::printf("%.2f %.2f %.2f", load[0], load[1], load[2]);
  }
  std::printf("\n");
  // Warm-up: every domain once, so the store's pages are in memory as on a
  // server that has been running.
  {
    policy::MessageContext message;
    milter::CheckOptions options;
    options.on_miss = conf::MissBehaviour::answer_now;
    for (std::size_t i = 0; i < f.domains; ++i) {
      milter::check_recipient(pol, message, "<a@" + domain_name(i) + ">", reports, options);
    }
  }
  std::printf("%7s %10s | %-38s | %-38s | %s\n", "threads", "rcpts/s",
              "check_recipient() us p50 p99 p99.9 max", "+ log fields us p50 p99 p99.9 max",
              "accept/reject/tempfail, not hit, preempted");
  bool all_hit = true;
  double worst_p99 = 0;
  for (int threads : f.threads) {
    Timings r = run(reports, pol, f, threads);
    const double n = static_cast<double>(r.rcpt_ns.size());
    std::printf(
        "%7d %10.0f | %8.1f %8.1f %8.1f %9.1f  | %8.1f %8.1f %8.1f %9.1f  | "
        "%.0f%%/%.0f%%/%.0f%%, %llu, %llu\n",
        threads, n / f.seconds, q(r.check_ns, 0.5), q(r.check_ns, 0.99), q(r.check_ns, 0.999),
        q(r.check_ns, 1.0), q(r.rcpt_ns, 0.5), q(r.rcpt_ns, 0.99), q(r.rcpt_ns, 0.999),
        q(r.rcpt_ns, 1.0), 100.0 * r.accepted / n, 100.0 * r.rejected / n, 100.0 * r.tempfailed / n,
        static_cast<unsigned long long>(r.not_hit), static_cast<unsigned long long>(r.involuntary));
    all_hit = all_hit && r.not_hit == 0;
    if (threads <= static_cast<int>(std::thread::hardware_concurrency())) {
      worst_p99 = std::max(worst_p99, q(r.rcpt_ns, 0.99));
    }
  }
  engine.stop();
  const cache::StoreStats st = (*store)->stats();
  std::printf(
      "store: %llu domains, %llu address records, %llu evicted; data.mdb %.0f MiB on disk; "
      "decoded cache up to %zu domains; resident memory %.0f MiB\n",
      static_cast<unsigned long long>(st.domains), static_cast<unsigned long long>(st.addresses),
      static_cast<unsigned long long>(st.evicted), st.file_bytes / 1048576.0, so.decoded_domains,
      resident_mib());
  std::printf("probes started: %llu (a warm cache needs none); every lookup a hit: %s\n",
              static_cast<unsigned long long>(probes.load()), all_hit ? "yes" : "NO");
  std::printf("p99 per RCPT (check + log fields), threads <= cores: %.1f us (target < 100 us)\n",
              worst_p99);
  store->reset();
  if (temporary) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return all_hit ? 0 : 1;
}
