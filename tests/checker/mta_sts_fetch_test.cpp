// SPDX-License-Identifier: Apache-2.0
// Tests for checker/auth/mta_sts_fetch's DNS half against a scripted FakeResolver
// (no network: every case ends before an HTTPS connection, which
// https_fetches() proves) and the content-type check. The HTTPS half runs
// against nginx in the lab (mta_sts_lab_test.cpp).
#include "checker/auth/mta_sts_fetch.hpp"

#include <catch2/catch.hpp>

#include "tests/checker/fake_resolver.hpp"

using namespace forcetls;
using namespace forcetls::checker;
using namespace forcetls::checker::testing;

namespace {

DnsAnswer txt_answer(const std::string& name, std::vector<std::string> records,
                     DnssecStatus status = DnssecStatus::insecure) {
  DnsAnswer a = answer(name, DnsType::txt, status);
  for (auto& r : records) {
    a.txt.push_back(TxtRecord{{std::move(r)}});
  }
  a.havedata = !a.txt.empty();
  return a;
}

StsFetchOptions v4_only() {
  StsFetchOptions o;
  o.families = Families{.ipv4 = true, .ipv6 = false};
  o.clock = [] { return std::int64_t{1'000'000}; };
  return o;
}

MtaStsReport previous_policy(const std::string& id, std::int64_t fetched_at) {
  MtaStsReport p;
  p.txt = "v=STSv1; id=" + id;
  p.id = id;
  p.mode = StsMode::enforce;
  p.mx_patterns = {"*.a.test"};
  p.max_age = 86400;
  p.fetched_at = fetched_at;
  return p;
}

}  // namespace

TEST_CASE("StsFetcher: TXT and policy-host DNS outcomes are named, nothing is fetched",
          "[checker]") {
  struct Case {
    const char* label;
    void (*script)(FakeResolver&);
    std::string want_error;  // prefix
  };
  auto c = GENERATE(values<Case>({
      {"no TXT (NXDOMAIN)",
       [](FakeResolver& r) { r.set(nxdomain_answer("_mta-sts.a.test", DnsType::txt)); }, "no-txt"},
      {"only other TXT",
       [](FakeResolver& r) { r.set(txt_answer("_mta-sts.a.test", {"v=spf1 -all"})); }, "no-txt"},
      {"two STSv1 records",
       [](FakeResolver& r) {
         r.set(txt_answer("_mta-sts.a.test", {"v=STSv1; id=1", "v=STSv1; id=2"}));
       },
       "bad-txt(2 v=STSv1 records)"},
      {"TXT timeout",
       [](FakeResolver& r) {
         r.set_error("_mta-sts.a.test", DnsType::txt, Error{Errc::timeout, "timed out"});
       },
       "dns-failure(_mta-sts.a.test: timed out)"},
      {"TXT bogus",
       [](FakeResolver& r) {
         r.set(bogus_answer("_mta-sts.a.test", DnsType::txt, "signature expired"));
       },
       "dns-failure(_mta-sts.a.test: DNSSEC bogus: signature expired)"},
      {"TXT SERVFAIL",
       [](FakeResolver& r) { r.set(servfail_answer("_mta-sts.a.test", DnsType::txt)); },
       "dns-failure(_mta-sts.a.test: SERVFAIL)"},
      {"policy host NXDOMAIN",
       [](FakeResolver& r) {
         r.set(txt_answer("_mta-sts.a.test", {"v=STSv1; id=1"}));
         r.set(nxdomain_answer("mta-sts.a.test", DnsType::a));
       },
       "no-policy-host(mta-sts.a.test: NXDOMAIN)"},
      {"policy host on loopback, refused",
       [](FakeResolver& r) {
         r.set(txt_answer("_mta-sts.a.test", {"v=STSv1; id=1"}));
         r.set(address_answer("mta-sts.a.test", DnsType::a, {"127.0.0.1"}));
       },
       "address-refused(127.0.0.1 is loopback"},
      {"policy host on a private address, refused",
       [](FakeResolver& r) {
         r.set(txt_answer("_mta-sts.a.test", {"v=STSv1; id=1"}));
         r.set(address_answer("mta-sts.a.test", DnsType::a, {"10.1.2.3"}));
       },
       "address-refused(10.1.2.3 is private-use"},
  }));
  INFO(c.label);
  FakeResolver resolver;
  c.script(resolver);
  StsFetcher fetcher(resolver, v4_only());
  MtaStsReport got = run(fetcher.fetch("a.test"));
  CHECK_THAT(sts_error(got), Catch::StartsWith(c.want_error));
  CHECK(!got.mode);
  CHECK(fetcher.https_fetches() == 0);
  CHECK_FALSE(resolver.was_asked("mta-sts.a.test", DnsType::aaaa));  // IPv4 only
}

