// SPDX-License-Identifier: Apache-2.0
// Lab tests with Debian's Sendmail 8.17 (tests/lab/sendmail): the real
// forcetls-milter attached through INPUT_MAIL_FILTER (per-recipient
// decisions seen in the SMTP transcript, the mail at the lab MX, the queue),
// and Sendmail's own delivery-time TLS requirement from an access map
// (`TLS_Rcpt:domain ENCR:128`, the forcetls-ctl export --sendmail-access
// format) refusing a downgrade to an MX without STARTTLS.
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/lab/lab_env.hpp"
#include "tests/milter/lab_milter_daemon.hpp"

using namespace forcetls::labtest;
using namespace std::chrono_literals;

namespace {

constexpr const char* kMilterSocket = "inet:8891@127.0.0.1";
constexpr const char* kSendmailPort = "2526";

std::string sendmail_script() {
  return shell_quote(std::string(FORCETLS_SOURCE_DIR) + "/tests/lab/sendmail");
}

// A file that only grows (a log), read from where it ended when this was made.
class LogTail {
 public:
  explicit LogTail(std::string path) : path_(std::move(path)) {
    start_ = read_whole_file(path_).size();
  }
  std::string text() const {
    const std::string all = read_whole_file(path_);
    return all.size() > start_ ? all.substr(start_) : std::string();
  }

 private:
  std::string path_;
  std::size_t start_ = 0;
};

// The lab's Sendmail for one test, stopped (by PID, in the script) at scope exit.
class LabSendmail {
 public:
  explicit LabSendmail(const std::string& options) {
    RunResult r = run(sendmail_script() + " start " + shell_quote(env().dir) + " --port " +
                      kSendmailPort + " " + options + " 2>&1");
    INFO(r.out);
    REQUIRE(r.status == 0);
  }
  LabSendmail(const LabSendmail&) = delete;
  LabSendmail& operator=(const LabSendmail&) = delete;
  ~LabSendmail() { run(sendmail_script() + " stop " + shell_quote(env().dir)); }

  /// Every SMTP line Sendmail exchanged, in and out (sendmail -X).
  std::string traffic() const { return read_whole_file(env().dir + "/sendmail/traffic.log"); }
  /// `sendmail -bp` plus any extra flags (e.g. -qQ for the quarantine).
  std::string mailq(const std::string& flags = "") const {
    return run(sendmail_script() + " run " + shell_quote(env().dir) + " -- -bp " + flags + " 2>&1")
        .out;
  }
};

// swaks to the lab's Sendmail; the transcript (swaks marks server replies
// `<-` and refusals `<**`).
RunResult swaks(const std::string& rcpts, const std::string& subject) {
  // --timeout above milter.miss_deadline: a RCPT may wait for a probe.
  return run("swaks --timeout 90 --server 127.0.0.1 --port " + std::string(kSendmailPort) +
             " --from sender@lab.test --to " + shell_quote(rcpts) + " --header " +
             shell_quote("Subject: " + subject) + " 2>&1");
}

// The server's reply to `command` in a swaks transcript ("250 2.1.5 ..."), or "".
std::string reply_to(const std::string& transcript, const std::string& command) {
  std::istringstream in(transcript);
  std::string line;
  bool seen = false;
  while (std::getline(in, line)) {
    if (!seen) {
      seen = line.starts_with(" -> " + command);
      continue;
    }
    if (line.starts_with("<-  ") || line.starts_with("<** ")) {
      return line.substr(4);
    }
  }
  return "";
}

// The Sendmail queue id in "250 2.0.0 6ASM9162012766 Message accepted for delivery".
std::string queue_id(const std::string& transcript) {
  const auto at = transcript.find(" Message accepted for delivery");
  if (at == std::string::npos) {
    return "";
  }
  const auto begin = transcript.rfind(' ', at - 1);
  return transcript.substr(begin + 1, at - begin - 1);
}

// The traffic of the outgoing sessions that sent RCPT for `rcpt`: every
// line of the Sendmail process that did, from its `=== CONNECT host.` on.
std::string delivery_session(const std::string& traffic, const std::string& rcpt) {
  const std::string rcpt_line = ">>> RCPT To:<" + rcpt + ">";
  const auto at = traffic.find(rcpt_line);
  if (at == std::string::npos) {
    return "";
  }
  const auto line_start = traffic.rfind('\n', at);
  const std::string pid =
      traffic.substr(line_start == std::string::npos ? 0 : line_start + 1,
                     at - (line_start == std::string::npos ? 0 : line_start + 1));
  const auto connect = traffic.rfind(pid + "=== CONNECT ", at);
  if (connect == std::string::npos) {
    return "";
  }
  std::istringstream in(traffic.substr(connect));
  std::string line;
  std::string out;
  while (std::getline(in, line)) {
    if (!line.starts_with(pid)) {
      continue;
    }
    if (!out.empty() && line.starts_with(pid + "=== CONNECT ")) {
      break;  // the next delivery of the same process
    }
    out += line + "\n";
  }
  return out;
}

// The lab MX accepted the message for `rcpt` (it discards it, logging status=sent).
bool arrived_text(const std::string& l, const std::string& rcpt) {
  std::istringstream in(l);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("postfix/discard") != std::string::npos &&
        line.find("to=<" + rcpt + ">") != std::string::npos &&
        line.find("status=sent") != std::string::npos) {
      return true;
    }
  }
  return false;
}

