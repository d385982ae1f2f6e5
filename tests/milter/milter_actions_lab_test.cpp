// SPDX-License-Identifier: Apache-2.0
// Lab test of every policy action of forcetls-milter: for each action on an
// ineligible (notls.test) and an unknown (down.test, bogus.test) recipient,
// and for malformed addresses, the policy is reloaded with SIGHUP and one
// parameterised miltertest script (tests/milter/miltertest/action.lua)
// checks the RCPT reply and every end-of-message modification; the
// daemon's decision line is checked, and the RCPT reply code and text
// through the lab's sending Postfix (miltertest only shows the reply's
// command letter). Then Postfix end to end for the end-of-message actions:
// quarantine (hold queue) and redirect (the redirect_to address receives the
// message, the original recipient does not). Local submissions (no client
// address) and on_miss answer-now (on_unknown.not_checked) too. The cases
// run in a loop inside one test case, not GENERATE: one daemon and one
// Postfix reconfiguration serve them all. Every process started here is
// stopped by its PID.
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/lab/lab_env.hpp"
#include "tests/milter/lab_milter_daemon.hpp"

using namespace forcetls::labtest;
using namespace std::chrono_literals;

namespace {

constexpr const char* kSocket = "inet:8896@127.0.0.1";
constexpr const char* kPostfixSocket = "inet:127.0.0.1:8896";  // Postfix's spelling
constexpr const char* kPortal = "portal@good.test";

// The policy under test: `require` everywhere, the two actions given, the
// redirect target at an eligible lab domain, and an IDN rule written in
// Unicode that turns checking off (so an IDN recipient is matched by name).
std::string policy(const std::string& on_ineligible, const std::string& on_unknown) {
  return "default:\n  mode: require\n  on_ineligible: " + on_ineligible +
         "\n  on_unknown: " + on_unknown + "\n  redirect_to: " + kPortal +
         "\nrules:\n  - domains: [b\u00fccher.test]\n    mode: off\n";
}

// on_unknown by cause: a different action for each, so the log shows which
// cause the daemon saw.
const std::string kByCause = policy("reject",
                                    "\n    dns_failure: tag\n    probe_failure: quarantine"
                                    "\n    dnssec_bogus: reject\n    not_checked: tempfail");

struct ActionCase {
  std::string label;
  std::string policy;
  std::string rcpt;              ///< RCPT argument, as the MTA passes it
  std::string reply;             ///< action.lua: continue | replycode
  std::string smtp;              ///< Postfix's reply to that RCPT starts with it ("": skip)
  std::string header;            ///< X-ForceTLS value, "-" none
  std::string rcptdel;           ///< deleted recipient, "-" none
  std::string rcptadd;           ///< added recipient, "-" none
  std::string quarantine;        ///< quarantine reason, "-" none
  std::vector<std::string> log;  ///< each is in the recipient's decision line
};

// Reasons and header fragments of the lab personalities (personalities.tsv:
// notls.test offers no STARTTLS; nothing listens on mx.down.test).
constexpr const char* kNotlsWhy = "no-starttls(mx.notls.test)";
constexpr const char* kDownWhy = "probe-failed(mx.down.test)";
constexpr const char* kNotlsReply =
    "Forced TLS: notls.test is not eligible for TLS delivery (no-starttls(mx.notls.test))";
constexpr const char* kDownReply =
    "Forced TLS: could not verify TLS support of down.test (probe-failed(mx.down.test))";

std::vector<ActionCase> action_cases() {
  const std::string bob = "<bob@notls.test>";
  const std::string carol = "<carol@down.test>";
  const std::string notls_q = std::string("forcetls: notls.test ineligible(") + kNotlsWhy + ")";
  const std::string down_q = std::string("forcetls: down.test unknown(") + kDownWhy + ")";
  const std::string tag_notls = "good.test=eligible; notls.test=ineligible(no-starttls)";
  const std::string tag_down = "good.test=eligible; down.test=unknown(probe-failed)";
  const std::string ineligible =
      "domain=notls.test policy=require verdict=ineligible reason=" + std::string(kNotlsWhy);
  const std::string unknown =
      "domain=down.test policy=require verdict=unknown reason=" + std::string(kDownWhy);
  return {
      // on_ineligible: every action.
      {"ineligible accept",
       policy("accept", "tempfail"),
       bob,
       "continue",
       "250 2.1.5",
       "-",
       "-",
       "-",
       "-",
       {ineligible, "action=accept"}},
      {"ineligible tag",
       policy("tag", "tempfail"),
       bob,
       "continue",
       "250 2.1.5",
       tag_notls,
       "-",
       "-",
       "-",
       {ineligible, "action=tag"}},
      {"ineligible quarantine",
       policy("quarantine", "tempfail"),
       bob,
       "continue",
       "250 2.1.5",
       "-",
       "-",
       "-",
       notls_q,
       {ineligible, "action=quarantine"}},
      {"ineligible redirect",
       policy("redirect", "tempfail"),
       bob,
       "continue",
       "250 2.1.5",
       "-",
       bob,
       kPortal,
       "-",
       {ineligible, "action=redirect redirect=portal@good.test"}},
      {"ineligible reject",
       policy("reject", "tempfail"),
       bob,
       "replycode",
       std::string("550 5.7.4 ") + kNotlsReply,
       "-",
       "-",
       "-",
       "-",
       {ineligible, "action=reject"}},
      {"ineligible tempfail",
       policy("tempfail", "reject"),
       bob,
       "replycode",
       std::string("450 4.7.4 ") + kNotlsReply,
       "-",
       "-",
       "-",
       "-",
       {ineligible, "action=tempfail"}},
      // on_unknown (one action for every cause): every action.
      {"unknown accept",
       policy("reject", "accept"),
       carol,
       "continue",
       "250 2.1.5",
       "-",
       "-",
       "-",
       "-",
       {unknown, "action=accept"}},
      {"unknown tag",
       policy("reject", "tag"),
       carol,
       "continue",
       "250 2.1.5",
       tag_down,
       "-",
       "-",
       "-",
       {unknown, "action=tag"}},
      {"unknown quarantine",
       policy("reject", "quarantine"),
       carol,
       "continue",
       "250 2.1.5",
       "-",
       "-",
       "-",
       down_q,
       {unknown, "action=quarantine"}},
      {"unknown redirect",
       policy("reject", "redirect"),
       carol,
       "continue",
       "250 2.1.5",
       "-",
       carol,
       kPortal,
       "-",
       {unknown, "action=redirect redirect=portal@good.test"}},
      {"unknown reject",
       policy("accept", "reject"),
       carol,
       "replycode",
       std::string("550 5.7.1 ") + kDownReply,
       "-",
       "-",
       "-",
       "-",
       {unknown, "action=reject"}},
      {"unknown tempfail",
       policy("accept", "tempfail"),
       carol,
       "replycode",
       std::string("451 4.7.1 ") + kDownReply + ", try again later",
       "-",
       "-",
       "-",
       "-",
       {unknown, "action=tempfail"}},
      // on_unknown by cause: a failed probe and a DNSSEC-bogus zone.
      {"unknown by cause: probe failure",
       kByCause,
       carol,
       "continue",
       "250 2.1.5",
       "-",
       "-",
       "-",
       down_q,
       {unknown, "action=quarantine"}},
      {"unknown by cause: dnssec bogus",
       kByCause,
       "<dora@bogus.test>",
       "replycode",
       "550 5.7.1 Forced TLS: could not verify TLS support of bogus.test",
       "-",
       "-",
       "-",
       "-",
       {"domain=bogus.test policy=require verdict=unknown", "action=reject"}},
      // Malformed and unusual addresses under require + reject (mixed.lua has
      // the IPv4 literal, an unbalanced quote, <>, <postmaster>, case and
      // trailing dot). Postfix checks some of these itself: miltertest only.
      {"quoted local part with @ and space",
       policy("reject", "tempfail"),
       "<\"bob smith@good.test\"@notls.test>",
       "replycode",
       "",
       "-",
       "-",
       "-",
       "-",
       {ineligible, "action=reject"}},
      {"quoted local part, eligible domain",
       policy("reject", "tempfail"),
       "<\"alice@notls.test\"@good.test>",
       "continue",
       "",
       "-",
       "-",
       "-",
       "-",
       {"domain=good.test policy=require verdict=eligible", "action=accept"}},
      {"source route",
       policy("reject", "tempfail"),
       "<@relay.good.test:bob@notls.test>",
       "replycode",
       "",
       "-",
       "-",
       "-",
       "-",
       {ineligible, "action=reject"}},
      {"IPv6 literal",
       policy("reject", "tempfail"),
       "<dave@[IPv6:::1]>",
       "replycode",
       "",
       "-",
       "-",
       "-",
       "-",
       {"reason=bad-address", "action=reject"}},
      {"missing domain",
       policy("reject", "tempfail"),
       "<frank@>",
       "replycode",
       "",
       "-",
       "-",
       "-",
       "-",
       {"reason=bad-address", "action=reject"}},
      {"label over 63 octets",
       policy("reject", "tempfail"),
       "<olga@" + std::string(64, 'a') + ".test>",
       "replycode",
       "",
       "-",
       "-",
       "-",
       "-",
       {"reason=bad-address", "label longer than 63", "action=reject"}},
      {"name over 253 octets",
       policy("reject", "tempfail"),
       "<olga@" + std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') +
           "." + std::string(63, 'd') + ".test>",
       "replycode",
       "",
       "-",
       "-",
       "-",
       "-",
       {"reason=bad-address", "longer than 253 characters", "action=reject"}},
      {"invalid A-label",
       policy("reject", "tempfail"),
       "<ida@xn--zz.test>",
       "replycode",
       "",
       "-",
       "-",
       "-",
       "-",
       {"reason=bad-address", "action=reject"}},
      {"IDN in Unicode, upper case",
       policy("reject", "tempfail"),
       "<anna@B\u00dcCHER.test>",
       "continue",
       "",
       "-",
       "-",
       "-",
       "-",
       {"domain=xn--bcher-kva.test policy=off", "action=accept"}},
      {"IDN as A-label",
       policy("reject", "tempfail"),
       "<anna@xn--bcher-kva.test>",
       "continue",
       "",
       "-",
       "-",
       "-",
       "-",
       {"domain=xn--bcher-kva.test policy=off", "action=accept"}},
  };
}

// Local submissions: a refusal becomes delete-recipient + hold at end of
// message (local.lua has the ineligible reject); actions that accept are
// applied as for SMTP.
std::vector<ActionCase> local_cases() {
  const std::string bob = "<bob@notls.test>";
  const std::string carol = "<carol@down.test>";
  const std::string removed = "forcetls: local submission, ";
  return {
      {"local: ineligible tempfail",
       policy("tempfail", "reject"),
       bob,
       "continue",
       "",
       "-",
       bob,
       "-",
       removed + bob + " removed: notls.test ineligible(" + kNotlsWhy + ")",
       {"verdict=ineligible", "action=tempfail", "applied=delrcpt+quarantine"}},
      {"local: unknown reject",
       policy("accept", "reject"),
       carol,
       "continue",
       "",
       "-",
       carol,
       "-",
       removed + carol + " removed: down.test unknown(" + kDownWhy + ")",
       {"verdict=unknown", "action=reject", "applied=delrcpt+quarantine"}},
      {"local: unknown tempfail",
       policy("accept", "tempfail"),
       carol,
       "continue",
       "",
       "-",
       carol,
       "-",
       removed + carol + " removed: down.test unknown(" + kDownWhy + ")",
       {"verdict=unknown", "action=tempfail", "applied=delrcpt+quarantine"}},
      {"local: ineligible redirect",
       policy("redirect", "tempfail"),
       bob,
       "continue",
       "",
       "-",
       bob,
       kPortal,
       "-",
       {"verdict=ineligible", "action=redirect redirect=portal@good.test"}},
      {"local: IP literal",
       policy("reject", "tempfail"),
       "<dave@[127.0.0.1]>",
       "continue",
       "",
       "-",
       "<dave@[127.0.0.1]>",
       "-",
       removed + "<dave@[127.0.0.1]> removed: not-checked(bad-address)",
       {"reason=bad-address", "action=reject", "applied=delrcpt+quarantine"}},
  };
}

// `local`: the client is a local submission (no address, like Postfix's
// non_smtpd_milters), which the daemon never refuses per recipient.
RunResult miltertest(const ActionCase& c, bool local = false) {
  const std::string script =
      std::string(FORCETLS_SOURCE_DIR) + "/tests/milter/miltertest/action.lua";
  return run("miltertest -s " + shell_quote(script) + " -D socket=" + kSocket + " -D rcpt=" +
             shell_quote(c.rcpt) + " -D reply=" + c.reply + " -D header=" + shell_quote(c.header) +
             " -D rcptdel=" + shell_quote(c.rcptdel) + " -D rcptadd=" + shell_quote(c.rcptadd) +
             " -D quarantine=" + shell_quote(c.quarantine) + " -D redirect_to=" + kPortal +
             " -D client=" + (local ? "local" : "smtp") + " 2>&1");
}

// A recipient as the decision line writes it (common/log.hpp): each
// non-ASCII byte as '?', then quoted (with '"' and '\\' escaped) when it
// holds a space, '"', '=' or '\\'.
std::string as_logged(const std::string& rcpt) {
  std::string shown;
  bool quote = false;
  for (char ch : rcpt) {
    const auto u = static_cast<unsigned char>(ch);
    shown += (u < 0x20 || u >= 0x7f) ? '?' : ch;
    quote = quote || u == ' ' || ch == '"' || ch == '=' || ch == '\\';
  }
  if (!quote) {
    return shown;
  }
  std::string out = "\"";
  for (char ch : shown) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
    }
    out += ch;
  }
  return out + "\"";
}

