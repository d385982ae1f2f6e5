// SPDX-License-Identifier: Apache-2.0
// Unit tests of the delivery-time answer mapping: a policy, a report built
// here (judged by the real checker), the Decision the daemon would make, and
// the socketmap reply it must give.
#include "milter/socketmap/socketmap_answer.hpp"

#include <catch2/catch.hpp>
#include <functional>
#include <memory>

#include "checker/auth/dane.hpp"
#include "conf/loader.hpp"
#include "tests/policy/report_builder.hpp"

using namespace forcetls;
using namespace forcetls::milter;
using checker::DomainReport;
using checker::Tri;
using forcetls::test::good_address;
using forcetls::test::judged;

namespace {

constexpr std::string_view kPolicy = R"(
default:
  mode: require
  on_ineligible: reject
rules:
  - domains: [soft.example]
    on_ineligible: tempfail
  - domains: [tagged.example]
    on_ineligible: tag
  - domains: [relaxed.example]
    mode: prefer
  - domains: [daneprefer.example]
    mode: prefer
    require: dane
  - domains: [stsprefer.example]
    mode: prefer
    require: mta-sts
  - domains: [internal.example]
    mode: off
  - domains: [verified.example]
    require_verified_cert: true
  - domains: [modern.example]
    tls13_counts: true
  - domains: [lenient.example]
    on_unknown:
      not_checked: accept
      probe_failure: accept
)";

const policy::Policy& test_policy() {
  static const std::shared_ptr<const policy::Policy> p = [] {
    auto loaded = conf::parse_policy(kPolicy, "policy.yaml");
    if (!loaded.ok()) {
      throw std::runtime_error(loaded.problems.at(0).text());
    }
    return std::make_shared<const policy::Policy>(std::move(loaded.value));
  }();
  return *p;
}

checker::AddressReport tls12(std::string addr) {
  checker::AddressReport a = good_address(std::move(addr));
  a.cipher = "TLS_AES_256_GCM_SHA384";
  return a;
}

checker::AddressReport tls10_only(std::string addr) {
  checker::AddressReport a = good_address(std::move(addr));
  a.tls1_0 = Tri::yes;
  a.tls1_2 = Tri::no;
  a.tls1_3 = Tri::no;
  a.nist_r2 = Tri::no;
  a.protocol = "TLSv1";
  a.cipher = "TLS_RSA_WITH_AES_128_CBC_SHA";
  return a;
}

DomainReport two_good(const std::string& domain) {
  return judged(domain, {{tls12("192.0.2.10")}, {tls12("192.0.2.20")}});
}

DomainReport with_dane(DomainReport r, Tri usable2 = Tri::yes, Tri match2 = Tri::yes) {
  r.dnssec = checker::DnssecStatus::secure;
  for (std::size_t i = 0; i < r.mx.size(); ++i) {
    r.mx[i].dnssec = checker::DnssecStatus::secure;
    r.mx[i].dane.tlsa = {"3 1 1 abcd"};
    r.mx[i].dane.usable = i == 1 ? usable2 : Tri::yes;
    r.mx[i].dane.match = i == 1 ? match2 : Tri::yes;
  }
  r.dane = checker::domain_dane(r);  // as the prober sets it
  return r;
}

DomainReport with_sts(DomainReport r, std::vector<std::string> patterns,
                      std::string mode = "enforce") {
  r.mta_sts.mode = checker::sts_mode_from_string(mode);
  r.mta_sts.mx_patterns = std::move(patterns);
  r.mta_sts_enforce = r.mta_sts.mode == checker::StsMode::enforce ? Tri::yes : Tri::no;
  return r;
}

struct Case {
  std::string label;
  std::string domain;
  std::function<std::optional<DomainReport>(const std::string&)> report;
  std::string want;            ///< the reply payload
  bool postfix_dnssec = true;  ///< socketmap.postfix_dnssec (postfix_answer)
};

std::optional<DomainReport> none(const std::string&) { return std::nullopt; }

}  // namespace

