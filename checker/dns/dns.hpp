// SPDX-License-Identifier: Apache-2.0
// DNS lookups for the checker: the Resolver seam (tests substitute a fake)
// and UnboundResolver, a validating libunbound context driven by an Asio
// io_context. A Resolver and every query on it belong to one io_context
// thread (or strand); the Resolver must outlive the queries started on it.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "checker/dns/dns_record.hpp"
#include "checker/report/report.hpp"
#include "common/error.hpp"
#include "common/unbound_options.hpp"

namespace forcetls::checker {

// DnssecStatus (checker/report/report.hpp), in the terms of RFC 4033 §5: secure =
// validated from a trust anchor; insecure = provably unsigned (or below an
// insecure delegation); bogus = signed but failed validation, a DNS failure,
// never data; indeterminate = not validated (validation off) or no answer to
// validate (SERVFAIL).

/// One answered question, modelled on libunbound's ub_result: what came back
/// and how far it can be trusted, with the rdata already parsed by type.
/// A timeout or a resolver error is not a DnsAnswer but an Error.
struct DnsAnswer {
  std::string qname;  ///< as asked
  DnsType qtype = DnsType::a;
  int rcode = rcode::noerror;  ///< see rcode_name()
  bool havedata = false;       ///< records of qtype at canonname
  bool nxdomain = false;       ///< the name (after CNAMEs) does not exist
  DnssecStatus dnssec = DnssecStatus::indeterminate;
  std::string why_bogus;  ///< libunbound's reason when bogus
  std::uint32_t ttl = 0;  ///< of the answer (negative TTL for NODATA/NXDOMAIN)
  /// The owner of the data after CNAMEs were followed; == qname without alias.
  std::string canonname;
  /// CNAME targets from qname to canonname, in order (empty without alias).
  std::vector<std::string> cname_chain;

  // Typed records, filled for qtype only (a/aaaa both go to `addresses`).
  // Empty in a bogus answer: libunbound returns the failed data, forcetls
  // drops it (and clears havedata) so it cannot be used by mistake.
  std::vector<MxRecord> mx;
  std::vector<asio::ip::address> addresses;
  std::vector<TlsaRecord> tlsa;
  std::vector<TxtRecord> txt;
  std::vector<std::string> cname;  ///< when qtype is CNAME
  /// rdata items of qtype that did not parse (skipped, never guessed at).
  std::size_t malformed = 0;

  bool secure() const { return dnssec == DnssecStatus::secure; }
  bool bogus() const { return dnssec == DnssecStatus::bogus; }
  /// NOERROR without records of the type (RFC 2308 "NODATA").
  bool nodata() const { return rcode == rcode::noerror && !havedata && !nxdomain; }
};

/// The seam every DNS lookup of the checker goes through.
class Resolver {
 public:
  virtual ~Resolver() = default;
  /// Asks one question. Returns the answer whatever its rcode or DNSSEC
  /// status (a bogus or SERVFAIL answer is data for the report); an Error
  /// only when no answer came: Errc::timeout, or Errc::io / internal for a
  /// resolver failure. `name` is a normalised name (domain_name.hpp) or a
  /// name derived from DNS data (parse_wire_name form).
  virtual asio::awaitable<Result<DnsAnswer>> query(std::string name, DnsType type) = 0;
};

/// Where and how UnboundResolver resolves.
struct ResolverOptions {
  /// Forward every query to this resolver, "IP" or "IP@PORT" (IPv6 too:
  /// "::1@5353"); it must pass DNSSEC records (DO bit). Empty: full
  /// recursion from the root hints.
  std::string forwarder;
  /// Trust anchors: a zone-format file of DS and/or DNSKEY lines, read
  /// once and never written (unlike RFC 5011 auto-update files, so a
  /// read-only or offline host works). Debian's dns-root-data by default.
  std::string trust_anchor_file = "/usr/share/dns/root.key";
  /// DNSSEC validation; without it every answer is `indeterminate`.
  bool validate = true;
  /// Per query, from submission to answer.
  std::chrono::milliseconds timeout{10000};
  /// Extra libunbound options (name, value) as ub_ctx_set_option takes them,
  /// the name with or without its ':' ("local-zone", "test. transparent"),
  /// applied last: checker.resolver_options, forcetls-check --resolver-option.
  /// An option libunbound refuses fails create().
  std::vector<std::pair<std::string, std::string>> unbound_options;
};

/// One libunbound option written as in unbound.conf, "name: value"
/// ("local-zone: test. transparent"), split into (name, value), both trimmed;
/// the value is passed on as written (libunbound strips no quotes).
/// Errc::invalid_argument when there is no "name:" (a name without spaces)
/// or no value.
Result<std::pair<std::string, std::string>> parse_unbound_option(std::string_view text);

using forcetls::unbound_option_allowed;  ///< common/unbound_options.hpp

/// libunbound in asynchronous thread mode: queries go to its background
/// thread; its result pipe (ub_fd) is watched by the io_context and each
/// answer resumes the coroutine that asked. Any number of queries may be in
/// flight. libunbound's cache is per resolver: create one and share it.
/// libunbound's default local zones stay as they are unless an option
/// changes them: `.test` (RFC 6761 §6.2), `.invalid`, `localhost` and the
/// private reverse zones are answered locally, never asked of the forwarder
/// (the lab, whose domains are under `.test`, passes
/// `local-zone: test. transparent`).
class UnboundResolver final : public Resolver {
 public:
  /// Builds and finalises the libunbound context, so a bad forwarder or an
  /// unreadable or invalid trust anchor file fails here, not at the first query.
  static Result<std::unique_ptr<UnboundResolver>> create(asio::any_io_executor executor,
                                                         const ResolverOptions& options);
  ~UnboundResolver() override;
  UnboundResolver(const UnboundResolver&) = delete;
  UnboundResolver& operator=(const UnboundResolver&) = delete;

  asio::awaitable<Result<DnsAnswer>> query(std::string name, DnsType type) override;

  /// Queries submitted and not yet answered, timed out or cancelled.
  std::size_t in_flight() const;

  struct Core;  // libunbound context + watched descriptor; shared with handlers

 private:
  UnboundResolver(std::shared_ptr<Core> core, ResolverOptions options);

  std::shared_ptr<Core> core_;
  ResolverOptions options_;
};

}  // namespace forcetls::checker