// The lab's sending Postfix with the daemon as its smtpd milter, detached
// again when the scope ends.
class PostfixMilter {
 public:
  PostfixMilter() : conf_(env().get("SEND_CONF")) {
    RunResult r = run("postconf -c " + shell_quote(conf_) + " -e 'smtpd_milters=" + kPostfixSocket +
                      "' 'milter_default_action=tempfail' && postfix -c " + shell_quote(conf_) +
                      " reload 2>&1");
    INFO(r.out);
    REQUIRE(r.status == 0);
  }
  PostfixMilter(const PostfixMilter&) = delete;
  PostfixMilter& operator=(const PostfixMilter&) = delete;
  ~PostfixMilter() {
    run("postconf -c " + shell_quote(conf_) + " -X smtpd_milters milter_default_action && " +
        "postfix -c " + shell_quote(conf_) + " reload 2>&1");
  }
  const std::string& conf() const { return conf_; }

 private:
  std::string conf_;
};

RunResult swaks(const std::string& to, const std::string& extra) {
  const std::string host = env().send_smtp.substr(0, env().send_smtp.find(':'));
  const std::string port = env().send_smtp.substr(env().send_smtp.find(':') + 1);
  // --timeout above milter.miss_deadline: a RCPT may wait for a probe.
  return run("swaks --timeout 90 --server " + host + " --port " + port +
             " --from sender@lab.test --to " + shell_quote(to) + " " + extra + " 2>&1");
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

// "250 2.0.0 Ok: queued as 4F2A1C" -> "4F2A1C", or "".
std::string queue_id(const std::string& transcript) {
  const std::string marker = "Ok: queued as ";
  const auto at = transcript.find(marker);
  if (at == std::string::npos) {
    return "";
  }
  const auto begin = at + marker.size();
  const auto end = transcript.find_first_of(" \r\n", begin);
  return transcript.substr(begin, end - begin);
}

// The lines of `log` that mention `needle`.
std::string lines_with(const std::string& log, const std::string& needle) {
  std::istringstream in(log);
  std::string line;
  std::string out;
  while (std::getline(in, line)) {
    if (line.find(needle) != std::string::npos) {
      out += line + "\n";
    }
  }
  return out;
}

// The part of a log file written after construction.
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

}  // namespace

