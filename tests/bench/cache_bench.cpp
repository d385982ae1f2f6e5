// SPDX-License-Identifier: Apache-2.0
// cache_bench: lookup latency of cache/store with many domains stored,
// reader threads alone and then with a writer refreshing entries, and the
// store size per domain. Not a test: run it by hand and read the figures.
//
//   cache_bench [--domains=1000000] [--readers=8] [--seconds=10]
//               [--providers=50] [--shared=0.8] [--dir=PATH] [--keep]
//               [--durability=meta|full|none] [--writer-batch=1] [--normal-writer]
//
// The writer runs under SCHED_BATCH like the refresh engine's thread
// (RefreshOptions::batch_priority); --normal-writer shows the difference.
//
// With --dir and --keep a loaded store is reused by the next run (loading a
// million domains takes about a minute).
//
// Domains: a share (--shared) is hosted by --providers mail providers whose
// 2-4 MX hosts (two addresses each) they all use, the rest run one MX host
// of their own, as mail domains do. A writer thread stores fresh probe
// results (one commit each, as the refresh engine does) while the readers
// look up random domains.
#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cache/store.hpp"
#include "checker/report/report.hpp"
#include "tests/bench/synthetic_reports.hpp"

using namespace forcetls;
using namespace forcetls::cache;
using checker::Tri;
using SteadyClock = std::chrono::steady_clock;

namespace {

struct Flags {
  std::size_t domains = 1'000'000;
  int readers = 8;
  double seconds = 10;
  int providers = 50;
  double shared = 0.8;
  std::string dir;
  bool keep = false;
  bool batch_writer = true;  // writer under SCHED_BATCH, as the refresh engine runs
  Durability durability = Durability::no_meta_sync;
  std::size_t writer_batch = 1;
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
      f.domains = std::strtoull(v, nullptr, 10);
    } else if (const char* v = value("--readers=")) {
      f.readers = std::atoi(v);
    } else if (const char* v = value("--seconds=")) {
      f.seconds = std::atof(v);
    } else if (const char* v = value("--providers=")) {
      f.providers = std::atoi(v);
    } else if (const char* v = value("--shared=")) {
      f.shared = std::atof(v);
    } else if (const char* v = value("--dir=")) {
      f.dir = v;
    } else if (const char* v = value("--durability=")) {
      std::string d = v;
      f.durability = d == "full"   ? Durability::full
                     : d == "none" ? Durability::none
                                   : Durability::no_meta_sync;
    } else if (const char* v = value("--writer-batch=")) {
      f.writer_batch = std::max<std::size_t>(1, std::strtoull(v, nullptr, 10));
    } else if (a == "--normal-writer") {
      f.batch_writer = false;
    } else if (a == "--keep") {
      f.keep = true;
    } else {
      std::fprintf(stderr,
                   "usage: cache_bench [--domains=N] [--readers=N] [--seconds=S] "
                   "[--providers=N] [--shared=F] [--dir=PATH] [--keep] "
                   "[--durability=meta|full|none] [--writer-batch=N] [--normal-writer]\n");
      std::exit(2);
    }
  }
  return f;
}

checker::AddressReport address(std::string text, std::uint32_t kind) {
  return benchdata::synthetic_address(std::move(text), kind,
                                      {.failed_every = 50, .no_starttls_every = 20});
}

std::string domain_name(std::size_t i) { return benchdata::synthetic_domain(i); }

// Provider p's MX hosts, the same for every domain it hosts.
void provider_mx(checker::DomainReport& r, int p) {
  int hosts = 2 + p % 3;
  for (int h = 0; h < hosts; ++h) {
    checker::MxReport mx;
    mx.host = "mx" + std::to_string(h) + ".provider" + std::to_string(p) + ".net";
    mx.priority = static_cast<std::uint16_t>(10 * (h + 1));
    mx.addresses.push_back(address("10." + std::to_string(p) + "." + std::to_string(h) + ".1",
                                   static_cast<std::uint32_t>(p * 7 + h + 2)));
    char v6[64];
    std::snprintf(v6, sizeof v6, "2001:db8:%x:%x::25", p, h);
    mx.addresses.push_back(address(v6, static_cast<std::uint32_t>(p * 7 + h + 2)));
    r.mx.push_back(std::move(mx));
  }
}

checker::DomainReport make(std::size_t i, const Flags& f, std::uint32_t salt) {
  checker::DomainReport r;
  r.domain = domain_name(i);
  r.source = checker::MxSource::mx;
  r.dnssec = i % 10 == 0 ? checker::DnssecStatus::secure : checker::DnssecStatus::insecure;
  // A fixed hash of i decides the hosting, so rewrites keep the same MX set.
  std::uint64_t h = (i * 0x9E3779B97F4A7C15ull) >> 11;
  double u = static_cast<double>(h % 1'000'000) / 1e6;
  if (u < f.shared && f.providers > 0) {
    // Zipf-like: provider p gets a share proportional to 1/(p+1).
    int p = static_cast<int>(std::pow(static_cast<double>(f.providers + 1), u / f.shared)) - 1;
    provider_mx(r, std::clamp(p, 0, f.providers - 1));
  } else {
    checker::MxReport mx;
    mx.host = "mail." + r.domain;
    mx.priority = 10;
    std::uint32_t ip = 0x0A000000u + static_cast<std::uint32_t>(0x100000 + i);
    char v4[32];
    std::snprintf(v4, sizeof v4, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
                  ip & 255);
    mx.addresses.push_back(address(v4, static_cast<std::uint32_t>(i) + salt));
    r.mx.push_back(std::move(mx));
  }
  return r;
}

