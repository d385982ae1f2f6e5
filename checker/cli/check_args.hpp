// SPDX-License-Identifier: Apache-2.0
// Command line of `forcetls-check`: parsed into plain values, validated,
// with one-line errors. Pure; any thread. Mapping to prober options happens
// in check_command.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace forcetls::checker {

/// Exit statuses of forcetls-check (also documented in its usage text).
enum ExitStatus : int {
  exit_eligible = 0,    ///< every domain is eligible
  exit_ineligible = 1,  ///< at least one domain is not eligible
  exit_unknown = 2,     ///< none ineligible, at least one unknown
  exit_usage = 64,      ///< bad command line or bad input (EX_USAGE)
  exit_failure = 70,    ///< internal failure (EX_SOFTWARE)
};

struct CheckArgs {
  std::vector<std::string> domains;  ///< as given; normalised later
  std::string list_file;             ///< --file: one domain per line, '#' comments
  std::vector<std::string> mx;       ///< --mx HOST[:PORT] (repeatable)
  bool json = false;
  bool quick = false;
  bool allow_private = false;
  bool tls13_counts = false;
  std::string resolver;  ///< --resolver IP@PORT
  /// --resolver-option 'NAME: VALUE' (repeatable): libunbound options, in order
  std::vector<std::pair<std::string, std::string>> resolver_options;
  std::string trust_anchor;  ///< --trust-anchor FILE
  std::string ca_file;       ///< --ca-file FILE
  std::string previous;      ///< --previous FILE: an earlier --json output (MTA-STS cache)
  std::string ehlo;          ///< --ehlo NAME (default: this host's name)
  std::uint16_t port = 25;
  std::chrono::milliseconds timeout{10000};  ///< per step
  int per_address_connections = 1;
  std::chrono::milliseconds pause{5};  ///< between connections to one address
  std::string families = "auto";        ///< ipv4 | ipv6 | both | auto
  bool help = false;
  bool version = false;
};

/// Parses argv[1..]. An error names the offending option.
Result<CheckArgs> parse_check_args(const std::vector<std::string>& args);

/// The usage text printed by --help and after a usage error.
std::string_view check_usage();

/// Parses "10s", "500ms", "2m", or a bare number of seconds.
Result<std::chrono::milliseconds> parse_duration_arg(std::string_view text);

/// Splits "HOST[:PORT]" or "[IPv6]:PORT"; the port defaults to `default_port`.
struct HostPort {
  std::string host;
  std::uint16_t port = 25;
};
Result<HostPort> parse_host_port(std::string_view text, std::uint16_t default_port);

}  // namespace forcetls::checker
