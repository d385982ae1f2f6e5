// SPDX-License-Identifier: Apache-2.0
// Killed writers and multi-process use of cache/store: a child process writes
// hard and is SIGKILLed mid-way (by its PID); every commit it reported must be
// intact after reopening, the commit in flight all there or absent, and the
// dead writer's lock recovered. SIGKILL ends the process, not the kernel:
// every page LMDB wrote is already in the page cache and reaches the file
// whatever the sync flags, so this proves atomic commits and lock recovery,
// not durability across a power loss or kernel crash (which it cannot
// simulate). A second process growing the map is adopted by the first.
// Children are forked while the test holds no threads.
#include <lmdb.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <set>

#include "cache/store.hpp"
#include "cache_fixtures.hpp"

using namespace forcetls;
using namespace forcetls::cache;
using namespace forcetls::cache::test;

namespace {

constexpr int kBatch = 20;

std::string domain_of(int batch, int i) {
  return "b" + std::to_string(batch) + "-" + std::to_string(i) + ".test";
}

checker::DomainReport batch_report(int batch, int i) {
  // Half the domains share a provider's MX, half have their own.
  if (i % 2 == 0) {
    return report(domain_of(batch, i), {{"mx1.provider.test", {good_address("192.0.2.1")}},
                                        {"mx2.provider.test", {good_address("192.0.2.2")}}});
  }
  std::string own = "mx." + domain_of(batch, i);
  return report(domain_of(batch, i),
                {{own,
                  {good_address("198.51.100." + std::to_string(1 + (batch + i) % 250)),
                   good_address("2001:db8::" + std::to_string(1 + i))}}});
}

// The child: reports its LMDB environment flags, then commits batches
// forever, reporting each committed batch number through the pipe. Never
// returns.
[[noreturn]] void writer_child(const std::string& path, Durability durability, int out) {
  StoreOptions o;
  o.path = path;
  o.durability = durability;
  auto store = Store::open(o);
  if (!store) {
    ::_exit(2);
  }
  const unsigned flags = (*store)->env_flags();
  if (::write(out, &flags, sizeof flags) != sizeof flags) {
    ::_exit(4);
  }
  for (int batch = 0;; ++batch) {
    std::vector<PutItem> items;
    for (int i = 0; i < kBatch; ++i) {
      items.push_back({batch_report(batch, i), {}});
    }
    if (!(*store)->put_many(items)) {
      ::_exit(3);
    }
    // Committed: say so. A write of 4 bytes to a pipe is atomic.
    if (::write(out, &batch, sizeof batch) != sizeof batch) {
      ::_exit(4);
    }
  }
}

// Kills and reaps the child if the test stops early (a failed REQUIRE), so
// no writer is left running; disarmed once the test has reaped it.
struct ChildGuard {
  explicit ChildGuard(pid_t p) : pid(p) {}
  pid_t pid;
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;
  ~ChildGuard() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

}  // namespace

TEST_CASE(
    "crash: a writer SIGKILLed mid-commit leaves its commits whole and its lock recoverable "
    "(atomicity, not durability)",
    "[cache]") {
  // full: data and meta page synced per commit (env without MDB_NOSYNC and
  // MDB_NOMETASYNC); no_meta_sync: the daemon's default. Never MDB_NOSYNC.
  const Durability durability = GENERATE(Durability::full, Durability::no_meta_sync);
  CAPTURE(static_cast<int>(durability));
  TempDir dir;
  const std::string path = dir.sub("c");
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    writer_child(path, durability, fds[1]);
  }
  ChildGuard guard{pid};
  ::close(fds[1]);
  // The environment the writer runs with is the one this test claims to cover.
  unsigned flags = 0;
  REQUIRE(::read(fds[0], &flags, sizeof flags) == static_cast<ssize_t>(sizeof flags));
  CHECK((flags & MDB_NOSYNC) == 0);
  CHECK((flags & MDB_MAPASYNC) == 0);
  if (durability == Durability::full) {
    CHECK((flags & MDB_NOMETASYNC) == 0);
  } else {
    CHECK((flags & MDB_NOMETASYNC) != 0);
  }
  std::set<int> committed;
  int batch = 0;
  // Let it commit a good number of batches, then kill it while it writes.
  while (committed.size() < 150) {
    ssize_t n = ::read(fds[0], &batch, sizeof batch);
    REQUIRE(n == static_cast<ssize_t>(sizeof batch));
    committed.insert(batch);
  }
  REQUIRE(::kill(pid, SIGKILL) == 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  guard.pid = 0;
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  // Batches reported between our last read and the kill.
  while (::read(fds[0], &batch, sizeof batch) == static_cast<ssize_t>(sizeof batch)) {
    committed.insert(batch);
  }
  ::close(fds[0]);
  const int last = *committed.rbegin();
  REQUIRE(static_cast<int>(committed.size()) == last + 1);  // 0..last, no gap

  FakeClock clock(::time(nullptr));
  auto store = Store::open(options_for(path, clock));
  REQUIRE(store);
  for (int b = 0; b <= last; ++b) {
    for (int i = 0; i < kBatch; ++i) {
      Lookup l = (*store)->lookup(domain_of(b, i));
      INFO(domain_of(b, i) << " " << to_string(l.miss));
      REQUIRE(l.state == Freshness::fresh);
      REQUIRE(l.report->eligible == checker::Eligibility::eligible);
    }
  }
  // The batch in flight at the kill is all there or not at all.
  int present = 0;
  for (int i = 0; i < kBatch; ++i) {
    present += (*store)->lookup(domain_of(last + 1, i)).state == Freshness::fresh ? 1 : 0;
  }
  CHECK((present == 0 || present == kBatch));
  StoreStats s = (*store)->stats();
  CHECK(s.decode_failures == 0);
  CHECK(s.domains >= static_cast<std::uint64_t>((last + 1) * kBatch));
  // And it takes writes again (the dead writer's lock was recovered).
  REQUIRE((*store)->put(simple("after.test", good_address("192.0.2.9"))));
  CHECK((*store)->lookup("after.test").state == Freshness::fresh);
  REQUIRE((*store)->flush());
  REQUIRE((*store)->sweep());
}

TEST_CASE("crash: a map grown by another process is adopted", "[cache]") {
  TempDir dir;
  const std::string path = dir.sub("c");
  FakeClock clock(::time(nullptr));
  StoreOptions o = options_for(path, clock);
  o.map_size = 128 * 1024;
  auto store = Store::open(o);
  REQUIRE(store);
  REQUIRE((*store)->put(simple("first.test", good_address("192.0.2.1"))));
  const std::uint64_t our_map = (*store)->stats().map_bytes;

  // forcetls-ctl importing a lot while the daemon runs.
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    StoreOptions co;
    co.path = path;
    co.map_size = 128 * 1024;
    co.durability = Durability::none;
    auto child = Store::open(co);
    if (!child) {
      ::_exit(2);
    }
    for (int b = 0; b < 100; ++b) {
      std::vector<PutItem> items;
      for (int i = 0; i < kBatch; ++i) {
        items.push_back({batch_report(b, i), {}});
      }
      if (!(*child)->put_many(items)) {
        ::_exit(3);
      }
    }
    ::_exit((*child)->stats().map_bytes > 4 * 128 * 1024 ? 0 : 5);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);

  // Our map is smaller than the data now: reads and writes adopt the new size.
  for (int b = 0; b < 100; b += 9) {
    INFO(domain_of(b, 3));
    CHECK((*store)->lookup(domain_of(b, 3)).state == Freshness::fresh);
  }
  CHECK((*store)->stats().map_bytes > our_map);
  REQUIRE((*store)->put(simple("last.test", good_address("192.0.2.1"))));
  CHECK((*store)->lookup("last.test").state == Freshness::fresh);
  CHECK((*store)->stats().domains == 100 * kBatch + 2);
}