TEST_CASE("forcetls-milter: every action on ineligible, unknown and malformed recipients",
          "[milter][lab]") {
  const std::vector<ActionCase> cases = action_cases();
  LabMilterDaemon d(FORCETLS_MILTER_PATH, kSocket, cases.front().policy, false);
  d.start();
  PostfixMilter postfix;
  std::string current = cases.front().policy;
  std::vector<std::pair<ActionCase, bool>> runs;
  for (const ActionCase& c : cases) {
    runs.emplace_back(c, false);
  }
  for (const ActionCase& c : local_cases()) {
    runs.emplace_back(c, true);
  }
  for (const auto& [c, local] : runs) {
    INFO("case: " << c.label << " rcpt " << c.rcpt);
    if (c.policy != current) {
      const bool reloaded = d.reload_policy(c.policy);
      INFO(d.lines());
      REQUIRE(reloaded);
      current = c.policy;
    }
    const auto started = std::chrono::steady_clock::now();
    RunResult mt = miltertest(c, local);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    const std::string log = d.lines();
    const std::string line = last_decision(log, as_logged(c.rcpt));
    INFO(mt.out << "\n--- decision line (miltertest " << ms << " ms) ---\n"
                << line << "\n--- daemon log ---\n"
                << log);
    CHECK(mt.status == 0);
    CHECK_THAT(mt.out, Catch::Contains("PASS"));
    for (const std::string& field : c.log) {
      CHECK_THAT(line, Catch::Contains(field));
    }
    // The eligible recipient of the same message went on.
    CHECK_THAT(last_decision(log, "<alice@good.test>"),
               Catch::Contains("verdict=eligible") && Catch::Contains("action=accept"));

    if (!c.smtp.empty()) {
      // The same recipient through Postfix: the reply's code and text.
      std::string to = c.rcpt.substr(1, c.rcpt.size() - 2);
      const std::size_t aborted = count_of(d.lines(), "ended=aborted");
      RunResult t = swaks("alice@good.test," + to, "--quit-after RCPT");
      // Postfix aborts the transaction with the milter, maybe after swaks
      // has left: wait for its lines, so they cannot follow the next case's.
      CHECK(wait_until([&] { return count_of(d.lines(), "ended=aborted") > aborted; },
                       std::chrono::seconds(30)));
      INFO(t.out);
      CHECK_THAT(reply_to(t.out, "RCPT TO:<alice@good.test>"), Catch::StartsWith("250 "));
      CHECK_THAT(reply_to(t.out, "RCPT TO:<" + to + ">"), Catch::StartsWith(c.smtp));
    }
  }
  CHECK(d.stop());
}