bool arrived(const LogTail& mx_log, const std::string& rcpt) {
  return arrived_text(mx_log.text(), rcpt);
}

std::string policy_with(const std::string& on_unknown) {
  return "default:\n  mode: require\n  on_ineligible: reject\n  on_unknown: " + on_unknown + "\n";
}

}  // namespace

TEST_CASE("Sendmail + forcetls-milter: per-recipient decisions end to end",
          "[milter][lab][sendmail]") {
  LabMilterDaemon d(FORCETLS_MILTER_PATH, kMilterSocket, policy_with("tempfail"), true,
                    "log:\n  level: debug\n");
  d.start();
  LabSendmail sm(std::string("--milter ") + kMilterSocket);

  // One eligible and one ineligible recipient: only the ineligible one is
  // refused; the message goes out to the eligible one over TLS.
  {
    const LogTail mx_log(env().mx_log);
    RunResult t = swaks("alice.sm@good.test,bob.sm@notls.test", "sendmail mixed");
    INFO(t.out << "\n--- daemon log ---\n" << d.lines());
    CHECK_THAT(reply_to(t.out, "RCPT TO:<alice.sm@good.test>"), Catch::StartsWith("250 2.1.5"));
    // Sendmail puts the address before the milter's text of a 5xx reply
    // ("550 5.7.4 <bob...>... Forced TLS: ..."), not before a 4xx one.
    CHECK_THAT(reply_to(t.out, "RCPT TO:<bob.sm@notls.test>"),
               Catch::StartsWith("550 5.7.4 ") &&
                   Catch::Contains("Forced TLS: notls.test is not eligible for TLS delivery "
                                   "(no-starttls(mx.notls.test))"));
    CHECK_THAT(t.out, Catch::Contains("Message accepted for delivery"));
    const std::string qid = queue_id(t.out);
    REQUIRE_FALSE(qid.empty());

    const bool delivered = wait_until([&] { return arrived(mx_log, "alice.sm@good.test"); }, 60s);
    const std::string session = delivery_session(sm.traffic(), "alice.sm@good.test");
    INFO(mx_log.text() << "\n--- Sendmail traffic ---\n" << sm.traffic());
    CHECK(delivered);
    // good.test's MX preferences are fixed (10 mx1, 20 mx2) and mx1 answers:
    // Sendmail delivers to mx1 and never tries mx2.
    CHECK_THAT(session, Catch::Contains("=== CONNECT mx1.good.test."));
    CHECK(sm.traffic().find("=== CONNECT mx2.good.test.") == std::string::npos);
    CHECK_THAT(session, Catch::Contains(">>> STARTTLS") &&
                            Catch::Contains("<<< 220 2.0.0 Ready to start TLS"));
    // The milter's header went out with the message.
    CHECK_THAT(session, Catch::Contains(">>> X-ForceTLS: good.test=eligible"));
    // Nothing for the refused recipient: never offered to any MX.
    CHECK(sm.traffic().find("RCPT To:<bob.sm@notls.test>") == std::string::npos);
    CHECK_FALSE(arrived(mx_log, "bob.sm@notls.test"));

    // Sendmail skips the connect step and does not wait for MAIL's reply
    // (the client is read from the macros at MAIL), and still refused bob.
    const std::string log = d.lines();
    CHECK_THAT(log, Catch::Contains("event=negotiated connect=skipped mail-reply=none"));
    // Sendmail knows its queue id at MAIL: both decisions carry it.
    CHECK_THAT(last_decision(log, "<alice.sm@good.test>"),
               Catch::Contains(qid + ": rcpt=<alice.sm@good.test> domain=good.test "
                                     "policy=require verdict=eligible") &&
                   Catch::Contains("action=accept"));
    CHECK_THAT(last_decision(log, "<bob.sm@notls.test>"),
               Catch::Contains(qid + ": rcpt=<bob.sm@notls.test> domain=notls.test") &&
                   Catch::Contains("verdict=ineligible reason=no-starttls(mx.notls.test)") &&
                   Catch::Contains("action=reject"));
    CHECK_THAT(log, Catch::Contains(qid + ": summary from=<sender@lab.test> rcpts=2 accepted=1 "
                                          "rejected=1 tempfailed=0"));
  }

  // Malformed and unusual addresses. The milter decides those Sendmail lets
  // through (IP literal: 5.1.3; case and trailing dot: normalised, eligible;
  // an over-long label); Sendmail itself refuses what it cannot parse, and
  // the milter never sees it.
  {
    const std::string long_label(64, 'a');
    const std::string overlong = "olga@" + long_label + ".test";
    RunResult t = swaks("dave.sm@[127.0.0.10],erin.sm@GOOD.test.," + overlong +
                            ",\"unbalanced@good.test,ida@b\u00fccher.test,"
                            "ida@xn--bcher-kva.test,alice.sm2@good.test",
                        "sendmail malformed");
    const std::string log = d.lines();
    INFO(t.out << "\n--- daemon log ---\n" << log);
    CHECK_THAT(reply_to(t.out, "RCPT TO:<dave.sm@[127.0.0.10]>"), Catch::StartsWith("550 5.1.3 "));
    CHECK_THAT(last_decision(log, "<dave.sm@[127.0.0.10]>"),
               Catch::Contains("reason=bad-address") && Catch::Contains("action=reject"));
    CHECK_THAT(reply_to(t.out, "RCPT TO:<erin.sm@GOOD.test.>"), Catch::StartsWith("250 "));
    CHECK_THAT(last_decision(log, "<erin.sm@GOOD.test.>"),
               Catch::Contains("domain=good.test policy=require verdict=eligible"));
    CHECK_THAT(reply_to(t.out, "RCPT TO:<" + overlong + ">"), Catch::StartsWith("550 5.1.3 "));
    CHECK_THAT(last_decision(log, "<" + overlong + ">"),
               Catch::Contains("reason=bad-address") && Catch::Contains("label longer than 63"));
    // Sendmail passes the UTF-8 domain through; the milter decides on its
    // A-label, exactly as for the A-label form (no such domain in the lab).
    // (The log shows each non-ASCII byte as '?'.)
    CHECK_THAT(last_decision(log, "<ida@b??cher.test>"),
               Catch::Contains("domain=xn--bcher-kva.test ") && Catch::Contains("action=reject"));
    CHECK_THAT(last_decision(log, "<ida@xn--bcher-kva.test>"),
               Catch::Contains("domain=xn--bcher-kva.test ") && Catch::Contains("action=reject"));
    CHECK_THAT(reply_to(t.out, "RCPT TO:<ida@b\u00fccher.test>"),
               Catch::StartsWith("550 5.7.4 ") &&
                   Catch::Contains("Forced TLS: xn--bcher-kva.test is not eligible"));
    CHECK_THAT(reply_to(t.out, "RCPT TO:<\"unbalanced@good.test>"), Catch::StartsWith("5"));
    CHECK(log.find("unbalanced@good.test") == std::string::npos);
    CHECK_THAT(reply_to(t.out, "RCPT TO:<alice.sm2@good.test>"), Catch::StartsWith("250 "));
    CHECK_THAT(t.out, Catch::Contains("Message accepted for delivery"));
  }

  // A domain whose check has no answer (down.test: nothing listens on its MX)
  // under each on_unknown action, reloaded with SIGHUP.
  struct UnknownCase {
    std::string action;
    std::string carol_reply;  ///< prefix of the RCPT reply
    bool accepted;            ///< the message is accepted (for alice at least)
  };
  const std::vector<UnknownCase> unknown_cases = {
      {"tempfail", "451 4.7.1 ", true},
      {"reject", "550 5.7.1 ", true},
      {"quarantine", "250 ", true},
      {"accept", "250 ", true},
  };
  for (const UnknownCase& c : unknown_cases) {
    INFO("on_unknown: " << c.action);
    REQUIRE(d.reload_policy(policy_with(c.action)));
    const std::string carol = "carol." + c.action + "@down.test";
    RunResult t = swaks("alice." + c.action + "@good.test," + carol, "unknown " + c.action);
    const std::string log = d.lines();
    INFO(t.out << "\n--- daemon log ---\n" << log);
    CHECK_THAT(reply_to(t.out, "RCPT TO:<" + carol + ">"), Catch::StartsWith(c.carol_reply));
    if (c.carol_reply.starts_with("4") || c.carol_reply.starts_with("5")) {
      CHECK_THAT(reply_to(t.out, "RCPT TO:<" + carol + ">"),
                 Catch::Contains("Forced TLS: could not verify TLS support of down.test "
                                 "(probe-failed(mx.down.test))"));
    }
    CHECK_THAT(last_decision(log, "<" + carol + ">"),
               Catch::Contains("domain=down.test policy=require verdict=unknown") &&
                   Catch::Contains("action=" + c.action));
    CHECK_THAT(t.out, Catch::Contains("Message accepted for delivery"));
    const std::string qid = queue_id(t.out);
    if (c.action == "quarantine") {
      // Sendmail holds the whole message in its quarantine (mailq -qQ).
      const std::string held = sm.mailq("-qQ");
      INFO(held);
      CHECK_THAT(held, Catch::Contains(qid));
      CHECK_THAT(held, Catch::Contains("QUARANTINE: forcetls: down.test"));
      CHECK_THAT(held, Catch::Contains("<alice.quarantine@good.test>"));
    } else if (c.action == "accept") {
      // Accepted: Sendmail tries the down MX and keeps the message queued.
      const bool deferred = wait_until(
          [&] {
            const std::string q = sm.mailq();
            return q.find(qid) != std::string::npos && q.find(carol) != std::string::npos &&
                   q.find("Connection refused by mx.down.test") != std::string::npos;
          },
          60s);
      INFO(sm.mailq());
      CHECK(deferred);
    }
  }

  // The milter down: F=T makes Sendmail answer MAIL with 451 4.3.2, so no
  // message is accepted unchecked.
  {
    CHECK(d.stop());
    RunResult t = swaks("alice.down@good.test", "milter down");
    INFO(t.out);
    CHECK_THAT(reply_to(t.out, "MAIL FROM:<sender@lab.test>"), Catch::StartsWith("451 4.3.2"));
    CHECK(t.out.find("Message accepted for delivery") == std::string::npos);
  }
}

