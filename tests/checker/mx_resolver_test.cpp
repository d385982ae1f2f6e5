// SPDX-License-Identifier: Apache-2.0
// Tests for checker/dns/mx_resolver against a scripted FakeResolver: ordering,
// null and implicit MX, CNAMEs, failures, TLSA rules, caps, concurrency.
#include "checker/dns/mx_resolver.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "tests/checker/fake_resolver.hpp"

using namespace forcetls::checker;
using namespace forcetls::checker::testing;

namespace {

constexpr auto kSecure = DnssecStatus::secure;
constexpr auto kInsecure = DnssecStatus::insecure;

/// Scripts A = 192.0.2.<n>, AAAA NODATA for `host`.
void host_v4(FakeResolver& r, const std::string& host, const char* address,
             DnssecStatus status = kInsecure) {
  r.set(address_answer(host, DnsType::a, {address}, status));
  r.set(answer(host, DnsType::aaaa, status));
}

MxResult resolve(FakeResolver& r, const std::string& domain, MxOptions options = {}) {
  return run(resolve_mx(r, domain, std::move(options)));
}

std::vector<std::string> host_names(const MxResult& m) {
  std::vector<std::string> out;
  for (const auto& h : m.hosts) {
    out.push_back(h.name);
  }
  return out;
}

}  // namespace

TEST_CASE("MX hosts in preference order, ties in DNS order, duplicates once", "[checker]") {
  FakeResolver r;
  r.set(mx_answer("example.com", {{20, "c.example.com"},
                                  {10, "b.example.com"},
                                  {10, "a.example.com"},
                                  {5, "d.example.com"},
                                  {30, "b.example.com"}}));
  host_v4(r, "a.example.com", "192.0.2.1");
  host_v4(r, "b.example.com", "192.0.2.2");
  host_v4(r, "c.example.com", "192.0.2.3");
  host_v4(r, "d.example.com", "192.0.2.4");
  const auto m = resolve(r, "example.com");
  REQUIRE(m.status == MxStatus::ok);
  CHECK_FALSE(m.implicit_mx);
  CHECK(host_names(m) == std::vector<std::string>{"d.example.com", "b.example.com", "a.example.com",
                                                  "c.example.com"});
  CHECK(m.hosts[0].preference == 5);
  CHECK(m.hosts[1].preference == 10);
  CHECK(m.hosts[3].preference == 20);
  CHECK_THAT(m.reason, Catch::Contains("duplicate MX host b.example.com"));
  for (const auto& h : m.hosts) {
    CHECK(h.status == HostStatus::ok);
    REQUIRE(h.addresses.size() == 1);
    CHECK(h.addresses[0].refused.empty() == false);  // documentation range, default policy
  }
}

TEST_CASE("null MX means the domain accepts no mail", "[checker]") {
  FakeResolver r;
  r.set(mx_answer("nomail.example", {{0, "."}}, kSecure));
  const auto m = resolve(r, "nomail.example");
  CHECK(m.status == MxStatus::null_mx);
  CHECK(m.hosts.empty());
  CHECK_THAT(m.reason, Catch::Contains("RFC 7505"));
  CHECK(m.dnssec() == kSecure);
  CHECK(r.asked == std::vector<std::string>{"nomail.example/MX"});
}

TEST_CASE("a null MX mixed with real MX records is ignored", "[checker]") {
  FakeResolver r;
  r.set(mx_answer("mixed.example", {{0, "."}, {10, "mx.mixed.example"}}));
  host_v4(r, "mx.mixed.example", "198.51.100.7");
  const auto m = resolve(r, "mixed.example");
  CHECK(m.status == MxStatus::ok);
  CHECK(host_names(m) == std::vector<std::string>{"mx.mixed.example"});
  CHECK_THAT(m.reason, Catch::Contains("null MX mixed"));
}

TEST_CASE("no MX records: the domain is its own mail host", "[checker]") {
  FakeResolver r;
  r.set(answer("nomx.example", DnsType::mx, kSecure));  // NODATA
  r.set(address_answer("nomx.example", DnsType::a, {"203.0.113.5"}, kSecure));
  r.set(address_answer("nomx.example", DnsType::aaaa, {"2001:db8::5"}, kSecure));
  r.set(answer("_25._tcp.nomx.example", DnsType::tlsa, kSecure));  // secure NODATA
  const auto m = resolve(r, "nomx.example");
  REQUIRE(m.status == MxStatus::ok);
  CHECK(m.implicit_mx);
  REQUIRE(m.hosts.size() == 1);
  const auto& h = m.hosts[0];
  CHECK(h.name == "nomx.example");
  CHECK(h.implicit);
  CHECK(h.preference == 0);
  REQUIRE(h.addresses.size() == 2);
  CHECK(h.addresses[0].address.to_string() == "203.0.113.5");
  CHECK(h.addresses[1].address.to_string() == "2001:db8::5");
  CHECK(h.tlsa.state == TlsaState::none);
}

