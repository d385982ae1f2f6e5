// SPDX-License-Identifier: Apache-2.0
// Tests for the store's decoded cache (cache/decoded.hpp): a lookup served
// from memory is never older than what LMDB holds — after a put of the
// domain, a put of another domain sharing its MX address, a write by
// another process, and under concurrent readers and a writer.
#include "cache/decoded.hpp"

#include <lmdb.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "cache/store.hpp"
#include "cache_fixtures.hpp"

using namespace forcetls;
using namespace forcetls::cache;
using namespace forcetls::cache::test;
using checker::Eligibility;

namespace {

std::unique_ptr<Store> open_store(StoreOptions o, std::size_t decoded) {
  o.decoded_domains = decoded;
  auto s = Store::open(o);
  INFO((s ? std::string() : s.error().message));
  REQUIRE(s);
  return std::move(*s);
}

// Deletes a domain record the way another process would: its own LMDB
// environment, in a forked child (the parent's environment never crosses
// the fork; the child only opens its own).
void delete_in_other_process(const std::string& dir, const std::string& domain) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    MDB_env* env = nullptr;
    int ok = mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 8) == 0 &&
             mdb_env_open(env, dir.c_str(), 0, 0600) == 0;
    MDB_txn* txn = nullptr;
    MDB_dbi dbi = 0;
    ok = ok && mdb_txn_begin(env, nullptr, 0, &txn) == 0 &&
         mdb_dbi_open(txn, "domains", 0, &dbi) == 0;
    MDB_val k{domain.size(), const_cast<char*>(domain.data())};
    ok = ok && mdb_del(txn, dbi, &k, nullptr) == 0 && mdb_txn_commit(txn) == 0;
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}

}  // namespace

TEST_CASE("decoded cache: a repeated lookup is served from memory, the same report", "[cache]") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(options_for(dir.sub("c"), clock), 1000);
  REQUIRE(store->put(simple("a.test", good_address("192.0.2.1"))));
  Lookup first = store->lookup("a.test");
  Lookup second = store->lookup("a.test");
  REQUIRE(first.state == Freshness::fresh);
  CHECK(second.report.get() == first.report.get());  // the one decoded copy
  CHECK(second.report->eligible == Eligibility::eligible);
  CHECK(second.expires_at == first.expires_at);
}

TEST_CASE("decoded cache: a put of the domain replaces what is in memory", "[cache]") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(options_for(dir.sub("c"), clock), 1000);
  REQUIRE(store->put(simple("a.test", good_address("192.0.2.1"))));
  REQUIRE(store->lookup("a.test").report->eligible == Eligibility::eligible);
  REQUIRE(store->put(simple("a.test", plain_address("192.0.2.1"))));
  CHECK(store->lookup("a.test").report->eligible == Eligibility::ineligible);
  REQUIRE(store->purge("a.test"));
  CHECK(store->lookup("a.test").state == Freshness::missing);
}

TEST_CASE("decoded cache: another domain's probe of a shared MX address reaches this domain",
          "[cache]") {
  const std::size_t decoded = GENERATE(std::size_t{0}, std::size_t{1000});
  CAPTURE(decoded);
  TempDir dir;
  FakeClock clock;
  auto store = open_store(options_for(dir.sub("c"), clock), decoded);
  // Both domains use mx.provider.test at 192.0.2.7 (one address record).
  REQUIRE(store->put(simple("a.test", good_address("192.0.2.7"), "mx.provider.test")));
  REQUIRE(store->lookup("a.test").report->eligible == Eligibility::eligible);
  clock.advance(10);
  REQUIRE(store->put(simple("b.test", plain_address("192.0.2.7"), "mx.provider.test")));
  // a.test's record did not change; the address record it reads did.
  Lookup a = store->lookup("a.test");
  CHECK(a.report->eligible == Eligibility::ineligible);
  CHECK(a.report->mx.at(0).addresses.at(0).starttls == checker::Tri::no);
}

TEST_CASE("decoded cache: a write by another process is seen at the next lookup", "[cache]") {
  TempDir dir;
  FakeClock clock;
  const std::string path = dir.sub("c");
  auto store = open_store(options_for(path, clock), 1000);
  REQUIRE(store->put(simple("a.test", good_address("192.0.2.1"))));
  REQUIRE(store->put(simple("b.test", good_address("192.0.2.2"))));
  REQUIRE(store->lookup("a.test").state == Freshness::fresh);
  REQUIRE(store->lookup("b.test").state == Freshness::fresh);
  delete_in_other_process(path, "a.test");
  CHECK(store->lookup("a.test").state == Freshness::missing);
  CHECK(store->lookup("b.test").state == Freshness::fresh);
  // And a write of this process after it still invalidates as it should.
  REQUIRE(store->put(simple("b.test", plain_address("192.0.2.2"))));
  CHECK(store->lookup("b.test").report->eligible == Eligibility::ineligible);
}

TEST_CASE("decoded cache: readers never see a report older than the last commit before them",
          "[cache]") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(options_for(dir.sub("c"), clock), 1000);
  // The writer stores generation k (a.test or b.test in turn, the shared
  // address good or plain in turn, with k connections), then publishes k.
  const std::int64_t base = clock.now() - 1000;
  std::atomic<std::int64_t> committed{0};
  std::atomic<bool> stop{false};
  std::atomic<long> stale{0}, lookups{0};
  REQUIRE(store->put(simple("a.test", good_address("192.0.2.9"), "mx.shared.test", base)));
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        const std::int64_t before = committed.load();
        for (const char* d : {"a.test", "b.test"}) {
          Lookup l = store->lookup(d);
          lookups.fetch_add(1);
          // Generation k stores the shared address with k connections:
          // what a lookup reads is generation `before` or a later one.
          if (before > 0 && l.state != Freshness::missing &&
              l.report->mx.at(0).addresses.at(0).connections < before) {
            stale.fetch_add(1);
          }
        }
      }
    });
  }
  for (std::int64_t k = 1; k <= 400; ++k) {
    const char* d = k % 2 == 1 ? "a.test" : "b.test";
    auto addr = k % 2 == 1 ? good_address("192.0.2.9") : plain_address("192.0.2.9");
    addr.connections = static_cast<int>(k);
    auto r = simple(d, addr, "mx.shared.test", base + k);
    REQUIRE(store->put(r));
    committed.store(k);
    std::this_thread::yield();
  }
  stop = true;
  for (auto& t : readers) {
    t.join();
  }
  CHECK(lookups.load() > 400);
  CHECK(stale.load() == 0);
}