TEST_CASE("postfix_answer: every answer kind", "[milter]") {
  using R = std::optional<DomainReport>;
  auto c = GENERATE(values<Case>({
      {"require + eligible, TLS 1.2 everywhere", "good.example",
       [](const std::string& d) -> R { return two_good(d); },
       "OK encrypt protocols=>=TLSv1.2 ciphers=high"},
      {"require + eligible through TLS 1.0 only", "old.example",
       [](const std::string& d) -> R { return judged(d, {{tls10_only("192.0.2.10")}}); },
       "OK encrypt protocols=>=TLSv1 ciphers=high"},
      {"one MX at TLS 1.0: the floor is what every MX passed", "mixed.example",
       [](const std::string& d) -> R {
         return judged(d, {{tls12("192.0.2.10")}, {tls10_only("192.0.2.20")}});
       },
       "OK encrypt protocols=>=TLSv1 ciphers=high"},
      {"3DES negotiated somewhere: ciphers=medium", "des.example",
       [](const std::string& d) -> R {
         auto a = tls10_only("192.0.2.10");
         a.cipher = "TLS_RSA_WITH_3DES_EDE_CBC_SHA";
         return judged(d, {{tls12("192.0.2.20")}, {a}});
       },
       "OK encrypt protocols=>=TLSv1 ciphers=medium"},
      {"tls13_counts and TLS 1.3 everywhere", "modern.example",
       [](const std::string& d) -> R { return two_good(d); },
       "OK encrypt protocols=>=TLSv1.3 ciphers=high"},
      {"DANE usable and matched on every MX", "signed.example",
       [](const std::string& d) -> R { return with_dane(two_good(d)); },
       "OK dane-only protocols=>=TLSv1.2 ciphers=high"},
      {"DANE on every MX with addresses, one MX without any: the checker's rule", "gap.example",
       [](const std::string& d) -> R {
         auto r = two_good(d);
         checker::MxReport empty;
         empty.host = "mx3." + d;
         empty.priority = 30;
         empty.dns_error = "no address records";
         r.mx.push_back(empty);
         return with_dane(std::move(r));
       },
       "OK dane-only protocols=>=TLSv1.2 ciphers=high"},
      {"DANE on every MX, one address lookup failed: unknown, no dane-only", "fail.example",
       [](const std::string& d) -> R {
         auto r = two_good(d);
         checker::MxReport failed;
         failed.host = "mx3." + d;
         failed.dns_failure = checker::UnknownCause::dns_failure;
         r.mx.push_back(failed);
         return with_dane(std::move(r));
       },
       "OK encrypt protocols=>=TLSv1.2 ciphers=high"},
      {"DANE on one MX only: encrypt", "half.example",
       [](const std::string& d) -> R { return with_dane(two_good(d), Tri::no, Tri::unknown); },
       "OK encrypt protocols=>=TLSv1.2 ciphers=high"},
      {"DANE usable but not matching: not dane-only", "nomatch.example",
       [](const std::string& d) -> R { return with_dane(two_good(d), Tri::yes, Tri::no); },
       "OK encrypt protocols=>=TLSv1.2 ciphers=high"},
      {"DANE without a secure MX answer", "insecure.example",
       [](const std::string& d) -> R {
         auto r = with_dane(two_good(d));
         r.dnssec = checker::DnssecStatus::insecure;
         return r;
       },
       "OK encrypt protocols=>=TLSv1.2 ciphers=high"},
      {"MTA-STS enforce: patterns, *.x as .x", "sts.example",
       [](const std::string& d) -> R {
         return with_sts(two_good(d), {"mx1.sts.example", "*.Mail.STS.example"});
       },
       "OK secure match=mx1.sts.example:.mail.sts.example servername=hostname "
       "protocols=>=TLSv1.2 ciphers=high"},
      {"MTA-STS testing is not enforce", "testing.example",
       [](const std::string& d) -> R { return with_sts(two_good(d), {"*.x.example"}, "testing"); },
       "OK encrypt protocols=>=TLSv1.2 ciphers=high"},
      {"MTA-STS pattern that is not a host name: not used", "evil.example",
       [](const std::string& d) -> R {
         return with_sts(two_good(d), {"mx1.evil.example servername=attacker"});
       },
       "OK encrypt protocols=>=TLSv1.2 ciphers=high"},
      {"DANE wins over MTA-STS", "both.example",
       [](const std::string& d) -> R { return with_sts(with_dane(two_good(d)), {"*.x.example"}); },
       "OK dane-only protocols=>=TLSv1.2 ciphers=high"},
      {"require_verified_cert, insecure MX: names pinned", "verified.example",
       [](const std::string& d) -> R { return two_good(d); },
       "OK secure match=mx1.verified.example:mx2.verified.example protocols=>=TLSv1.2 "
       "ciphers=high"},
      {"require_verified_cert, DNSSEC-secure MX: verify", "verified.example",
       [](const std::string& d) -> R {
         auto r = two_good(d);
         r.dnssec = checker::DnssecStatus::secure;
         return r;
       },
       "OK verify match=hostname protocols=>=TLSv1.2 ciphers=high"},
      {"require + ineligible, reject: PERM", "bad.example",
       [](const std::string& d) -> R { return test::ineligible_report(d); },
       "PERM forcetls: bad.example is not eligible for TLS delivery "
       "(no-starttls(mx2.bad.example))"},
      {"require + ineligible, tempfail: TEMP", "soft.example",
       [](const std::string& d) -> R { return test::ineligible_report(d); },
       "TEMP forcetls: soft.example is not eligible for TLS delivery "
       "(no-starttls(mx2.soft.example))"},
      {"require + ineligible, tag: the mail was let through", "tagged.example",
       [](const std::string& d) -> R { return test::ineligible_report(d); }, "NOTFOUND "},
      {"require + unknown: TEMP", "down.example",
       [](const std::string& d) -> R { return test::probe_unknown_report(d); },
       "TEMP forcetls: could not verify TLS support of down.example "
       "(probe-failed(mx2.down.example))"},
      {"require + not cached: TEMP", "new.example", none,
       "TEMP forcetls: new.example is being checked for TLS support, try again later"},
      {"require + not cached, on_unknown accept: still TEMP (never clear)", "lenient.example",
       none, "TEMP forcetls: lenient.example is being checked for TLS support, try again later"},
      {"prefer: NOTFOUND even when eligible", "relaxed.example",
       [](const std::string& d) -> R { return two_good(d); }, "NOTFOUND "},
      {"prefer + require dane, DANE present: dane-only", "daneprefer.example",
       [](const std::string& d) -> R { return with_dane(test::ineligible_report(d)); },
       "OK dane-only"},
      {"prefer + require dane, MTA-STS only: NOTFOUND", "daneprefer.example",
       [](const std::string& d) -> R { return with_sts(two_good(d), {"*.x.example"}); },
       "NOTFOUND "},
      {"prefer + require mta-sts, enforce: secure", "stsprefer.example",
       [](const std::string& d) -> R { return with_sts(two_good(d), {"mx.stsprefer.example"}); },
       "OK secure match=mx.stsprefer.example servername=hostname"},
      {"off: NOTFOUND", "internal.example",
       [](const std::string& d) -> R { return with_dane(two_good(d)); }, "NOTFOUND "},
      // Postfix without DNSSEC validation: no dane-only, no verify.
      {"no Postfix DNSSEC, DANE on every MX, certificates verified: hosts pinned",
       "signed.example", [](const std::string& d) -> R { return with_dane(two_good(d)); },
       "OK secure match=mx1.signed.example:mx2.signed.example protocols=>=TLSv1.2 ciphers=high",
       false},
      {"no Postfix DNSSEC, DANE on every MX, a certificate unverified: encrypt",
       "signed.example",
       [](const std::string& d) -> R {
         auto r = with_dane(two_good(d));
         r.mx[1].addresses[0].cert.trusted = Tri::no;
         return r;
       },
       "OK encrypt protocols=>=TLSv1.2 ciphers=high", false},
      {"no Postfix DNSSEC, MTA-STS still secure", "sts.example",
       [](const std::string& d) -> R { return with_sts(two_good(d), {"mx1.sts.example"}); },
       "OK secure match=mx1.sts.example servername=hostname protocols=>=TLSv1.2 ciphers=high",
       false},
      {"no Postfix DNSSEC, require_verified_cert, secure MX: names pinned, not verify",
       "verified.example",
       [](const std::string& d) -> R {
         auto r = two_good(d);
         r.dnssec = checker::DnssecStatus::secure;
         return r;
       },
       "OK secure match=mx1.verified.example:mx2.verified.example protocols=>=TLSv1.2 "
       "ciphers=high",
       false},
      {"no Postfix DNSSEC, prefer + require dane, verified: hosts pinned", "daneprefer.example",
       [](const std::string& d) -> R { return with_dane(two_good(d)); },
       "OK secure match=mx1.daneprefer.example:mx2.daneprefer.example", false},
      {"no Postfix DNSSEC, prefer + require dane, unverified: encrypt", "daneprefer.example",
       [](const std::string& d) -> R { return with_dane(test::ineligible_report(d)); },
       "OK encrypt", false},
      {"no Postfix DNSSEC, prefer + require dane, no DANE: NOTFOUND", "daneprefer.example",
       [](const std::string& d) -> R { return two_good(d); }, "NOTFOUND ", false},
  }));
  INFO(c.label);
  const std::optional<DomainReport> report = c.report(c.domain);
  const policy::Match m = test_policy().match_delivery(c.domain);
  const DomainReport* r = policy::needs_report(m) && report ? &*report : nullptr;
  const policy::Decision d = policy::decide(m, c.domain, r);
  CHECK(postfix_answer(d, r, c.postfix_dnssec).payload() == c.want);
}