TEST_CASE("implicit MX of an aliased domain is the alias target", "[checker]") {
  FakeResolver r;
  DnsAnswer alias = answer("alias.example", DnsType::mx);
  alias.canonname = "target.example";
  alias.cname_chain = {"target.example"};
  r.set(alias);
  r.set(answer("target.example", DnsType::mx));  // NODATA at the target too
  host_v4(r, "target.example", "192.0.2.9");
  const auto m = resolve(r, "alias.example");
  REQUIRE(m.status == MxStatus::ok);
  CHECK(m.implicit_mx);
  CHECK(host_names(m) == std::vector<std::string>{"target.example"});
  CHECK(m.mx.cname_chain == std::vector<std::string>{"target.example"});
}

TEST_CASE("an alias the resolver did not follow is followed", "[checker]") {
  FakeResolver r;
  DnsAnswer alias = answer("cname.example", DnsType::mx);
  alias.canonname = "real.example";
  alias.cname_chain = {"real.example"};
  r.set(alias);
  r.set(mx_answer("real.example", {{10, "mx.real.example"}}));
  host_v4(r, "mx.real.example", "192.0.2.10");
  const auto m = resolve(r, "cname.example");
  REQUIRE(m.status == MxStatus::ok);
  CHECK_FALSE(m.implicit_mx);
  CHECK(host_names(m) == std::vector<std::string>{"mx.real.example"});
  CHECK(m.mx.canonname == "real.example");
}

TEST_CASE("CNAME loops and over-long chains are DNS failures", "[checker]") {
  SECTION("loop") {
    FakeResolver r;
    DnsAnswer a = answer("a.example", DnsType::mx);
    a.canonname = "b.example";
    a.cname_chain = {"b.example"};
    DnsAnswer b = answer("b.example", DnsType::mx);
    b.canonname = "a.example";
    b.cname_chain = {"a.example"};
    r.set(a);
    r.set(b);
    const auto m = resolve(r, "a.example");
    CHECK(m.status == MxStatus::dns_failure);
    CHECK_THAT(m.reason, Catch::Contains("CNAME loop"));
  }
  SECTION("chain of 9 links, limit 8") {
    FakeResolver r;
    for (int i = 0; i < 9; ++i) {
      DnsAnswer hop = answer("h" + std::to_string(i) + ".example", DnsType::mx);
      hop.canonname = "h" + std::to_string(i + 1) + ".example";
      hop.cname_chain = {hop.canonname};
      r.set(hop);
    }
    r.set(mx_answer("h9.example", {{10, "mx.example"}}));
    host_v4(r, "mx.example", "192.0.2.1");
    const auto m = resolve(r, "h0.example");
    CHECK(m.status == MxStatus::dns_failure);
    CHECK_THAT(m.reason, Catch::Contains("longer than 8"));
    MxOptions wider;
    wider.max_cname_links = 9;
    CHECK(resolve(r, "h0.example", wider).status == MxStatus::ok);
  }
  SECTION("long chain followed inside the resolver counts too") {
    FakeResolver r;
    DnsAnswer a = mx_answer("deep.example", {{10, "mx.example"}});
    for (int i = 0; i < 9; ++i) {
      a.cname_chain.push_back("c" + std::to_string(i) + ".example");
    }
    a.canonname = a.cname_chain.back();
    r.set(a);
    const auto m = resolve(r, "deep.example");
    CHECK(m.status == MxStatus::dns_failure);
  }
}