TEST_CASE("forcetls-milter + Postfix: quarantine holds, redirect diverts", "[milter][lab]") {
  // Ineligible: redirect to portal@good.test; unknown: quarantine.
  LabMilterDaemon d(FORCETLS_MILTER_PATH, kSocket, policy("redirect", "quarantine"), false);
  d.start();
  PostfixMilter postfix;
  const std::string conf = postfix.conf();

  SECTION("redirect: redirect_to receives the message, the original recipient does not") {
    const LogTail send_log(env().send_log);
    const LogTail mx_log(env().mx_log);
    RunResult t = swaks("alice.rd@good.test,bob.rd@notls.test", "--header 'Subject: redirect'");
    INFO(t.out << "\n--- daemon log ---\n" << d.lines());
    CHECK_THAT(reply_to(t.out, "RCPT TO:<bob.rd@notls.test>"), Catch::StartsWith("250 "));
    const std::string qid = queue_id(t.out);
    REQUIRE_FALSE(qid.empty());
    auto sent = [&](const std::string& rcpt) {
      return lines_with(lines_with(send_log.text(), qid + ": to=<" + rcpt + ">"), "status=sent");
    };
    const bool delivered =
        wait_until([&] { return !sent(kPortal).empty() && !sent("alice.rd@good.test").empty(); },
                   std::chrono::seconds(90));
    // The receiving instance got it (it discards what it accepts).
    const bool arrived = wait_until(
        [&] {
          return !lines_with(lines_with(mx_log.text(), "postfix/discard"),
                             std::string("to=<") + kPortal + ">")
                      .empty();
        },
        std::chrono::seconds(30));
    const std::string sl = lines_with(send_log.text(), qid);
    const std::string ml = mx_log.text();
    INFO(sl << "\n--- MX log ---\n" << ml);
    CHECK(delivered);
    CHECK(arrived);
    CHECK_THAT(sent(kPortal), Catch::Contains("relay=mx"));
    CHECK(sl.find("bob.rd@notls.test") == std::string::npos);
    CHECK(ml.find("bob.rd@notls.test") == std::string::npos);
    CHECK_THAT(last_decision(d.lines(), "<bob.rd@notls.test>"),
               Catch::Contains(qid + ": rcpt=<bob.rd@notls.test> domain=notls.test") &&
                   Catch::Contains("action=redirect redirect=portal@good.test"));
    CHECK_THAT(d.lines(), Catch::Contains(qid + ": summary from=<sender@lab.test> rcpts=2 "
                                                "accepted=2 rejected=0 tempfailed=0 removed=0 "
                                                "redirected=1 quarantine=no"));
  }

  SECTION("redirect removes a non-ASCII (SMTPUTF8) and an over-512-byte recipient exactly") {
    // Both instances speak SMTPUTF8 for this section only.
    const std::string mx_conf = env().get("MX_CONF");
    auto smtputf8 = [&](const char* on) {
      return run("postconf -c " + shell_quote(conf) + " -e smtputf8_enable=" + on +
                 " && postfix -c " + shell_quote(conf) + " reload && postconf -c " +
                 shell_quote(mx_conf) + " -e smtputf8_enable=" + on + " && postfix -c " +
                 shell_quote(mx_conf) + " reload 2>&1");
    };
    REQUIRE(smtputf8("yes").status == 0);
    const LogTail send_log(env().send_log);
    const LogTail mx_log(env().mx_log);
    // notls.test offers no STARTTLS: had either recipient stayed, Postfix
    // would deliver it there (in clear).
    const std::string utf8 = "j\u00f6rg.u@notls.test";
    const std::string longer = std::string(600, 'x') + ".u@notls.test";
    const std::string host = env().send_smtp.substr(0, env().send_smtp.find(':'));
    const std::string port = env().send_smtp.substr(env().send_smtp.find(':') + 1);
    const std::string client = R"(import smtplib, sys
s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=90)
s.ehlo("client.lab.test")
s.command_encoding = "utf-8"
def show(what, reply):
    print(what, reply[0], reply[1].decode())
show("MAIL", s.mail("sender@lab.test", ["SMTPUTF8"]))
for r in sys.argv[3:]:
    show("RCPT " + r[:20], s.rcpt(r))
show("DATA", s.data(b"From: sender@lab.test\r\nTo: undisclosed-recipients:;\r\n"
                    b"Subject: utf8 redirect\r\n\r\nbody\r\n"))
s.quit()
)";
    RunResult t =
        run("python3 -c " + shell_quote(client) + " " + host + " " + port + " alice.u@good.test " +
            shell_quote(utf8) + " " + shell_quote(longer) + " 2>&1");
    INFO(t.out << "\n--- daemon log ---\n" << d.lines());
    CHECK(t.status == 0);
    const std::string qid = queue_id(t.out);
    REQUIRE_FALSE(qid.empty());
    auto sent = [&](const std::string& rcpt) {
      return lines_with(lines_with(send_log.text(), qid + ": to=<" + rcpt + ">"), "status=sent");
    };
    const bool delivered =
        wait_until([&] { return !sent(kPortal).empty() && !sent("alice.u@good.test").empty(); },
                   std::chrono::seconds(90));
    // Give a leftover recipient the time to be delivered too.
    const bool done =
        wait_until([&] { return !lines_with(send_log.text(), qid + ": removed").empty(); },
                   std::chrono::seconds(30));
    const std::string sl = lines_with(send_log.text(), qid);
    const std::string ml = mx_log.text();
    smtputf8("no");
    INFO(sl << "\n--- MX log ---\n" << ml);
    CHECK(delivered);
    CHECK(done);
    CHECK(sl.find("notls.test") == std::string::npos);
    CHECK(ml.find("notls.test") == std::string::npos);
    CHECK_THAT(d.lines(), Catch::Contains(qid + ": rcpt=<j??rg.u@notls.test> domain=notls.test"));
    CHECK_THAT(d.lines(), Catch::Contains(qid + ": summary from=<sender@lab.test> rcpts=3 "
                                                "accepted=3 rejected=0 tempfailed=0 removed=0 "
                                                "redirected=2 quarantine=no"));
  }

  SECTION("quarantine: the message is in the hold queue with the reason logged") {
    const LogTail send_log(env().send_log);
    RunResult t = swaks("alice.q@good.test,carol.q@down.test", "--header 'Subject: quarantine'");
    INFO(t.out << "\n--- daemon log ---\n" << d.lines());
    CHECK_THAT(reply_to(t.out, "RCPT TO:<carol.q@down.test>"), Catch::StartsWith("250 "));
    const std::string qid = queue_id(t.out);
    REQUIRE_FALSE(qid.empty());
    const bool held =
        wait_until([&] { return !lines_with(send_log.text(), qid + ": milter-hold").empty(); },
                   std::chrono::seconds(60));
    const std::string sl = lines_with(send_log.text(), qid);
    // postqueue -j: one JSON object per message.
    RunResult q = run("postqueue -c " + shell_quote(conf) + " -j 2>&1");
    const std::string entry = lines_with(q.out, "\"queue_id\": \"" + qid + "\"");
    RunResult cat = run("postcat -c " + shell_quote(conf) + " -q " + qid + " 2>&1");
    INFO(sl << "\n--- postqueue -j ---\n" << q.out << "\n--- postcat ---\n" << cat.out);
    CHECK(held);
    // Postfix keeps no quarantine reason (cleanup logs its own text); the
    // reason is in the daemon's decision line under the same queue id.
    CHECK_THAT(sl, Catch::Contains("milter-hold: END-OF-MESSAGE") &&
                       Catch::Contains("milter triggers HOLD action"));
    CHECK_THAT(entry, Catch::Contains("\"queue_name\": \"hold\""));
    CHECK_THAT(entry, Catch::Contains("carol.q@down.test") && Catch::Contains("alice.q@good.test"));
    CHECK(sl.find("status=sent") == std::string::npos);  // nothing left the hold queue
    CHECK_THAT(cat.out, Catch::Contains("Subject: quarantine"));
    CHECK_THAT(last_decision(d.lines(), "<carol.q@down.test>"),
               Catch::Contains(qid + ": rcpt=<carol.q@down.test> domain=down.test") &&
                   Catch::Contains("verdict=unknown reason=probe-failed(mx.down.test)") &&
                   Catch::Contains("action=quarantine"));
    CHECK_THAT(d.lines(), Catch::Contains(qid + ": summary from=<sender@lab.test> rcpts=2 "
                                                "accepted=2 rejected=0 tempfailed=0 removed=0 "
                                                "redirected=0 quarantine=yes"));
    // Leave the lab's queue as it was.
    run("postsuper -c " + shell_quote(conf) + " -d " + qid + " hold 2>&1");
  }
  CHECK(d.stop());
}