DomainReport cert_flaw(const std::string& domain, const std::string& flaw) {
  auto bad = tls12("192.0.2.20");
  if (flaw == "untrusted") {
    bad.cert.trusted = Tri::no;
  } else if (flaw == "expired") {
    bad.cert.expired = Tri::yes;
  } else if (flaw == "wrongname") {
    bad.cert.name_match = Tri::no;
  } else {
    bad.cert.trusted = Tri::unknown;
  }
  return judged(domain, {{tls12("192.0.2.10")}, {bad}});
}

TEST_CASE("sts_answer: FEATURE(sts) format", "[milter]") {
  // Sendmail 8.17's FEATURE(sts) acts on `secure` only; NOTFOUND and PERM
  // both mean "no policy" to it, so a domain that must not go out in clear
  // gets TEMP (socketmap_answer.hpp).
  using R = std::optional<DomainReport>;
  auto c = GENERATE(values<Case>({
      {"MTA-STS enforce under require", "sts.example",
       [](const std::string& d) -> R { return with_sts(two_good(d), {"*.sts.example"}); },
       "OK secure match=.sts.example servername=hostname"},
      {"MTA-STS enforce under prefer", "relaxed.example",
       [](const std::string& d) -> R { return with_sts(two_good(d), {"mx.relaxed.example"}); },
       "OK secure match=mx.relaxed.example servername=hostname"},
      {"MTA-STS testing, certificates verified: the MX hosts", "testing.example",
       [](const std::string& d) -> R { return with_sts(two_good(d), {"*.x.example"}, "testing"); },
       "OK secure match=mx1.testing.example:mx2.testing.example servername=hostname"},
      {"require + eligible, certificates verified: the MX hosts", "good.example",
       [](const std::string& d) -> R { return two_good(d); },
       "OK secure match=mx1.good.example:mx2.good.example servername=hostname"},
      {"require + eligible, one MX, TLS 1.0 only, verified", "old.example",
       [](const std::string& d) -> R { return judged(d, {{tls10_only("192.0.2.10")}}); },
       "OK secure match=mx1.old.example servername=hostname"},
      {"require_verified_cert: the same", "verified.example",
       [](const std::string& d) -> R { return two_good(d); },
       "OK secure match=mx1.verified.example:mx2.verified.example servername=hostname"},
      {"require + eligible, one untrusted certificate: access map's job", "untrusted.example",
       [](const std::string& d) -> R { return cert_flaw(d, "untrusted"); }, "NOTFOUND "},
      {"require + eligible, one expired certificate", "expired.example",
       [](const std::string& d) -> R { return cert_flaw(d, "expired"); }, "NOTFOUND "},
      {"require + eligible, one certificate for another name", "wrongname.example",
       [](const std::string& d) -> R { return cert_flaw(d, "wrongname"); }, "NOTFOUND "},
      {"require + eligible, one certificate check unanswered", "unanswered.example",
       [](const std::string& d) -> R { return cert_flaw(d, "unknown"); }, "NOTFOUND "},
      {"require + ineligible, reject: TEMP, not PERM", "bad.example",
       [](const std::string& d) -> R { return test::ineligible_report(d); },
       "TEMP forcetls: bad.example is not eligible for TLS delivery "
       "(no-starttls(mx2.bad.example))"},
      {"require + ineligible, tempfail: TEMP", "soft.example",
       [](const std::string& d) -> R { return test::ineligible_report(d); },
       "TEMP forcetls: soft.example is not eligible for TLS delivery "
       "(no-starttls(mx2.soft.example))"},
      {"require + ineligible under MTA-STS enforce: still TEMP", "bad.example",
       [](const std::string& d) -> R {
         return with_sts(test::ineligible_report(d), {"*.bad.example"});
       },
       "TEMP forcetls: bad.example is not eligible for TLS delivery "
       "(no-starttls(mx2.bad.example))"},
      {"require + ineligible, tag: the mail was let through", "tagged.example",
       [](const std::string& d) -> R { return test::ineligible_report(d); }, "NOTFOUND "},
      {"require + unknown: TEMP", "down.example",
       [](const std::string& d) -> R { return test::probe_unknown_report(d); },
       "TEMP forcetls: could not verify TLS support of down.example "
       "(probe-failed(mx2.down.example))"},
      {"require + not cached: TEMP", "new.example", none,
       "TEMP forcetls: new.example is being checked for TLS support, try again later"},
      {"require + not cached, on_unknown accept: still TEMP (never clear)", "lenient.example", none,
       "TEMP forcetls: lenient.example is being checked for TLS support, try again later"},
      {"prefer, eligible and verified: NOTFOUND", "relaxed.example",
       [](const std::string& d) -> R { return two_good(d); }, "NOTFOUND "},
      {"prefer, not cached: NOTFOUND", "relaxed.example", none, "NOTFOUND "},
      {"off, even with MTA-STS enforce", "internal.example",
       [](const std::string& d) -> R { return with_sts(two_good(d), {"*.x.example"}); },
       "NOTFOUND "},
  }));
  INFO(c.label);
  const std::optional<DomainReport> report = c.report(c.domain);
  const policy::Match m = test_policy().match_delivery(c.domain);
  const DomainReport* r = policy::needs_report(m) && report ? &*report : nullptr;
  CHECK(sts_answer(policy::decide(m, c.domain, r), r).payload() == c.want);
}