// Latency histogram: 10 ns buckets up to 1 ms, everything above kept.
struct Histogram {
  static constexpr std::size_t kBuckets = 100'000;
  std::vector<std::uint32_t> counts = std::vector<std::uint32_t>(kBuckets);
  std::vector<std::uint64_t> over;
  std::uint64_t n = 0;
  std::uint64_t max_ns = 0;
  void add(std::uint64_t ns) {
    ++n;
    max_ns = std::max(max_ns, ns);
    if (ns / 10 < kBuckets) {
      ++counts[ns / 10];
    } else {
      over.push_back(ns);
    }
  }
  void merge(const Histogram& o) {
    for (std::size_t i = 0; i < kBuckets; ++i) {
      counts[i] += o.counts[i];
    }
    over.insert(over.end(), o.over.begin(), o.over.end());
    n += o.n;
    max_ns = std::max(max_ns, o.max_ns);
  }
  double quantile(double q) {
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(n));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts[i];
      if (seen > rank) {
        return static_cast<double>(i * 10 + 5) / 1000.0;
      }
    }
    std::sort(over.begin(), over.end());
    std::size_t k = std::min<std::size_t>(over.size() - 1, rank - seen);
    return over.empty() ? 0.0 : static_cast<double>(over[k]) / 1000.0;
  }
};

struct Phase {
  Histogram latency;
  std::uint64_t misses = 0;
  // Context switches of the reader threads: voluntary ones mean a reader
  // blocked (a lock, a page read from disk); involuntary ones are
  // preemption by other runnable threads (more threads than cores).
  std::uint64_t voluntary = 0;
  std::uint64_t involuntary = 0;
  std::uint64_t writes = 0;
  double seconds = 0;
};

Phase run_phase(Store& store, const Flags& f, bool with_writer) {
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> writes{0};
  std::vector<Histogram> hist(static_cast<std::size_t>(f.readers));
  std::vector<std::uint64_t> misses(static_cast<std::size_t>(f.readers));
  std::vector<std::uint64_t> vol(static_cast<std::size_t>(f.readers));
  std::vector<std::uint64_t> invol(static_cast<std::size_t>(f.readers));
  std::vector<std::thread> threads;
  for (int t = 0; t < f.readers; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(0xC0FFEEu + static_cast<unsigned>(t));
      std::uniform_int_distribution<std::size_t> pick(0, f.domains - 1);
      Histogram& h = hist[static_cast<std::size_t>(t)];
      std::string name;
      struct rusage before {};
      ::getrusage(RUSAGE_THREAD, &before);
      while (!stop.load(std::memory_order_relaxed)) {
        name = domain_name(pick(rng));
        auto start = SteadyClock::now();
        Lookup l = store.lookup(name);
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - start)
                      .count();
        h.add(static_cast<std::uint64_t>(ns));
        if (l.state != Freshness::fresh) {
          ++misses[static_cast<std::size_t>(t)];
        }
      }
      struct rusage after {};
      ::getrusage(RUSAGE_THREAD, &after);
      vol[static_cast<std::size_t>(t)] =
          static_cast<std::uint64_t>(after.ru_nvcsw - before.ru_nvcsw);
      invol[static_cast<std::size_t>(t)] =
          static_cast<std::uint64_t>(after.ru_nivcsw - before.ru_nivcsw);
    });
  }
  if (with_writer) {
    threads.emplace_back([&] {
      if (f.batch_writer) {
        // What the refresh engine does with batch_priority: no wakeup
        // preemption of the milter's readers by the writer.
        struct sched_param none {};
        ::sched_setscheduler(0, SCHED_BATCH, &none);
      }
      std::mt19937_64 rng(42);
      std::uniform_int_distribution<std::size_t> pick(0, f.domains - 1);
      auto next_flush = SteadyClock::now() + std::chrono::seconds(1);
      std::uint32_t salt = 1;
      std::vector<PutItem> items;
      while (!stop.load(std::memory_order_relaxed)) {
        items.clear();
        for (std::size_t k = 0; k < f.writer_batch; ++k) {
          items.push_back({make(pick(rng), f, salt++), {}});
        }
        if (!store.put_many(items)) {
          std::fprintf(stderr, "cache_bench: put failed\n");
          std::exit(1);
        }
        writes.fetch_add(items.size(), std::memory_order_relaxed);
        if (SteadyClock::now() >= next_flush) {
          (void)store.flush();
          next_flush = SteadyClock::now() + std::chrono::seconds(1);
        }
      }
    });
  }
  auto start = SteadyClock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(f.seconds));
  stop = true;
  for (auto& t : threads) {
    t.join();
  }
  Phase p;
  p.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  for (std::size_t t = 0; t < hist.size(); ++t) {
    p.latency.merge(hist[t]);
    p.misses += misses[t];
    p.voluntary += vol[t];
    p.involuntary += invol[t];
  }
  p.writes = writes.load();
  return p;
}