TEST_CASE("Sendmail refuses a clear-text downgrade with TLS_Rcpt ENCR:128 (access map)",
          "[lab][sendmail]") {
  // Without the entry (control): Sendmail delivers to the MX that offers no
  // STARTTLS in clear, which is what Forced TLS exists to prevent.
  {
    LabSendmail sm("");
    const LogTail mx_log(env().mx_log);
    RunResult t = swaks("bob.clear@notls.test", "downgrade control");
    INFO(t.out);
    REQUIRE_THAT(t.out, Catch::Contains("Message accepted for delivery"));
    const bool delivered = wait_until([&] { return arrived(mx_log, "bob.clear@notls.test"); }, 60s);
    const std::string session = delivery_session(sm.traffic(), "bob.clear@notls.test");
    INFO(mx_log.text() << "\n--- Sendmail traffic ---\n" << sm.traffic());
    CHECK(delivered);
    CHECK_THAT(session, Catch::Contains("=== CONNECT mx.notls.test."));
    CHECK(session.find("STARTTLS") == std::string::npos);
  }

  // With the access map as forcetls-ctl export --sendmail-access writes it.
  const std::string access = env().dir + "/sendmail-access.txt";
  std::ofstream(access) << "TLS_Rcpt:notls.test ENCR:128\nTLS_Rcpt:good.test ENCR:128\n";
  LabSendmail sm("--access " + shell_quote(access));
  const LogTail mx_log(env().mx_log);
  RunResult t = swaks("alice.tls@good.test,bob.tls@notls.test", "downgrade");
  INFO(t.out);
  REQUIRE_THAT(t.out, Catch::Contains("Message accepted for delivery"));
  const std::string qid = queue_id(t.out);

  // The TLS MX gets its copy over TLS; the other stays queued with
  // Sendmail's reason, and not one command naming it reached the MX.
  bool deferred = false;
  const bool delivered = wait_until(
      [&] {
        const std::string q = sm.mailq();
        deferred = q.find(qid) != std::string::npos &&
                   q.find("encryption too weak 0 less than 128") != std::string::npos;
        return deferred && arrived(mx_log, "alice.tls@good.test");
      },
      60s);
  const std::string traffic = sm.traffic();
  INFO(sm.mailq() << "\n--- MX log ---\n"
                  << mx_log.text() << "\n--- Sendmail traffic ---\n"
                  << traffic);
  CHECK(delivered);
  CHECK(deferred);
  CHECK_THAT(delivery_session(traffic, "alice.tls@good.test"), Catch::Contains(">>> STARTTLS"));
  CHECK_THAT(traffic, Catch::Contains("=== CONNECT mx.notls.test."));
  CHECK(traffic.find("RCPT To:<bob.tls@notls.test>") == std::string::npos);
  CHECK_FALSE(arrived(mx_log, "bob.tls@notls.test"));
  CHECK_THAT(sm.mailq(), Catch::Contains("<bob.tls@notls.test>"));
}