TEST_CASE("forcetls-milter: an MTA without the actions the policy needs gets no unchanged mail",
          "[milter][lab]") {
  // SMFIF_ADDHDRS | SMFIF_QUARANTINE | SMFIF_DELRCPT: no SMFIF_ADDRCPT, which
  // a redirect needs.
  const std::string no_addrcpt = "41";
  const std::string script =
      std::string(FORCETLS_SOURCE_DIR) + "/tests/milter/miltertest/negotiate.lua";
  auto miltertest_run = [&](const std::string& args) {
    return run("miltertest -s " + shell_quote(script) + " -D socket=" + kSocket + " " + args +
               " 2>&1");
  };
  LabMilterDaemon d(FORCETLS_MILTER_PATH, kSocket, policy("reject", "tempfail"), false);
  d.start();

  SECTION("a redirect policy: the session is refused at negotiation, the log says why") {
    REQUIRE(d.reload_policy(policy("redirect", "tempfail")));
    RunResult mt = miltertest_run("-D actions=" + no_addrcpt + " -D expect=refused");
    const bool logged =
        wait_until([&] { return d.lines().find("error=mta-actions") != std::string::npos; },
                   std::chrono::seconds(10));
    INFO(mt.out << "\n--- daemon log ---\n" << d.lines());
    CHECK_THAT(mt.out, Catch::Contains("PASS"));
    CHECK(logged);
    CHECK_THAT(d.lines(), Catch::Contains("error=mta-actions missing=add-recipient"));
    // Every action offered: the same policy's session goes on.
    RunResult full = miltertest_run("-D actions=63 -D expect=refused");
    INFO(full.out);
    CHECK_THAT(full.out, Catch::Contains("FAIL: the session went on"));
  }

  SECTION("the policy changes under a negotiated session: the message is tempfailed") {
    // Negotiated under a policy without redirect; reloaded to one that
    // redirects notls.test before MAIL: smfi_addrcpt fails at end of message.
    const std::string reload = d.reload_command(policy("redirect", "tempfail"));
    RunResult mt = miltertest_run(
        "-D actions=" + no_addrcpt +
        " -D expect=tempfail -D rcpt='<bob.n@notls.test>' -D redirect_to=" + kPortal +
        " -D reload=" + shell_quote(reload));
    INFO(mt.out << "\n--- daemon log ---\n" << d.lines());
    CHECK(mt.status == 0);
    CHECK_THAT(mt.out, Catch::Contains("PASS"));
    CHECK_THAT(d.lines(), Catch::Contains("error=end-of-message-change failed=smfi_addrcpt "
                                          "rcpt=portal@good.test action=tempfail"));
    CHECK_THAT(d.lines(), Catch::Contains("redirected=1 quarantine=no header=no ended=tempfailed"));
  }
  CHECK(d.stop());
}

