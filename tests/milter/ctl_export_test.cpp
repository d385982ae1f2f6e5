// SPDX-License-Identifier: Apache-2.0
// Tests for `forcetls-ctl export --sendmail-access`: the per-domain line,
// and the command over a real LMDB cache in a temporary directory.
#include "milter/ctl/ctl_export.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cache/store.hpp"
#include "conf/loader.hpp"
#include "tests/policy/report_builder.hpp"

using namespace forcetls;
using namespace forcetls::milter;

namespace {

constexpr std::string_view kPolicy = R"(
default:
  mode: prefer
rules:
  - domains: [.example.com]
    mode: require
  - domains: [verified.example.com]
    mode: require
    require_verified_cert: true
  - domains: [tagged.example.com]
    mode: require
    on_ineligible: tag
)";

checker::DomainReport with_cipher(checker::DomainReport r, const std::string& cipher) {
  for (auto& mx : r.mx) {
    for (auto& a : mx.addresses) {
      a.cipher = cipher;
    }
  }
  return r;
}

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TEST_CASE("sendmail_access_line", "[milter]") {
  struct Case {
    std::string label;
    std::string domain;
    checker::DomainReport report;
    std::optional<std::string> want;
  };
  const std::string aes = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256";
  auto c = GENERATE_COPY(values<Case>({
      {"eligible, AES", "a.example.com", with_cipher(test::eligible_report("a.example.com"), aes),
       "TLS_Rcpt:a.example.com ENCR:128"},
      {"eligible, 3DES", "b.example.com",
       with_cipher(test::eligible_report("b.example.com"), "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
       "TLS_Rcpt:b.example.com ENCR:112"},
      {"verified certificates", "verified.example.com",
       with_cipher(test::eligible_report("verified.example.com"), aes),
       "TLS_Rcpt:verified.example.com VERIFY:128"},
      {"ineligible", "c.example.com", test::ineligible_report("c.example.com"), std::nullopt},
      {"unknown", "d.example.com", test::probe_unknown_report("d.example.com"), std::nullopt},
      {"prefer", "other.org", with_cipher(test::eligible_report("other.org"), aes), std::nullopt},
  }));
  INFO(c.label);
  auto loaded = conf::parse_policy(kPolicy, "policy.yaml");
  REQUIRE(loaded.ok());
  const policy::Match m = loaded.value.match_delivery(c.domain);
  CHECK(sendmail_access_line(policy::decide(m, c.domain, &c.report), c.report) == c.want);
}

TEST_CASE("forcetls-ctl export --sendmail-access over a cache", "[milter]") {
  char tmpl[] = "/tmp/forcetls-export-test-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(tmpl);
  const std::string cache_dir = (dir / "cache").string();
  {
    std::ofstream(dir / "policy.yaml") << kPolicy;
    std::ofstream(dir / "forcetls.yaml")
        << "cache:\n  path: " << cache_dir << "\npolicy_file: " << (dir / "policy.yaml").string()
        << "\n";
    conf::Config config;
    config.cache.path = cache_dir;
    cache::StoreOptions o;
    o.path = cache_dir;
    o.durability = cache::Durability::none;
    auto store = cache::Store::open(o);
    REQUIRE(store);
    for (auto r :
         {test::eligible_report("a.example.com"), test::ineligible_report("c.example.com"),
          test::eligible_report("other.org"), test::eligible_report("verified.example.com")}) {
      r = with_cipher(std::move(r), "TLS_AES_128_GCM_SHA256");
      r.checked_at = now();
      REQUIRE((*store)->put(r));
    }
  }
  std::ostringstream out;
  std::ostringstream err;
  CtlEnv env{out, err};
  const int status =
      run_ctl({"--config", (dir / "forcetls.yaml").string(), "export", "--sendmail-access"}, env);
  INFO(err.str());
  CHECK(status == kExitOk);
  CHECK_THAT(out.str(), Catch::EndsWith("TLS_Rcpt:a.example.com ENCR:128\n"
                                        "TLS_Rcpt:verified.example.com VERIFY:128\n"));
  CHECK_THAT(out.str(), !Catch::Contains("c.example.com") && !Catch::Contains("other.org"));
  CHECK_THAT(err.str(), Catch::Contains("exported 2 of 4 cached domains"));

  std::ostringstream out2;
  std::ostringstream err2;
  CtlEnv env2{out2, err2};
  CHECK(run_ctl({"--config", (dir / "forcetls.yaml").string(), "export"}, env2) == kExitUsage);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
