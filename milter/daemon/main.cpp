// SPDX-License-Identifier: Apache-2.0
// forcetls-milter: the daemon's command line (milter/daemon/daemon_args.hpp).
#include <iostream>
#include <string>
#include <vector>

#include "milter/daemon/daemon.hpp"
#include "milter/daemon/daemon_args.hpp"

int main(int argc, char** argv) {
  using namespace forcetls::milter;
  auto parsed = parse_daemon_args(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed) {
    std::cerr << "forcetls-milter: " << parsed.error().message << "\n" << daemon_usage();
    return kDaemonExitUsage;
  }
  if (parsed->help) {
    std::cout << daemon_usage();
    return 0;
  }
  if (parsed->version) {
    std::cout << "forcetls-milter " << FORCETLS_VERSION << "\n";
    return 0;
  }
  return run_daemon(parsed->options);
}
