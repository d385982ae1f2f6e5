// SPDX-License-Identifier: Apache-2.0
// The lab's rate-limiting personality as lab tests see it: the `421-after=N/S`
// fault of a servers.tsv row (the emulator answers 421 once more than N
// connections arrived within S seconds, and counts every attempt), waiting out
// its window, and counting the 421s it logged. Header-only; any thread.
#pragma once

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

}  // namespace forcetls::labtest
