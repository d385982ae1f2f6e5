// SPDX-License-Identifier: Apache-2.0
// Lab test of MTA-STS / TLSRPT (checker/auth/mta_sts_fetch, the prober's
// matching): libunbound against the lab's resolver, nginx serving the
// mta-sts.DOMAIN policy hosts with lab-CA (or self-signed) certificates.
// Every fact is compared with the sts_* / tlsrpt columns of
// tests/lab/personalities.tsv. Runs inside the lab's namespace.
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "checker/auth/mta_sts.hpp"
#include "checker/auth/mta_sts_fetch.hpp"
#include "checker/cli/check_command.hpp"
#include "checker/probe/prober.hpp"
#include "checker/report/report_json.hpp"
#include "checker/report/report_text.hpp"
#include "tests/lab/lab_env.hpp"
#include "tests/lab/lab_resolver.hpp"

using namespace forcetls;
using namespace forcetls::checker;
using namespace forcetls::labtest;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<UnboundResolver> lab_resolver(asio::io_context& io) {
  auto resolver = UnboundResolver::create(io.get_executor(), lab_resolver_options());
  REQUIRE(resolver.has_value());
  return std::move(*resolver);
}

StsFetchOptions lab_fetch_options() {
  StsFetchOptions o;
  o.ca_file = env().ca_file;
  o.address_policy.allow_private = true;
  o.families = Families{.ipv4 = true, .ipv6 = false};
  o.connect_timeout = 10s;
  o.total_timeout = 15s;  // generous for a local fetch; sts-slow needs ~1 min
  return o;
}

template <typename T>
T run_one(asio::io_context& io, asio::awaitable<T> task) {
  std::optional<T> out;
  asio::co_spawn(io, std::move(task), [&out](std::exception_ptr e, T value) {
    if (e) {
      std::rethrow_exception(e);
    }
    out = std::move(value);
  });
  io.run();
  io.restart();
  REQUIRE(out.has_value());
  return std::move(*out);
}

std::string error_name(const std::string& error) {
  return error.empty() ? "-" : error.substr(0, error.find('('));
}

std::string joined(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : sep) + s;
  }
  return out.empty() ? "-" : out;
}

// What the table says the valid policy is: mode and patterns (sts_policy
// MODE:P+P); none when the table expects an error.
std::pair<std::string, std::string> policy_of(const Row& row) {
  const std::string& spec = row.at("sts_policy");
  auto colon = spec.find(':');
  if (row.at("sts_error") != "-" || colon == std::string::npos) {
    return {"", "-"};
  }
  std::string patterns = spec.substr(colon + 1);
  return {spec.substr(0, colon), patterns.empty() ? "-" : patterns};
}

void check_sts_facts(const Row& row, const MtaStsReport& sts, const TlsRptReport& rpt) {
  INFO(row.at("domain") << ": mta_sts error \"" << sts_error(sts) << "\", tlsrpt error \""
                        << rpt.error << "\"");
  CHECK(error_name(sts_error(sts)) == row.at("sts_error"));
  auto [mode, patterns] = policy_of(row);
  CHECK(sts.mode == sts_mode_from_string(mode));
  CHECK(joined(sts.mx_patterns, "+") == patterns);
  if (row.at("sts_id") != "-") {
    CHECK(sts.id == row.at("sts_id"));
    CHECK(sts.txt == "v=STSv1; id=" + row.at("sts_id"));
  } else {
    CHECK(sts.txt.empty());
  }
  if (!mode.empty()) {
    CHECK(sts.max_age == 86400);
    CHECK(sts.fetched_at > 0);
  }
  CHECK(joined(rpt.rua, ",") == row.at("tlsrpt"));
  if (row.at("tlsrpt") == "-") {
    // No record; where the domain's DNS fails (bogus.test), the TLSRPT
    // lookup fails the same way as the MTA-STS one.
    CHECK(error_name(rpt.error) ==
          (row.at("sts_error") == "dns-failure" ? "dns-failure" : "no-txt"));
  } else {
    CHECK(rpt.error.empty());
  }
}

}  // namespace

TEST_CASE("MTA-STS fetch: every lab domain's TXT, policy and TLSRPT as the table says",
          "[lab][mta-sts]") {
  asio::io_context io;
  auto resolver = lab_resolver(io);
  StsFetcher fetcher(*resolver, lab_fetch_options());
  int policies = 0;
  for (const Row& row : personalities()) {
    const std::string domain = row.at("domain");
    MtaStsReport sts = run_one(io, fetcher.fetch(domain));
    TlsRptReport rpt = run_one(io, fetcher.fetch_tlsrpt(domain));
    check_sts_facts(row, sts, rpt);
    policies += row.at("sts_policy") != "-" ? 1 : 0;
  }
  // One HTTPS GET per domain with a policy host, none for the others.
  CHECK(fetcher.https_fetches() == policies);
  CHECK(policies >= 5);
}