TEST_CASE("forcetls-milter: on_miss answer-now decides with on_unknown.not_checked",
          "[milter][lab]") {
  // Each domain is asked for the first time (a new daemon, an empty cache):
  // answered at once as not checked, probed in the background, decided on
  // its report once the probe is in. All three are eligible lab domains.
  const std::string tempfail_policy =
      policy("reject",
             "\n    dns_failure: tempfail\n    probe_failure: tempfail"
             "\n    dnssec_bogus: tempfail\n    not_checked: tempfail");
  const std::string quarantine_policy =
      policy("reject",
             "\n    dns_failure: tempfail\n    probe_failure: tempfail"
             "\n    dnssec_bogus: tempfail\n    not_checked: quarantine");
  LabMilterDaemon d(FORCETLS_MILTER_PATH, kSocket, tempfail_policy, false, "", "answer-now");
  d.start();
  PostfixMilter postfix;

  // Through Postfix: the reply says the domain is being checked.
  {
    RunResult t = swaks("alice@good.test,gus@wrongname.test", "--quit-after RCPT");
    // The lines are written when Postfix ends the transaction with the
    // milter, which may be just after swaks has left.
    const bool logged =
        wait_until([&] { return !last_decision(d.lines(), "<gus@wrongname.test>").empty(); },
                   std::chrono::seconds(30));
    INFO(t.out << "\n--- daemon log ---\n" << d.lines());
    CHECK(logged);
    CHECK_THAT(reply_to(t.out, "RCPT TO:<gus@wrongname.test>"),
               Catch::StartsWith("451 4.7.1 Forced TLS: wrongname.test is being checked for TLS "
                                 "support, try again later"));
    CHECK_THAT(last_decision(d.lines(), "<gus@wrongname.test>"),
               Catch::Contains("domain=wrongname.test policy=require verdict=not-checked "
                               "reason=not-checked") &&
                   Catch::Contains("action=tempfail") && Catch::Contains("cache=miss"));
  }

  auto action = [&](const std::string& rcpt, const std::string& reply,
                    const std::string& quarantine) {
    ActionCase c{"", "", rcpt, reply, "", "-", "-", "-", quarantine, {}};
    return miltertest(c);
  };
  // action.lua's eligible recipient must be: good.test, asked once above,
  // is in the cache once its background probe is (retried, 60 s at most).
  const bool warm = wait_until(
      [&] {
        return action("<hal@good.test>", "continue", "-").out.find("PASS") != std::string::npos;
      },
      std::chrono::seconds(60));
  INFO(d.lines());
  REQUIRE(warm);
  // miltertest: tempfail at once; once the background probe is in (retried
  // until it is, 60 s at most), the same recipient is decided eligible.
  {
    RunResult first = action("<erin@tls10.test>", "replycode", "-");
    INFO(first.out << "\n--- daemon log ---\n" << d.lines());
    CHECK_THAT(first.out, Catch::Contains("PASS"));
    CHECK_THAT(last_decision(d.lines(), "<erin@tls10.test>"),
               Catch::Contains("verdict=not-checked") && Catch::Contains("action=tempfail") &&
                   Catch::Contains("cache=miss"));
    const bool decided = wait_until(
        [&] {
          return action("<erin@tls10.test>", "continue", "-").out.find("PASS") != std::string::npos;
        },
        std::chrono::seconds(60));
    INFO(d.lines());
    CHECK(decided);
    CHECK_THAT(last_decision(d.lines(), "<erin@tls10.test>"),
               Catch::Contains("domain=tls10.test policy=require verdict=eligible") &&
                   Catch::Contains("action=accept") && Catch::Contains("cache=hit"));
  }
  // not_checked: quarantine — accepted, the message held at end of message.
  {
    const bool reloaded = d.reload_policy(quarantine_policy);
    INFO(d.lines());
    REQUIRE(reloaded);
    RunResult held = action("<fred@selfsigned.test>", "continue",
                            "forcetls: selfsigned.test not-checked(not-checked)");
    INFO(held.out << "\n--- daemon log ---\n" << d.lines());
    CHECK_THAT(held.out, Catch::Contains("PASS"));
    CHECK_THAT(last_decision(d.lines(), "<fred@selfsigned.test>"),
               Catch::Contains("verdict=not-checked") && Catch::Contains("action=quarantine") &&
                   Catch::Contains("cache=miss"));
  }
  CHECK(d.stop());
}

