// SPDX-License-Identifier: Apache-2.0
// Lab test of `forcetls-ctl doctor` against the lab's sending Postfix: a
// copy of its configuration directory, wired to forcetls as README.md says
// (with `postconf -c DIR -e/-P`), gives no problem; then each item is broken
// on its own copy and doctor (the built binary, with the real postconf)
// must print exactly that item's problem line and exit 1. The lab's own
// instance is never changed.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>

#include "tests/lab/lab_env.hpp"

using namespace forcetls::labtest;

namespace {

constexpr const char* kMilter = "inet:127.0.0.1:8891";
constexpr const char* kMap = "socketmap:inet:127.0.0.1:8892:forcetls";

/// A temporary directory with a copy of the sending instance's main.cf and
/// master.cf, the forcetls configuration and policy, and resolv.conf files.
struct Copy {
  std::filesystem::path dir;
  std::string postfix;  ///< the copied Postfix configuration directory
  std::string config;   ///< forcetls.yaml
  std::string policy;
  std::string resolv;  ///< resolv.conf with `options trust-ad`

  Copy() {
    char tmpl[] = "/tmp/forcetls-doctor-lab-XXXXXX";
    dir = mkdtemp(tmpl);
    postfix = (dir / "postfix").string();
    std::filesystem::create_directory(postfix);
    const std::filesystem::path send = env().get("SEND_CONF");
    for (const char* f : {"main.cf", "master.cf"}) {
      std::filesystem::copy_file(send / f, std::filesystem::path(postfix) / f);
    }
    config = (dir / "forcetls.yaml").string();
    policy = (dir / "policy.yaml").string();
    resolv = (dir / "resolv.conf").string();
    write_config("");
    std::ofstream(policy) << "default:\n  mode: prefer\nrules:\n"
                          << "  - domains: [.isp.test]\n    mode: require\n";
    std::ofstream(resolv) << "nameserver 127.0.0.1\noptions edns0 trust-ad\n";
    // The README's wiring: the milter on the submission service (here the
    // instance's only smtpd) and for local submissions, the policy map.
    postconf("-P '127.0.0.1:2525/inet/smtpd_milters=" + std::string(kMilter) + "'");
    postconf("-e 'non_smtpd_milters = " + std::string(kMilter) +
             "' 'milter_default_action = tempfail' 'milter_command_timeout = 30s' "
             "'smtp_tls_policy_maps = " +
             kMap + "'");
  }
  ~Copy() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  void write_config(const std::string& milter_socket) {
    std::ofstream(config) << "milter:\n  socket: "
                          << (milter_socket.empty() ? "inet:8891@127.0.0.1" : milter_socket)
                          << "\n  miss_deadline: 20s\n"
                          << "socketmap:\n  socket: inet:8892@127.0.0.1\n  postfix_dnssec: true\n"
                          << "policy_file: " << policy << "\n";
  }

  void postconf(const std::string& args) const {
    const RunResult r = run("postconf -c " + shell_quote(postfix) + " " + args + " 2>&1");
    INFO(r.out);
    REQUIRE(r.status == 0);
  }

  std::string get(const std::string& name) const {
    RunResult r = run("postconf -c " + shell_quote(postfix) + " -h " + name);
    REQUIRE(r.status == 0);
    while (!r.out.empty() && r.out.back() == '\n') {
      r.out.pop_back();
    }
    return r.out;
  }

  RunResult doctor(const std::string& resolv_conf = "") const {
    return run(shell_quote(FORCETLS_CTL_PATH) + " --config " + shell_quote(config) + " doctor -c " +
               shell_quote(postfix) + " --resolv-conf " +
               shell_quote(resolv_conf.empty() ? resolv : resolv_conf) + " 2>&1");
  }
};

std::vector<std::string> problem_lines(const std::string& out) {
  std::vector<std::string> lines;
  for (const std::string& l : split(out, '\n')) {
    if (l.starts_with("problem: ")) {
      lines.push_back(l);
    }
  }
  return lines;
}

}  // namespace

TEST_CASE("doctor: the lab's Postfix wired as the README says has no problem", "[doctor]") {
  Copy c;
  const RunResult r = c.doctor();
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK(problem_lines(r.out).empty());
  CHECK_THAT(r.out, Catch::Contains("ok: milter: inet:127.0.0.1:8891 in smtpd_milters of "
                                    "127.0.0.1:2525/inet (master.cf -o), non_smtpd_milters of "
                                    "cleanup/unix (main.cf)\n"));
  CHECK_THAT(r.out, Catch::Contains("ok: policy-map: " + std::string(kMap) +
                                    " in smtp_tls_policy_maps of smtp/unix, relay/unix\n"));
  CHECK_THAT(r.out, Catch::Contains("ok: smtp_dns_support_level: dnssec (dane/verify answers are "
                                    "on)\n"));
  CHECK_THAT(r.out, Catch::Contains("ok: trust-ad: options trust-ad in " + c.resolv + "\n"));
  CHECK_THAT(r.out, Catch::Contains("doctor: no problems (Postfix " + c.postfix));
}

