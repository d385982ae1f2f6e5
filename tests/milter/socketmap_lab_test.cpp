// SPDX-License-Identifier: Apache-2.0
// Lab test of delivery-time enforcement: forcetls-milter's socketmap answered
// through Postfix's own client (`postmap -q KEY socketmap:...`), SIGHUP, and
// the downgrade attack — the sending Postfix with the milter and
// smtp_tls_policy_maps, an eligible `require` domain whose MX stops offering
// STARTTLS between acceptance and delivery (downgrade.test, 127.0.0.48).
// Every process started here is stopped by its PID; every configuration
// change is undone at the end of its test case, also when it fails.
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

constexpr const char* kMilterSocket = "inet:8894@127.0.0.1";
constexpr const char* kPostfixMilter = "inet:127.0.0.1:8894";
constexpr const char* kMapSocket = "inet:8892@127.0.0.1";
constexpr const char* kPostfixMap = "socketmap:inet:127.0.0.1:8892:forcetls";
constexpr const char* kStrippedService = "127.0.0.48:25/inet";
constexpr const char* kStrippedService2525 = "127.0.0.48:2525/inet";

/// A log file read from an offset: only what was written after mark().
struct LogWindow {
  std::string path;
  std::size_t start = 0;
  explicit LogWindow(std::string p) : path(std::move(p)) { mark(); }
  void mark() { start = read_whole_file(path).size(); }
  std::string text() const {
    const std::string all = read_whole_file(path);
    return all.size() > start ? all.substr(start) : std::string();
  }
};

std::string map_spec_or_default(const std::string& map_spec) {
  return map_spec.empty() ? std::string(kMapSocket) : map_spec;
}

struct Daemon : LabMilterDaemon {
  std::string map_socket;

  explicit Daemon(const std::string& policy_text, const std::string& map_spec = "")
      : LabMilterDaemon(
            FORCETLS_MILTER_PATH, kMilterSocket, policy_text, true,
            "socketmap:\n  socket: " + map_spec_or_default(map_spec) + "\nlog:\n  level: debug\n"),
        map_socket(map_spec_or_default(map_spec)) {}

  void start() {
    LabMilterDaemon::start();
    CHECK_THAT(lines(), Catch::Contains("socketmap=" + map_socket));
  }
};

/// Postfix's own socketmap client: exit 0 and the value for OK, 1 and
/// nothing for NOTFOUND, an error for TEMP/PERM.
RunResult postmap(const std::string& key, const std::string& map = "forcetls") {
  return run("postmap -c " + shell_quote(env().get("SEND_CONF")) + " -q " + shell_quote(key) +
             " socketmap:inet:127.0.0.1:8892:" + map + " 2>&1");
}

/// The daemon's last answer line for a key (log level debug logs every one).
std::string answer_line(const std::string& log, const std::string& map, const std::string& key) {
  std::istringstream in(log);
  std::string line;
  std::string last;
  const std::string want = "socketmap map=" + map + " key=" + key + " ";
  while (std::getline(in, line)) {
    if (line.find(want) != std::string::npos) {
      last = line;
    }
  }
  return last;
}

/// Asks until the answer is no longer the cache-miss TEMP (the refresh the
/// miss queued has finished); returns postmap's result.
RunResult settled(const Daemon& d, const std::string& key) {
  RunResult r{};
  wait_until(
      [&] {
        r = postmap(key);
        return answer_line(d.lines(), "forcetls", key).find("is being checked") ==
               std::string::npos;
      },
      90s);
  return r;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

constexpr const char* kAnswerPolicy = R"(default:
  mode: require
  on_ineligible: reject
  on_unknown:
    dns_failure: tempfail
    probe_failure: tempfail
    dnssec_bogus: tempfail
    not_checked: tempfail
rules:
  - domains: [mixed.test]
    on_ineligible: tempfail
  - domains: [selfsigned.test]
    mode: prefer
  - domains: [shared01.test]
    require_verified_cert: true
)";

}  // namespace

