// SPDX-License-Identifier: Apache-2.0
// The shipped samples (conf/forcetls.yaml, conf/policy.yaml) pass validation
// without a single warning, show every key the loaders accept, and state the
// real defaults.
#include <catch2/catch.hpp>

#include <algorithm>

#include "conf/loader.hpp"

using namespace forcetls::conf;

namespace {

const std::string kConfig = std::string(FORCETLS_SOURCE_DIR) + "/conf/forcetls.yaml";
const std::string kPolicy = std::string(FORCETLS_SOURCE_DIR) + "/conf/policy.yaml";

std::string problems_text(const std::vector<Problem>& problems) {
  std::string out;
  for (const Problem& p : problems) {
    out += p.text() + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("samples: the shipped configuration and policy pass config check", "[conf]") {
  SetupOptions o;
  o.config_file = kConfig;
  Loaded<Setup> s = load_setup(o);
  INFO(problems_text(s.problems));
  CHECK(s.ok());
  CHECK(s.problems.empty());
  CHECK(s.value.policy_source == kPolicy);
  CHECK(s.value.policy->rules().size() >= 3);
}

TEST_CASE("samples: forcetls.yaml shows every key with its default", "[conf]") {
  Loaded<Config> c = load_config_file(kConfig);
  REQUIRE(c.ok());
  for (const std::string& key : config_keys()) {
    INFO("key missing from the sample: " << key);
    CHECK(std::find(c.keys_set.begin(), c.keys_set.end(), key) != c.keys_set.end());
  }
  // Every value in the sample is the embedded default, except the policy
  // file (unset by default: the built-in policy).
  Config want;
  want.policy_file = kPolicy;
  CHECK(c.value == want);
}

TEST_CASE("samples: policy.yaml shows every key, and its default section the defaults", "[conf]") {
  Loaded<forcetls::policy::Policy> p = load_policy_file(kPolicy);
  INFO(problems_text(p.problems));
  REQUIRE(p.ok());
  for (const std::string& key : policy_keys()) {
    INFO("key missing from the sample: " << key);
    CHECK(std::find(p.keys_set.begin(), p.keys_set.end(), key) != p.keys_set.end());
  }
  CHECK(p.value.default_rule().options == forcetls::policy::RuleOptions{});
  CHECK(p.value.scope() == forcetls::policy::Scope{});
}

TEST_CASE("schema key lists", "[conf]") {
  std::vector<std::string> c = config_keys();
  CHECK(std::find(c.begin(), c.end(), "milter.socket") != c.end());
  CHECK(std::find(c.begin(), c.end(), "policy_file") != c.end());
  std::vector<std::string> p = policy_keys();
  CHECK(std::find(p.begin(), p.end(), "rules[].on_unknown.dnssec_bogus") != p.end());
  CHECK(std::find(p.begin(), p.end(), "default.min_grade") != p.end());
  CHECK(std::find(p.begin(), p.end(), "scope.daemon_names") != p.end());
}