TEST_CASE("Sendmail TLS_Rcpt VERIFY:128: a certificate the CA file verifies, name unchecked",
          "[lab][sendmail]") {
  // What forcetls-ctl export --sendmail-access writes for require_verified_cert.
  const std::string access = env().dir + "/sendmail-access-verify.txt";
  std::ofstream(access) << "TLS_Rcpt:tls10.test VERIFY:128\nTLS_Rcpt:expired.test VERIFY:128\n"
                           "TLS_Rcpt:wrongname.test VERIFY:128\n";
  LabSendmail sm("--access " + shell_quote(access));
  const LogTail mx_log(env().mx_log);
  // One message each: the queue keeps one reason per message.
  RunResult verified = swaks("dan.verify@tls10.test", "verify tls10");
  RunResult expired = swaks("erin.verify@expired.test", "verify expired");
  RunResult wrongname = swaks("fay.verify@wrongname.test", "verify wrongname");
  INFO(verified.out << expired.out << wrongname.out);
  const std::string expired_qid = queue_id(expired.out);
  REQUIRE_FALSE(expired_qid.empty());
  REQUIRE_FALSE(queue_id(verified.out).empty());
  REQUIRE_FALSE(queue_id(wrongname.out).empty());

  const bool settled = wait_until(
      [&] {
        const std::string q = sm.mailq();
        return q.find(expired_qid) != std::string::npos &&
               q.find("authentication failed") != std::string::npos &&
               arrived(mx_log, "dan.verify@tls10.test") &&
               arrived(mx_log, "fay.verify@wrongname.test");
      },
      60s);
  INFO(sm.mailq() << "\n--- MX log ---\n" << mx_log.text());
  CHECK(settled);
  // The expired certificate: deferred, nothing sent for it.
  CHECK_FALSE(arrived(mx_log, "erin.verify@expired.test"));
  CHECK(sm.traffic().find("RCPT To:<erin.verify@expired.test>") == std::string::npos);
  // A certificate for another name passes VERIFY (Sendmail checks the chain
  // only): the name needs FEATURE(sts) `secure` or a `+CN:` extension.
  CHECK(arrived(mx_log, "fay.verify@wrongname.test"));
}

