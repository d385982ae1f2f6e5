// SPDX-License-Identifier: Apache-2.0
// forcetls-ctl: the administration commands (`config check`, `explain`).
// All logic is here, in the forcetls_ctl library, so tests run it in-process;
// milter/ctl/main.cpp only forwards argv. One call at a time per CtlEnv.
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cache/reports.hpp"
#include "conf/config.hpp"
#include "policy/policy.hpp"

namespace forcetls::milter {

/// Exit statuses of forcetls-ctl.
inline constexpr int kExitOk = 0;
inline constexpr int kExitProblem = 1;  ///< invalid configuration, bad address
inline constexpr int kExitUsage = 2;

/// A finished program: its exit status (128+N when killed by signal N, 127
/// when it could not be started) and what it wrote to stdout.
struct CommandOutput {
  int status = 127;
  std::string out;
};
/// Runs argv[0] (looked up in PATH) with argv, stdin and stderr inherited.
CommandOutput run_process(const std::vector<std::string>& argv);

/// What the commands write to and read from; tests substitute each part.
struct CtlEnv {
  std::ostream& out;
  std::ostream& err;
  /// Opens the reports for a configuration (the cache, once it exists).
  std::function<std::unique_ptr<cache::Reports>(const conf::Config&)> open_reports =
      [](const conf::Config&) { return std::make_unique<cache::NoReports>(); };
  /// Where the configuration is looked for without --config.
  std::string default_config_path = std::string(conf::kDefaultConfigPath);
  /// Runs a program (doctor's postconf).
  std::function<CommandOutput(const std::vector<std::string>&)> run_command = run_process;
};

/// Runs one command; `args` excludes the program name. Returns the exit status.
int run_ctl(const std::vector<std::string>& args, CtlEnv& env);

/// The `explain` text for one recipient address (or bare domain) under a
/// policy, as the milter would decide it right now.
struct ExplainInput {
  std::string address;
  policy::MessageContext message;
  conf::MissBehaviour on_miss = conf::MissBehaviour::wait;
  conf::Duration miss_deadline = conf::Config{}.milter.miss_deadline;
  std::string header_name = conf::Config{}.milter.header_name;
  bool header = conf::Config{}.milter.header;
};
/// Writes the explanation to `out`: the decision is check_recipient()'s,
/// the milter's own, over `reports` (which are read, never probed). Returns
/// false (after writing the decision) when the address has no usable domain.
bool explain(const policy::Policy& policy, const ExplainInput& input, cache::Reports& reports,
             std::ostream& out);

}  // namespace forcetls::milter
