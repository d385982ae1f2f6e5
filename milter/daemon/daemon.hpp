// SPDX-License-Identifier: Apache-2.0
// The forcetls-milter daemon: configuration, daemon manners (fork, pid file,
// privileges, signals) and the wiring of store, prober, refresh engine,
// policy map and the libmilter callbacks (milter/callbacks). One daemon per
// process (libmilter callbacks carry no user pointer); run_daemon() is
// called once from main.
#pragma once

#include <optional>
#include <string>

namespace forcetls::milter {

struct DaemonOptions {
  std::optional<std::string> config_file;  ///< -c; nullopt: the default path or embedded defaults
  bool foreground = false;                 ///< -f: no fork, log to stderr
  /// -s: log to syslog even with -f (under systemd: the mail log, not the
  /// journal's stderr stream, so decisions land where the MTA's lines are).
  bool syslog = false;
  bool check_only = false;  ///< -t: load the configuration, report, exit
};

/// Runs the daemon until SIGTERM/SIGINT; returns the process exit code
/// (0 clean stop, 1 runtime failure, 2 invalid configuration).
int run_daemon(const DaemonOptions& options);

/// Sets TCP_NODELAY on every listening IPv4/IPv6 TCP socket of the process
/// (libmilter's, opened by smfi_opensocket); Linux passes it on to the
/// sockets they accept. Without it, a reply that follows a modification
/// (smfi_addheader, ...) waits for the MTA's delayed ACK. Returns how many
/// listeners were set. Call from the main thread after smfi_opensocket().
}  // namespace forcetls::milter
