// SPDX-License-Identifier: Apache-2.0
// Tests for checker/dns/dns: UnboundResolver set-up errors, and its async
// machinery end to end without any network: every answer comes from
// libunbound's local data ("local-zone: . static"), and
// do-not-query-address covers every address, so nothing can leave the host.
#include "checker/dns/dns.hpp"

#include <unistd.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

using namespace forcetls::checker;

namespace {

ResolverOptions offline_options() {
  ResolverOptions o;
  o.validate = false;
  o.timeout = std::chrono::seconds(5);
  o.unbound_options = {
      {"do-not-query-address:", "0.0.0.0/0"},
      {"do-not-query-address:", "::/0"},
      {"local-zone:", ". static"},
      {"local-data:", "mx.example. 300 MX 10 mail.example."},
      {"local-data:", "mx.example. 300 MX 20 backup.example."},
      {"local-data:", "mail.example. 300 A 192.0.2.1"},
      {"local-data:", "mail.example. 300 A 192.0.2.2"},
      {"local-data:", "mail.example. 300 AAAA 2001:db8::1"},
      {"local-data:", "txt.example. 300 TXT \"v=STSv1;\" \" id=20240101\""},
      {"local-data:",
       "_25._tcp.mail.example. 300 TLSA 3 1 1 "
       "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"},
      {"local-data:", "nullmx.example. 300 MX 0 ."},
      {"local-data:", "nodata.example. 300 A 192.0.2.3"},
  };
  return o;
}

/// A temporary file removed at scope exit.
struct TempFile {
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/forcetls-dns-test-XXXXXX";
    const int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = name;
    std::ofstream(path) << content;
  }
  ~TempFile() { std::filesystem::remove(path); }
  std::string path;
};

}  // namespace

TEST_CASE("UnboundResolver set-up errors are clear", "[checker]") {
  asio::io_context io;
  SECTION("bad forwarder") {
    ResolverOptions o;
    o.forwarder = "not-an-address";
    auto r = UnboundResolver::create(io.get_executor(), o);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == forcetls::Errc::invalid_argument);
    CHECK_THAT(r.error().message, Catch::Contains("not-an-address"));
  }
  SECTION("missing trust anchor file") {
    ResolverOptions o;
    o.trust_anchor_file = "/nonexistent/forcetls/root.key";
    auto r = UnboundResolver::create(io.get_executor(), o);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == forcetls::Errc::config);
    CHECK_THAT(r.error().message, Catch::Contains("/nonexistent/forcetls/root.key"));
  }
  SECTION("garbage trust anchor file") {
    TempFile bad("this is not a DS record\n");
    ResolverOptions o;
    o.trust_anchor_file = bad.path;
    auto r = UnboundResolver::create(io.get_executor(), o);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == forcetls::Errc::config);
    CHECK_THAT(r.error().message, Catch::Contains(bad.path));
  }
  SECTION("validation without anchors") {
    ResolverOptions o;
    o.trust_anchor_file.clear();
    auto r = UnboundResolver::create(io.get_executor(), o);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("trust anchor"));
  }
  SECTION("valid: Debian's root key, a forwarder with a port, a DS line file") {
    ResolverOptions o;
    o.forwarder = "127.0.0.1@5300";
    CHECK(UnboundResolver::create(io.get_executor(), o).has_value());
    TempFile ds(
        "signed.test. IN DS 12345 13 2 "
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
    o.trust_anchor_file = ds.path;
    o.forwarder = "::1@53";
    CHECK(UnboundResolver::create(io.get_executor(), o).has_value());
  }
}

TEST_CASE("parse_unbound_option splits an unbound.conf line", "[checker]") {
  struct Case {
    std::string text;
    bool ok;
    std::string name;
    std::string value;
  };
  auto c = GENERATE(values<Case>({
      {"local-zone: test. transparent", true, "local-zone", "test. transparent"},
      {"  do-ip6:no ", true, "do-ip6", "no"},
      {"local-data: a.test. 300 A 192.0.2.1", true, "local-data", "a.test. 300 A 192.0.2.1"},
      {"local-zone: \"test.\" transparent", true, "local-zone", "\"test.\" transparent"},
      {"local-zone test. transparent", false, "", ""},
      {"local zone: test. transparent", false, "", ""},
      {"local-zone:", false, "", ""},
      {"local-zone:   ", false, "", ""},
      {": test. transparent", false, "", ""},
      {"", false, "", ""},
  }));
  CAPTURE(c.text);
  auto r = parse_unbound_option(c.text);
  REQUIRE(r.has_value() == c.ok);
  if (c.ok) {
    CHECK(r->first == c.name);
    CHECK(r->second == c.value);
  } else {
    CHECK(r.error().code == forcetls::Errc::invalid_argument);
  }
}