void print_phase(const char* label, Phase& p, int readers) {
  std::printf("%-28s lookups=%" PRIu64
              " (%.0f/s, %d readers) p50=%.2fus p90=%.2fus p99=%.2fus "
              "p99.9=%.2fus max=%.1fus not_fresh=%" PRIu64,
              label, p.latency.n, static_cast<double>(p.latency.n) / p.seconds, readers,
              p.latency.quantile(0.5), p.latency.quantile(0.9), p.latency.quantile(0.99),
              p.latency.quantile(0.999), static_cast<double>(p.latency.max_ns) / 1000.0, p.misses);
  if (p.writes > 0) {
    std::printf(" writes=%" PRIu64 " (%.0f/s)", p.writes,
                static_cast<double>(p.writes) / p.seconds);
  }
  std::printf("\n%-28s reader context switches: voluntary=%" PRIu64
              " (blocked) involuntary=%" PRIu64 " (preempted)\n",
              "", p.voluntary, p.involuntary);
}

}  // namespace

int main(int argc, char** argv) {
  Flags f = parse(argc, argv);
  std::string dir = f.dir;
  bool made = false;
  if (dir.empty()) {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/forcetls-bench-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    dir = tmpl;
    made = true;
  }
  StoreOptions o;
  o.path = dir + "/cache";
  o.max_map_size = 64ull << 30;
  o.max_readers = 4096;
  o.durability = f.durability;
  auto opened = Store::open(o);
  if (!opened) {
    std::fprintf(stderr, "cache_bench: %s\n", opened.error().message.c_str());
    return 1;
  }
  Store& store = **opened;

  double load_avg[3] = {0, 0, 0};
  (void)::getloadavg(load_avg, 3);
  std::printf(
      "cache_bench: %zu domains, %.0f%% on %d providers, %d readers, %.0fs per phase, "
      "writer batch %zu%s, %u cores, load average %.1f\n",
      f.domains, f.shared * 100, f.providers, f.readers, f.seconds, f.writer_batch,
      f.batch_writer ? " (SCHED_BATCH)" : " (normal priority)", std::thread::hardware_concurrency(),
      load_avg[0]);
  auto load_start = SteadyClock::now();
  constexpr std::size_t kBatch = 5000;
  std::vector<PutItem> batch;
  const std::size_t have = store.stats().domains;
  if (have >= f.domains) {
    std::printf("load: reusing the %zu domains in %s\n", have, o.path.c_str());
  }
  for (std::size_t i = have >= f.domains ? f.domains : 0; i < f.domains; ++i) {
    batch.push_back({make(i, f, 0), {}});
    if (batch.size() == kBatch || i + 1 == f.domains) {
      if (auto r = store.put_many(batch); !r) {
        std::fprintf(stderr, "cache_bench: load: %s\n", r.error().message.c_str());
        return 1;
      }
      batch.clear();
    }
  }
  double load_s = std::chrono::duration<double>(SteadyClock::now() - load_start).count();
  StoreStats s = store.stats();
  if (have < f.domains) {
    std::printf("load: %.1fs (%.0f domains/s, batches of %zu)\n", load_s,
                static_cast<double>(f.domains) / load_s, kBatch);
  }
  std::printf("store: domains=%" PRIu64 " mx_address_records=%" PRIu64
              " used=%.1fMiB "
              "file=%.1fMiB map=%.1fMiB bytes_per_domain=%.0f (used/domains)\n",
              s.domains, s.addresses, static_cast<double>(s.used_bytes) / 1048576.0,
              static_cast<double>(s.file_bytes) / 1048576.0,
              static_cast<double>(s.map_bytes) / 1048576.0,
              static_cast<double>(s.used_bytes) / static_cast<double>(s.domains));

  // Warm the page cache once so both phases read from memory.
  Flags warm = f;
  warm.seconds = std::min(2.0, f.seconds);
  (void)run_phase(store, warm, false);
  Phase readers_only = run_phase(store, f, false);
  print_phase("readers only:", readers_only, f.readers);
  Phase with_writer = run_phase(store, f, true);
  print_phase("readers + writer:", with_writer, f.readers);

  s = store.stats();
  std::printf("after: domains=%" PRIu64 " used=%.1fMiB map_grows=%" PRIu64 " readers_slots=%u\n",
              s.domains, static_cast<double>(s.used_bytes) / 1048576.0, s.map_grows, s.readers);
  std::printf("target: p99 < 20us with the writer running -> %s\n",
              with_writer.latency.quantile(0.99) < 20.0 ? "met" : "NOT met");
  opened->reset();
  if (made && !f.keep) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  } else {
    std::printf("store kept in %s\n", dir.c_str());
  }
  return 0;
}