TEST_CASE("socketmap: every answer kind through postmap", "[milter][lab]") {
  Daemon d(kAnswerPolicy);
  d.start();

  // A miss answers TEMP at once and queues the probe; then the verdict.
  {
    RunResult first = postmap("good.test");
    INFO(first.out << "\n--- daemon ---\n" << d.lines());
    CHECK(first.status != 0);
    CHECK_THAT(answer_line(d.lines(), "forcetls", "good.test"),
               Catch::Contains("answer=TEMP") && Catch::Contains("is being checked") &&
                   Catch::Contains("cache=miss"));
  }
  struct Want {
    std::string key;
    int status;
    std::string out;     ///< postmap's output: the OK value, or part of its error
    std::string logged;  ///< in the daemon's answer line
  };
  const std::vector<Want> wants = {
      {"good.test", 0, "encrypt protocols=>=TLSv1.2 ciphers=high", "answer=OK"},
      {"tls10.test", 0, "encrypt protocols=>=TLSv1 ciphers=high", "answer=OK"},
      {"shared01.test", 0,
       "secure match=mx1.provider.test:mx2.provider.test protocols=>=TLSv1.2 ciphers=high",
       "answer=OK"},
      {"notls.test", 1, "socketmap server permanent error: forcetls: notls.test is not eligible",
       "answer=PERM value=\"forcetls: notls.test is not eligible"},
      {"mixed.test", 1, "socketmap server temporary error: forcetls: mixed.test is not eligible",
       "answer=TEMP value=\"forcetls: mixed.test is not eligible"},
      {"down.test", 1, "socketmap server temporary error: forcetls: could not verify",
       "answer=TEMP value=\"forcetls: could not verify TLS support"},
      {"selfsigned.test", 1, "", "answer=NOTFOUND policy=prefer"},
      {".good.test", 1, "", "answer=NOTFOUND note=parent-key"},
      // Next hops of a transport: the server itself is probed and judged
      // (an address by the default rule, a host by the rule for its name).
      {"[127.0.0.10]:25", 0, "encrypt protocols=>=TLSv1.2 ciphers=high", "answer=OK"},
      {"[mx1.good.test]:25", 0, "encrypt protocols=>=TLSv1.2 ciphers=high", "answer=OK"},
      {"good.test:2525", 1, "socketmap server temporary error: forcetls: could not verify",
       "answer=TEMP value=\"forcetls: could not verify TLS support of good.test:2525"},
  };
  for (const Want& w : wants) {
    RunResult r = settled(d, w.key);
    const std::string line = answer_line(d.lines(), "forcetls", w.key);
    INFO(w.key << ": postmap status " << r.status << " output: " << r.out << "\nlogged: " << line);
    CHECK(r.status == w.status);
    if (w.status == 0) {
      CHECK(trim(r.out) == w.out);
    } else if (w.out.empty()) {
      CHECK(trim(r.out).empty());  // NOTFOUND: no value, no error
    } else {
      CHECK_THAT(r.out, Catch::Contains(w.out));
    }
    CHECK_THAT(line, Catch::Contains(w.logged));
  }

  // `[host]:25` and `[host]` share one report; another port has its own
  // (nothing listens on 587: unknown, so TEMP, never NOTFOUND).
  CHECK(trim(settled(d, "[nomx.test]:25").out) == "encrypt protocols=>=TLSv1.2 ciphers=high");
  CHECK(trim(postmap("[nomx.test]").out) == "encrypt protocols=>=TLSv1.2 ciphers=high");
  CHECK_THAT(answer_line(d.lines(), "forcetls", "[nomx.test]"), Catch::Contains("cache=hit"));
  CHECK_THAT(settled(d, "[nomx.test]:587").out,
             Catch::Contains("socketmap server temporary error: forcetls: could not verify TLS "
                             "support of [nomx.test]:587"));

  // Sendmail's FEATURE(sts) map: `secure` pinned to the MX hosts when their
  // certificates verified, TEMP (never PERM: Sendmail reads PERM as "no
  // policy") for an ineligible require domain, NOTFOUND under prefer.
  CHECK(trim(postmap("good.test", "sts").out) ==
        "secure match=mx1.good.test:mx2.good.test servername=hostname");
  {
    RunResult r = postmap("notls.test", "sts");
    INFO(r.out);
    CHECK_THAT(r.out, Catch::Contains("socketmap server temporary error: forcetls: notls.test is "
                                      "not eligible"));
  }
  CHECK(postmap("selfsigned.test", "sts").status == 1);
  CHECK_THAT(answer_line(d.lines(), "sts", "selfsigned.test"),
             Catch::Contains("answer=NOTFOUND policy=prefer"));
  // An unknown map name is refused (PERM), not answered NOTFOUND.
  CHECK(postmap("good.test", "other").status != 0);
  CHECK_THAT(answer_line(d.lines(), "other", "good.test"), Catch::Contains("answer=PERM"));

  // Malformed netstring: the connection is closed with a log line, the
  // daemon goes on.
  run("timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/8892; "
      "printf \"GET / HTTP/1.0\\r\\n\\r\\n\" >&3; cat <&3 >/dev/null'");
  CHECK(wait_until([&] { return d.lines().find("error=malformed-netstring") != std::string::npos; },
                   20s));
  CHECK(trim(postmap("good.test").out) == "encrypt protocols=>=TLSv1.2 ciphers=high");

  // SIGHUP: a new policy applies to the socketmap at once.
  std::ofstream(d.policy_path()) << "default:\n  mode: prefer\n";
  ::kill(d.pid(), SIGHUP);
  CHECK(wait_until([&] { return d.lines().find("event=reloaded") != std::string::npos; }, 20s));
  CHECK(postmap("good.test").status == 1);
  CHECK_THAT(answer_line(d.lines(), "forcetls", "good.test"),
             Catch::Contains("answer=NOTFOUND policy=prefer"));

  CHECK(d.stop());
  CHECK_THAT(d.lines(), Catch::Contains("event=stopped"));
  // Stopped: nothing listens any more.
  CHECK(postmap("good.test").status != 0);
}

