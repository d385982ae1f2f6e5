// SPDX-License-Identifier: Apache-2.0
// Loading and validating forcetls.yaml (Config) and the policy file
// (policy::Policy). Every problem is collected with file:line:column, so
// `forcetls-ctl config check` reports them all at once. yaml-cpp exceptions
// never leave the loader. Call from one thread at a time per result (startup,
// SIGHUP); the results are plain values.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "policy/policy.hpp"

namespace forcetls::conf {

struct Problem {
  enum class Severity : std::uint8_t { error, warning };
  Severity severity = Severity::error;
  std::string file;
  int line = 0;    ///< 1-based; 0 when not tied to a place in the file
  int column = 0;  ///< 1-based
  std::string message;

  /// `forcetls.yaml:12:5: error: milter.socket: bad socket ...`
  std::string text() const;
};

/// A loaded value (defaults where the file said nothing or was wrong) and
/// every problem found. Use the value only when ok().
template <typename T>
struct Loaded {
  T value;
  std::vector<Problem> problems;
  /// The schema keys the file set, e.g. "milter.socket", "rules[].mode".
  std::vector<std::string> keys_set;

  bool ok() const {
    for (const Problem& p : problems) {
      if (p.severity == Problem::Severity::error) {
        return false;
      }
    }
    return true;
  }
};

/// More problems than this and the loader stops reporting (one line says so).
inline constexpr std::size_t kMaxProblems = 100;
/// Larger files are refused before parsing.
inline constexpr std::size_t kMaxFileSize = 1 << 20;

/// Parses configuration text; `name` is the file name used in messages.
/// File references inside (policy_file, trust_anchor, ca_file) are not
/// opened here.
Loaded<Config> parse_config(std::string_view text, std::string_view name);

/// Parses policy text.
Loaded<policy::Policy> parse_policy(std::string_view text, std::string_view name);

/// Reads and parses a configuration file; also checks that configured
/// trust_anchor and ca_file exist. policy_file is returned resolved against
/// the file's directory.
Loaded<Config> load_config_file(const std::string& path);

/// Reads and parses a policy file.
Loaded<policy::Policy> load_policy_file(const std::string& path);

/// Everything the daemon runs on.
struct Setup {
  Config config;
  std::shared_ptr<const policy::Policy> policy;
  std::string config_source;  ///< the file read, or "embedded defaults"
  std::string policy_source;  ///< the file read, or "built-in"
};

struct SetupOptions {
  /// The configuration file. nullopt: kDefaultConfigPath if it exists, else
  /// the embedded defaults (an explicitly named file must exist).
  std::optional<std::string> config_file;
  /// Overrides the configuration's policy_file (e.g. to try a new policy).
  std::optional<std::string> policy_file;
  /// Where the default configuration file is looked for (tests change it).
  std::string default_config_path = std::string(kDefaultConfigPath);
};

/// Loads the configuration and the policy it names, collecting the problems
/// of both. The daemon refuses to start (or, on SIGHUP, keeps its running
/// setup) unless ok().
Loaded<Setup> load_setup(const SetupOptions& options);

/// Every key path the configuration loader accepts, e.g. "milter.socket".
std::vector<std::string> config_keys();
/// Every key path the policy loader accepts, e.g. "rules[].on_unknown.dns_failure".
std::vector<std::string> policy_keys();

}  // namespace forcetls::conf
