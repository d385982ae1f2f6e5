// SPDX-License-Identifier: Apache-2.0
// Lab load test of forcetls-milter (the milter load test): smtp-source sends
// messages with several recipients each through the lab's sending Postfix
// and the daemon to an smtp-sink; tests/bench/milter_load.py accounts for
// every message and recipient (smtp-source, the daemon's decision lines,
// Postfix's maillog, the sink) against the policy's answer for each lab
// domain, and samples the daemon's VmRSS. The suite runs a smaller count
// than the benchmark's 5,000 messages (FORCETLS_LOAD_MESSAGES) to stay
// within its time budget; the script stops every process it starts by PID.
// A second run sends SIGTERM to the daemon in the middle of the load and
// restarts it: nothing Postfix accepted is lost, nothing passes unchecked.
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
  CHECK_THAT(r.out, Catch::Contains("growth after warm-up"));
}

TEST_CASE(
    "forcetls-milter: SIGTERM during an smtp-source load loses nothing, passes nothing "
    "unchecked",
    "[milter][lab]") {
  const std::string script = std::string(FORCETLS_SOURCE_DIR) + "/tests/bench/milter_load.py";
  RunResult r =
      run("python3 " + shell_quote(script) + " stop --lab " + shell_quote(env().get("LAB_DIR")) +
          " --milter " + shell_quote(FORCETLS_MILTER_PATH) + " --messages 600 2>&1");
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("OK: every message accepted was delivered once, checked"));
  CHECK_THAT(r.out, Catch::Contains("SIGTERM during the load: stopped in"));
}
