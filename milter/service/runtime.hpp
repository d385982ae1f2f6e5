// SPDX-License-Identifier: Apache-2.0
// The configuration and policy the daemon's request paths read (the milter
// callbacks, the policy map), swapped whole on SIGHUP. A reader takes its
// shared_ptr once per message or request and keeps it: a reload never
// changes the rules under a message in flight. Any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "conf/config.hpp"
#include "policy/policy.hpp"

namespace forcetls::milter {

struct Runtime {
  conf::Config config;
  std::shared_ptr<const policy::Policy> policy;
};

class RuntimeSlot {
 public:
  void store(std::shared_ptr<const Runtime> runtime) {
    runtime_.store(std::move(runtime));
    generation_.fetch_add(1, std::memory_order_release);
  }
  std::shared_ptr<const Runtime> load() const { return runtime_.load(); }
  /// Bumped after each store: a thread that caches its copy (an atomic
  /// shared_ptr load is a contended lock with many clients) reloads it only
  /// when this changed.
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  std::atomic<std::shared_ptr<const Runtime>> runtime_;
  std::atomic<std::uint64_t> generation_{1};
};

}  // namespace forcetls::milter