TEST_CASE("MTA-STS in the prober: the report's mta_sts, tlsrpt and enforce answer per domain",
          "[lab][mta-sts]") {
  std::vector<std::string> domains = {"good.test", "bogus.test"};
  for (const Row& row : personalities()) {
    if (row.at("sts_id") != "-") {
      domains.push_back(row.at("domain"));
    }
  }
  asio::io_context io;
  auto resolver = lab_resolver(io);
  ProberOptions po;
  po.smtp.ehlo_name = "prober.lab.test";
  po.smtp.connect_timeout = 10s;
  po.smtp.command_timeout = 10s;
  po.tls_timeout = 10s;
  po.raw_timeout = 10s;
  po.politeness.pause = 20ms;
  po.quick = true;
  po.mx.address_policy.allow_private = true;
  po.mx.families = Families{.ipv4 = true, .ipv6 = false};
  po.tls.ca_file = env().ca_file;
  po.mta_sts_timeout = 15s;
  auto prober = Prober::create(*resolver, po);
  REQUIRE(prober.has_value());
  for (const std::string& domain : domains) {
    const Row* row = personality(domain);
    REQUIRE(row != nullptr);
    DomainReport r = run_one(io, (*prober)->check_domain(domain));
    INFO(to_text(r));
    check_sts_facts(*row, r.mta_sts, r.tlsrpt);
    CHECK(joined(r.mta_sts.mx_match, "+") == row->at("sts_match"));
    CHECK(to_string(r.mta_sts_enforce) == row->at("sts_enforce"));
    // What the prober found survives the JSON form.
    auto back = report_from_json_text(to_json_text(r));
    REQUIRE(back.has_value());
    CHECK(back->mta_sts.mx_match == r.mta_sts.mx_match);
    CHECK(back->mta_sts_enforce == r.mta_sts_enforce);
    CHECK(back->tlsrpt.rua == r.tlsrpt.rua);
  }
}

TEST_CASE("MTA-STS cache rule against the lab: reuse by id, refetch on a new id, keep on failure",
          "[lab][mta-sts]") {
  asio::io_context io;
  auto resolver = lab_resolver(io);
  std::int64_t now = 2'000'000'000;
  StsFetchOptions options = lab_fetch_options();
  options.clock = [&now] { return now; };
  StsFetcher fetcher(*resolver, options);

  MtaStsReport first = run_one(io, fetcher.fetch("sts-enforce.test"));
  REQUIRE(first.mode == StsMode::enforce);
  CHECK(first.fetched_at == now);
  CHECK(fetcher.https_fetches() == 1);

  // Same id, within max_age: no HTTPS.
  now += 3600;
  MtaStsReport again = run_one(io, fetcher.fetch("sts-enforce.test", first));
  CHECK(again.mode == StsMode::enforce);
  CHECK(again.fetched_at == first.fetched_at);
  CHECK(fetcher.https_fetches() == 1);
  CHECK(fetcher.reused() == 1);

  // max_age (86400) ran out: fetched again.
  now = first.fetched_at + 86400;
  MtaStsReport expired = run_one(io, fetcher.fetch("sts-enforce.test", first));
  CHECK(expired.fetched_at == now);
  CHECK(fetcher.https_fetches() == 2);

  // A previous policy under another id: the new id means refetch; the fetch
  // fails (404) and the still-fresh previous policy keeps applying.
  MtaStsReport previous = first;
  previous.id = "OLD1";
  previous.fetched_at = now - 10;
  MtaStsReport kept = run_one(io, fetcher.fetch("sts-nopolicy.test", previous));
  CHECK(fetcher.https_fetches() == 3);
  CHECK(kept.mode == StsMode::enforce);
  CHECK(kept.id == "OLD1");
  CHECK_THAT(sts_error(kept), Catch::StartsWith("http-status(404); the cached policy"));
}

TEST_CASE("MTA-STS fetch: the address policy keeps curl off refused addresses", "[lab][mta-sts]") {
  asio::io_context io;
  auto resolver = lab_resolver(io);
  StsFetchOptions options = lab_fetch_options();
  options.address_policy.allow_private = false;  // 127.0.3.250 is loopback
  StsFetcher fetcher(*resolver, options);
  MtaStsReport sts = run_one(io, fetcher.fetch("sts-enforce.test"));
  CHECK_THAT(sts_error(sts), Catch::StartsWith("address-refused(127.0.3.250 is loopback"));
  CHECK(!sts.mode);
  CHECK(fetcher.https_fetches() == 0);
}

