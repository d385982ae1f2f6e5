// SPDX-License-Identifier: Apache-2.0
// Lab test of the forcetls-milter binary: started inside the lab's
// namespace with a `require` + reject policy, driven by miltertest scripts
// (tests/milter/miltertest/) and then by the lab's sending Postfix with swaks.
// Every process started here is stopped by its PID.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "tests/lab/lab_env.hpp"
#include "tests/milter/lab_milter_daemon.hpp"

using namespace forcetls::labtest;
using namespace std::chrono_literals;

namespace {

constexpr const char* kSocket = "inet:8893@127.0.0.1";
constexpr const char* kPostfixSocket = "inet:127.0.0.1:8893";  // Postfix's spelling

// The daemon in the foreground (log on stderr into a file), stopped by PID.
struct Daemon : LabMilterDaemon {
  explicit Daemon(const std::string& policy_text)
      : LabMilterDaemon(FORCETLS_MILTER_PATH, kSocket, policy_text, true,
                        "log:\n  level: debug\n") {}
};

constexpr const char* kPolicy = R"(default:
  mode: require
  on_ineligible: reject
  on_unknown: tempfail
)";

RunResult miltertest(const std::string& script) {
  return run("miltertest -s " +
             shell_quote(std::string(FORCETLS_SOURCE_DIR) + "/tests/milter/miltertest/" + script) +
             " -D socket=" + kSocket + " 2>&1");
}

// The latest decision line of a recipient (the whole log line), or "".
std::string decision_line(const std::string& log, const std::string& rcpt) {
  std::istringstream in(log);
  std::string line;
  std::string last;
  while (std::getline(in, line)) {
    if (line.find("rcpt=" + rcpt + " ") != std::string::npos) {
      last = line;
    }
  }
  return last;
}

}  // namespace