namespace {

constexpr const char* kStrippedService = "127.0.0.48:25/inet";

/// downgrade.test's MX (the receiving Postfix's 127.0.0.48 service), made to
/// log as postfix/downgrade so its lines can be told apart, and put back as
/// labgen wrote it (STARTTLS on, no syslog_name) when this goes out of scope.
class StrippableMx {
 public:
  StrippableMx() {
    REQUIRE(run("postconf -c " + mx_ + " -P '" + kStrippedService +
                "/syslog_name=postfix/downgrade' && postfix -c " + mx_ + " reload")
                .status == 0);
  }
  StrippableMx(const StrippableMx&) = delete;
  StrippableMx& operator=(const StrippableMx&) = delete;
  ~StrippableMx() {
    run("postconf -c " + mx_ + " -P '" + kStrippedService +
        "/smtpd_tls_security_level=may' && postconf -c " + mx_ + " -PX '" + kStrippedService +
        "/syslog_name' && postfix -c " + mx_ + " reload >/dev/null 2>&1");
  }

  /// The MX on the same address without (false) or with (true) STARTTLS;
  /// returns once a client sees the change (reload restarts smtpd).
  void set_starttls(bool on) {
    REQUIRE(run("postconf -c " + mx_ + " -P '" + kStrippedService + "/smtpd_tls_security_level=" +
                (on ? "may" : "none") + "' && postfix -c " + mx_ + " reload")
                .status == 0);
    REQUIRE(wait_until([&] { return offers_starttls() == on; }, 60s));
  }