TEST_CASE("MTA-STS fetch: https_get_policy connects only to the addresses it was given",
          "[lab][mta-sts]") {
  StsFetchOptions options = lab_fetch_options();
  // The right name, an address where nothing listens on 443: curl must not
  // find the real policy host by its own DNS.
  HttpsResult got = https_get_policy("mta-sts.sts-enforce.test",
                                     {asio::ip::make_address("127.0.3.251")}, options);
  CHECK_THAT(to_string(got.failure), Catch::StartsWith("connect-failed("));
  CHECK(got.body.empty());
  got = https_get_policy("mta-sts.sts-enforce.test", {asio::ip::make_address("127.0.3.250")},
                         options);
  CHECK(!got.failure);
  CHECK(got.status == 200);
  CHECK(is_text_plain(got.content_type));
  CHECK(parse_sts_policy(got.body).has_value());
}

TEST_CASE("MTA-STS fetch: a transfer in progress ends when it is cancelled", "[lab][mta-sts]") {
  // sts-slow's policy host sends 20 bytes/s: without the cancel the GET
  // runs into its 15 s total timeout ("timeout").
  StsFetchOptions options = lab_fetch_options();
  std::atomic<bool> cancel{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(500ms);
    cancel = true;
  });
  HttpsResult got = https_get_policy("mta-sts.sts-slow.test",
                                     {asio::ip::make_address("127.0.3.250")}, options, &cancel);
  stopper.join();
  CHECK(to_string(got.failure) == "https-error(cancelled: the prober is stopping)");
  CHECK(got.body.empty());
}

TEST_CASE("forcetls-check --previous: a fresh cached policy applies when the fetch fails",
          "[lab][mta-sts]") {
  const std::vector<std::string> common = {
      "--json",      "--quick",           "--allow-private",    "--families",       "ipv4",
      "--resolver",  env().resolver,      "--trust-anchor",     env().trust_anchor, "--ca-file",
      env().ca_file, "--resolver-option", env().resolver_option};
  std::vector<std::string> args = common;
  args.push_back("sts-nopolicy.test");
  std::ostringstream out;
  std::ostringstream err;
  run_check_command(args, out, err);
  auto first = report_from_json_text(out.str());
  REQUIRE(first.has_value());
  REQUIRE(sts_error(first->mta_sts) == "http-status(404)");
  REQUIRE(first->mta_sts_enforce == Tri::no);

  // An earlier run had found an enforce policy under another id, fetched a
  // minute ago: the 404 now must not drop it (RFC 8461 §5.1).
  DomainReport earlier = *first;
  earlier.mta_sts.id = "OLD1";
  earlier.mta_sts.mode = StsMode::enforce;
  earlier.mta_sts.mx_patterns = {"*.sts-nopolicy.test"};
  earlier.mta_sts.max_age = 86400;
  earlier.mta_sts.fetched_at = earlier.checked_at - 60;
  earlier.mta_sts.failure = {};
  const std::string path = env().dir + "/previous-reports.json";
  {
    std::ofstream file(path);
    file << to_json_text(earlier) << "\n";
  }
  args = common;
  args.insert(args.end(), {"--previous", path, "sts-nopolicy.test"});
  std::ostringstream out2;
  run_check_command(args, out2, err);
  auto second = report_from_json_text(out2.str());
  REQUIRE(second.has_value());
  INFO(out2.str());
  CHECK(second->mta_sts.mode == StsMode::enforce);
  CHECK(second->mta_sts.id == "OLD1");
  CHECK_THAT(sts_error(second->mta_sts), Catch::StartsWith("http-status(404); the cached policy"));
  CHECK(second->mta_sts.mx_match == std::vector<std::string>{"mx.sts-nopolicy.test"});
  CHECK(second->mta_sts_enforce == Tri::yes);

  // The same policy, but max_age ran out: the 404 stands.
  earlier.mta_sts.fetched_at = earlier.checked_at - 86400 - 60;
  {
    std::ofstream file(path);
    file << to_json_text(earlier) << "\n";
  }
  std::ostringstream out3;
  run_check_command(args, out3, err);
  auto third = report_from_json_text(out3.str());
  REQUIRE(third.has_value());
  CHECK(!third->mta_sts.mode);
  CHECK(sts_error(third->mta_sts) == "http-status(404)");
  CHECK(third->mta_sts_enforce == Tri::no);
}