TEST_CASE("MX lookup failures are DNS failures, never answers", "[checker]") {
  struct Case {
    const char* label;
    forcetls::Result<DnsAnswer> answer;
    MxStatus want;
    const char* reason;
  };
  const Case c = GENERATE(values<Case>({
      {"NXDOMAIN", nxdomain_answer("d.example", DnsType::mx, kSecure), MxStatus::nxdomain,
       "does not exist"},
      {"SERVFAIL", servfail_answer("d.example", DnsType::mx), MxStatus::dns_failure, "SERVFAIL"},
      {"REFUSED",
       [] {
         auto a = answer("d.example", DnsType::mx);
         a.rcode = rcode::refused;
         return a;
       }(),
       MxStatus::dns_failure, "REFUSED"},
      {"bogus", bogus_answer("d.example", DnsType::mx, "signature expired"), MxStatus::dns_failure,
       "bogus): signature expired"},
      {"timeout",
       std::unexpected(
           forcetls::Error{forcetls::Errc::timeout, "DNS query d.example/MX timed out"}),
       MxStatus::dns_failure, "timed out"},
  }));
  INFO(c.label);
  FakeResolver r;
  if (c.answer) {
    DnsAnswer a = *c.answer;
    // Bogus answers must not be used even if data came along.
    a.mx.push_back(MxRecord{10, "evil.example"});
    if (a.bogus()) {
      a.havedata = true;
    }
    r.set(a);
  } else {
    r.set_error("d.example", DnsType::mx, c.answer.error());
  }
  const auto m = resolve(r, "d.example");
  CHECK(m.status == c.want);
  CHECK_THAT(m.reason, Catch::Contains(c.reason));
  CHECK(m.hosts.empty());
  CHECK_FALSE(r.was_asked("evil.example", DnsType::a));
}

TEST_CASE("host address failures and missing addresses", "[checker]") {
  FakeResolver r;
  r.set(mx_answer("d.example", {{10, "bogus.d.example"},
                                {20, "half.d.example"},
                                {30, "none.d.example"},
                                {40, "gone.d.example"}}));
  DnsAnswer bogus = bogus_answer("bogus.d.example", DnsType::a, "no signatures");
  bogus.addresses.push_back(asio::ip::make_address("192.0.2.66"));
  bogus.havedata = true;
  r.set(bogus);
  r.set(answer("bogus.d.example", DnsType::aaaa));
  r.set(address_answer("half.d.example", DnsType::a, {"192.0.2.20"}));
  r.set(servfail_answer("half.d.example", DnsType::aaaa));
  r.set(answer("none.d.example", DnsType::a));
  r.set(answer("none.d.example", DnsType::aaaa));
  r.set(nxdomain_answer("gone.d.example", DnsType::a));
  r.set(nxdomain_answer("gone.d.example", DnsType::aaaa));
  const auto m = resolve(r, "d.example");
  REQUIRE(m.status == MxStatus::ok);
  REQUIRE(m.hosts.size() == 4);

  const auto& b = m.hosts[0];
  CHECK(b.status == HostStatus::dns_failure);
  CHECK(b.addresses.empty());  // bogus data is never used
  CHECK(b.a.dnssec == DnssecStatus::bogus);
  CHECK_THAT(b.problem, Catch::Contains("no signatures"));

  const auto& h = m.hosts[1];
  CHECK(h.status == HostStatus::dns_failure);
  REQUIRE(h.addresses.size() == 1);  // the family that answered is kept
  CHECK(h.addresses[0].address.to_string() == "192.0.2.20");
  CHECK_THAT(h.problem, Catch::Contains("AAAA lookup"));
  CHECK_THAT(h.problem, Catch::Contains("SERVFAIL"));

  CHECK(m.hosts[2].status == HostStatus::no_addresses);
  CHECK(m.hosts[2].a.outcome == LookupOutcome::nodata);
  CHECK(m.hosts[3].status == HostStatus::no_addresses);
  CHECK(m.hosts[3].a.outcome == LookupOutcome::nxdomain);
  CHECK_THAT(m.hosts[3].problem, Catch::Contains("no address records"));
}

TEST_CASE("TLSA only when the MX and the address answers are secure", "[checker]") {
  struct Case {
    const char* label;
    DnssecStatus mx;
    DnssecStatus a;
    bool asked;
    TlsaState want;
    const char* reason;
  };
  const Case c = GENERATE(values<Case>({
      {"both secure", kSecure, kSecure, true, TlsaState::found, ""},
      {"MX insecure", kInsecure, kSecure, false, TlsaState::not_looked_up, "MX answer is insecure"},
      {"MX indeterminate", DnssecStatus::indeterminate, kSecure, false, TlsaState::not_looked_up,
       "indeterminate"},
      {"address insecure", kSecure, kInsecure, false, TlsaState::not_looked_up,
       "A answer for mx.s.example is insecure"},
  }));
  INFO(c.label);
  FakeResolver r;
  r.set(mx_answer("s.example", {{10, "mx.s.example"}}, c.mx));
  host_v4(r, "mx.s.example", "192.0.2.25", c.a);
  DnsAnswer tlsa = answer("_25._tcp.mx.s.example", DnsType::tlsa, kSecure);
  tlsa.tlsa.push_back(TlsaRecord{3, 1, 1, std::vector<std::uint8_t>(32, 7)});
  tlsa.havedata = true;
  r.set(tlsa);
  const auto m = resolve(r, "s.example");
  REQUIRE(m.hosts.size() == 1);
  const auto& t = m.hosts[0].tlsa;
  CHECK(r.was_asked("_25._tcp.mx.s.example", DnsType::tlsa) == c.asked);
  CHECK(t.state == c.want);
  CHECK_THAT(t.reason, Catch::Contains(c.reason));
  if (c.want == TlsaState::found) {
    REQUIRE(t.records.size() == 1);
    CHECK(t.records[0].usable_for_smtp());
  }
}

