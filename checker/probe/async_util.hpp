// SPDX-License-Identifier: Apache-2.0
// Small coroutine primitives for the prober's single-threaded Asio loop:
// AsyncGate (a counting semaphore: per-address politeness) and SingleFlight
// (one computation per key, every asker awaits the same result: an address
// shared by many MX names or domains is probed once per run).
// Not thread-safe by design: use from coroutines on one io_context thread.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace forcetls::checker {

/// Wakes coroutines waiting on it; a timer that never expires by itself.
class Waiter {
 public:
  explicit Waiter(const asio::any_io_executor& ex)
      : timer_(ex, asio::steady_timer::time_point::max()) {}
  asio::awaitable<void> wait() {
    asio::error_code ec;  // operation_aborted is the wake-up
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  void wake_all() { timer_.cancel(); }

 private:
  asio::steady_timer timer_;
};

/// At most `limit` holders at once; acquire() waits in FIFO order.
class AsyncGate {
 public:
  explicit AsyncGate(int limit) : free_(limit) {}
  AsyncGate(const AsyncGate&) = delete;
  AsyncGate& operator=(const AsyncGate&) = delete;

  asio::awaitable<void> acquire() {
    if (free_ > 0 && waiters_.empty()) {
      --free_;
      co_return;
    }
    auto w = std::make_shared<Waiter>(co_await asio::this_coro::executor);
    waiters_.push_back(w);
    co_await w->wait();
    // release() handed its slot directly to us.
  }

  void release() {
    if (!waiters_.empty()) {
      auto w = waiters_.front();
      waiters_.pop_front();
      w->wake_all();
      return;
    }
    ++free_;
  }

  int available() const { return free_; }

 private:
  int free_;
  std::deque<std::shared_ptr<Waiter>> waiters_;
};

/// RAII holder of one AsyncGate slot.
class GateSlot {
 public:
  static asio::awaitable<GateSlot> take(AsyncGate& gate) {
    co_await gate.acquire();
    co_return GateSlot(gate);
  }
  GateSlot(const GateSlot&) = delete;
  GateSlot& operator=(const GateSlot&) = delete;
  GateSlot(GateSlot&& other) noexcept : gate_(other.gate_) { other.gate_ = nullptr; }
  GateSlot& operator=(GateSlot&&) = delete;
  ~GateSlot() {
    if (gate_ != nullptr) {
      gate_->release();
    }
  }

 private:
  explicit GateSlot(AsyncGate& gate) : gate_(&gate) {}
  AsyncGate* gate_;
};

/// One computation per key: concurrent askers await the running computation.
/// With `keep` (one forcetls-check run) later askers get the stored result
/// too; without it (the daemon, whose results live in the cache) a finished
/// computation is forgotten.
template <typename Key, typename T>
class SingleFlight {
 public:
  explicit SingleFlight(bool keep = true) : keep_(keep) {}

  template <typename Factory>
  asio::awaitable<T> get(const Key& key, Factory make) {
    auto it = slots_.find(key);
    if (it == slots_.end()) {
      auto slot = std::make_shared<Slot>(co_await asio::this_coro::executor);
      slots_.emplace(key, slot);
      ++computations_;
      slot->value = co_await make();
      slot->done.wake_all();
      if (!keep_) {
        slots_.erase(key);
      }
      co_return *slot->value;
    }
    std::shared_ptr<Slot> slot = it->second;
    while (!slot->value) {
      co_await slot->done.wait();
    }
    co_return *slot->value;
  }

  /// How many times a factory ran (tests and statistics).
  int computations() const { return computations_; }

 private:
  struct Slot {
    explicit Slot(const asio::any_io_executor& ex) : done(ex) {}
    Waiter done;
    std::optional<T> value;
  };
  std::map<Key, std::shared_ptr<Slot>> slots_;
  int computations_ = 0;
  bool keep_;
};

/// Runs every task concurrently on the current executor and returns their
/// results in order. An exception from a task is rethrown after all ended.
template <typename T>
asio::awaitable<std::vector<T>> gather(std::vector<asio::awaitable<T>> tasks) {
  auto executor = co_await asio::this_coro::executor;
  struct State {
    explicit State(const asio::any_io_executor& ex, std::size_t n)
        : results(n), left(n), done(ex) {}
    std::vector<std::optional<T>> results;
    std::size_t left;
    Waiter done;
    std::exception_ptr error;
  };
  auto state = std::make_shared<State>(executor, tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    asio::co_spawn(executor, std::move(tasks[i]), [state, i](std::exception_ptr e, T value) {
      if (e) {
        state->error = e;
      } else {
        state->results[i] = std::move(value);
      }
      if (--state->left == 0) {
        state->done.wake_all();
      }
    });
  }
  while (state->left > 0) {
    co_await state->done.wait();
  }
  if (state->error) {
    std::rethrow_exception(state->error);
  }
  std::vector<T> out;
  out.reserve(state->results.size());
  for (auto& r : state->results) {
    out.push_back(std::move(*r));
  }
  co_return out;
}

/// Waits `duration` on the current executor.
inline asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  asio::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace forcetls::checker