  static bool offers_starttls() {
    RunResult r =
        run("swaks --server 127.0.0.48 --port 25 --quit-after EHLO --ehlo check.lab.test 2>&1");
    return r.out.find("250-STARTTLS") != std::string::npos ||
           r.out.find("250 STARTTLS") != std::string::npos;
  }

 private:
  std::string mx_ = env().get("MX_CONF");
};

/// Lines of `text` containing `needle`.
std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(needle) != std::string::npos) {
      out.push_back(line);
    }
  }
  return out;
}

/// No SMTP transaction reached the downgrade MX (postfix/downgrade/smtpd
/// logs `client=` only once it accepted MAIL); it did see the connection.
void check_nothing_received(const std::string& mx_text, const std::string& rcpt) {
  CHECK_FALSE(arrived_text(mx_text, rcpt));
  const auto server = lines_with(mx_text, "postfix/downgrade/smtpd");
  CHECK_FALSE(server.empty());
  for (const std::string& line : server) {
    CHECK(line.find("client=") == std::string::npos);
  }
}

constexpr const char* kStsPolicy = R"(default:
  mode: require
  on_ineligible: reject
rules:
  - domains: [notls.test]
    mode: prefer
)";

}  // namespace

TEST_CASE("Sendmail FEATURE(sts) against the daemon's map: a STARTTLS downgrade is deferred",
          "[milter][lab][sendmail]") {
  LabMilterDaemon d(FORCETLS_MILTER_PATH, kMilterSocket, kStsPolicy, false,
                    "socketmap:\n  socket: inet:8892@127.0.0.1\n  sts_name: sts\n"
                    "log:\n  level: debug\n");
  d.start();
  StrippableMx mx;
  LabSendmail sm(std::string("--milter ") + kMilterSocket + " --sts " +
                 shell_quote("socket -d5 -T<TMPF> inet:8892@127.0.0.1"));
  const std::string rerun = sendmail_script() + " run " + shell_quote(env().dir) + " -- -q -X " +
                            shell_quote(env().dir + "/sendmail/traffic.log") + " 2>&1";
  const std::string secure_value =
      "answer=OK value=\"secure match=mx.downgrade.test servername=hostname\"";

  // 1. STARTTLS on: the milter accepts (downgrade.test probed: eligible,
  //    certificate verified), the map answers `secure`, delivered over TLS.
  //    The prefer domain (control) gets NOTFOUND and goes out as without
  //    the map: in clear, its MX has no STARTTLS.
  {
    const LogTail mx_log(env().mx_log);
    RunResult t = swaks("u1@downgrade.test,p1@notls.test", "sts 1");
    INFO(t.out << "\n--- daemon ---\n" << d.lines());
    REQUIRE_THAT(t.out, Catch::Contains("Message accepted for delivery"));
    const bool both = wait_until(
        [&] { return arrived(mx_log, "u1@downgrade.test") && arrived(mx_log, "p1@notls.test"); },
        90s);
    const std::string traffic = sm.traffic();
    INFO(mx_log.text() << "\n--- Sendmail traffic ---\n"
                       << traffic << "\n--- queue ---\n"
                       << sm.mailq());
    CHECK(both);
    const std::string session = delivery_session(traffic, "u1@downgrade.test");
    CHECK_THAT(session, Catch::Contains("=== CONNECT mx.downgrade.test.") &&
                            Catch::Contains(">>> STARTTLS"));
    CHECK(delivery_session(traffic, "p1@notls.test").find("STARTTLS") == std::string::npos);
    const std::string log = d.lines();
    CHECK_THAT(log, Catch::Contains("socketmap map=sts key=downgrade.test " + secure_value));
    CHECK_THAT(log, Catch::Contains("socketmap map=sts key=notls.test answer=NOTFOUND "
                                    "policy=prefer"));
  }

  // 2. The attacker's MX: same address, no STARTTLS. The milter still
  //    accepts (cached: eligible); Sendmail must not deliver in clear.
  mx.set_starttls(false);
  std::string qid;
  {
    const LogTail mx_log(env().mx_log);
    const LogTail traffic(env().dir + "/sendmail/traffic.log");
    RunResult t = swaks("u2@downgrade.test", "sts 2");
    INFO(t.out);
    REQUIRE_THAT(t.out, Catch::Contains("Message accepted for delivery"));
    qid = queue_id(t.out);
    REQUIRE_FALSE(qid.empty());
    const bool deferred = wait_until(
        [&] {
          const std::string q = sm.mailq();
          return q.find(qid) != std::string::npos &&
                 q.find("other side does not support STARTTLS") != std::string::npos;
        },
        90s);
    INFO(sm.mailq() << "\n--- MX log ---\n"
                    << mx_log.text() << "\n--- Sendmail traffic ---\n"
                    << traffic.text() << "\n--- daemon ---\n"
                    << d.lines());
    CHECK(deferred);
    CHECK_THAT(traffic.text(), Catch::Contains("=== CONNECT mx.downgrade.test."));
    CHECK(traffic.text().find(">>> MAIL From:") == std::string::npos);
    CHECK(traffic.text().find("RCPT To:<u2@downgrade.test>") == std::string::npos);
    check_nothing_received(mx_log.text(), "u2@downgrade.test");
  }

  // 3. The real MX is back: the queue run delivers it, with TLS.
  mx.set_starttls(true);
  {
    const LogTail mx_log(env().mx_log);
    RunResult q = run(rerun);
    const bool sent = wait_until([&] { return arrived(mx_log, "u2@downgrade.test"); }, 90s);
    const std::string traffic = sm.traffic();
    INFO(q.out << "\n--- MX log ---\n" << mx_log.text() << "\n--- queue ---\n" << sm.mailq());
    CHECK(sent);
    CHECK_THAT(delivery_session(traffic, "u2@downgrade.test"), Catch::Contains(">>> STARTTLS"));
    bool tls_at_mx = false;
    for (const std::string& line : lines_with(mx_log.text(), "postfix/downgrade/smtpd")) {
      tls_at_mx = tls_at_mx || line.find("TLS connection established from") != std::string::npos;
    }
    CHECK(tls_at_mx);
    CHECK(wait_until([&] { return sm.mailq().find(qid) == std::string::npos; }, 30s));
  }

  // 4. The daemon stopped: the map is unreachable and Sendmail defers;
  //    the stripped MX gets nothing. (The message is accepted while the
  //    milter runs, deferred by the stripped MX, then retried without it.)
  mx.set_starttls(false);
  {
    RunResult t = swaks("u3@downgrade.test", "sts 3");
    INFO(t.out);
    REQUIRE_THAT(t.out, Catch::Contains("Message accepted for delivery"));
    const std::string qid3 = queue_id(t.out);
    REQUIRE(wait_until(
        [&] {
          return sm.mailq().find("other side does not support STARTTLS") != std::string::npos;
        },
        90s));
    REQUIRE(d.stop());
    const LogTail mx_log(env().mx_log);
    const LogTail traffic(env().dir + "/sendmail/traffic.log");
    RunResult q = run(rerun);
    const std::string queue = sm.mailq();
    INFO(q.out << "\n--- queue ---\n"
               << queue << "\n--- MX log ---\n"
               << mx_log.text() << "\n--- Sendmail traffic ---\n"
               << traffic.text());
    CHECK_THAT(queue, Catch::Contains(qid3) && Catch::Contains("<u3@downgrade.test>"));
    // Sendmail still connects (its lookup comes after EHLO) but quits
    // before MAIL, with the map's failure as the reason.
    CHECK_THAT(queue, Catch::Contains("sts map: lookup (downgrade.test): deferred"));
    CHECK(traffic.text().find(">>> MAIL From:") == std::string::npos);
    CHECK_FALSE(arrived(mx_log, "u3@downgrade.test"));
    for (const std::string& line : lines_with(mx_log.text(), "postfix/downgrade/smtpd")) {
      CHECK(line.find("client=") == std::string::npos);
    }
  }
}