TEST_CASE("parse_socketmap_key", "[milter]") {
  using K = SocketmapKey::Kind;
  struct KeyCase {
    std::string key;
    K kind;
    std::string name;
    std::string target = "";  ///< the cache key (ReportTarget::key), for domain/host/literal
  };
  auto c = GENERATE(values<KeyCase>({
      {"example.com", K::domain, "example.com", "example.com"},
      {"Example.COM.", K::domain, "example.com", "example.com"},
      {"example.com:25", K::domain, "example.com", "example.com"},
      {"example.com:2525", K::domain, "example.com", "example.com:2525"},
      {"example.com:0", K::other, ""},
      {"example.com:65536", K::other, ""},
      {"example.com:", K::other, ""},
      {"example.com:25x", K::other, ""},
      {".example.com", K::parent, "example.com"},
      {"[mx.example.com]", K::host, "mx.example.com", "[mx.example.com]"},
      {"[MX.example.com]:25", K::host, "mx.example.com", "[mx.example.com]"},
      {"[mx.example.com]:2525", K::host, "mx.example.com", "[mx.example.com]:2525"},
      {"[x_y.example.com]", K::host, "x_y.example.com", "[x_y.example.com]"},
      {"[relay]", K::host, "relay", "[relay]"},
      {"[192.0.2.1]:25", K::literal, "", "[192.0.2.1]"},
      {"[ipv6:2001:DB8::1]", K::literal, "", "[2001:db8::1]"},
      {"[2001:db8::1]:587", K::literal, "", "[2001:db8::1]:587"},
      {"[mx.example.com", K::other, ""},
      {"[mx.example.com]x", K::other, ""},
      {"[]", K::other, ""},
      {"", K::other, ""},
      {"a b", K::other, ""},
      {"..", K::other, ""},
      // The recipient normaliser's rules (checker::normalize_domain): IDN
      // to A-label, dotless and numeric names are not next-hop domains.
      {"b\xC3\xBC"
       "cher.example",
       K::domain, "xn--bcher-kva.example", "xn--bcher-kva.example"},
      {".B\xC3\xBC"
       "cher.example",
       K::parent, "xn--bcher-kva.example"},
      {"X_Y.example.com", K::domain, "x_y.example.com", "x_y.example.com"},
      {"localhost", K::other, ""},
      {"192.0.2.1", K::other, ""},
  }));
  INFO(c.key);
  const SocketmapKey k = parse_socketmap_key(c.key);
  CHECK(k.kind == c.kind);
  CHECK(k.name == c.name);
  if (!c.target.empty()) {
    CHECK(k.target.key() == c.target);
  }
}

TEST_CASE("SocketmapAnswer::payload keeps NOTFOUND's space", "[milter]") {
  CHECK(SocketmapAnswer{}.payload() == "NOTFOUND ");
  CHECK(SocketmapAnswer{AnswerKind::temp, "x"}.payload() == "TEMP x");
}