TEST_CASE("TLSA answers: failure, insecure, secure denial", "[checker]") {
  struct Case {
    const char* label;
    DnsAnswer tlsa;
    TlsaState want;
  };
  const std::string q = "_25._tcp.mx.s.example";
  const Case c = GENERATE_COPY(values<Case>({
      {"bogus", bogus_answer(q, DnsType::tlsa, "bad signature"), TlsaState::failure},
      {"servfail", servfail_answer(q, DnsType::tlsa), TlsaState::failure},
      {"secure NODATA", answer(q, DnsType::tlsa, kSecure), TlsaState::none},
      {"secure NXDOMAIN", nxdomain_answer(q, DnsType::tlsa, kSecure), TlsaState::none},
      {"insecure NODATA", answer(q, DnsType::tlsa, kInsecure), TlsaState::insecure},
      {"insecure data",
       [&] {
         auto a = answer(q, DnsType::tlsa, kInsecure);
         a.tlsa.push_back(TlsaRecord{3, 1, 1, std::vector<std::uint8_t>(32, 1)});
         a.havedata = true;
         return a;
       }(),
       TlsaState::insecure},
  }));
  INFO(c.label);
  FakeResolver r;
  r.set(mx_answer("s.example", {{10, "mx.s.example"}}, kSecure));
  host_v4(r, "mx.s.example", "192.0.2.25", kSecure);
  r.set(c.tlsa);
  const auto m = resolve(r, "s.example");
  REQUIRE(m.hosts.size() == 1);
  CHECK(m.hosts[0].tlsa.state == c.want);
  CHECK(m.hosts[0].tlsa.records.empty());
  CHECK(m.hosts[0].status == HostStatus::ok);  // TLSA does not change the address status
}

TEST_CASE("TLSA of a securely aliased MX host: target first, then the MX name", "[checker]") {
  FakeResolver r;
  r.set(mx_answer("s.example", {{10, "mx.s.example"}}, kSecure));
  DnsAnswer a = address_answer("mx.s.example", DnsType::a, {"192.0.2.30"}, kSecure);
  a.canonname = "real.s.example";
  a.cname_chain = {"real.s.example"};
  r.set(a);
  DnsAnswer aaaa = answer("mx.s.example", DnsType::aaaa, kSecure);
  aaaa.canonname = "real.s.example";
  aaaa.cname_chain = {"real.s.example"};
  r.set(aaaa);
  r.set(answer("real.s.example", DnsType::aaaa, kSecure));
  r.set(answer("_25._tcp.real.s.example", DnsType::tlsa, kSecure));
  DnsAnswer tlsa = answer("_25._tcp.mx.s.example", DnsType::tlsa, kSecure);
  tlsa.tlsa.push_back(TlsaRecord{2, 0, 1, std::vector<std::uint8_t>(32, 2)});
  tlsa.havedata = true;
  r.set(tlsa);
  const auto m = resolve(r, "s.example");
  REQUIRE(m.hosts.size() == 1);
  const auto& t = m.hosts[0].tlsa;
  CHECK(t.state == TlsaState::found);
  REQUIRE(t.lookups.size() == 2);
  CHECK(t.lookups[0].qname == "_25._tcp.real.s.example");
  CHECK(t.lookups[1].qname == "_25._tcp.mx.s.example");
}

