// SPDX-License-Identifier: Apache-2.0
// forcetls-check: see checker/cli/check_command.hpp.
#include <iostream>
#include <string>
#include <vector>

#include "checker/cli/check_command.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return forcetls::checker::run_check_command(args, std::cout, std::cerr);
}