TEST_CASE("UnboundResolver: the options reach libunbound, and none are set by default",
          "[checker]") {
  asio::io_context io;
  CHECK(ResolverOptions{}.unbound_options.empty());
  SECTION("an option not on the list fails at creation, DNSSEC's above all") {
    for (const char* name : {"no-such-option", "module-config", "val-permissive-mode",
                             "trust-anchor", "domain-insecure", "harden-dnssec-stripped"}) {
      ResolverOptions o;
      o.unbound_options = {{name, "iterator"}};
      auto r = UnboundResolver::create(io.get_executor(), o);
      INFO(name);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == forcetls::Errc::config);
      CHECK_THAT(r.error().message, Catch::Contains("is not one forcetls lets set"));
    }
  }
  SECTION("the list and its text agree") {
    std::string joined;
    for (std::string_view n : forcetls::kUnboundOptionsAllowedList) {
      joined += (joined.empty() ? "" : ", ") + std::string(n);
      CHECK(forcetls::unbound_option_allowed(std::string(n) + ":"));
    }
    CHECK(joined == forcetls::kUnboundOptionsAllowed);
  }
  SECTION("a value libunbound refuses fails at creation") {
    ResolverOptions o;
    o.unbound_options = {{"local-zone:", "test."}};  // no zone type
    auto r = UnboundResolver::create(io.get_executor(), o);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == forcetls::Errc::config);
  }
  SECTION("a zone type libunbound refuses fails at creation, not at the first query") {
    ResolverOptions o;
    o.unbound_options = {{"local-zone", "test. no-such-type"}};
    auto r = UnboundResolver::create(io.get_executor(), o);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == forcetls::Errc::config);
    CHECK_THAT(r.error().message, Catch::Contains("resolver options"));
  }
  SECTION("names with and without the ':' are both taken") {
    ResolverOptions o;
    o.unbound_options = {{"do-ip6", "no"}, {"do-ip4:", "yes"}};
    CHECK(UnboundResolver::create(io.get_executor(), o).has_value());
  }
}

TEST_CASE("UnboundResolver keeps unbound's .test local zone unless told otherwise", "[checker]") {
  // Every address is off limits, so nothing leaves the host: the default
  // `.test` zone answers NXDOMAIN itself; made transparent, the query would
  // have to go out, cannot, and fails instead.
  auto ask = [](std::vector<std::pair<std::string, std::string>> extra) {
    asio::io_context io;
    ResolverOptions o;
    o.validate = false;
    o.timeout = std::chrono::seconds(5);
    o.unbound_options = {{"do-not-query-address", "0.0.0.0/0"}, {"do-not-query-address", "::/0"}};
    o.unbound_options.insert(o.unbound_options.end(), extra.begin(), extra.end());
    auto created = UnboundResolver::create(io.get_executor(), o);
    REQUIRE(created);
    std::optional<forcetls::Result<DnsAnswer>> out;
    asio::co_spawn(io, (*created)->query("mx.good.test", DnsType::a),
                   [&](std::exception_ptr e, forcetls::Result<DnsAnswer> r) {
                     REQUIRE_FALSE(e);
                     out = std::move(r);
                   });
    io.run();
    REQUIRE(out.has_value());
    return std::move(*out);
  };
  forcetls::Result<DnsAnswer> local = ask({});
  REQUIRE(local.has_value());
  CHECK(local->nxdomain);
  CHECK(local->rcode == rcode::nxdomain);
  CHECK(local->addresses.empty());

  forcetls::Result<DnsAnswer> passed = ask({{"local-zone", "test. transparent"}});
  CAPTURE(passed.has_value() ? rcode_name(passed->rcode) : passed.error().message);
  CHECK_FALSE((passed.has_value() && passed->nxdomain));
}

TEST_CASE("UnboundResolver answers through the io_context", "[checker]") {
  asio::io_context io;
  auto created = UnboundResolver::create(io.get_executor(), offline_options());
  REQUIRE(created);
  UnboundResolver& resolver = **created;

  auto ask = [&](std::string name, DnsType type) {
    std::optional<forcetls::Result<DnsAnswer>> out;
    asio::co_spawn(io, resolver.query(std::move(name), type),
                   [&](std::exception_ptr e, forcetls::Result<DnsAnswer> r) {
                     REQUIRE_FALSE(e);
                     out = std::move(r);
                   });
    io.restart();
    io.run();
    REQUIRE(out.has_value());
    return std::move(*out);
  };

  SECTION("MX") {
    auto a = ask("mx.example", DnsType::mx);
    REQUIRE(a);
    CHECK(a->rcode == rcode::noerror);
    CHECK(a->havedata);
    CHECK(a->dnssec == DnssecStatus::indeterminate);  // validation off
    CHECK(a->canonname == "mx.example");
    CHECK(a->ttl == 300);
    REQUIRE(a->mx.size() == 2);
    std::vector<MxRecord> sorted = a->mx;
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& x, const auto& y) { return x.preference < y.preference; });
    CHECK(sorted[0] == MxRecord{10, "mail.example"});
    CHECK(sorted[1] == MxRecord{20, "backup.example"});
  }
  SECTION("A and AAAA") {
    auto v4 = ask("mail.example", DnsType::a);
    REQUIRE(v4);
    CHECK(v4->addresses.size() == 2);
    auto v6 = ask("mail.example", DnsType::aaaa);
    REQUIRE(v6);
    REQUIRE(v6->addresses.size() == 1);
    CHECK(v6->addresses[0].to_string() == "2001:db8::1");
  }
  SECTION("TXT keeps its strings") {
    auto t = ask("txt.example", DnsType::txt);
    REQUIRE(t);
    REQUIRE(t->txt.size() == 1);
    CHECK(t->txt[0].strings.size() == 2);
    CHECK(t->txt[0].joined() == "v=STSv1; id=20240101");
  }
  SECTION("TLSA") {
    auto t = ask("_25._tcp.mail.example", DnsType::tlsa);
    REQUIRE(t);
    REQUIRE(t->tlsa.size() == 1);
    CHECK(t->tlsa[0].usage == 3);
    CHECK(t->tlsa[0].data.size() == 32);
    CHECK(t->tlsa[0].data[0] == 0x01);
    CHECK(t->tlsa[0].usable_for_smtp());
  }
  SECTION("null MX") {
    auto n = ask("nullmx.example", DnsType::mx);
    REQUIRE(n);
    REQUIRE(n->mx.size() == 1);
    CHECK(n->mx[0].is_null());
  }
  SECTION("NODATA and NXDOMAIN") {
    auto nodata = ask("nodata.example", DnsType::mx);
    REQUIRE(nodata);
    CHECK(nodata->nodata());
    CHECK(nodata->mx.empty());
    auto nx = ask("absent.example", DnsType::mx);
    REQUIRE(nx);
    CHECK(nx->nxdomain);
    CHECK(nx->rcode == rcode::nxdomain);
  }
  CHECK(resolver.in_flight() == 0);
}

