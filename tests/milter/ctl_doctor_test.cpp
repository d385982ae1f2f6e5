// SPDX-License-Identifier: Apache-2.0
// Tests for `forcetls-ctl doctor`: the parsers of postconf's output and of
// transport tables on fixed text (also garbage), every check of diagnose()
// on a good and a broken Postfix, and the command with a stand-in postconf.
#include "milter/ctl/ctl_doctor.hpp"

#include <catch2/catch.hpp>
#include <sstream>

#include "conf/loader.hpp"

using namespace forcetls;
using namespace forcetls::milter;
using namespace forcetls::milter::doctor;

namespace {

// postconf -M -x of a Debian-like master.cf (shortened).
constexpr std::string_view kMaster =
    "smtp       inet  n       -       y       -       -       smtpd\n"
    "submission inet  n       -       y       -       -       smtpd -o "
    "syslog_name=postfix/submission "
    "-o smtpd_milters=inet:127.0.0.1:8891\n"
    "pickup     unix  n       -       y       60      1       pickup\n"
    "cleanup    unix  n       -       y       -       0       cleanup\n"
    "proxymap   unix  -       -       n       -       -       proxymap\n"
    "smtp       unix  -       -       y       -       -       smtp\n"
    "relay      unix  -       -       y       -       -       smtp -o syslog_name=postfix/relay\n"
    "lmtp       unix  -       -       y       -       -       lmtp\n";

constexpr std::string_view kOverrides =
    "relay/unix/syslog_name = postfix/relay\n"
    "submission/inet/smtpd_milters = inet:127.0.0.1:8891\n"
    "submission/inet/syslog_name = postfix/submission\n";

// postconf -d -x NAMES (Postfix 3.7).
constexpr std::string_view kDefaults =
    "queue_directory = /var/spool/postfix\n"
    "smtpd_milters =\n"
    "non_smtpd_milters =\n"
    "milter_default_action = tempfail\n"
    "milter_command_timeout = 30s\n"
    "smtp_tls_policy_maps =\n"
    "lmtp_tls_policy_maps =\n"
    "smtp_dns_support_level =\n"
    "smtp_host_lookup = dns\n"
    "ignore_mx_lookup_error = no\n"
    "relayhost =\n"
    "transport_maps =\n"
    "default_transport = smtp\n"
    "relay_transport = relay\n";

constexpr std::string_view kGoodMain =
    "config_directory = /etc/postfix\n"
    "non_smtpd_milters = inet:127.0.0.1:8891\n"
    "milter_default_action = tempfail\n"
    "milter_command_timeout = 30s\n"
    "smtp_tls_policy_maps = socketmap:inet:127.0.0.1:8892:forcetls\n"
    "smtp_dns_support_level = dnssec\n";

struct Fixture {
  conf::Config config;
  std::shared_ptr<const policy::Policy> policy =
      std::make_shared<policy::Policy>(policy::Policy::builtin_default());
  Inputs in;
  std::map<std::string, std::string> files = {
      {"/etc/resolv.conf", "nameserver 127.0.0.1\noptions edns0 trust-ad\n"},
      {"/var/spool/postfix/etc/resolv.conf", "nameserver 127.0.0.1\noptions trust-ad\n"}};