TEST_CASE("forcetls-milter: miltertest and Postfix end to end", "[milter][lab]") {
  Daemon d(kPolicy);
  d.start();

  {
    RunResult mixed = miltertest("mixed.lua");
    INFO(mixed.out << "\n--- daemon log ---\n" << d.lines());
    CHECK(mixed.status == 0);
    CHECK_THAT(mixed.out, Catch::Contains("PASS"));
    const std::string log = d.lines();
    CHECK_THAT(decision_line(log, "<alice@good.test>"),
               Catch::Contains("domain=good.test policy=require verdict=eligible") &&
                   Catch::Contains("action=accept"));
    CHECK_THAT(decision_line(log, "<bob@notls.test>"),
               Catch::Contains("verdict=ineligible reason=no-starttls(mx.notls.test)") &&
                   Catch::Contains("action=reject"));
    CHECK_THAT(decision_line(log, "<carol@down.test>"),
               Catch::Contains("verdict=unknown") && Catch::Contains("action=tempfail"));
    CHECK_THAT(decision_line(log, "<dave@[127.0.0.1]>"),
               Catch::Contains("reason=bad-address") && Catch::Contains("action=reject"));
    CHECK_THAT(log, Catch::Contains("summary from=<sender@lab.test> rcpts=8 accepted=3 rejected=4 "
                                    "tempfailed=1"));
  }
  {
    RunResult local = miltertest("local.lua");
    INFO(local.out << "\n--- daemon log ---\n" << d.lines());
    CHECK(local.status == 0);
    CHECK_THAT(local.out, Catch::Contains("PASS"));
    CHECK_THAT(decision_line(d.lines(), "<bob@notls.test>"),
               Catch::Contains("applied=delrcpt+quarantine"));
  }

  // SIGHUP with a broken policy keeps the running one; the daemon stays up.
  {
    std::ofstream(d.policy_path()) << "default:\n  mode: sometimes\n";
    ::kill(d.pid(), SIGHUP);
    CHECK(wait_until([&] { return d.lines().find("event=reload-refused") != std::string::npos; },
                     10s));
    CHECK(::kill(d.pid(), 0) == 0);
    std::ofstream(d.policy_path()) << kPolicy;
    ::kill(d.pid(), SIGHUP);
    CHECK(wait_until([&] { return d.lines().find("event=reloaded") != std::string::npos; }, 10s));
  }

  // Postfix end to end: the lab's sending Postfix with the milter attached.
  {
    const std::string conf = env().get("SEND_CONF");
    const std::string send_log = env().send_log;
    const std::size_t log_start =
        read_whole_file(send_log).size();  // earlier tests' lines don't count
    auto new_log = [&] {
      const std::string all = read_whole_file(send_log);
      return all.size() > log_start ? all.substr(log_start) : std::string();
    };
    REQUIRE(run("postconf -c " + conf + " -e 'smtpd_milters=" + kPostfixSocket +
                "' 'milter_default_action=tempfail' && postfix -c " + conf + " reload")
                .status == 0);
    const std::string host = env().send_smtp.substr(0, env().send_smtp.find(':'));
    const std::string port = env().send_smtp.substr(env().send_smtp.find(':') + 1);
    const std::size_t daemon_start = d.lines().size();
    RunResult swaks = run("swaks --server " + host + " --port " + port +
                          " --from sender@lab.test --to alice@good.test,bob@notls.test"
                          " --header 'Subject: forcetls e2e' 2>&1");
    INFO(swaks.out << "\n--- daemon log ---\n" << d.lines());
    CHECK_THAT(swaks.out, Catch::Contains("550 5.7.4 Forced TLS: notls.test"));
    // Postfix skipped the connect step and did not wait for MAIL's reply.
    CHECK_THAT(d.lines().substr(daemon_start),
               Catch::Contains("event=negotiated connect=skipped mail-reply=none"));
    CHECK_THAT(swaks.out, Catch::Contains("250 2.0.0 Ok: queued"));

    // The Postfix log: bob refused by the milter, alice delivered to the lab MX.
    const bool delivered = wait_until(
        [&] {
          const std::string l = new_log();
          return l.find("to=<alice@good.test>, relay=mx") != std::string::npos &&
                 l.find("status=sent") != std::string::npos;
        },
        60s);
    const std::string l = new_log();
    INFO(l);
    CHECK(delivered);
    CHECK_THAT(l, Catch::Contains("milter-reject: RCPT") &&
                      Catch::Contains("550 5.7.4 Forced TLS: notls.test"));
    CHECK(l.find("to=<bob@notls.test>, relay=") == std::string::npos);
    // The daemon logged both with the Postfix queue id.
    // The daemon logged the SMTP recipients with the Postfix queue id (the
    // last decision line for alice is this message's).
    std::istringstream in(d.lines());
    std::string line;
    std::string last_alice;
    while (std::getline(in, line)) {
      if (line.find("rcpt=<alice@good.test> ") != std::string::npos) {
        last_alice = line;
      }
    }
    INFO(last_alice);
    CHECK(last_alice.find("NOQUEUE:") == std::string::npos);
    CHECK(last_alice.find(": rcpt=<alice@good.test> ") != std::string::npos);
    run("postconf -c " + conf + " -X smtpd_milters milter_default_action && postfix -c " + conf +
        " reload");
  }

  // Local submission through the sendmail command (non_smtpd_milters): the
  // ineligible recipient is removed and the message held, nothing deferred.
  {
    const std::string conf = env().get("SEND_CONF");
    const std::string send_log = env().send_log;
    const std::size_t log_start = read_whole_file(send_log).size();
    REQUIRE(run("postconf -c " + conf + " -e 'non_smtpd_milters=" + kPostfixSocket +
                "' 'milter_default_action=tempfail' && postfix -c " + conf + " reload")
                .status == 0);
    const std::size_t daemon_start = d.lines().size();
    RunResult sent = run("printf 'Subject: local\\n\\nbody\\n' | sendmail -C " + conf +
                         " -f root@lab.test alice@good.test bob@notls.test 2>&1");
    INFO(sent.out);
    CHECK(sent.status == 0);
    const bool held = wait_until(
        [&] {
          const std::string all = read_whole_file(send_log);
          return all.size() > log_start &&
                 all.substr(log_start).find("milter triggers HOLD action") != std::string::npos;
        },
        30s);
    const std::string all = read_whole_file(send_log);
    const std::string l = all.size() > log_start ? all.substr(log_start) : "";
    INFO(l << "\n--- daemon log ---\n" << d.lines());
    CHECK(held);
    CHECK(l.find("can't reject recipient") == std::string::npos);
    // Local submission told from {client_port} 0 at MAIL, connect skipped.
    CHECK_THAT(d.lines().substr(daemon_start),
               Catch::Contains("event=negotiated connect=skipped mail-reply=none"));
    // Postfix's cleanup passes bare addresses and knows the queue id at MAIL.
    CHECK_THAT(decision_line(d.lines(), "bob@notls.test"),
               Catch::Contains("applied=delrcpt+quarantine"));
    run("postconf -c " + conf + " -X non_smtpd_milters milter_default_action && postfix -c " +
        conf + " reload");
  }

  CHECK(d.stop());
  CHECK_THAT(d.lines(), Catch::Contains("event=stopped"));
}

TEST_CASE("forcetls-milter: a cache.path that is a symbolic link is refused, its target untouched",
          "[milter][lab]") {
  // As root the daemon gives cache.path to daemon.user before dropping to
  // it; through a link that would hand the link's target to `nobody`.
  Daemon d(kPolicy);
  const std::filesystem::path target = d.dir() / "target";
  std::filesystem::create_directory(target);
  std::filesystem::create_directory_symlink(target, d.dir() / "cache");
  REQUIRE(::geteuid() == 0);
  // `timeout`: a daemon that took the link would start and keep running.
  RunResult r = run("timeout 20 " + shell_quote(FORCETLS_MILTER_PATH) + " -f -c " +
                    shell_quote(d.config_path()) + " </dev/null 2>&1");
  INFO(r.out);
  CHECK(r.status != 0);
  CHECK_THAT(r.out, Catch::Contains("is a symbolic link or not a directory"));
  struct stat st {};
  REQUIRE(::stat(target.c_str(), &st) == 0);
  CHECK(st.st_uid == 0);  // still root's
}
