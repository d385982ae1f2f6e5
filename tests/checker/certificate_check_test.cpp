// SPDX-License-Identifier: Apache-2.0
// Tests for checker/tls/certificate_check: trusted / expired / name match on
// certificates made in the test, with a fixed clock.
#include "checker/tls/certificate_check.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "tests/checker/test_pki.hpp"

using namespace forcetls;
using namespace forcetls::checker;
using namespace forcetls::test;

namespace {

using StoreHandle = CHandle<X509_STORE, X509_STORE_free>;
void free_chain(STACK_OF(X509) * chain) { sk_X509_free(chain); }
using ChainHandle = CHandle<STACK_OF(X509), free_chain>;

// One PKI for all cases: a root the store trusts, an intermediate under it,
// an unrelated root nobody trusts, and leaves of every kind.
struct Pki {
  Issued root =
      issue({.cn = "forcetls test root", .not_before = k2020, .not_after = k2030 + 1, .ca = true},
            nullptr);
  Issued intermediate = issue(
      {.cn = "forcetls test intermediate", .not_before = k2020, .not_after = k2030, .ca = true},
      &root);
  Issued rogue_root =
      issue({.cn = "rogue root", .not_before = k2020, .not_after = k2030, .ca = true}, nullptr);
  std::map<std::string, Issued> leaves;

  Pki() {
    auto mx = [](std::vector<std::string> sans, std::int64_t from = k2020,
                 std::int64_t to = k2030) {
      return CertSpec{
          .cn = "mx.example.test", .sans = std::move(sans), .not_before = from, .not_after = to};
    };
    leaves.emplace("valid", issue(mx({"mx.example.test"}), &root));
    leaves.emplace("expired", issue(mx({"mx.example.test"}, k2020, k2021), &root));
    leaves.emplace("not yet valid", issue(mx({"mx.example.test"}, k2029, k2030), &root));
    leaves.emplace("wrong name", issue({.cn = "other.example.net",
                                        .sans = {"other.example.net"},
                                        .not_before = k2020,
                                        .not_after = k2030},
                                       &root));
    leaves.emplace("self-signed", issue(mx({"mx.example.test"}), nullptr));
    leaves.emplace("rogue issuer", issue(mx({"mx.example.test"}), &rogue_root));
    leaves.emplace("wildcard", issue({.cn = "*.example.test",
                                      .sans = {"*.example.test"},
                                      .not_before = k2020,
                                      .not_after = k2030},
                                     &root));
    leaves.emplace(
        "partial wildcard",
        issue({.cn = "", .sans = {"mx*.example.test"}, .not_before = k2020, .not_after = k2030},
              &root));
    leaves.emplace("cn only", issue(mx({}), &root));
    leaves.emplace("cn matches, san does not", issue({.cn = "mx.example.test",
                                                      .sans = {"other.example.test"},
                                                      .not_before = k2020,
                                                      .not_after = k2030},
                                                     &root));
    leaves.emplace("second san", issue({.cn = "a.example.test",
                                        .sans = {"a.example.test", "mx.example.test"},
                                        .not_before = k2020,
                                        .not_after = k2030},
                                       &root));
    leaves.emplace("via intermediate", issue(mx({"mx.example.test"}), &intermediate));
    leaves.emplace("client-only EKU", issue({.cn = "mx.example.test",
                                             .sans = {"mx.example.test"},
                                             .not_before = k2020,
                                             .not_after = k2030,
                                             .eku = "clientAuth"},
                                            &root));
  }
};

Pki& pki() {
  static Pki instance;
  return instance;
}

std::chrono::system_clock::time_point at(std::int64_t unix_time) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(unix_time));
}

}  // namespace