namespace {

constexpr const char* kDowngradePolicy = R"(default:
  mode: require
  on_ineligible: reject
)";

/// The sending and receiving Postfix instances, configured for the
/// downgrade test and put back as they were when this goes out of scope.
struct DowngradeLab {
  std::string send = env().get("SEND_CONF");
  std::string mx = env().get("MX_CONF");
  bool with_port_2525 = false;  ///< a copy of the MX on 127.0.0.48:2525 (add_port_2525)

  DowngradeLab() {
    // The MX names itself in the receiving log, so its lines can be told apart.
    REQUIRE(run("postconf -c " + mx + " -P '" + kStrippedService +
                "/syslog_name=postfix/downgrade' && postfix -c " + mx + " reload")
                .status == 0);
    REQUIRE(run("postconf -c " + send + " -e 'smtpd_milters=" + kPostfixMilter +
                "' 'milter_default_action=tempfail' 'smtp_tls_policy_maps=" + kPostfixMap +
                "' 'defer_transports=smtp' && postfix -c " + send + " reload")
                .status == 0);
  }
  ~DowngradeLab() {
    run("postsuper -c " + send + " -d ALL >/dev/null 2>&1");
    run("postconf -c " + send +
        " -X smtpd_milters milter_default_action smtp_tls_policy_maps defer_transports && "
        "postfix -c " +
        send + " reload >/dev/null 2>&1");
    if (with_port_2525) {
      run("postconf -c " + mx + " -MX '" + kStrippedService2525 + "' >/dev/null 2>&1");
    }
    run("postconf -c " + mx + " -P '" + kStrippedService +
        "/smtpd_tls_security_level=may' && postconf -c " + mx + " -PX '" + kStrippedService +
        "/syslog_name' && postfix -c " + mx + " reload >/dev/null 2>&1");
  }

