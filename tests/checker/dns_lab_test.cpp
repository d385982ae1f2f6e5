// SPDX-License-Identifier: Apache-2.0
// Lab tests for the DNS half of checker/: UnboundResolver and resolve_mx on
// the lab's real nsd + validating unbound (inside the lab's namespace):
// secure, insecure and bogus answers, null/implicit MX, CNAMEd and
// address-less MX hosts, every personality against personalities.tsv, 40
// domains at once, and a timeout against a forwarder that never answers.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "checker/dns/dns.hpp"
#include "checker/dns/mx_resolver.hpp"
#include "common/c_handle.hpp"
#include "tests/lab/lab_env.hpp"
#include "tests/lab/lab_resolver.hpp"

using namespace forcetls::checker;
namespace lab = forcetls::labtest;

namespace {

ResolverOptions lab_resolver() {
  ResolverOptions o = lab::lab_resolver_options();
  o.timeout = std::chrono::seconds(10);
  return o;
}

MxOptions lab_mx() {
  MxOptions o;
  o.address_policy.allow_private = true;  // the lab's MX hosts live on 127.0.0.x and ::1
  o.families = Families{.ipv4 = true, .ipv6 = true};
  return o;
}

/// One resolver and io_context per test case; run() drives a task to its end.
struct Lab {
  Lab() {
    auto r = UnboundResolver::create(io.get_executor(), lab_resolver());
    if (!r) {
      FAIL("cannot create the resolver: " << r.error().message);
    }
    resolver = std::move(*r);
  }

  template <typename T>
  T run(asio::awaitable<T> task) {
    std::optional<T> out;
    asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
      if (e) {
        std::rethrow_exception(e);
      }
      out = std::move(value);
    });
    io.restart();
    io.run();
    REQUIRE(out.has_value());
    return std::move(*out);
  }

  MxResult mx(const std::string& domain, MxOptions options = lab_mx()) {
    return run(resolve_mx(*resolver, domain, std::move(options)));
  }

  asio::io_context io;
  std::unique_ptr<UnboundResolver> resolver;
};