TEST_CASE("StsFetcher: a fresh previous policy with the same id is reused without HTTPS",
          "[checker]") {
  FakeResolver resolver;
  resolver.set(txt_answer("_mta-sts.a.test", {"v=STSv1; id=ABC"}));
  StsFetcher fetcher(resolver, v4_only());  // clock: 1'000'000
  MtaStsReport got = run(fetcher.fetch("a.test", previous_policy("ABC", 999'000)));
  CHECK(got.mode == StsMode::enforce);
  CHECK(got.fetched_at == 999'000);
  CHECK(sts_error(got).empty());
  CHECK(fetcher.reused() == 1);
  CHECK(fetcher.https_fetches() == 0);
  CHECK_FALSE(resolver.was_asked("mta-sts.a.test", DnsType::a));
}

TEST_CASE("StsFetcher: a fetch failure keeps a fresh previous policy, not an expired one",
          "[checker]") {
  FakeResolver resolver;
  resolver.set(nxdomain_answer("_mta-sts.a.test", DnsType::txt));  // TXT removed
  StsFetcher fetcher(resolver, v4_only());
  MtaStsReport kept = run(fetcher.fetch("a.test", previous_policy("ABC", 999'000)));
  CHECK(kept.mode == StsMode::enforce);
  CHECK_THAT(sts_error(kept), Catch::StartsWith("no-txt; the cached policy fetched at 999000"));
  MtaStsReport gone = run(fetcher.fetch("a.test", previous_policy("ABC", 1'000'000 - 86400)));
  CHECK(!gone.mode);
  CHECK(sts_error(gone) == "no-txt");
}

TEST_CASE("StsFetcher: TLSRPT record, absence and DNS failure", "[checker]") {
  FakeResolver resolver;
  resolver.set(txt_answer("_smtp._tls.a.test", {"v=TLSRPTv1; rua=mailto:r@a.test"}));
  resolver.set(nxdomain_answer("_smtp._tls.b.test", DnsType::txt));
  resolver.set(servfail_answer("_smtp._tls.c.test", DnsType::txt));
  StsFetcher fetcher(resolver, v4_only());
  TlsRptReport a = run(fetcher.fetch_tlsrpt("a.test"));
  CHECK(a.rua == std::vector<std::string>{"mailto:r@a.test"});
  CHECK(a.error.empty());
  CHECK(run(fetcher.fetch_tlsrpt("b.test")).error == "no-txt");
  CHECK(run(fetcher.fetch_tlsrpt("c.test")).error == "dns-failure(_smtp._tls.c.test: SERVFAIL)");
}

TEST_CASE("is_text_plain: the media type, parameters allowed (RFC 8461 §3.3)", "[checker]") {
  struct Case {
    const char* type;
    bool want;
  };
  auto c = GENERATE(values<Case>({
      {"text/plain", true},
      {"text/plain; charset=utf-8", true},
      {"Text/Plain", true},
      {" text/plain ;charset=us-ascii", true},
      {"text/html", false},
      {"text/plainx", false},
      {"application/octet-stream", false},
      {"", false},
  }));
  INFO(c.type);
  CHECK(is_text_plain(c.type) == c.want);
}
