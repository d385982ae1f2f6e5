// SPDX-License-Identifier: Apache-2.0
// A forcetls-milter process for lab tests: config + policy in a temporary
// directory, started in the foreground inside the lab namespace (stderr log in
// a file), stopped by its PID. One test thread owns an instance.
#pragma once

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

#include "tests/lab/lab_env.hpp"

namespace forcetls::labtest {

inline std::string read_whole_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

/// Polls `done` every 200 ms until it holds or `limit` passes; the last answer.
inline bool wait_until(const std::function<bool()>& done, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return done();
}

/// Counts the non-overlapping occurrences of `needle` in `text`.
inline std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

/// The latest log line that mentions `rcpt=<rcpt> `, or "".
inline std::string last_decision(const std::string& log, const std::string& rcpt) {
  std::istringstream in(log);
  std::string line;
  std::string last;
  while (std::getline(in, line)) {
    if (line.find("rcpt=" + rcpt + " ") != std::string::npos) {
      last = line;
    }
  }
  return last;
}

/// forcetls-milter with `socket` (libmilter spelling) and a policy text;
/// `extra_config`: more top-level YAML sections (e.g. `socketmap:`, `log:`).
class LabMilterDaemon {
 public:
  /// `on_miss`: milter.on_miss, "wait" (up to 25 s) or "answer-now";
  /// `milter_extra`: more `milter:` keys, each line indented two spaces.
  LabMilterDaemon(std::string binary, std::string socket, const std::string& policy_text,
                  bool header, const std::string& extra_config = "",
                  const std::string& on_miss = "wait", const std::string& milter_extra = "")
      : binary_(std::move(binary)), socket_(std::move(socket)) {
    char tmpl[] = "/tmp/forcetls-milter-lab-XXXXXX";
    dir_ = mkdtemp(tmpl);
    ::chmod(dir_.c_str(), 0755);  // the daemon drops to `nobody`
    config_ = (dir_ / "forcetls.yaml").string();
    policy_ = (dir_ / "policy.yaml").string();
    log_ = (dir_ / "milter.log").string();
    std::ofstream(policy_) << policy_text;
    std::ofstream(config_) << "milter:\n  socket: " << socket_ << "\n  on_miss: " << on_miss
                           << "\n  miss_deadline: 25s\n  header: " << (header ? "true" : "false")
                           << "\n"
                           << milter_extra << "daemon:\n  user: nobody\n"
                           << "  pid_file: " << (dir_ / "milter.pid").string()
                           << "\ncache:\n  path: " << (dir_ / "cache").string() << "\nchecker:\n"
                           << checker_resolver_yaml() << "  ca_file: " << env().ca_file
                           << "\n  allow_private: true\n  ehlo_name: milter.lab.test\n"
                           << "  pause: 50ms\npolicy_file: " << policy_ << "\n"
                           << extra_config;
  }
  LabMilterDaemon(const LabMilterDaemon&) = delete;
  LabMilterDaemon& operator=(const LabMilterDaemon&) = delete;
  ~LabMilterDaemon() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void start() {
    RunResult r = run(shell_quote(binary_) + " -f -c " + shell_quote(config_) +
                      " </dev/null >/dev/null 2>" + shell_quote(log_) + " & echo $!");
    REQUIRE(r.status == 0);
    pid_ = std::stoi(r.out);
    const bool up = wait_until([&] { return lines().find("event=started") != std::string::npos; },
                               std::chrono::seconds(30));
    INFO(lines());
    REQUIRE(up);
  }

  /// SIGTERM, then wait for a clean exit; true when it left by itself.
  bool stop() {
    if (pid_ <= 0) {
      return true;
    }
    ::kill(pid_, SIGTERM);
    const bool gone = wait_until([&] { return ::kill(pid_, 0) != 0; }, std::chrono::seconds(15));
    if (!gone) {
      ::kill(pid_, SIGKILL);
    }
    pid_ = -1;
    return gone;
  }

  /// Writes a new policy and reloads it with SIGHUP; true once the daemon
  /// logged one more `event=reloaded`.
  bool reload_policy(const std::string& policy_text) {
    const std::size_t before = count_of(lines(), "event=reloaded");
    std::ofstream(policy_) << policy_text;
    ::kill(pid_, SIGHUP);
    return wait_until([&] { return count_of(lines(), "event=reloaded") > before; },
                      std::chrono::seconds(15));
  }

  /// A shell command that does what reload_policy() does, for a script to
  /// run at a moment of its own choosing; it exits 0 once the daemon logged
  /// one more `event=reloaded` (at most 15 s).
  std::string reload_command(const std::string& policy_text) const {
    const std::string next = (dir_ / "policy.next.yaml").string();
    std::ofstream(next) << policy_text;
    const std::size_t before = count_of(lines(), "event=reloaded");
    return "cp " + shell_quote(next) + " " + shell_quote(policy_) + " && kill -HUP " +
           std::to_string(pid_) + " && for i in $(seq 150); do [ \"$(grep -c event=reloaded " +
           shell_quote(log_) + ")\" -gt " + std::to_string(before) +
           " ] && exit 0; sleep 0.1; done; exit 1";
  }

  std::string lines() const { return read_whole_file(log_); }
  pid_t pid() const { return pid_; }
  /// The daemon's own directory (its files, and the cache under `cache`).
  const std::filesystem::path& dir() const { return dir_; }
  const std::string& config_path() const { return config_; }
  const std::string& policy_path() const { return policy_; }

 private:
  std::string binary_;
  std::string socket_;
  std::filesystem::path dir_;
  std::string config_;
  std::string policy_;
  std::string log_;
  pid_t pid_ = -1;
};

}  // namespace forcetls::labtest