TEST_CASE("doctor: the lab's Postfix broken item by item", "[doctor]") {
  struct Case {
    std::string label;
    std::function<void(Copy&)> breaks;
    std::function<std::string(const Copy&)> want;  ///< the exact problem line
    std::string resolv;                            ///< resolv.conf text instead of the good one
  };
  const std::string pc = "postconf -c ";
  auto c = GENERATE_COPY(values<Case>({
      {"milter nowhere",
       [](Copy& x) {
         x.postconf("-P -X '127.0.0.1:2525/inet/smtpd_milters'");
         x.postconf("-X non_smtpd_milters");
       },
       [](const Copy& x) {
         return "problem: milter: no smtpd_milters or non_smtpd_milters names forcetls's milter "
                "(milter.socket inet:8891@127.0.0.1); fix: add `-o "
                "smtpd_milters=inet:127.0.0.1:8891` to the submission service in master.cf and "
                "`postconf -c " +
                x.postfix + " -e 'non_smtpd_milters = inet:127.0.0.1:8891'` (README.md, Postfix)";
       },
       ""},
      {"milter_default_action accept",
       [](Copy& x) { x.postconf("-e 'milter_default_action = accept'"); },
       [](const Copy& x) {
         return "problem: milter_default_action: milter_default_action (main.cf) = accept: while "
                "forcetls is unreachable Postfix does not answer 4xx, so mail is accepted "
                "unchecked; fix: postconf -c " +
                x.postfix + " -e 'milter_default_action = tempfail'";
       },
       ""},
      {"milter_command_timeout below the deadline",
       [](Copy& x) { x.postconf("-e 'milter_command_timeout = 15s'"); },
       [](const Copy& x) {
         return "problem: milter_command_timeout: milter_command_timeout (main.cf) = 15s is not "
                "above milter.miss_deadline (20s): Postfix gives up on a recipient while "
                "forcetls still waits for its probe; fix: postconf -c " +
                x.postfix + " -e 'milter_command_timeout = 30s' (or lower milter.miss_deadline)";
       },
       ""},
      {"no smtp_tls_policy_maps", [](Copy& x) { x.postconf("-X smtp_tls_policy_maps"); },
       [](const Copy& x) {
         return "problem: policy-map: smtp_tls_policy_maps (main.cf) = (empty) lacks " +
                std::string(kMap) +
                ": deliveries of smtp/unix, relay/unix are not held to TLS; fix: postconf -c " +
                x.postfix + " -e 'smtp_tls_policy_maps = " + kMap + "'";
       },
       ""},
      {"relay overrides smtp_tls_policy_maps",
       [](Copy& x) { x.postconf("-P 'relay/unix/smtp_tls_policy_maps=hash:/etc/postfix/tls'"); },
       [](const Copy& x) {
         return "problem: policy-map: smtp_tls_policy_maps of relay/unix (master.cf -o) = "
                "hash:/etc/postfix/tls lacks " +
                std::string(kMap) + ": deliveries of relay/unix are not held to TLS; fix: add " +
                kMap + " to that -o in master.cf (postconf -c " + x.postfix +
                " -P 'relay/unix/smtp_tls_policy_maps=" + kMap + "'), or remove the -o";
       },
       ""},
      {"smtp_dns_support_level enabled",
       [](Copy& x) { x.postconf("-e 'smtp_dns_support_level = enabled'"); },
       [](const Copy& x) {
         return "problem: smtp_dns_support_level: smtp_dns_support_level (main.cf) = enabled: "
                "socketmap.postfix_dnssec is on, and dane/verify answers need "
                "smtp_dns_support_level = dnssec; fix: postconf -c " +
                x.postfix +
                " -e 'smtp_dns_support_level = dnssec' (or socketmap.postfix_dnssec: false)";
       },
       ""},
      {"smtp_host_lookup native", [](Copy& x) { x.postconf("-e 'smtp_host_lookup = native'"); },
       [](const Copy& x) {
         return "problem: smtp_host_lookup: smtp_host_lookup (main.cf) = native: dane/verify "
                "answers need DNSSEC-validated address lookups, which only dns gives; fix: "
                "postconf -c " +
                x.postfix + " -e 'smtp_host_lookup = dns'";
       },
       ""},
      {"ignore_mx_lookup_error yes",
       [](Copy& x) { x.postconf("-e 'ignore_mx_lookup_error = yes'"); },
       [](const Copy& x) {
         return "problem: ignore_mx_lookup_error: ignore_mx_lookup_error (main.cf) = yes: a "
                "failed MX lookup makes Postfix deliver to the domain's own address, not to the "
                "MX hosts forcetls judged; fix: postconf -c " +
                x.postfix + " -e 'ignore_mx_lookup_error = no'";
       },
       ""},
      {"no trust-ad", [](Copy&) {},
       [](const Copy& x) {
         return "problem: trust-ad: no `options trust-ad` in " + (x.dir / "bad-resolv").string() +
                ": the resolver library drops the DNSSEC AD bit, so Postfix never sees a "
                "validated answer and defers dane-only and verify deliveries; fix: add `options "
                "trust-ad` to " +
                (x.dir / "bad-resolv").string() + " (the resolver it names must validate)";
       },
       "nameserver 127.0.0.1\noptions edns0\n"},
      {"relayhost no require rule covers",
       [](Copy& x) { x.postconf("-e 'relayhost = [smtp.relay.test]:587'"); },
       [](const Copy& x) {
         return "problem: relay: [smtp.relay.test]:587 (relayhost) is covered by no require rule "
                "(" +
                x.policy +
                ":1 (default) is prefer): mail handed to it need not be encrypted; fix: add a "
                "require rule for smtp.relay.test to " +
                x.policy;
       },
       ""},
      {"transport_maps relay no require rule covers",
       [](Copy& x) {
         std::ofstream(x.postfix + "/transport") << "# relays\nexample.com  smtp:[mx.isp.test]\n"
                                                 << "example.net  relay:[gw.relay.test]:2525\n";
         x.postconf("-e 'transport_maps = hash:" + x.postfix + "/transport'");
       },
       [](const Copy& x) {
         return "problem: relay: [gw.relay.test]:2525 (transport_maps hash:" + x.postfix +
                "/transport:3 (example.net)) is covered by no require rule (" + x.policy +
                ":1 (default) is prefer): mail handed to it need not be encrypted; fix: add a "
                "require rule for gw.relay.test to " +
                x.policy;
       },
       ""},
      {"chrooted smtpd and a unix milter socket outside the queue directory",
       [](Copy& x) {
         const std::string sock = (x.dir / "milter.sock").string();
         x.write_config("unix:" + sock);
         x.postconf("-P '127.0.0.1:2525/inet/smtpd_milters=unix:" + sock + "'");
         x.postconf("-X non_smtpd_milters");
         x.postconf("-F '127.0.0.1:2525/inet/chroot=y'");
       },
       [](const Copy& x) {
         const std::string sock = (x.dir / "milter.sock").string();
         const std::string q = x.get("queue_directory");
         return "problem: chroot: 127.0.0.1:2525/inet runs chrooted in " + q +
                " (master.cf chroot y) and its smtpd_milters names unix:" + sock +
                ", which the chroot does not reach; fix: move milter.socket below " + q +
                " (e.g. unix:" + q +
                "/forcetls/milter.sock, named unix:forcetls/milter.sock in Postfix), or set the "
                "chroot column of 127.0.0.1:2525/inet to n (postconf -c " +
                x.postfix + " -F '127.0.0.1:2525/inet/chroot=n')";
       },
       ""},
  }));
  INFO(c.label);
  Copy x;
  c.breaks(x);
  std::string resolv;
  if (!c.resolv.empty()) {
    resolv = (x.dir / "bad-resolv").string();
    std::ofstream(resolv) << c.resolv;
  }
  const RunResult r = x.doctor(resolv);
  INFO(r.out);
  CHECK(r.status == 1);
  const std::vector<std::string> problems = problem_lines(r.out);
  REQUIRE(problems.size() == 1);
  CHECK(problems.front() == c.want(x));
}

TEST_CASE("doctor: relays a require rule covers are notes, not problems", "[doctor]") {
  Copy x;
  std::ofstream(x.postfix + "/transport") << "example.com  smtp:[mx.isp.test]\n";
  x.postconf("-e 'relayhost = [smtp.isp.test]:587' 'transport_maps = hash:" + x.postfix +
             "/transport'");
  const RunResult r = x.doctor();
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("note: relay: relayhost sends mail to [smtp.isp.test]:587: "
                                    "delivery-time enforcement applies to the relay "
                                    "smtp.isp.test, not the recipients' MX hosts\n"));
  CHECK_THAT(r.out, Catch::Contains("ok: relay: [smtp.isp.test]:587 is under require (" + x.policy +
                                    ":4 (.isp.test))\n"));
  CHECK_THAT(r.out, Catch::Contains("ok: relay: [mx.isp.test] is under require"));
}
