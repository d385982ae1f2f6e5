// SPDX-License-Identifier: Apache-2.0
// forcetls-milter's command line: the short options -c FILE, -f, -s, -t, -h
// (bundled as getopt allows: -ft, -cFILE) and --help, --version. Parsed into
// plain values with one-line errors; the daemon itself is run_daemon(). Pure;
// any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "milter/daemon/daemon.hpp"

namespace forcetls::milter {

/// Exit status of a bad command line (EX_USAGE; forcetls-milter(8)).
inline constexpr int kDaemonExitUsage = 64;

struct DaemonArgs {
  DaemonOptions options;
  bool help = false;     ///< -h, --help: usage on stdout, exit 0
  bool version = false;  ///< --version: "forcetls-milter X.Y.Z", exit 0
};

/// Parses argv[1..]. An error names the offending option or argument.
Result<DaemonArgs> parse_daemon_args(const std::vector<std::string>& args);

/// The usage text printed by --help and after a usage error.
std::string_view daemon_usage();

}  // namespace forcetls::milter