  /// The same MX (name, certificate, TLS settings) also on port 2525, logging
  /// as postfix/downgrade2525; removed again by the destructor.
  void add_port_2525() {
    RunResult params = run("postconf -c " + mx + " -P");
    std::string cmd = "postconf -c " + mx + " -M '" + kStrippedService2525 +
                      "=127.0.0.48:2525 inet n - n - - smtpd'";
    const std::string prefix = std::string(kStrippedService) + "/";
    std::istringstream in(params.out);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.starts_with(prefix) || line.find("/syslog_name") != std::string::npos) {
        continue;
      }
      const std::size_t eq = line.find(" = ");
      if (eq == std::string::npos) {
        continue;
      }
      cmd +=
          " && postconf -c " + mx + " -P " +
          shell_quote(std::string(kStrippedService2525) + "/" +
                      line.substr(prefix.size(), eq - prefix.size()) + "=" + line.substr(eq + 3));
    }
    cmd += " && postconf -c " + mx + " -P '" + kStrippedService2525 +
           "/syslog_name=postfix/downgrade2525' && postfix -c " + mx + " reload";
    with_port_2525 = true;
    RunResult r = run(cmd + " 2>&1");
    INFO(cmd << "\n" << r.out);
    REQUIRE(r.status == 0);
    REQUIRE(wait_until(
        [] {
          return run("swaks --server 127.0.0.48 --port 2525 --quit-after EHLO 2>&1")
                     .out.find("250") != std::string::npos;
        },
        60s));
  }

  /// Whether 127.0.0.48 offers STARTTLS right now (asked as a client would).
  static bool offers_starttls() {
    RunResult r =
        run("swaks --server 127.0.0.48 --port 25 --quit-after EHLO --ehlo check.lab.test 2>&1");
    return r.out.find("250-STARTTLS") != std::string::npos ||
           r.out.find("250 STARTTLS") != std::string::npos;
  }

  /// The MX on the same address without (false) or with (true) STARTTLS.
  void set_starttls(bool on) {
    std::string cmd = "postconf -c " + mx + " -P '" + kStrippedService +
                      "/smtpd_tls_security_level=" + (on ? "may" : "none") + "'";
    if (with_port_2525) {
      cmd += " '" + std::string(kStrippedService2525) +
             "/smtpd_tls_security_level=" + (on ? "may" : "none") + "'";
    }
    REQUIRE(run(cmd + " && postfix -c " + mx + " reload").status == 0);
    // reload restarts the smtpd processes; wait until the new ones answer.
    REQUIRE(wait_until([&] { return offers_starttls() == on; }, 60s));
  }

  void flush() { REQUIRE(run("postqueue -c " + send + " -f").status == 0); }

  void submit(const std::string& rcpt, const std::string& subject,
              const std::string& from = "sender@lab.test") {
    const std::string host = env().send_smtp.substr(0, env().send_smtp.find(':'));
    const std::string port = env().send_smtp.substr(env().send_smtp.find(':') + 1);
    RunResult swaks = run("swaks --server " + host + " --port " + port + " --from " + from +
                          " --to " + rcpt + " --header 'Subject: " + subject + "' 2>&1");
    INFO(swaks.out);
    REQUIRE_THAT(swaks.out, Catch::Contains("250 2.0.0 Ok: queued"));
  }
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

}  // namespace

