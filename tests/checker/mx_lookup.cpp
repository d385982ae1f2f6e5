// SPDX-License-Identifier: Apache-2.0
// checker_mx_lookup: a developer tool that prints what the DNS half of the
// checker finds for each domain (MX hosts, addresses, DNSSEC, TLSA), all
// domains resolved at once. Not installed; forcetls-check is the real tool.
//
//   checker_mx_lookup [--resolver IP@PORT] [--resolver-option 'NAME: VALUE']...
//                     [--trust-anchor FILE] [--no-validate]
//                     [--allow-private] [--family ipv4|ipv6|both|auto] DOMAIN...
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "checker/dns/address_policy.hpp"
#include "checker/dns/dns.hpp"
#include "checker/dns/mx_resolver.hpp"
#include "checker/report/domain_name.hpp"

using namespace forcetls::checker;

namespace {

void print_lookup(const char* indent, const Lookup& l) {
  std::printf("%s%s %s: %s, %s", indent, l.qname.c_str(), type_name(l.qtype).c_str(),
              std::string(lookup_outcome_name(l.outcome)).c_str(),
              std::string(to_string(l.dnssec)).c_str());
  for (const auto& c : l.cname_chain) {
    std::printf(" -> %s", c.c_str());
  }
  if (!l.error.empty()) {
    std::printf(" (%s)", l.error.c_str());
  }
  std::printf("\n");
}

void print(const MxResult& m) {
  std::printf("%s: %s%s\n", m.domain.c_str(), std::string(mx_status_name(m.status)).c_str(),
              m.implicit_mx ? " (implicit MX)" : "");
  if (!m.reason.empty()) {
    std::printf("  note: %s\n", m.reason.c_str());
  }
  print_lookup("  ", m.mx);
  for (const auto& h : m.hosts) {
    std::printf("  MX %u %s: %s%s%s\n", h.preference, h.name.c_str(),
                std::string(host_status_name(h.status)).c_str(), h.problem.empty() ? "" : " - ",
                h.problem.c_str());
    print_lookup("    ", h.a);
    print_lookup("    ", h.aaaa);
    for (const auto& a : h.addresses) {
      std::printf("    address %s (%s)%s%s\n", a.address.to_string().c_str(),
                  std::string(to_string(a.dnssec)).c_str(),
                  a.refused.empty() ? "" : " refused: ", a.refused.c_str());
    }
    std::printf("    TLSA: %s%s%s\n", std::string(tlsa_state_name(h.tlsa.state)).c_str(),
                h.tlsa.reason.empty() ? "" : " - ", h.tlsa.reason.c_str());
    for (const auto& t : h.tlsa.records) {
      std::printf("      %u %u %u (%zu octets)%s\n", t.usage, t.selector, t.matching_type,
                  t.data.size(), t.usable_for_smtp() ? "" : " unusable for SMTP");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  ResolverOptions ro;
  MxOptions mo;
  FamilyChoice family = FamilyChoice::automatic;
  std::vector<std::string> domains;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "checker_mx_lookup: %s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--resolver") {
      ro.forwarder = value();
    } else if (arg == "--resolver-option") {
      auto option = parse_unbound_option(value());
      if (!option) {
        std::fprintf(stderr, "checker_mx_lookup: %s\n", option.error().message.c_str());
        return 2;
      }
      ro.unbound_options.push_back(std::move(*option));
    } else if (arg == "--trust-anchor") {
      ro.trust_anchor_file = value();
    } else if (arg == "--no-validate") {
      ro.validate = false;
    } else if (arg == "--allow-private") {
      mo.address_policy.allow_private = true;
    } else if (arg == "--family") {
      auto f = parse_family_choice(value());
      if (!f) {
        std::fprintf(stderr, "checker_mx_lookup: %s\n", f.error().message.c_str());
        return 2;
      }
      family = *f;
    } else if (arg.starts_with("-")) {
      std::fprintf(stderr, "checker_mx_lookup: unknown option %s\n", argv[i]);
      return 2;
    } else {
      auto name = normalize_domain(arg);
      if (!name) {
        std::fprintf(stderr, "checker_mx_lookup: %s\n", name.error().message.c_str());
        return 2;
      }
      domains.push_back(*name);
    }
  }
  if (domains.empty()) {
    std::fprintf(stderr, "usage: checker_mx_lookup [options] DOMAIN...\n");
    return 2;
  }
  mo.families = select_families(family);
  asio::io_context io;
  auto resolver = UnboundResolver::create(io.get_executor(), ro);
  if (!resolver) {
    std::fprintf(stderr, "checker_mx_lookup: %s\n", resolver.error().message.c_str());
    return 1;
  }
  std::vector<MxResult> results(domains.size());
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < domains.size(); ++i) {
    asio::co_spawn(io, resolve_mx(**resolver, domains[i], mo),
                   [&results, i](std::exception_ptr, MxResult r) { results[i] = std::move(r); });
  }
  io.run();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  for (const auto& r : results) {
    print(r);
  }
  std::printf("%zu domain(s) in %lld ms\n", results.size(), static_cast<long long>(ms));
  return 0;
}