std::vector<std::string> addresses_of(const MxHost& h) {
  std::vector<std::string> out;
  for (const auto& a : h.addresses) {
    out.push_back(a.address.to_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("signed.test: secure MX, secure address, TLSA found", "[checker][lab]") {
  Lab lab;
  const auto m = lab.mx("signed.test");
  INFO(m.reason);
  REQUIRE(m.status == MxStatus::ok);
  CHECK(m.dnssec() == DnssecStatus::secure);
  REQUIRE(m.hosts.size() == 1);
  const auto& h = m.hosts[0];
  CHECK(h.name == "mx.signed.test");
  CHECK(h.preference == 10);
  CHECK(h.status == HostStatus::ok);
  CHECK(addresses_of(h) == std::vector<std::string>{"127.0.0.26"});
  CHECK(h.a.dnssec == DnssecStatus::secure);
  INFO(h.tlsa.reason);
  REQUIRE(h.tlsa.state == TlsaState::found);
  REQUIRE_FALSE(h.tlsa.records.empty());
  CHECK(h.tlsa.records[0].usage == 3);
  CHECK(h.tlsa.records[0].selector == 1);
  CHECK(h.tlsa.records[0].matching_type == 1);
  CHECK(h.tlsa.records[0].usable_for_smtp());
  CHECK(h.tlsa.lookups.back().qname == "_25._tcp.mx.signed.test");
}

TEST_CASE("good.test: insecure, two MX in order, IPv4 and IPv6, no TLSA", "[checker][lab]") {
  Lab lab;
  const auto m = lab.mx("good.test");
  REQUIRE(m.status == MxStatus::ok);
  CHECK(m.dnssec() == DnssecStatus::insecure);
  REQUIRE(m.hosts.size() == 2);
  CHECK(m.hosts[0].name == "mx1.good.test");
  CHECK(m.hosts[0].preference == 10);
  CHECK(m.hosts[1].name == "mx2.good.test");
  CHECK(addresses_of(m.hosts[0]) == std::vector<std::string>{"127.0.0.10", "::1"});
  CHECK(m.hosts[0].tlsa.state == TlsaState::not_looked_up);
  CHECK_THAT(m.hosts[0].tlsa.reason, Catch::Contains("insecure"));

  // The default policy refuses the lab's loopback addresses, with a reason.
  const auto strict = lab.mx("good.test", MxOptions{});
  for (const auto& h : strict.hosts) {
    for (const auto& a : h.addresses) {
      CHECK_THAT(a.refused, Catch::Contains("loopback"));
    }
  }
}

TEST_CASE("bogus.test: a DNS failure with the validator's reason", "[checker][lab]") {
  Lab lab;
  const auto m = lab.mx("bogus.test");
  INFO(m.reason);
  CHECK(m.status == MxStatus::dns_failure);
  CHECK(m.dnssec() == DnssecStatus::bogus);
  CHECK(m.hosts.empty());
  CHECK_THAT(m.reason, Catch::Contains("bogus"));

  auto answer = lab.run(lab.resolver->query("bogus.test", DnsType::mx));
  REQUIRE(answer);
  CHECK(answer->bogus());
  CHECK_FALSE(answer->why_bogus.empty());
  CHECK(answer->mx.empty());  // bogus data is dropped
  std::printf("bogus.test why_bogus: %s\n", answer->why_bogus.c_str());
}

TEST_CASE("nullmx.test accepts no mail", "[checker][lab]") {
  Lab lab;
  const auto m = lab.mx("nullmx.test");
  CHECK(m.status == MxStatus::null_mx);
  CHECK(m.hosts.empty());
}

TEST_CASE("nomx.test: the A record is the implicit MX", "[checker][lab]") {
  Lab lab;
  const auto m = lab.mx("nomx.test");
  REQUIRE(m.status == MxStatus::ok);
  CHECK(m.implicit_mx);
  REQUIRE(m.hosts.size() == 1);
  CHECK(m.hosts[0].name == "nomx.test");
  CHECK(m.hosts[0].implicit);
  CHECK(addresses_of(m.hosts[0]) == std::vector<std::string>{"127.0.0.25"});
}

TEST_CASE("cnamemx.test: the MX name is an alias, followed", "[checker][lab]") {
  Lab lab;
  const auto m = lab.mx("cnamemx.test");
  REQUIRE(m.status == MxStatus::ok);
  REQUIRE(m.hosts.size() == 1);
  const auto& h = m.hosts[0];
  CHECK(h.name == "mx.cnamemx.test");
  CHECK(addresses_of(h) == std::vector<std::string>{"127.0.0.32"});
  CHECK(h.a.canonname == "host.cnamemx.test");
  CHECK(h.a.cname_chain == std::vector<std::string>{"host.cnamemx.test"});
}

TEST_CASE("noaddr.test: the MX host has no address", "[checker][lab]") {
  Lab lab;
  const auto m = lab.mx("noaddr.test");
  REQUIRE(m.status == MxStatus::ok);
  REQUIRE(m.hosts.size() == 1);
  CHECK(m.hosts[0].status == HostStatus::no_addresses);
  CHECK(m.hosts[0].addresses.empty());
  CHECK(m.hosts[0].a.outcome == LookupOutcome::nxdomain);
}

TEST_CASE("every personality resolves as personalities.tsv says", "[checker][lab]") {
  Lab lab;
  for (const auto& row : lab::personalities()) {
    const std::string domain = row.at("domain");
    INFO(domain);
    const auto m = lab.mx(domain);
    INFO(m.reason);
    const std::string dnssec = row.at("dnssec");
    if (dnssec == "bogus") {
      CHECK(m.status == MxStatus::dns_failure);
      CHECK(m.dnssec() == DnssecStatus::bogus);
      continue;
    }
    CHECK(std::string(to_string(m.dnssec())) == dnssec);
    const auto want_mx = lab::mx_of(row);
    if (want_mx.size() == 1 && want_mx[0].host == ".") {
      CHECK(m.status == MxStatus::null_mx);
      continue;
    }
    REQUIRE(m.status == MxStatus::ok);
    std::vector<std::pair<int, std::string>> want;
    for (const auto& mx : want_mx) {
      want.emplace_back(mx.preference, mx.host);
    }
    if (want.empty()) {
      want.emplace_back(0, domain);  // implicit MX
    }
    std::stable_sort(want.begin(), want.end(),
                     [](const auto& x, const auto& y) { return x.first < y.first; });
    std::vector<std::pair<int, std::string>> got;
    for (const auto& h : m.hosts) {
      got.emplace_back(h.preference, h.name);
    }
    CHECK(got == want);

    // Addresses: those of each host, through its CNAME if it has one.
    const auto hosts = lab::hosts_of(row);
    for (const auto& h : m.hosts) {
      INFO(h.name);
      auto entry = std::find_if(hosts.begin(), hosts.end(),
                                [&](const lab::Host& x) { return x.name == h.name; });
      REQUIRE(entry != hosts.end());
      if (!entry->cname.empty()) {
        const std::string target = entry->cname;
        entry = std::find_if(hosts.begin(), hosts.end(),
                             [&](const lab::Host& x) { return x.name == target; });
        REQUIRE(entry != hosts.end());
      }
      std::vector<std::string> want_addrs = entry->addrs;
      std::sort(want_addrs.begin(), want_addrs.end());
      CHECK(addresses_of(h) == want_addrs);
      CHECK(h.status == (want_addrs.empty() ? HostStatus::no_addresses : HostStatus::ok));
      const bool published = row.at("tlsa") != "-";
      CHECK((h.tlsa.state == TlsaState::found) == published);
    }
  }
}

TEST_CASE("40 shared domains resolve concurrently", "[checker][lab]") {
  Lab lab;
  std::vector<std::string> domains;
  for (int i = 1; i <= 40; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "shared%02d.test", i);
    domains.emplace_back(name);
  }
  std::vector<MxResult> results(domains.size());
  std::size_t done = 0;
  std::size_t peak = 0;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < domains.size(); ++i) {
    asio::co_spawn(lab.io, resolve_mx(*lab.resolver, domains[i], lab_mx()),
                   [&, i](std::exception_ptr e, MxResult r) {
                     REQUIRE_FALSE(e);
                     results[i] = std::move(r);
                     ++done;
                   });
  }
  lab.io.restart();
  while (lab.io.run_one() > 0) {
    peak = std::max(peak, lab.resolver->in_flight());
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  std::printf("40 shared domains: %lld ms, at most %zu queries in flight\n",
              static_cast<long long>(ms), peak);
  CHECK(done == domains.size());
  CHECK(peak >= 40);  // every domain's MX question was out at once
  for (std::size_t i = 0; i < domains.size(); ++i) {
    INFO(domains[i] << ": " << results[i].reason);
    REQUIRE(results[i].status == MxStatus::ok);
    REQUIRE(results[i].hosts.size() == 2);
    CHECK(results[i].hosts[0].name == "mx1.provider.test");
    CHECK(addresses_of(results[i].hosts[0]) == std::vector<std::string>{"127.0.0.30"});
    CHECK(addresses_of(results[i].hosts[1]) == std::vector<std::string>{"127.0.0.31"});
  }
  CHECK(lab.resolver->in_flight() == 0);
}

namespace {

// A UDP socket in the lab's namespace (127.0.0.1, a free port) that answers
// nothing; it can tell whether a query arrived.
struct SilentForwarder {
  SilentForwarder() : fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    REQUIRE(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    address = "127.0.0.1@" + std::to_string(ntohs(addr.sin_port));
  }
  /// A datagram is waiting (it is read and dropped).
  bool received() {
    char buf[512];
    return ::recv(fd.get(), buf, sizeof buf, MSG_DONTWAIT) >= 0;
  }
  forcetls::Fd fd;
  std::string address;  ///< for ResolverOptions::forwarder
};

}  // namespace

TEST_CASE("without the lab's option, .test names never reach the forwarder", "[checker][lab]") {
  // Production resolvers keep unbound's `.test` local zone (RFC 6761 §6.2):
  // good.test exists in the lab, and still libunbound answers NXDOMAIN
  // itself. With RESOLVER_OPTION the same query goes out.
  for (bool lab_option : {false, true}) {
    CAPTURE(lab_option);
    SilentForwarder forwarder;
    asio::io_context io;
    ResolverOptions o;
    o.forwarder = forwarder.address;
    o.validate = false;
    o.timeout = std::chrono::milliseconds(700);
    if (lab_option) {
      o.unbound_options = {lab::lab_resolver_option()};
    }
    auto resolver = UnboundResolver::create(io.get_executor(), o);
    REQUIRE(resolver);
    std::optional<forcetls::Result<DnsAnswer>> got;
    asio::co_spawn(io, (*resolver)->query("good.test", DnsType::mx),
                   [&](std::exception_ptr, forcetls::Result<DnsAnswer> r) { got = std::move(r); });
    io.run();
    REQUIRE(got.has_value());
    if (lab_option) {
      REQUIRE_FALSE(got->has_value());
      CHECK(got->error().code == forcetls::Errc::timeout);
      CHECK(forwarder.received());
    } else {
      REQUIRE(got->has_value());
      CHECK((*got)->nxdomain);
      CHECK_FALSE(forwarder.received());
    }
  }
}

TEST_CASE("a forwarder that never answers gives a timeout, not an answer", "[checker][lab]") {
  SilentForwarder silent;
  asio::io_context io;
  ResolverOptions o;
  o.forwarder = silent.address;
  o.validate = false;
  o.timeout = std::chrono::milliseconds(700);
  o.unbound_options = {lab::lab_resolver_option()};  // good.test must reach it
  auto resolver = UnboundResolver::create(io.get_executor(), o);
  REQUIRE(resolver);
  std::optional<forcetls::Result<DnsAnswer>> got;
  const auto start = std::chrono::steady_clock::now();
  asio::co_spawn(io, (*resolver)->query("good.test", DnsType::mx),
                 [&](std::exception_ptr, forcetls::Result<DnsAnswer> r) { got = std::move(r); });
  io.run();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(got.has_value());
  REQUIRE_FALSE(got->has_value());
  CHECK(got->error().code == forcetls::Errc::timeout);
  CHECK_THAT(got->error().message, Catch::Contains("good.test/MX timed out after 700ms"));
  CHECK(elapsed >= std::chrono::milliseconds(650));
  CHECK(elapsed < std::chrono::seconds(3));
  CHECK((*resolver)->in_flight() == 0);

  // resolve_mx turns it into a DNS failure: unknown, not "no MX".
  MxResult m;
  asio::co_spawn(io, resolve_mx(**resolver, "good.test", lab_mx()),
                 [&](std::exception_ptr, MxResult r) { m = std::move(r); });
  io.restart();
  io.run();
  CHECK(m.status == MxStatus::dns_failure);
  CHECK_THAT(m.reason, Catch::Contains("timed out"));
}