TEST_CASE("socketmap: a STARTTLS downgrade is deferred, never delivered in clear",
          "[milter][lab]") {
  Daemon d(kDowngradePolicy);
  d.start();
  DowngradeLab lab;
  LogWindow send_log(env().send_log);
  LogWindow mx_log(env().mx_log);

  // 1. Accepted by the milter (downgrade.test probed: eligible) and held
  //    by defer_transports.
  lab.submit("u@downgrade.test", "downgrade 1");
  REQUIRE(wait_until(
      [&] { return send_log.text().find("to=<u@downgrade.test>") != std::string::npos; }, 60s));
  {
    const std::string l = send_log.text();
    INFO(l << "\n--- daemon ---\n" << d.lines());
    CHECK(l.find("status=sent") == std::string::npos);
    CHECK_THAT(d.lines(), Catch::Contains("domain=downgrade.test policy=require verdict=eligible"));
  }
  RunResult policy_value = postmap("downgrade.test");
  CHECK(trim(policy_value.out) == "encrypt protocols=>=TLSv1.2 ciphers=high");

  // 2. The attacker's MX: same address, no STARTTLS. Postfix must defer.
  lab.set_starttls(false);
  send_log.mark();
  mx_log.mark();
  lab.flush();
  const std::string not_offered =
      "TLS is required, but was not offered by host mx.downgrade.test[127.0.0.48]";
  {
    const bool deferred =
        wait_until([&] { return send_log.text().find(not_offered) != std::string::npos; }, 90s);
    const std::string l = send_log.text();
    const std::string m = mx_log.text();
    INFO(l << "\n--- receiving ---\n" << m << "\n--- daemon ---\n" << d.lines());
    REQUIRE(deferred);
    const auto attempt = lines_with(l, "to=<u@downgrade.test>");
    REQUIRE_FALSE(attempt.empty());
    CHECK_THAT(attempt.back(), Catch::Contains("dsn=4.7.4") && Catch::Contains("status=deferred") &&
                                   Catch::Contains(not_offered));
    CHECK(lines_with(l, "status=sent").empty());
    // The receiving side saw EHLO and QUIT, never a message.
    const auto server = lines_with(m, "postfix/downgrade/smtpd");
    CHECK_FALSE(server.empty());
    for (const std::string& line : server) {
      CHECK(line.find("client=") == std::string::npos);
      CHECK(line.find("mail=") == std::string::npos);
      CHECK(line.find("data=") == std::string::npos);
    }
  }

  // 3. The real MX is back: delivered, with TLS.
  lab.set_starttls(true);
  send_log.mark();
  mx_log.mark();
  lab.flush();
  {
    const bool sent = wait_until(
        [&] {
          for (const std::string& line : lines_with(send_log.text(), "to=<u@downgrade.test>")) {
            if (line.find("status=sent") != std::string::npos) {
              return true;
            }
          }
          return false;
        },
        90s);
    const std::string l = send_log.text();
    const std::string m = mx_log.text();
    INFO(l << "\n--- receiving ---\n" << m);
    CHECK(sent);
    CHECK_THAT(l, Catch::Contains("TLS connection established to mx.downgrade.test[127.0.0.48]"));
    CHECK_FALSE(lines_with(m, "postfix/downgrade/smtpd").empty());
    bool tls_at_mx = false;
    for (const std::string& line : lines_with(m, "postfix/downgrade/smtpd")) {
      tls_at_mx = tls_at_mx || line.find("TLS connection established from") != std::string::npos;
    }
    CHECK(tls_at_mx);
  }

  // 4. The daemon stopped: the policy lookup fails and Postfix defers
  //    (4.7.5); the stripped MX gets nothing.
  lab.submit("v@downgrade.test", "downgrade 2");
  REQUIRE(wait_until(
      [&] { return send_log.text().find("to=<v@downgrade.test>") != std::string::npos; }, 60s));
  REQUIRE(d.stop());
  lab.set_starttls(false);
  send_log.mark();
  mx_log.mark();
  lab.flush();
  {
    const bool deferred = wait_until(
        [&] {
          for (const std::string& line : lines_with(send_log.text(), "to=<v@downgrade.test>")) {
            if (line.find("status=deferred") != std::string::npos) {
              return true;
            }
          }
          return false;
        },
        90s);
    const std::string l = send_log.text();
    const std::string m = mx_log.text();
    INFO(l << "\n--- receiving ---\n" << m);
    REQUIRE(deferred);
    const auto attempt = lines_with(l, "to=<v@downgrade.test>");
    CHECK_THAT(attempt.back(), Catch::Contains("dsn=4.7.5") && Catch::Contains("status=deferred"));
    CHECK(lines_with(l, "status=sent").empty());
    for (const std::string& line : lines_with(m, "postfix/downgrade/smtpd")) {
      CHECK(line.find("client=") == std::string::npos);
      CHECK(line.find("data=") == std::string::npos);
    }
  }
}