TEST_CASE("UnboundResolver keeps hundreds of queries in flight", "[checker]") {
  asio::io_context io;
  auto created = UnboundResolver::create(io.get_executor(), offline_options());
  REQUIRE(created);
  UnboundResolver& resolver = **created;
  constexpr int kQueries = 300;
  int answered = 0;
  std::size_t peak = 0;
  for (int i = 0; i < kQueries; ++i) {
    const bool mx = i % 2 == 0;
    asio::co_spawn(
        io, resolver.query(mx ? "mx.example" : "mail.example", mx ? DnsType::mx : DnsType::a),
        [&, mx](std::exception_ptr e, forcetls::Result<DnsAnswer> r) {
          REQUIRE_FALSE(e);
          REQUIRE(r);
          CHECK((mx ? r->mx.size() : r->addresses.size()) == 2);
          ++answered;
        });
  }
  // Let every coroutine submit before the first answer is processed.
  while (io.poll_one() > 0) {
    peak = std::max(peak, resolver.in_flight());
  }
  io.restart();
  io.run();
  CHECK(answered == kQueries);
  CHECK(peak > 1);
  CHECK(resolver.in_flight() == 0);
}

TEST_CASE("dnssec status names", "[checker]") {
  CHECK(to_string(DnssecStatus::secure) == "secure");
  CHECK(to_string(DnssecStatus::bogus) == "bogus");
  CHECK(to_string(DnssecStatus::insecure) == "insecure");
  CHECK(to_string(DnssecStatus::indeterminate) == "indeterminate");
}

namespace {

/// Races one query against a timer; counts who won. Parameters, not lambda
/// captures: a coroutine must not outlive the closure it reads from.
asio::awaitable<void> race(UnboundResolver& resolver, std::chrono::milliseconds limit,
                           int& answered, int& finished) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, limit);
  auto winner = co_await (resolver.query("mail.example", DnsType::a) ||
                          timer.async_wait(asio::use_awaitable));
  if (winner.index() == 0) {
    ++answered;
  }
  ++finished;
}

}  // namespace

TEST_CASE("UnboundResolver survives queries cancelled from outside", "[checker]") {
  // Each query races a timer (awaitable_operators ||): whichever wins,
  // nothing may leak, crash or stay in flight, and run() must return.
  asio::io_context io;
  auto created = UnboundResolver::create(io.get_executor(), offline_options());
  REQUIRE(created);
  UnboundResolver& resolver = **created;
  int finished = 0;
  int answered = 0;
  for (int i = 0; i < 50; ++i) {
    // Even queries race a timer that has expired, odd ones a 5 s timer.
    const auto limit = std::chrono::milliseconds(i % 2 == 0 ? 0 : 5000);
    asio::co_spawn(io, race(resolver, limit, answered, finished), asio::detached);
  }
  io.run();
  CHECK(finished == 50);
  CHECK(answered >= 25);
  CHECK(answered < 50);
  CHECK(resolver.in_flight() == 0);
  std::printf("cancel race: %d of 50 answered before the timer\n", answered);

  // The resolver still works afterwards.
  std::optional<forcetls::Result<DnsAnswer>> out;
  asio::co_spawn(io, resolver.query("mail.example", DnsType::a),
                 [&](std::exception_ptr, forcetls::Result<DnsAnswer> r) { out = std::move(r); });
  io.restart();
  io.run();
  REQUIRE(out.has_value());
  REQUIRE(out->has_value());
  CHECK((*out)->addresses.size() == 2);
}