TEST_CASE("forcetls-milter: under prefer a new domain is answered at once, even with on_miss wait",
          "[milter][lab]") {
  // The built-in policy's mode: mail passes whatever the probe finds, so
  // a recipient never waits for one. A new daemon, an empty cache.
  LabMilterDaemon d(FORCETLS_MILTER_PATH, kSocket, "default:\n  mode: prefer\n", true, "", "wait");
  d.start();
  auto action = [&](const std::string& header) {
    ActionCase c{"", "", "<bob@notls.test>", "continue", "", header, "-", "-", "-", {}};
    return miltertest(c);
  };
  {
    // A wait would show as cache=probed and the probed verdicts in the header.
    RunResult first = action("good.test=not-checked; notls.test=not-checked");
    INFO(first.out << "\n--- daemon log ---\n" << d.lines());
    CHECK_THAT(first.out, Catch::Contains("PASS"));
    CHECK_THAT(last_decision(d.lines(), "<bob@notls.test>"),
               Catch::Contains("domain=notls.test policy=prefer verdict=not-checked") &&
                   Catch::Contains("action=accept") && Catch::Contains("cache=miss"));
    CHECK_THAT(d.lines(), !Catch::Contains("cache=probed"));
  }
  // The lookups queued background probes: both domains land in the cache
  // (retried, 60 s at most) and later mail carries their verdicts.
  const bool probed = wait_until(
      [&] {
        return action("good.test=eligible; notls.test=ineligible(no-starttls)").out.find("PASS") !=
               std::string::npos;
      },
      std::chrono::seconds(60));
  INFO(d.lines());
  CHECK(probed);
  CHECK_THAT(last_decision(d.lines(), "<bob@notls.test>"), Catch::Contains("verdict=ineligible") &&
                                                               Catch::Contains("action=accept") &&
                                                               Catch::Contains("cache=hit"));
  CHECK(d.stop());
}