TEST_CASE("socketmap: unix socket, stale file replaced, owned by the daemon user",
          "[milter][lab]") {
  char tmpl[] = "/tmp/forcetls-socketmap-unix-XXXXXX";
  const std::filesystem::path sockdir = mkdtemp(tmpl);
  ::chmod(sockdir.c_str(), 0755);
  // Like a systemd RuntimeDirectory: the daemon's user may remove its socket.
  REQUIRE(run("chown nobody " + shell_quote(sockdir.string())).status == 0);
  const std::string path = (sockdir / "socketmap").string();
  // What a daemon that died leaves behind: a socket file nobody accepts on.
  REQUIRE(run("python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' " +
              shell_quote(path))
              .status == 0);
  {
    Daemon d("default:\n  mode: require\n", "unix:" + path);
    d.start();
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0660);
    RunResult owner = run("stat -c %U " + shell_quote(path));
    CHECK(trim(owner.out) == "nobody");
    RunResult r = run("postmap -c " + shell_quote(env().get("SEND_CONF")) +
                      " -q good.test socketmap:unix:" + path + ":forcetls 2>&1");
    INFO(r.out << "\n--- daemon ---\n" << d.lines());
    CHECK_THAT(r.out, Catch::Contains("socketmap server temporary error: forcetls: good.test is "
                                      "being checked"));
    CHECK(d.stop());
  }
  CHECK_FALSE(std::filesystem::exists(path));  // removed at stop
  std::error_code ec;
  std::filesystem::remove_all(sockdir, ec);
}

namespace {

/// Next hops a `require` rule covers although they are not the recipient's
/// MX lookup: a transport to a `[host]`, to `[host]:port`, and a domain that
/// only a sender-conditional `require` rule covers.
constexpr const char* kNextHopPolicy = R"(default:
  mode: prefer
rules:
  - domains: [.downgrade.test]
    mode: require
  - domains: [downgrade.test]
    senders: [legal.lab.test]
    mode: require
)";