  Fixture() {
    in.main_defaults = kDefaults;
    in.main_set = kGoodMain;
    in.master = kMaster;
    in.overrides = kOverrides;
    in.read_file = [this](const std::string& p) -> std::optional<std::string> {
      auto it = files.find(p);
      return it == files.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
  }
  void set_policy(std::string_view yaml) {
    auto p = conf::parse_policy(yaml, "policy.yaml");
    REQUIRE(p.ok());
    policy = std::make_shared<policy::Policy>(std::move(p.value));
    in.policy_source = "policy.yaml";
  }
  std::vector<Finding> run() const { return diagnose(config, *policy, in); }
  std::vector<std::string> problems() const {
    std::vector<std::string> out;
    for (const Finding& f : run()) {
      if (f.status == Status::problem) {
        out.push_back(f.line());
      }
    }
    return out;
  }
  std::string text() const {
    std::string s;
    for (const Finding& f : run()) {
      s += f.line() + "\n";
    }
    return s;
  }
};

}  // namespace

TEST_CASE("doctor: postconf -n lines", "[milter][doctor]") {
  auto m = parse_params(
      "a = b\nempty =\n  spaced   =   x y  \nno equals here\n= nameless\ntwo words = z\nb = 1\nb = "
      "2\n");
  CHECK(m.size() == 4);
  CHECK(m["a"] == "b");
  CHECK(m["empty"].empty());
  CHECK(m["spaced"] == "x y");
  CHECK(m["b"] == "2");
  CHECK(parse_params("").empty());
  CHECK(parse_params(std::string("\0=\0\n", 4)).size() == 1);
}

TEST_CASE("doctor: postconf -M lines", "[milter][doctor]") {
  auto s = parse_master(kMaster);
  REQUIRE(s.size() == 8);
  CHECK(s[0] == Service{"smtp", "inet", true, "smtpd"});
  CHECK(s[1].key() == "submission/inet");
  CHECK(s[4] == Service{"proxymap", "unix", false, "proxymap"});
  CHECK(s[6].command == "smtp");
  auto odd = parse_master(
      "short line\n# comment n - y - - smtpd\nx unix - - - - - /usr/lib/postfix/sbin/smtp -v\n");
  REQUIRE(odd.size() == 1);
  CHECK(odd[0] == Service{"x", "unix", false, "smtp"});  // `-`: n since Postfix 3.0
}

TEST_CASE("doctor: postconf -P lines", "[milter][doctor]") {
  auto o = parse_overrides(
      "relay/unix/smtp_tls_policy_maps = hash:/etc/postfix/tls\n"
      "[::1]:25/inet/smtpd_milters = { inet:[::1]:8891, command_timeout=40s }\n"
      "a/b = no type\n//x = empty\nsvc/inet/ = no name\n garbage\n");
  REQUIRE(o.size() == 2);
  CHECK(o["relay/unix"]["smtp_tls_policy_maps"] == "hash:/etc/postfix/tls");
  CHECK(o["[::1]:25/inet"]["smtpd_milters"] == "{ inet:[::1]:8891, command_timeout=40s }");
}

TEST_CASE("doctor: milter lists, endpoints, socketmap tables, times", "[milter][doctor]") {
  auto m = parse_milters(
      "inet:127.0.0.1:8891, unix:/run/x.sock {inet:[::1]:8891, command_timeout = 40s, "
      "default_action=accept} { } {");
  REQUIRE(m.size() == 4);
  CHECK(m[0].address == "inet:127.0.0.1:8891");
  CHECK(m[1].address == "unix:/run/x.sock");
  CHECK(m[2].address == "inet:[::1]:8891");
  CHECK(m[2].settings["command_timeout"] == "40s");
  CHECK(m[2].settings["default_action"] == "accept");
  CHECK(m[3].address == "{");

  auto e = parse_endpoint("inet:[::1]:8891");
  REQUIRE(e);
  CHECK(e->host == "::1");
  CHECK(e->port == 8891);
  CHECK(parse_endpoint("inet:LocalHost:25")->host == "localhost");
  CHECK(parse_endpoint("unix:forcetls/milter")->path == "forcetls/milter");
  CHECK(parse_endpoint("local:/x")->kind == Endpoint::Kind::unix_path);
  for (const char* bad : {"inet:", "inet:host", "inet:host:0", "inet:host:65536", "inet::25",
                          "inet:h:25x", "unix:", "tcp:1.2.3.4:5", ""}) {
    CHECK_FALSE(parse_endpoint(bad));
  }

  auto t = parse_socketmap("socketmap:inet:127.0.0.1:8892:forcetls");
  REQUIRE(t);
  CHECK(t->endpoint.port == 8892);
  CHECK(t->name == "forcetls");
  CHECK_FALSE(t->proxied);
  auto u = parse_socketmap("proxy:socketmap:unix:forcetls/socketmap:forcetls");
  REQUIRE(u);
  CHECK(u->proxied);
  CHECK(u->endpoint.path == "forcetls/socketmap");
  for (const char* bad : {"socketmap:", "socketmap:inet:1.2.3.4:5:", "hash:/x", "socketmap:x:y"}) {
    CHECK_FALSE(parse_socketmap(bad));
  }

  using std::chrono::milliseconds;
  CHECK(parse_time("30s") == milliseconds(30000));
  CHECK(parse_time("30") == milliseconds(30000));
  CHECK(parse_time(" 2m ") == milliseconds(120000));
  CHECK(parse_time("1w") == milliseconds(604800000));
  for (const char* bad : {"", "s", "30x", "30ss", "-1s", "9999999999s"}) {
    CHECK_FALSE(parse_time(bad));
  }

  CHECK(split_list("a, b  c,,{ d, e } inline:{ x=y, z=w }") ==
        std::vector<std::string>{"a", "b", "c", "{ d, e }", "inline:{ x=y, z=w }"});
}

TEST_CASE("doctor: transport tables", "[milter][doctor]") {
  auto t = parse_table_source(
      "# comment\n"
      "example.com   smtp:[relay.example.com]:587\n"
      "\n"
      "example.org\n"
      "    :[mx.example.org]\n"
      "  # a comment does not continue\n"
      "lone\n"
      "\tcontinued after a comment line? no\n");
  REQUIRE(t.size() == 3);
  CHECK(t[0].key == "example.com");
  CHECK(t[0].value == "smtp:[relay.example.com]:587");
  CHECK(t[0].line == 2);
  CHECK(t[1].value == ":[mx.example.org]");
  CHECK(t[2].key == "lone");
  CHECK(t[2].value == "continued after a comment line? no");

  auto i = parse_inline_table("inline:{ a.example=smtp:[10.0.0.1], { b.example = relay:[r] } }");
  REQUIRE(i);
  REQUIRE(i->size() == 2);
  CHECK((*i)[1].key == "b.example");
  CHECK((*i)[1].value == "relay:[r]");
  CHECK_FALSE(parse_inline_table("hash:/etc/postfix/transport"));
  CHECK_FALSE(parse_inline_table("inline:{ unterminated"));

  CHECK(parse_route("smtp:[relay]:587").transport == "smtp");
  CHECK(parse_route("smtp:[relay]:587").nexthop == "[relay]:587");
  CHECK(parse_route(":[relay]").transport.empty());
  CHECK(parse_route("discard").nexthop.empty());
}

TEST_CASE("doctor: the README's wiring has no problem", "[milter][doctor]") {
  Fixture f;
  f.config.socketmap.postfix_dnssec = true;
  INFO(f.text());
  CHECK(f.problems().empty());
  const std::string t = f.text();
  CHECK_THAT(t, Catch::Contains("ok: milter: inet:127.0.0.1:8891 in smtpd_milters of "
                                "submission/inet (master.cf -o), non_smtpd_milters of "
                                "cleanup/unix (main.cf)\n"));
  CHECK_THAT(t, Catch::Contains("ok: policy-map: socketmap:inet:127.0.0.1:8892:forcetls in "
                                "smtp_tls_policy_maps of smtp/unix, relay/unix\n"));
  CHECK_THAT(t, Catch::Contains("note: policy-map: lmtp_tls_policy_maps of lmtp/unix"));
  CHECK_THAT(t, Catch::Contains("ok: trust-ad: options trust-ad in /etc/resolv.conf, "
                                "/var/spool/postfix/etc/resolv.conf\n"));
  CHECK_THAT(t, Catch::Contains("ok: relay: no relayhost"));
}

TEST_CASE("doctor: each broken item is one problem line with its fix", "[milter][doctor]") {
  struct Case {
    std::string label;
    std::function<void(Fixture&)> breaks;
    std::string want;
  };
  auto c = GENERATE(values<Case>({
      {"no milter anywhere",
       [](Fixture& f) {
         f.in.overrides = "";
         f.in.main_set += "non_smtpd_milters =\n";
       },
       "problem: milter: no smtpd_milters or non_smtpd_milters names forcetls's milter "
       "(milter.socket inet:8891@127.0.0.1); fix: add `-o smtpd_milters=inet:127.0.0.1:8891` "
       "to the submission service in master.cf and `postconf -e 'non_smtpd_milters = "
       "inet:127.0.0.1:8891'` (README.md, Postfix)"},
      {"milter on another port",
       [](Fixture& f) {
         f.in.overrides = "submission/inet/smtpd_milters = inet:127.0.0.1:9999\n";
         f.in.main_set += "non_smtpd_milters = inet:localhost:9999\n";
       },
       "problem: milter: no smtpd_milters"},
      {"default action accept",
       [](Fixture& f) { f.in.main_set += "milter_default_action = accept\n"; },
       "problem: milter_default_action: milter_default_action (main.cf) = accept: while "
       "forcetls is unreachable Postfix does not answer 4xx, so mail is accepted unchecked; "
       "fix: postconf -e 'milter_default_action = tempfail'"},
      {"default action per milter",
       [](Fixture& f) {
         f.in.overrides =
             "submission/inet/smtpd_milters = { inet:127.0.0.1:8891, default_action=accept }\n";
       },
       "problem: milter_default_action: default_action in {inet:127.0.0.1:8891, ...} of "
       "smtpd_milters of submission/inet (master.cf -o) = accept"},
      {"default action per service",
       [](Fixture& f) { f.in.overrides += "submission/inet/milter_default_action = quarantine\n"; },
       "problem: milter_default_action: milter_default_action of submission/inet (master.cf -o) "
       "= quarantine: while forcetls is unreachable Postfix does not answer 4xx, so mail is not "
       "retried by the client; fix: postconf -P "
       "'submission/inet/milter_default_action=tempfail'"},
      {"command timeout at the deadline",
       [](Fixture& f) { f.in.main_set += "milter_command_timeout = 20s\n"; },
       "problem: milter_command_timeout: milter_command_timeout (main.cf) = 20s is not above "
       "milter.miss_deadline (20s): Postfix gives up on a recipient while forcetls still waits "
       "for its probe; fix: postconf -e 'milter_command_timeout = 30s' (or lower "
       "milter.miss_deadline)"},
      {"command timeout garbage",
       [](Fixture& f) { f.in.main_set += "milter_command_timeout = soon\n"; },
       "problem: milter_command_timeout: milter_command_timeout (main.cf) = soon is not a "
       "Postfix time"},
      {"no policy map", [](Fixture& f) { f.in.main_set += "smtp_tls_policy_maps =\n"; },
       "problem: policy-map: smtp_tls_policy_maps (main.cf) = (empty) lacks "
       "socketmap:inet:127.0.0.1:8892:forcetls: deliveries of smtp/unix, relay/unix are not "
       "held to TLS; fix: postconf -e 'smtp_tls_policy_maps = "
       "socketmap:inet:127.0.0.1:8892:forcetls'"},
      {"map name wrong",
       [](Fixture& f) {
         f.in.main_set += "smtp_tls_policy_maps = socketmap:inet:127.0.0.1:8892:other\n";
       },
       "problem: policy-map: smtp_tls_policy_maps (main.cf) = "
       "socketmap:inet:127.0.0.1:8892:other lacks"},
      {"relay overrides the map",
       [](Fixture& f) { f.in.overrides += "relay/unix/smtp_tls_policy_maps = hash:/etc/x\n"; },
       "problem: policy-map: smtp_tls_policy_maps of relay/unix (master.cf -o) = hash:/etc/x "
       "lacks socketmap:inet:127.0.0.1:8892:forcetls: deliveries of relay/unix are not held to "
       "TLS; fix: add socketmap:inet:127.0.0.1:8892:forcetls to that -o in master.cf (postconf "
       "-P 'relay/unix/smtp_tls_policy_maps=socketmap:inet:127.0.0.1:8892:forcetls'), or remove "
       "the -o"},
      {"dnssec off with dane answers on",
       [](Fixture& f) { f.in.main_set += "smtp_dns_support_level = enabled\n"; },
       "problem: smtp_dns_support_level: smtp_dns_support_level (main.cf) = enabled: "
       "socketmap.postfix_dnssec is on, and dane/verify answers need smtp_dns_support_level = "
       "dnssec; fix: postconf -e 'smtp_dns_support_level = dnssec' (or "
       "socketmap.postfix_dnssec: false)"},
      {"host lookup native", [](Fixture& f) { f.in.main_set += "smtp_host_lookup = native\n"; },
       "problem: smtp_host_lookup: smtp_host_lookup (main.cf) = native: dane/verify answers "
       "need DNSSEC-validated address lookups, which only dns gives; fix: postconf -e "
       "'smtp_host_lookup = dns'"},
      {"mx lookup errors ignored",
       [](Fixture& f) { f.in.overrides += "relay/unix/ignore_mx_lookup_error = yes\n"; },
       "problem: ignore_mx_lookup_error: ignore_mx_lookup_error of relay/unix (master.cf -o) = "
       "yes: a failed MX lookup makes Postfix deliver to the domain's own address, not to the "
       "MX hosts forcetls judged; fix: postconf -P 'relay/unix/ignore_mx_lookup_error=no'"},
      {"no trust-ad",
       [](Fixture& f) {
         f.files["/etc/resolv.conf"] = "nameserver 127.0.0.1\n#options trust-ad\n";
       },
       "problem: trust-ad: no `options trust-ad` in /etc/resolv.conf: the resolver library "
       "drops the DNSSEC AD bit, so Postfix never sees a validated answer and defers dane-only "
       "and verify deliveries; fix: add `options trust-ad` to /etc/resolv.conf (the resolver it "
       "names must validate)"},
      {"no resolv.conf in the chroot",
       [](Fixture& f) { f.files.erase("/var/spool/postfix/etc/resolv.conf"); },
       "problem: trust-ad: cannot read /var/spool/postfix/etc/resolv.conf"},
      {"relayhost under prefer",
       [](Fixture& f) { f.in.main_set += "relayhost = [smtp.isp.example]:587\n"; },
       "problem: relay: [smtp.isp.example]:587 (relayhost) is covered by no require rule "
       "(policy.yaml:1 (default) is prefer): mail handed to it need not be encrypted; fix: add a "
       "require rule for smtp.isp.example to policy.yaml"},
      {"transport relay under prefer",
       [](Fixture& f) {
         f.in.main_set += "transport_maps = hash:/etc/postfix/transport\n";
         f.files["/etc/postfix/transport"] = "example.com smtp:[gw.example.net]\n";
       },
       "problem: relay: [gw.example.net] (transport_maps hash:/etc/postfix/transport:1 "
       "(example.com)) is covered by no require rule (policy.yaml:1 (default) is prefer)"},
      {"chrooted smtpd and a socket outside",
       [](Fixture& f) {
         f.config.milter.socket = *conf::parse_socket_address("unix:/run/forcetls/milter.sock");
         f.in.overrides = "submission/inet/smtpd_milters = unix:/run/forcetls/milter.sock\n";
       },
       "problem: chroot: submission/inet runs chrooted in /var/spool/postfix (master.cf chroot "
       "y) and its smtpd_milters names unix:/run/forcetls/milter.sock, which the chroot does "
       "not reach; fix: move milter.socket below /var/spool/postfix (e.g. "
       "unix:/var/spool/postfix/forcetls/milter.sock, named unix:forcetls/milter.sock in "
       "Postfix), or set the chroot column of submission/inet to n (postconf -F "
       "'submission/inet/chroot=n')"},
      {"chrooted smtp and the full path inside",
       [](Fixture& f) {
         f.config.socketmap.socket =
             *conf::parse_socket_address("unix:/var/spool/postfix/forcetls/socketmap");
         f.in.main_set +=
             "smtp_tls_policy_maps = socketmap:unix:/var/spool/postfix/forcetls/socketmap:"
             "forcetls\n";
       },
       "problem: chroot: smtp/unix runs chrooted in /var/spool/postfix (master.cf chroot y) and "
       "its smtp_tls_policy_maps names "
       "socketmap:unix:/var/spool/postfix/forcetls/socketmap:forcetls, which the chroot does "
       "not reach; fix: name it unix:forcetls/socketmap (relative to queue_directory) in "
       "smtp_tls_policy_maps"},
  }));
  Fixture f;
  f.config.socketmap.postfix_dnssec = true;
  f.set_policy(
      "default:\n  mode: prefer\nrules:\n  - domains: [partner.example]\n    mode: require\n");
  c.breaks(f);
  INFO(c.label);
  INFO(f.text());
  const std::vector<std::string> p = f.problems();
  REQUIRE(p.size() >= 1);
  bool found = false;
  for (const std::string& line : p) {
    found = found || line.starts_with(c.want);
  }
  CHECK(found);
}

TEST_CASE("doctor: dane/verify answers off relax the DNSSEC items", "[milter][doctor]") {
  Fixture f;
  f.config.socketmap.postfix_dnssec = false;
  f.in.main_set += "smtp_dns_support_level =\nsmtp_host_lookup = native\n";
  f.files.clear();
  INFO(f.text());
  CHECK(f.problems().empty());
  CHECK_THAT(f.text(), Catch::Contains("ok: smtp_dns_support_level: dane/verify answers are off "
                                       "(socketmap.postfix_dnssec: false); dane/verify answers "
                                       "need smtp_dns_support_level = dnssec (now (empty))\n"));
  CHECK_THAT(f.text(), Catch::Contains("ok: trust-ad: not needed"));
}

TEST_CASE("doctor: relays that a require rule covers", "[milter][doctor]") {
  Fixture f;
  f.set_policy(
      "default:\n  mode: prefer\nrules:\n  - domains: [.isp.example]\n"
      "    mode: require\n");
  f.in.main_set +=
      "relayhost = [smtp.isp.example]:587\n"
      "transport_maps = inline:{ a.example=:[mx.isp.example] }, pcre:/etc/postfix/t.pcre, "
      "hash:/missing\n";
  INFO(f.text());
  CHECK(f.problems().empty());
  const std::string t = f.text();
  CHECK_THAT(t, Catch::Contains("note: relay: relayhost sends mail to [smtp.isp.example]:587: "
                                "delivery-time enforcement applies to the relay smtp.isp.example, "
                                "not the recipients' MX hosts\n"));
  CHECK_THAT(t, Catch::Contains("ok: relay: [smtp.isp.example]:587 is under require "
                                "(policy.yaml:4 (.isp.example))\n"));
  CHECK_THAT(t, Catch::Contains("ok: relay: [mx.isp.example] is under require"));
  CHECK_THAT(t, Catch::Contains("note: relay: could not read transport_maps table "
                                "pcre:/etc/postfix/t.pcre (a pcre table is not read): check its "
                                "[relay] next hops by hand\n"));
  CHECK_THAT(t, Catch::Contains("note: relay: could not read transport_maps table hash:/missing "
                                "(cannot read /missing)"));
}

TEST_CASE("doctor: garbage from postconf never crashes", "[milter][doctor]") {
  Fixture f;
  const std::string junk[] = {"",
                              "=",
                              "{{{{",
                              "}}}} = {",
                              "a/b/c/d = {inline:{",
                              "\n\n\0\n",
                              "x inet n - y - - smtpd -o {",
                              "smtpd_milters = { , , }"};
  for (const std::string& j : junk) {
    f.in.main_set = j;
    f.in.master = j;
    f.in.overrides = j;
    f.in.main_defaults = j;
    CHECK_NOTHROW(f.run());
  }
  // No service at all: main.cf alone is judged.
  f.in.main_defaults = kDefaults;
  f.in.main_set = kGoodMain;
  f.in.main_set += "smtpd_milters = inet:127.0.0.1:8891\n";
  f.in.master = "";
  f.in.overrides = "";
  INFO(f.text());
  CHECK(f.problems().empty());
}

TEST_CASE("doctor command: postconf through run_command", "[milter][doctor]") {
  std::ostringstream out;
  std::ostringstream err;
  CtlEnv env{out, err};
  env.default_config_path = "/nonexistent/forcetls.yaml";
  std::vector<std::vector<std::string>> calls;
  env.run_command = [&](const std::vector<std::string>& argv) {
    calls.push_back(argv);
    const std::string mode = argv.size() > 3 ? argv[3] : "";
    if (mode == "-n") {
      return CommandOutput{0, std::string(kGoodMain) + "smtpd_milters = inet:127.0.0.1:8891\n"};
    }
    if (mode == "-d") {
      return CommandOutput{0, std::string(kDefaults)};
    }
    if (mode == "-M") {
      return CommandOutput{0, "smtp inet n - n - - smtpd\nsmtp unix - - n - - smtp\n"};
    }
    return CommandOutput{0, ""};
  };
  const int rc = run_ctl({"doctor", "-c", "/etc/postfix-out", "--resolv-conf", "/dev/null"}, env);
  INFO(out.str());
  INFO(err.str());
  CHECK(rc == kExitOk);
  REQUIRE(calls.size() == 4);
  CHECK(calls[0] == std::vector<std::string>{"postconf", "-c", "/etc/postfix-out", "-n", "-x"});
  CHECK(calls[1][3] == "-d");
  CHECK(calls[1].back() == "relay_transport");
  CHECK(calls[2] == std::vector<std::string>{"postconf", "-c", "/etc/postfix-out", "-M", "-x"});
  CHECK(calls[3] == std::vector<std::string>{"postconf", "-c", "/etc/postfix-out", "-P", "-x"});
  CHECK_THAT(out.str(), Catch::EndsWith("doctor: no problems (Postfix /etc/postfix-out, forcetls "
                                        "embedded defaults, policy built-in)\n"));

  // A failing postconf is one problem line, exit 1.
  out.str("");
  env.run_command = [](const std::vector<std::string>&) { return CommandOutput{1, ""}; };
  CHECK(run_ctl({"doctor"}, env) == kExitProblem);
  CHECK(out.str() ==
        "problem: postconf: `postconf -n -x` failed (exit 1); fix: install Postfix, or name its "
        "configuration directory with -c DIR\n");
  CHECK(run_ctl({"doctor", "--bogus"}, env) == kExitUsage);
}
