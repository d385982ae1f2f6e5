// SPDX-License-Identifier: Apache-2.0
// From a mail domain to the hosts and addresses that receive its mail, with
// the DNSSEC status of every answer and the TLSA records DANE needs: MX
// lookup (RFC 5321 §5.1, null MX RFC 7505), addresses of every MX host in
// parallel, TLSA per RFC 7672 §2.2. resolve_mx() runs on the Resolver's
// io_context; the result is plain data any thread may read.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "checker/dns/address_policy.hpp"
#include "checker/dns/dns.hpp"

namespace forcetls::checker {

struct MxOptions {
  /// MX hosts kept, lowest preference first; the rest are counted, not resolved.
  std::size_t max_mx_hosts = 10;
  /// Addresses kept per host (IPv4 first, then IPv6, each in DNS order).
  std::size_t max_addresses_per_host = 8;
  /// CNAME links followed from the domain (libunbound's and ours together).
  std::size_t max_cname_links = 8;
  /// Address families looked up (select_families()).
  Families families;
  /// Addresses the policy refuses stay in the result, marked `refused`.
  AddressPolicy address_policy;
  /// Look up TLSA where RFC 7672 says to.
  bool lookup_tlsa = true;
  /// The port whose TLSA records are asked for (`_25._tcp`).
  std::uint16_t port = 25;
};

/// What one DNS question ended in.
enum class LookupOutcome {
  skipped,   ///< not asked (family not wanted, or not needed)
  data,      ///< records of the type
  nodata,    ///< the name exists, no records of the type
  nxdomain,  ///< the name does not exist
  failure,   ///< no usable answer: SERVFAIL, bogus, timeout, resolver error,
             ///< CNAME chain too long — "unknown", never "no"
};

std::string_view lookup_outcome_name(LookupOutcome outcome);

/// One question and its outcome, as the report shows it.
struct Lookup {
  std::string qname;
  DnsType qtype = DnsType::a;
  LookupOutcome outcome = LookupOutcome::skipped;
  DnssecStatus dnssec = DnssecStatus::indeterminate;
  int rcode = rcode::noerror;
  std::uint32_t ttl = 0;
  std::string canonname;                 ///< after CNAMEs; == qname without alias
  std::vector<std::string> cname_chain;  ///< every CNAME target followed, in order
  /// For `failure`: one line, e.g. "SERVFAIL", "DNSSEC bogus: <why_bogus>",
  /// "DNS query x/MX timed out after 10s".
  std::string error;

  bool failed() const { return outcome == LookupOutcome::failure; }
  bool secure() const { return dnssec == DnssecStatus::secure; }
};

struct MxAddress {
  asio::ip::address address;
  DnssecStatus dnssec = DnssecStatus::indeterminate;  ///< of the A/AAAA answer
  /// Non-empty: the address policy refuses it (do not connect); the reason.
  std::string refused;
};

enum class TlsaState {
  not_looked_up,  ///< RFC 7672 §2.2: MX or address answer not secure (see `reason`)
  found,          ///< secure TLSA records (may still be unusable: usable_for_smtp())
  none,           ///< secure denial: no TLSA records, DANE does not apply
  insecure,       ///< the TLSA answer itself was not secure: DANE does not apply
  failure,        ///< lookup failed (bogus, SERVFAIL, timeout): RFC 7672 §2.2
                  ///< says the host is then unusable for DANE
};

std::string_view tlsa_state_name(TlsaState state);

struct TlsaResult {
  TlsaState state = TlsaState::not_looked_up;
  std::string reason;  ///< why not looked up, or what failed
  /// For not_looked_up: the DNSSEC status of the MX or address answer that
  /// stopped the lookup (insecure: DANE does not apply; bogus/indeterminate:
  /// unknown); indeterminate also when lookups are off or there is no address.
  DnssecStatus stopped_by = DnssecStatus::indeterminate;
  /// The TLSA questions asked: at the CNAME-expanded host name first when the
  /// address answer was a secure alias, then at the MX host name (RFC 7672 §2.2.2).
  std::vector<Lookup> lookups;
  std::vector<TlsaRecord> records;  ///< for `found`
};

enum class HostStatus {
  ok,            ///< every wanted address lookup answered, at least one address
  no_addresses,  ///< the host has no A/AAAA records (NODATA/NXDOMAIN): a DNS error
                 ///< of the domain; nothing to probe
  dns_failure,   ///< at least one wanted address lookup failed; `addresses` holds
                 ///< whatever the other family gave (probe them; the rest is unknown)
};

std::string_view host_status_name(HostStatus status);

struct MxHost {
  std::string name;  ///< lower case, no trailing dot
  std::uint16_t preference = 0;
  bool implicit = false;  ///< the domain itself, for want of MX records (RFC 5321 §5.1)
  HostStatus status = HostStatus::ok;
  std::string problem;  ///< one line for no_addresses / dns_failure
  Lookup a;
  Lookup aaaa;
  std::vector<MxAddress> addresses;   ///< IPv4 first, DNS order, at most max_addresses_per_host
  std::size_t addresses_dropped = 0;  ///< beyond the cap
  TlsaResult tlsa;
};

enum class MxStatus {
  ok,           ///< `hosts` are the mail hosts (explicit MX or the implicit one)
  null_mx,      ///< RFC 7505 null MX: the domain accepts no mail
  nxdomain,     ///< the domain does not exist
  dns_failure,  ///< the MX lookup failed (SERVFAIL, bogus, timeout, CNAME loop): unknown
};

std::string_view mx_status_name(MxStatus status);

struct MxResult {
  std::string domain;  ///< as asked (normalised)
  MxStatus status = MxStatus::dns_failure;
  /// One line for every status but ok, plus notes (e.g. duplicate MX names,
  /// a null MX mixed with other records) separated by "; ".
  std::string reason;
  /// The MX question. Its `dnssec` is the DNSSEC status of the domain's MX
  /// answer (for an implicit MX: of the denial that there are MX records).
  Lookup mx;
  bool implicit_mx = false;
  std::vector<MxHost> hosts;      ///< preference order, ties in DNS order, deduplicated
  std::size_t hosts_dropped = 0;  ///< beyond max_mx_hosts

  DnssecStatus dnssec() const { return mx.dnssec; }
  /// The smallest TTL of the answers this result rests on (MX, addresses,
  /// TLSA; failed and skipped lookups excluded), for cache expiry; 0 when
  /// no answer came.
  std::uint32_t min_ttl() const;
};

/// Resolves `domain` (already normalised, see normalize_domain()). Never
/// throws and never returns an Error: every failure is data in the result.
/// All MX hosts are resolved concurrently, A and AAAA of each concurrently.
/// If the awaiting coroutine is cancelled, queries already started run to
/// their own timeouts and their answers are discarded.
asio::awaitable<MxResult> resolve_mx(Resolver& resolver, std::string domain, MxOptions options);

}  // namespace forcetls::checker