/// Postfix's delivery line for one recipient that has `what` in it.
bool delivery_has(const std::string& log, const std::string& rcpt, const std::string& what) {
  for (const std::string& line : lines_with(log, "to=<" + rcpt + ">")) {
    if (line.find(what) != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("socketmap: [host], [host]:port and sender-conditional next hops through a downgrade",
          "[milter][lab]") {
  Daemon d(kNextHopPolicy);
  d.start();
  DowngradeLab lab;
  lab.add_port_2525();
  // good.test and tls10.test are delivered to the downgrade MX by transport,
  // so Postfix asks the map for the host, not for their MX.
  struct Transports {
    std::string send = env().get("SEND_CONF");
    Transports() {
      REQUIRE(run("postconf -c " + send +
                  " -e 'transport_maps=inline:{good.test=smtp:[mx.downgrade.test], "
                  "tls10.test=smtp:[mx.downgrade.test]:2525}' && postfix -c " +
                  send + " reload")
                  .status == 0);
    }
    ~Transports() {
      run("postconf -c " + send + " -X transport_maps && postfix -c " + send +
          " reload >/dev/null 2>&1");
    }
  } transports;
  LogWindow send_log(env().send_log);
  LogWindow mx_log(env().mx_log);

  struct Message {
    std::string rcpt;
    std::string from;
    std::string key;  ///< what Postfix asks the map for it
    std::string relay;
  };
  const std::vector<Message> messages = {
      {"a@good.test", "sender@lab.test", "[mx.downgrade.test]", "[127.0.0.48]:25"},
      {"b@tls10.test", "sender@lab.test", "[mx.downgrade.test]:2525", "[127.0.0.48]:2525"},
      // Another sender's mail: only legal.lab.test's is `require` at RCPT,
      // but the map cannot tell the two apart.
      {"c@downgrade.test", "other@lab.test", "downgrade.test", "[127.0.0.48]:25"},
  };
  for (const Message& m : messages) {
    lab.submit(m.rcpt, "next hop " + m.key, m.from);
  }
  REQUIRE(wait_until(
      [&] {
        for (const Message& m : messages) {
          if (send_log.text().find("to=<" + m.rcpt + ">") == std::string::npos) {
            return false;
          }
        }
        return true;
      },
      60s));

  // 1. Each next hop is probed as itself and answered like a domain.
  for (const Message& m : messages) {
    RunResult r = settled(d, m.key);
    INFO(m.key << ": " << r.out << "\n--- daemon ---\n" << d.lines());
    CHECK(trim(r.out) == "encrypt protocols=>=TLSv1.2 ciphers=high");
    CHECK_THAT(answer_line(d.lines(), "forcetls", m.key), Catch::Contains("policy=require"));
  }

  // 2. STARTTLS stripped on both ports: every message is deferred, none
  //    reaches the MX.
  lab.set_starttls(false);
  send_log.mark();
  mx_log.mark();
  lab.flush();
  {
    const bool deferred = wait_until(
        [&] {
          for (const Message& m : messages) {
            if (!delivery_has(send_log.text(), m.rcpt, "TLS is required, but was not offered")) {
              return false;
            }
          }
          return true;
        },
        120s);
    const std::string l = send_log.text();
    const std::string m = mx_log.text();
    INFO(l << "\n--- receiving ---\n" << m << "\n--- daemon ---\n" << d.lines());
    CHECK(deferred);
    CHECK(lines_with(l, "status=sent").empty());
    for (const char* service : {"postfix/downgrade/smtpd", "postfix/downgrade2525/smtpd"}) {
      for (const std::string& line : lines_with(m, service)) {
        CHECK(line.find("client=") == std::string::npos);
      }
    }
  }

  // 3. STARTTLS back: each delivered over TLS, to the port its transport names.
  lab.set_starttls(true);
  send_log.mark();
  mx_log.mark();
  lab.flush();
  {
    const bool sent = wait_until(
        [&] {
          for (const Message& m : messages) {
            if (!delivery_has(send_log.text(), m.rcpt, "status=sent")) {
              return false;
            }
          }
          return true;
        },
        120s);
    const std::string l = send_log.text();
    const std::string m = mx_log.text();
    INFO(l << "\n--- receiving ---\n" << m);
    CHECK(sent);
    for (const Message& msg : messages) {
      CHECK(delivery_has(l, msg.rcpt, "relay=mx.downgrade.test" + msg.relay));
    }
    std::size_t tls_sessions = 0;
    for (const char* service : {"postfix/downgrade/smtpd", "postfix/downgrade2525/smtpd"}) {
      for (const std::string& line : lines_with(m, service)) {
        tls_sessions += line.find("TLS connection established from") != std::string::npos;
      }
      CHECK_FALSE(lines_with(m, service).empty());
    }
    CHECK(tls_sessions >= 2);
  }
}

TEST_CASE(
    "socketmap: a pinned domain stripped during its refresh is held, under tag and quarantine",
    "[milter][lab]") {
  const std::string action = GENERATE(std::string("tag"), std::string("quarantine"));
  INFO("on_ineligible: " << action);
  // Under quarantine, a suspected downgrade is quarantined too (its own
  // cause): a message accepted while stripped is held, then released by the
  // admin; under tag it stays tempfail, the default.
  const bool hold = action == "quarantine";
  Daemon d("default:\n  mode: require\n  on_ineligible: " + action + "\n" +
           (hold ? "  on_unknown:\n    downgrade_suspected: quarantine\n" : ""));
  d.start();
  DowngradeLab lab;
  LogWindow send_log(env().send_log);
  LogWindow mx_log(env().mx_log);
  auto ctl = [&](const std::string& args) {
    return run(shell_quote(FORCETLS_CTL_PATH) + " --config " + shell_quote(d.config_path()) + " " +
               args + " 2>&1");
  };

  // Accepted while eligible (pinned), held in the queue.
  lab.submit("p@downgrade.test", "pinned " + action);
  REQUIRE(wait_until(
      [&] { return send_log.text().find("to=<p@downgrade.test>") != std::string::npos; }, 60s));
  CHECK(trim(postmap("downgrade.test").out) == "encrypt protocols=>=TLSv1.2 ciphers=high");
  CHECK_THAT(ctl("cache show downgrade.test").out, Catch::Contains("pin: eligible since"));

  // The refresh runs while STARTTLS is stripped: without the pin the domain
  // would be ineligible, which `tag`/`quarantine` answer NOTFOUND (clear).
  lab.set_starttls(false);
  RunResult refreshed = ctl("cache refresh --now downgrade.test");
  INFO(refreshed.out << "\n--- daemon ---\n" << d.lines());
  RunResult held = postmap("downgrade.test");
  CHECK_THAT(held.out, Catch::Contains("socketmap server temporary error") &&
                           Catch::Contains("downgrade-suspected(no-starttls(mx.downgrade.test))"));
  CHECK_THAT(answer_line(d.lines(), "forcetls", "downgrade.test"),
             Catch::Contains("answer=TEMP") && Catch::Contains("verdict=unknown"));
  CHECK_THAT(ctl("cache show downgrade.test").out, Catch::Contains("downgrade suspected"));
  const std::vector<std::string> queued =
      hold ? std::vector<std::string>{"p@downgrade.test", "h@downgrade.test"}
           : std::vector<std::string>{"p@downgrade.test"};
  if (hold) {
    // Sent while stripped: held (milter-hold), then released with postsuper -H.
    lab.submit("h@downgrade.test", "held while stripped");
    const bool held_msg = wait_until(
        [&] { return send_log.text().find("milter triggers HOLD action") != std::string::npos; },
        60s);
    INFO(send_log.text() << "\n--- daemon ---\n" << d.lines());
    REQUIRE(held_msg);
    CHECK_THAT(d.lines(), Catch::Contains("rcpt=<h@downgrade.test>") &&
                              Catch::Contains("reason=downgrade-suspected("));
    RunResult released = run("postsuper -c " + lab.send + " -H ALL 2>&1");
    INFO(released.out);
    CHECK(released.status == 0);
    CHECK_THAT(released.out, Catch::Contains("Released from hold: 1 message"));
  } else {
    // Sent while stripped: tempfailed at RCPT, nothing queued.
    const std::string host = env().send_smtp.substr(0, env().send_smtp.find(':'));
    const std::string port = env().send_smtp.substr(env().send_smtp.find(':') + 1);
    RunResult t = run("swaks --server " + host + " --port " + port +
                      " --from sender@lab.test --to h@downgrade.test 2>&1");
    INFO(t.out);
    CHECK_THAT(t.out, Catch::Contains("<** 451 4.7.1"));
  }
  send_log.mark();
  mx_log.mark();
  lab.flush();
  for (const std::string& rcpt : queued) {
    INFO("queued " << rcpt);
    const bool deferred =
        wait_until([&] { return delivery_has(send_log.text(), rcpt, "status=deferred"); }, 90s);
    const std::string l = send_log.text();
    INFO(l << "\n--- receiving ---\n" << mx_log.text());
    CHECK(deferred);
    CHECK(lines_with(l, "status=sent").empty());
    for (const std::string& line : lines_with(mx_log.text(), "postfix/downgrade/smtpd")) {
      CHECK(line.find("client=") == std::string::npos);
    }
  }

  // STARTTLS back, probed eligible again: delivered over TLS.
  lab.set_starttls(true);
  ctl("cache refresh --now downgrade.test");
  CHECK(trim(postmap("downgrade.test").out) == "encrypt protocols=>=TLSv1.2 ciphers=high");
  send_log.mark();
  lab.flush();
  for (const std::string& rcpt : queued) {
    const bool sent =
        wait_until([&] { return delivery_has(send_log.text(), rcpt, "status=sent"); }, 90s);
    INFO(rcpt << "\n" << send_log.text());
    CHECK(sent);
  }
  CHECK_THAT(send_log.text(),
             Catch::Contains("TLS connection established to mx.downgrade.test[127.0.0.48]"));
  CHECK(lines_with(run("postqueue -c " + lab.send + " -j 2>&1").out, "downgrade.test").empty());
}
