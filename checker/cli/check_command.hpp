// SPDX-License-Identifier: Apache-2.0
// `forcetls-check`: the prober alone, from the command line. The logic lives
// here (not in main.cpp) so tests can run it in-process. Called once, from
// the main thread; it owns its io_context.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace forcetls::checker {

/// Runs forcetls-check with `args` (argv without argv[0]); writes reports to
/// `out`, errors and progress to `err`; returns the exit status (ExitStatus).
int run_check_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace forcetls::checker
