// SPDX-License-Identifier: Apache-2.0
// The prober: from a domain (or one server) to a judged DomainReport. Resolves
// the MX hosts (mx_resolver), probes every address concurrently — one full
// OpenSSL handshake, then the hand-built ClientHello questions of a ProbePlan —
// politely (per-address connection limit and pause, back-off after 421, an
// address that keeps refusing left unknown: checker/probe/politeness.hpp) and
// once per run for an address shared by several MX names or domains.
// A Prober lives on one io_context thread; its coroutines run there, and the
// Resolver and the Prober must outlive them.
#pragma once

#include <algorithm>
#include <asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "checker/auth/dane.hpp"
#include "checker/auth/mta_sts_fetch.hpp"
#include "checker/dns/dns.hpp"
#include "checker/dns/mx_resolver.hpp"
#include "checker/probe/async_util.hpp"
#include "checker/probe/politeness.hpp"
#include "checker/report/judgement.hpp"
#include "checker/report/next_hop.hpp"
#include "checker/report/report.hpp"
#include "checker/smtp/smtp_session.hpp"
#include "checker/tls/tls_handshake.hpp"
#include "checker/wire/probe_plan.hpp"

namespace forcetls::checker {

using namespace std::chrono_literals;

struct ProberOptions {
  /// Every timeout from two: connecting, and each command or exchange (the
  /// full handshake and the raw ClientHellos too). The greeting waits at
  /// least 30 s: postscreen-style servers pause before its last line. The
  /// daemon (checker.*_timeout) and forcetls-check (--timeout) both set
  /// their timeouts this way.
  void set_timeouts(std::chrono::milliseconds connect, std::chrono::milliseconds command) {
    smtp.connect_timeout = connect;
    smtp.command_timeout = command;
    smtp.greeting_timeout = std::max(command, std::chrono::milliseconds(30s));
    tls_timeout = command;
    raw_timeout = command;
  }

  SmtpOptions smtp = {};                        ///< EHLO name, connect/greeting/command timeouts
  std::chrono::milliseconds tls_timeout = 15s;  ///< the full handshake
  std::chrono::milliseconds raw_timeout = 15s;  ///< the answer to one raw ClientHello
  MxOptions mx = {};                            ///< caps, address families, address policy
  std::uint16_t port = 25;
  int per_address_connections = 1;  ///< connections at once to one address
  /// Per address: the pause between connections, the back-off after a 421
  /// (or a dropped greeting), and the stop after `rate_limit_stop` of them in
  /// a row: the questions not yet answered stay unknown, with a note (in
  /// forcetls-check for the whole run; the daemon asks again at its next
  /// refresh).
  PolitenessOptions politeness = {};
  PlanOptions plan = {};      ///< connection budget per address
  TlsClientOptions tls = {};  ///< CA file for the "trusted" check
  /// Stop at the fast answer: one handshake offering TLS 1.0-1.2 and only the
  /// NIST r1 suites OpenSSL has; a negotiated TLS 1.2/1.0 with an r1 suite
  /// proves the address eligible. Anything else falls through to the full probes.
  bool quick = false;
  JudgeOptions judge = {};
  /// Keep every address result for the prober's lifetime (one run of
  /// forcetls-check); the daemon turns it off and answers from its cache.
  bool remember_addresses = true;
  /// Asked before an address is probed: a still-fresh result for (MX host,
  /// address, port) from elsewhere (the daemon's cache), reused as is.
  std::function<std::optional<AddressReport>(const std::string& host, const std::string& address,
                                             std::uint16_t port)>
      known_address = {};
  /// check_domain() also fetches MTA-STS (RFC 8461) and TLSRPT (RFC 8460),
  /// concurrently with the MX probes; the policy host is contacted under the
  /// same address policy and CA setting as the MX hosts.
  bool mta_sts = true;
  std::chrono::milliseconds mta_sts_connect_timeout = 10s;
  std::chrono::milliseconds mta_sts_timeout = 20s;  ///< the whole HTTPS exchange
  std::uint16_t mta_sts_port = 443;                 ///< tests only
  /// Asked before the MTA-STS fetch: an earlier report's mta_sts for the
  /// domain (the daemon's cache), for the RFC 8461 §5.1 cache rule
  /// (checker/auth/mta_sts.hpp sts_may_reuse / sts_keep_cached).
  std::function<std::optional<MtaStsReport>(const std::string& domain)> previous_mta_sts = {};
};

class Prober {
 public:
  /// Builds the TLS client contexts (a bad CA file fails here).
  static Result<std::unique_ptr<Prober>> create(Resolver& resolver, ProberOptions options);

  /// Checks a normalised domain: MX lookup, every address (on `port`,
  /// default options.port), judgement. MTA-STS is fetched for port 25 only.
  asio::awaitable<DomainReport> check_domain(std::string domain,
                                             std::optional<std::uint16_t> port = std::nullopt);

  /// Checks one server directly (no MX lookup): `host` is a name (its A/AAAA
  /// are probed) or an IP literal. The report's domain is the host.
  asio::awaitable<DomainReport> check_server(std::string host, std::uint16_t port);

  /// Checks what a cache key names (check_domain or check_server on its
  /// port); the report's domain is the key (`[mx.example.com]:2525`).
  asio::awaitable<DomainReport> check(ReportTarget target);
  /// TCP connections opened so far by this prober.
  int connections() const { return connections_; }
  /// Address results taken from `known_address` instead of probing.
  int reused() const { return reused_; }
  /// The MTA-STS fetcher (null with options.mta_sts off): its counters.
  const StsFetcher* mta_sts_fetcher() const { return sts_.get(); }

  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

 private:
  struct AddressState;  // politeness: gate, back-off
  /// One address's report and, when its host has usable TLSA records, the
  /// DANE outcome of the full handshake (for the verifier named by dane_key).
  struct Probed {
    AddressReport report;
    std::optional<DaneOutcome> dane;
    std::string dane_key;
  };
  using DanePtr = std::shared_ptr<const DaneVerifier>;
  struct StsPart {
    MtaStsReport mta_sts;
    TlsRptReport tlsrpt;
    bool fetched = false;
  };

  Prober(Resolver& resolver, ProberOptions options, TlsClientContext wide, TlsClientContext quick);

  asio::awaitable<Probed> probe_address(std::string host, asio::ip::address address,
                                        std::uint16_t port, std::string refused, DanePtr dane);
  asio::awaitable<Probed> probe_address_now(std::string host, asio::ip::address address,
                                            std::uint16_t port, DanePtr dane);
  /// One handshake for DANE alone: the address was probed without the
  /// host's TLSA records (another domain's view, or the daemon's cache).
  asio::awaitable<DaneOutcome> probe_dane_now(std::string host, asio::ip::address address,
                                              std::uint16_t port, DanePtr dane);
  asio::awaitable<MxReport> probe_host(MxHost host, std::uint16_t port);
  asio::awaitable<DomainReport> probe_domain_mx(std::string domain, std::uint16_t port);
  asio::awaitable<StsPart> fetch_sts(std::string domain);
  AddressState& state_for(const asio::ip::address& address, std::uint16_t port);

  Resolver& resolver_;
  ProberOptions options_;
  TlsClientContext wide_;
  TlsClientContext quick_;
  SingleFlight<std::string, Probed> flights_;
  SingleFlight<std::string, DaneOutcome> dane_flights_;
  int reused_ = 0;
  std::map<std::string, std::unique_ptr<AddressState>> states_;
  int connections_ = 0;
  std::unique_ptr<StsFetcher> sts_;  // last: its destructor waits for curl calls
};

}  // namespace forcetls::checker