TEST_CASE("caps on MX hosts and addresses per host", "[checker]") {
  FakeResolver r;
  r.set(mx_answer("big.example", {{10, "m1.big.example"},
                                  {20, "m2.big.example"},
                                  {30, "m3.big.example"},
                                  {40, "m4.big.example"}}));
  r.set(address_answer("m1.big.example", DnsType::a,
                       {"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"}));
  r.set(address_answer("m1.big.example", DnsType::aaaa, {"2001:db8::1", "2001:db8::2"}));
  host_v4(r, "m2.big.example", "192.0.2.5");
  MxOptions options;
  options.max_mx_hosts = 2;
  options.max_addresses_per_host = 5;
  const auto m = resolve(r, "big.example", options);
  CHECK(host_names(m) == std::vector<std::string>{"m1.big.example", "m2.big.example"});
  CHECK(m.hosts_dropped == 2);
  CHECK_THAT(m.reason, Catch::Contains("2 MX host(s) beyond the limit of 2"));
  REQUIRE(m.hosts[0].addresses.size() == 5);
  CHECK(m.hosts[0].addresses_dropped == 1);
  CHECK(m.hosts[0].addresses[3].address.to_string() == "192.0.2.4");
  CHECK(m.hosts[0].addresses[4].address.to_string() == "2001:db8::1");
  CHECK_FALSE(r.was_asked("m3.big.example", DnsType::a));
}

TEST_CASE("address families not wanted are not asked", "[checker]") {
  FakeResolver r;
  r.set(mx_answer("f.example", {{10, "mx.f.example"}}));
  r.set(address_answer("mx.f.example", DnsType::a, {"192.0.2.1"}));
  MxOptions options;
  options.families = Families{.ipv4 = true, .ipv6 = false};
  const auto m = resolve(r, "f.example", options);
  REQUIRE(m.hosts.size() == 1);
  CHECK(m.hosts[0].status == HostStatus::ok);
  CHECK(m.hosts[0].aaaa.outcome == LookupOutcome::skipped);
  CHECK_FALSE(r.was_asked("mx.f.example", DnsType::aaaa));
}

TEST_CASE("the address policy marks refused addresses", "[checker]") {
  FakeResolver r;
  r.set(mx_answer("p.example", {{10, "mx.p.example"}}));
  r.set(address_answer("mx.p.example", DnsType::a, {"10.1.2.3", "8.8.8.8", "127.0.0.1"}));
  r.set(address_answer("mx.p.example", DnsType::aaaa, {"::ffff:192.168.0.1"}));
  auto m = resolve(r, "p.example");
  REQUIRE(m.hosts.size() == 1);
  const auto& a = m.hosts[0].addresses;
  REQUIRE(a.size() == 4);
  CHECK_THAT(a[0].refused, Catch::Contains("private-use"));
  CHECK(a[1].refused.empty());
  CHECK_THAT(a[2].refused, Catch::Contains("loopback"));
  CHECK_THAT(a[3].refused, Catch::Contains("embedding 192.168.0.1"));

  MxOptions lab;
  lab.address_policy.allow_private = true;
  m = resolve(r, "p.example", lab);
  for (const auto& addr : m.hosts[0].addresses) {
    CHECK(addr.refused.empty());
  }
}

TEST_CASE("MX hosts resolve concurrently", "[checker]") {
  FakeResolver r;
  r.delay = std::chrono::milliseconds(100);
  r.set(mx_answer("many.example", {{10, "m0.many.example"},
                                   {10, "m1.many.example"},
                                   {10, "m2.many.example"},
                                   {10, "m3.many.example"},
                                   {10, "m4.many.example"},
                                   {10, "m5.many.example"}}));
  for (int i = 0; i < 6; ++i) {
    host_v4(r, "m" + std::to_string(i) + ".many.example", "192.0.2.1");
  }
  const auto m = resolve(r, "many.example");
  REQUIRE(m.hosts.size() == 6);
  // 1 MX round + 1 address round, A and AAAA of all six hosts together: all
  // twelve address questions were in flight at once (the fake holds each for
  // its delay), which proves the concurrency without timing the run.
  CHECK(r.max_in_flight == 12);
  CHECK(r.asked.size() == 13);
}

TEST_CASE("min_ttl is the smallest TTL of the answers used", "[checker]") {
  FakeResolver r;
  auto mx = mx_answer("t.example", {{10, "mx.t.example"}});
  mx.ttl = 3600;
  r.set(mx);
  auto a = address_answer("mx.t.example", DnsType::a, {"192.0.2.1"});
  a.ttl = 120;
  r.set(a);
  auto aaaa = answer("mx.t.example", DnsType::aaaa);
  aaaa.ttl = 900;
  r.set(aaaa);
  CHECK(resolve(r, "t.example").min_ttl() == 120);

  r.set(servfail_answer("mx.t.example", DnsType::a));  // failures do not count
  CHECK(resolve(r, "t.example").min_ttl() == 900);
  CHECK(MxResult{}.min_ttl() == 0);
}
