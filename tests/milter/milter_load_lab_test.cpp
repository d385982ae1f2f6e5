// SPDX-License-Identifier: Apache-2.0
// Lab load test of forcetls-milter (issue 7, "Load"): smtp-source sends
// messages with several recipients each through the lab's sending Postfix
// and the daemon to an smtp-sink; tests/bench/milter_load.py accounts for
// every message and recipient (smtp-source, the daemon's decision lines,
// Postfix's maillog, the sink) against the policy's answer for each lab
// domain, and compares the idle daemon's VmRSS before and after the measured
// run. The suite measures 1,000 messages (FORCETLS_LOAD_MESSAGES; the
// benchmark's run is 5,000) after a 200-message warm-up load: ~15 s, and a
// leak of 256 bytes per recipient (~1.1 MiB over 4,000) still fails the
// 512 KiB bound. The script stops every process it starts by PID.
#include <catch2/catch.hpp>
#include <string>

#include "tests/lab/lab_env.hpp"

using namespace forcetls::labtest;

TEST_CASE("forcetls-milter under smtp-source load: every recipient accounted for, memory flat",
          "[milter][lab]") {
  const std::string script = std::string(FORCETLS_SOURCE_DIR) + "/tests/bench/milter_load.py";
  RunResult r =
      run("python3 " + shell_quote(script) + " check --lab " + shell_quote(env().get("LAB_DIR")) +
          " --milter " + shell_quote(FORCETLS_MILTER_PATH) + " --messages " +
          std::to_string(FORCETLS_LOAD_MESSAGES) + " --rcpts 4 2>&1");
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("OK: every message and recipient accounted for"));
  CHECK_THAT(r.out, Catch::Contains("growth after warm-up") &&
                        Catch::Contains("over " + std::to_string(FORCETLS_LOAD_MESSAGES * 4) +
                                        " recipients"));
}
