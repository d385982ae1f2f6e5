// SPDX-License-Identifier: Apache-2.0
// Tests for tests/lab/lab_env: env parsing, table reading and the
// personalities/servers tables' internal consistency (no lab needed).
#include "tests/lab/lab_env.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

using namespace forcetls::labtest;

TEST_CASE("parse_env reads KEY=VALUE lines", "[lab]") {
  auto vars = parse_env("# comment\nNETNS=forcetls-lab-1\n\nA=b=c\nEMPTY=\n");
  CHECK(vars.size() == 3);
  CHECK(vars.at("NETNS") == "forcetls-lab-1");
  CHECK(vars.at("A") == "b=c");
  CHECK(vars.at("EMPTY").empty());
  CHECK_THROWS_AS(parse_env("no equals sign\n"), std::runtime_error);
}

TEST_CASE("split keeps empty fields", "[lab]") {
  struct Case {
    std::string in;
    std::vector<std::string> want;
  };
  auto c = GENERATE(values<Case>({
      {"a\tb", {"a", "b"}},
      {"a\t\tb", {"a", "", "b"}},
      {"", {""}},
      {"a\t", {"a", ""}},
  }));
  CAPTURE(c.in);
  CHECK(split(c.in, '\t') == c.want);
}

TEST_CASE("shell_quote survives single quotes", "[lab]") {
  auto r = run("printf %s " + shell_quote("it's a \"test\" $HOME"));
  CHECK(r.status == 0);
  CHECK(r.out == "it's a \"test\" $HOME");
  CHECK(run("exit 3").status == 3);
}

TEST_CASE("mx_of and hosts_of parse personalities rows", "[lab]") {
  Row good{{"mx", "10:mx1.good.test,20:mx2.good.test"},
           {"hosts", "mx1.good.test=127.0.0.10+::1,mx2.good.test=127.0.0.11"}};
  auto mx = mx_of(good);
  REQUIRE(mx.size() == 2);
  CHECK(mx[0].preference == 10);
  CHECK(mx[1].host == "mx2.good.test");
  auto hosts = hosts_of(good);
  REQUIRE(hosts.size() == 2);
  CHECK(hosts[0].addrs == std::vector<std::string>{"127.0.0.10", "::1"});

  Row odd{{"mx", "10:mx.cnamemx.test"},
          {"hosts", "mx.cnamemx.test=>host.cnamemx.test,mx.noaddr.test=-"}};
  hosts = hosts_of(odd);
  REQUIRE(hosts.size() == 2);
  CHECK(hosts[0].cname == "host.cnamemx.test");
  CHECK(hosts[1].addrs.empty());
  CHECK(hosts[1].cname.empty());
  CHECK(mx_of(Row{{"mx", "-"}}).empty());
}

// Every MX host of a domain has a hosts entry, every address there has a
// servers.tsv row, and the expectation values use the documented words.
TEST_CASE("the lab tables are consistent", "[lab]") {
  const std::set<std::string> tri{"yes", "no", "unknown"};
  const std::set<std::string> facts{"yes", "no", "unknown", "-"};
  for (const auto& p : personalities()) {
    CAPTURE(p.at("domain"));
    CHECK(tri.count(p.at("eligible")) == 1);
    CHECK(std::set<std::string>{"secure", "insecure", "bogus"}.count(p.at("dnssec")) == 1);
    // MTA-STS columns: a policy host needs a TXT record and a certificate
    // kind; an expected policy (no error) needs a policy.
    CHECK(tri.count(p.at("sts_enforce")) == 1);
    CHECK(std::set<std::string>{"valid", "selfsigned", "-"}.count(p.at("sts_cert")) == 1);
    CHECK((p.at("sts_policy") == "-") == (p.at("sts_cert") == "-"));
    if (p.at("sts_policy") != "-") {
      CHECK(p.at("sts_id") != "-");
    }
    if (p.at("sts_error") == "-") {
      CHECK(p.at("sts_policy").find(':') != std::string::npos);
    }
    if (p.at("sts_enforce") == "yes") {
      CHECK(p.at("sts_policy").starts_with("enforce:"));
      CHECK(p.at("sts_error") == "-");
    }
    std::set<std::string> named;
    for (const auto& h : hosts_of(p)) {
      named.insert(h.name);
      for (const auto& a : h.addrs) {
        CAPTURE(a);
        CHECK(server_at(a) != nullptr);
      }
    }
    for (const auto& m : mx_of(p)) {
      if (m.host != ".") {
        CAPTURE(m.host);
        CHECK(named.count(m.host) == 1);
      }
    }
  }
  for (const auto& s : servers()) {
    CAPTURE(s.at("addr"));
    for (const char* column :
         {"starttls", "handshake", "ssl3", "tls1_0", "tls1_1", "tls1_2", "tls1_3", "nist_r1",
          "nist_r2", "cert_trusted", "cert_expired", "cert_name_match"}) {
      CAPTURE(column);
      CHECK(facts.count(s.at(column)) == 1);
    }
    if (s.at("backend") != "-") {
      // A proxy's truth is its backend's.
      const Row* backend = server_at(s.at("backend"));
      REQUIRE(backend != nullptr);
      for (const char* column : {"starttls", "ssl3", "tls1_0", "tls1_1", "tls1_2", "tls1_3", "weak",
                                 "nist_r1", "nist_r2"}) {
        CAPTURE(column);
        CHECK(s.at(column) == backend->at(column));
      }
    }
  }
  CHECK(personality("good.test") != nullptr);
  CHECK(personality("shared40.test") != nullptr);
  CHECK(personality("nosuch.test") == nullptr);
}