TEST_CASE("forcetls-milter: SIGTERM while recipients wait for a probe: tempfailed, a clean stop",
          "[milter][lab]") {
  // sts-slow.test's policy host sends 20 bytes/s: its probe runs for the
  // whole MTA-STS fetch timeout (20 s), and each RCPT waits for it.
  LabMilterDaemon d(FORCETLS_MILTER_PATH, kSocket, policy("reject", "tempfail"), false);
  d.start();
  PostfixMilter postfix;
  std::vector<std::future<RunResult>> sessions;
  for (int i = 0; i < 3; ++i) {
    sessions.push_back(std::async(std::launch::async, [i] {
      return swaks("w" + std::to_string(i) + "@sts-slow.test", "--quit-after RCPT");
    }));
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));  // the RCPTs are waiting
  CHECK(last_decision(d.lines(), "<w0@sts-slow.test>").empty());
  const bool stopped = d.stop();  // SIGTERM; true when it left by itself
  INFO(d.lines());
  CHECK(stopped);
  CHECK_THAT(d.lines(),
             Catch::Contains("event=stopping signal=TERM") && Catch::Contains("event=stopped"));
  CHECK_THAT(d.lines(), !Catch::Contains("cache left open"));
  for (int i = 0; i < 3; ++i) {
    RunResult t = sessions[i].get();
    const std::string rcpt = "<w" + std::to_string(i) + "@sts-slow.test>";
    INFO(t.out);
    // Refused for now (the milter's tempfail or Postfix's
    // milter_default_action when the milter is gone), never accepted.
    CHECK_THAT(reply_to(t.out, "RCPT TO:" + rcpt), Catch::StartsWith("4"));
    const std::string decided = last_decision(d.lines(), rcpt);
    if (!decided.empty()) {
      CHECK_THAT(decided, Catch::Contains("action=tempfail"));
    }
  }
}
