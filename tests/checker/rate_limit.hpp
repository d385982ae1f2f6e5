// SPDX-License-Identifier: Apache-2.0
// The lab's rate-limiting personality as lab tests see it: the `421-after=N/S`
// fault of a servers.tsv row (the emulator answers 421 once more than N
// connections arrived within S seconds, and counts every attempt), waiting out
// its window, and counting the 421s it logged; and a limited listener a test
// starts for itself, with a window longer than any probe. Header-only; any
// thread.
#pragma once

#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "tests/lab/lab_env.hpp"

namespace forcetls::labtest {

struct RateLimit {
  int connections = 0;            ///< N: connections the window allows
  std::chrono::seconds window{};  ///< S
};

/// The `421-after=N/S` fault of `server`; REQUIREs that the row has one.
inline RateLimit rate_limit_of(const Row& server) {
  const std::string& fault = server.at("fault");
  const std::string prefix = "421-after=";
  REQUIRE(fault.starts_with(prefix));
  std::vector<std::string> parts = split(fault.substr(prefix.size()), '/');
  REQUIRE(parts.size() == 2);
  return RateLimit{std::stoi(parts[0]), std::chrono::seconds(std::stoi(parts[1]))};
}

/// Sleeps one window and a margin: the emulator then remembers no earlier
/// connection (ours or an earlier test's), so the next N connections get in.
/// Lab tests hold RESOURCE_LOCK lab, so nobody else connects meanwhile.
inline void wait_out(const RateLimit& limit) {
  std::this_thread::sleep_for(limit.window + std::chrono::milliseconds(500));
}

/// The emulator log (EMULATOR_LOG): its size now, to count from later.
inline std::streamoff emulator_log_size() {
  std::ifstream in(env().get("EMULATOR_LOG"), std::ios::ate | std::ios::binary);
  return in ? static_cast<std::streamoff>(in.tellg()) : 0;
}

/// The 421s the emulator logged for `addr` since `from` (emulator_log_size()).
inline int emulator_421s_since(std::streamoff from, const std::string& addr) {
  std::ifstream in(env().get("EMULATOR_LOG"), std::ios::binary);
  in.seekg(from);
  int n = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(" addr=" + addr + " ") != std::string::npos &&
        line.find(" event=421") != std::string::npos) {
      ++n;
    }
  }
  return n;
}

/// One more emulator listener (tests/lab/tls_emulator.py serve) that proxies
/// to `backend` (ADDR:PORT) and answers 421 once more than `limit.connections`
/// attempts arrived within `limit.window`, on `addr` port 25 of the lab's
/// namespace (an address no servers.tsv row uses). Its config and log live
/// under the lab's state directory; the process is stopped by its PID when
/// this goes. The test holds the lab (RESOURCE_LOCK), so no one else talks to it.
class LimitedListener {
 public:
  LimitedListener(const std::string& addr, const std::string& name, const std::string& backend,
                  RateLimit limit)
      : addr_(addr), dir_(env().dir + "/limited-" + addr) {
    REQUIRE(run("rm -rf " + shell_quote(dir_) + " && mkdir -p " + shell_quote(dir_)).status == 0);
    std::ofstream(dir_ + "/config.json")
        << R"({"listeners": [{"name": ")" << name << R"(", "addr": ")" << addr
        << R"(", "port": 25, "versions": [], "suites": [], "backend": ")" << backend
        << R"(", "limit": {"connections": )" << limit.connections << R"(, "window": )"
        << limit.window.count() << "}}]}\n";
    RunResult started =
        run("python3 " + shell_quote(env().get("EMULATOR")) + " serve " +
            shell_quote(dir_ + "/config.json") + " --log " + shell_quote(log()) + " --ready-file " +
            shell_quote(dir_ + "/ready") + " >" + shell_quote(dir_ + "/out") + " 2>&1 & echo $!");
    REQUIRE(started.status == 0);
    pid_ = std::stoi(started.out);
    for (int i = 0; i < 100 && !std::ifstream(dir_ + "/ready"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(std::ifstream(dir_ + "/ready"));
  }
  ~LimitedListener() {
    if (pid_ > 0 && ::kill(pid_, SIGTERM) == 0) {
      for (int i = 0; i < 100 && ::kill(pid_, 0) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }
  LimitedListener(const LimitedListener&) = delete;
  LimitedListener& operator=(const LimitedListener&) = delete;

  std::string log() const { return dir_ + "/emulator.log"; }
  /// Waits until its log stops growing (300 ms unchanged, 3 s at most): the
  /// emulator notes a 421 after sending it, so a client that has seen the
  /// reply can be a moment ahead of the log. Count after this.
  void settle() const {
    auto size = [this] {
      std::ifstream in(log(), std::ios::ate | std::ios::binary);
      return in ? static_cast<std::streamoff>(in.tellg()) : std::streamoff(0);
    };
    std::streamoff last = size();
    for (int quiet = 0, i = 0; quiet < 3 && i < 30; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      const std::streamoff now = size();
      quiet = now == last ? quiet + 1 : 0;
      last = now;
    }
  }
  /// Connections it has seen: each is either refused (421) or proxied.
  int attempts() const { return refusals() + count(" event=proxy "); }
  /// The attempts it answered with 421.
  int refusals() const { return count(" event=421 "); }

 private:
  int count(const std::string& event) const {
    std::ifstream in(log());
    int n = 0;
    std::string line;
    while (std::getline(in, line)) {
      if (line.find(" addr=" + addr_ + " peer=") != std::string::npos &&
          line.find(event) != std::string::npos) {
        ++n;
      }
    }
    return n;
  }

  std::string addr_;
  std::string dir_;
  int pid_ = 0;
};

}  // namespace forcetls::labtest
