// SPDX-License-Identifier: Apache-2.0
// forcetls-ctl: administration of forcetls (see milter/ctl/ctl.hpp).
#include <iostream>
#include <string>
#include <vector>

#include "milter/ctl/ctl.hpp"
#include "milter/ctl/ctl_cache.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  forcetls::milter::CtlEnv env{std::cout, std::cerr};
  env.open_reports = forcetls::milter::open_cache_reports;
  try {
    return forcetls::milter::run_ctl(args, env);
  } catch (const std::exception& e) {
    std::cerr << "forcetls-ctl: internal error: " << e.what() << "\n";
    return 1;
  }
}