TEST_CASE("certificate checks: trusted, expired, name match each separately", "[checker]") {
  struct Case {
    std::string label;
    std::string leaf;
    bool send_intermediate;
    std::string host;
    std::int64_t now;
    Tri trusted;
    Tri expired;
    Tri not_yet_valid;
    Tri name_match;
    std::string error_contains;  // "" = no verify error
  };
  using T = Tri;
  auto c = GENERATE(values<Case>({
      {"valid", "valid", false, "mx.example.test", k2025, T::yes, T::no, T::no, T::yes, ""},
      {"case and trailing dot", "valid", false, "MX.Example.TEST.", k2025, T::yes, T::no, T::no,
       T::yes, ""},
      {"expired: still trusted", "expired", false, "mx.example.test", k2025, T::yes, T::yes, T::no,
       T::yes, ""},
      {"valid at an earlier clock", "expired", false, "mx.example.test", k2020 + 86400, T::yes,
       T::no, T::no, T::yes, ""},
      {"not yet valid", "not yet valid", false, "mx.example.test", k2025, T::yes, T::no, T::yes,
       T::yes, ""},
      {"valid cert, clock after its end", "valid", false, "mx.example.test", k2030 + 10, T::yes,
       T::yes, T::no, T::yes, ""},
      {"wrong name", "wrong name", false, "mx.example.test", k2025, T::yes, T::no, T::no, T::no,
       ""},
      {"self-signed", "self-signed", false, "mx.example.test", k2025, T::no, T::no, T::no, T::yes,
       "self-signed"},
      {"issuer not trusted", "rogue issuer", false, "mx.example.test", k2025, T::no, T::no, T::no,
       T::yes, "local issuer"},
      {"wildcard matches one label", "wildcard", false, "mx.example.test", k2025, T::yes, T::no,
       T::no, T::yes, ""},
      {"wildcard: not two labels", "wildcard", false, "a.mx.example.test", k2025, T::yes, T::no,
       T::no, T::no, ""},
      {"wildcard: not the bare domain", "wildcard", false, "example.test", k2025, T::yes, T::no,
       T::no, T::no, ""},
      {"partial wildcard refused", "partial wildcard", false, "mx1.example.test", k2025, T::yes,
       T::no, T::no, T::no, ""},
      {"CN used when no SAN", "cn only", false, "mx.example.test", k2025, T::yes, T::no, T::no,
       T::yes, ""},
      {"CN ignored when a SAN exists", "cn matches, san does not", false, "mx.example.test", k2025,
       T::yes, T::no, T::no, T::no, ""},
      {"any SAN may match", "second san", false, "mx.example.test", k2025, T::yes, T::no, T::no,
       T::yes, ""},
      {"intermediate sent", "via intermediate", true, "mx.example.test", k2025, T::yes, T::no,
       T::no, T::yes, ""},
      {"intermediate missing", "via intermediate", false, "mx.example.test", k2025, T::no, T::no,
       T::no, T::yes, "local issuer"},
      {"client-only EKU is not a server certificate", "client-only EKU", false, "mx.example.test",
       k2025, T::no, T::no, T::no, T::yes, "purpose"},
      {"no host name: name unknown", "valid", false, "", k2025, T::yes, T::no, T::no, T::unknown,
       ""},
  }));
  CAPTURE(c.label);
  Pki& p = pki();
  StoreHandle store{X509_STORE_new()};
  REQUIRE(X509_STORE_add_cert(store.get(), p.root.cert.get()) == 1);
  ChainHandle chain{sk_X509_new_null()};
  X509* leaf = p.leaves.at(c.leaf).cert.get();
  sk_X509_push(chain.get(), leaf);
  if (c.send_intermediate) {
    sk_X509_push(chain.get(), p.intermediate.cert.get());
  }
  CertificateChecks got = check_certificate(leaf, chain.get(), store.get(), c.host, at(c.now));
  CAPTURE(got.verify_error);
  CHECK(got.trusted == c.trusted);
  CHECK(got.expired == c.expired);
  CHECK(got.not_yet_valid == c.not_yet_valid);
  CHECK(got.name_match == c.name_match);
  if (c.error_contains.empty()) {
    CHECK(got.verify_error.empty());
    CHECK(got.verify_errors.empty());
  } else {
    CHECK_THAT(got.verify_error, Catch::Contains(c.error_contains));
    REQUIRE_FALSE(got.verify_errors.empty());
  }
}

TEST_CASE("certificate checks without a certificate are all unknown", "[checker]") {
  CertificateChecks got =
      check_certificate(nullptr, nullptr, nullptr, "mx.example.test", at(k2025));
  CHECK(got.trusted == Tri::unknown);
  CHECK(got.expired == Tri::unknown);
  CHECK(got.name_match == Tri::unknown);
}

TEST_CASE("certificate checks without a store leave trust unknown", "[checker]") {
  X509* leaf = pki().leaves.at("valid").cert.get();
  CertificateChecks got = check_certificate(leaf, nullptr, nullptr, "mx.example.test", at(k2025));
  CHECK(got.trusted == Tri::unknown);
  CHECK(got.expired == Tri::no);
  CHECK(got.name_match == Tri::yes);
  CHECK(got.matched_name == "mx.example.test");
}

TEST_CASE("certificate description", "[checker]") {
  X509* leaf = pki().leaves.at("second san").cert.get();
  CertificateInfo info = describe_certificate(leaf);
  CHECK(info.common_name == "a.example.test");
  CHECK(info.dns_names == std::vector<std::string>{"a.example.test", "mx.example.test"});
  CHECK(info.subject == "CN=a.example.test,O=forcetls test");
  CHECK(info.issuer == "CN=forcetls test root,O=forcetls test");
  CHECK(info.not_before == "2020-01-01T00:00:00Z");
  CHECK(info.not_after == "2030-01-01T00:00:00Z");
  CHECK(info.not_before_unix == k2020);
  CHECK(info.not_after_unix == k2030);
  CHECK(info.sha256.size() == 64);
  CHECK_FALSE(info.serial.empty());
  // The DER round-trips to the same certificate.
  const unsigned char* p = info.der.data();
  CHandle<X509, X509_free> back{d2i_X509(nullptr, &p, static_cast<long>(info.der.size()))};
  REQUIRE(back != nullptr);
  CHECK(X509_cmp(back.get(), leaf) == 0);
}

TEST_CASE("Tri names", "[checker]") {
  CHECK(to_string(Tri::yes) == "yes");
  CHECK(to_string(Tri::no) == "no");
  CHECK(to_string(Tri::unknown) == "unknown");
}
