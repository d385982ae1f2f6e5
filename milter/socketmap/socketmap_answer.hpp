// SPDX-License-Identifier: Apache-2.0
// SocketmapAnswer: what the delivery-time TLS policy map says for one key —
// the pure mapping from a policy Decision and the checker's report to a
// Postfix smtp_tls_policy_maps value (socketmap_table(5) replies `OK value`,
// `NOTFOUND `, `TEMP reason`, `PERM reason`) or a Sendmail FEATURE(sts) one.
// No I/O; any thread. README.md "Delivery-time enforcement" has the table.
//
// Postfix policy values (postconf(5) smtp_tls_policy_maps, Postfix >= 3.6 for
// `protocols=>=...`): none may encrypt dane dane-only fingerprint verify
// secure, with attributes protocols= ciphers= match= servername=.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "checker/report/next_hop.hpp"
#include "checker/report/report.hpp"
#include "policy/decision.hpp"

namespace forcetls::milter {

enum class AnswerKind : std::uint8_t { ok, notfound, temp, perm };
std::string_view to_string(AnswerKind k);  ///< "OK", "NOTFOUND", "TEMP", "PERM"

struct SocketmapAnswer {
  AnswerKind kind = AnswerKind::notfound;
  /// OK: the policy value (`encrypt protocols=>=TLSv1.2 ciphers=high`);
  /// TEMP/PERM: the reason; NOTFOUND: empty.
  std::string value;
  /// The reply payload: `OK encrypt ...`, `NOTFOUND ` (with its space, as
  /// socketmap_table(5) writes it), `TEMP reason`, `PERM reason`.
  std::string payload() const;
  bool operator==(const SocketmapAnswer&) const = default;
};

/// What a request key names (socketmap_table(5): Postfix sends the next hop
/// as the transport gives it — `domain`, `domain:port`, `[host]`,
/// `[host]:port` — then `.parent` forms of a domain).
struct SocketmapKey {
  enum class Kind : std::uint8_t {
    domain,   ///< `example.com`, `example.com:2525`: the domain's MX hosts on that port
    parent,   ///< `.example.com`: Postfix's lookup after a NOTFOUND for a subdomain
    host,     ///< `[mx.example.com]`, `[mx.example.com]:2525`: that server itself
    literal,  ///< `[192.0.2.1]`, `[ipv6:...]`: an address, matched by `*` and the default only
    other,    ///< not a next hop: answered NOTFOUND
  };
  Kind kind = Kind::other;
  /// What is probed and cached for domain/host/literal (its key() is the
  /// cache key: port 25 omitted, so `[h]:25` and `[h]` share one report).
  checker::ReportTarget target;
  /// The name the policy's rules are matched against (domain, host, parent);
  /// empty for literal/other.
  std::string name;
};
SocketmapKey parse_socketmap_key(std::string_view key);

/// The strongest TLS level the report supports, from the highest:
///   dane-only   the checker's DANE fact (`report.dane` yes: usable TLSA
///               records authenticated every probed address of every MX host
///               with addresses, checker/auth/dane.hpp) and a DNSSEC-secure
///               MX answer (RFC 7672);
///   secure      MTA-STS enforce (RFC 8461) covering every MX: `secure
///               match=<mx patterns, *.x as .x> servername=hostname`.
/// nullopt when neither. `dane_ok` / `sts_ok` choose which may be used.
std::optional<std::string> authenticated_level(const checker::DomainReport& report, bool dane_ok,
                                               bool sts_ok);

/// `match=` list of an MTA-STS policy: patterns lower-cased, `*.x` -> `.x`,
/// joined by ':'; nullopt if the policy is not enforce, covers not every MX,
/// or a pattern is not a host name (it came from the network).
std::optional<std::string> mta_sts_match(const checker::DomainReport& report);

/// `>=TLSv1.2` when every probed TLS address accepted TLS 1.2 (or 1.3 with
/// tls13_counts), `>=TLSv1.3` when every one accepted 1.3 and tls13_counts,
/// else `>=TLSv1`: the highest floor that every MX passed among the versions
/// the eligibility rule counts.
std::string tls_protocols(const checker::DomainReport& report, bool tls13_counts);

/// `high` when every probed TLS address negotiated an OpenSSL HIGH suite
/// (AES, ChaCha20, Camellia, ARIA), else `medium` (3DES, which NIST SP
/// 800-52r1 still allowed, is MEDIUM in OpenSSL 3).
std::string tls_ciphers(const checker::DomainReport& report);

/// The Postfix smtp_tls_policy_maps answer for a decision made with
/// Policy::match_delivery for a next hop (`report` nullptr: not in the
/// cache; a refresh is queued by the caller). `postfix_dnssec`
/// (socketmap.postfix_dnssec): Postfix validates DNSSEC itself
/// (smtp_dns_support_level = dnssec), so `dane-only` and `verify
/// match=hostname` are safe to give. Without it, `dane-only` becomes `secure
/// match=<the MX hosts>` when every certificate verified, else `encrypt`,
/// and `verify` becomes `secure match=<the MX hosts>`.
SocketmapAnswer postfix_answer(const policy::Decision& decision,
                               const checker::DomainReport* report, bool postfix_dnssec);

/// The Sendmail FEATURE(sts) answer (same decision as postfix_answer).
/// Sendmail 8.17 acts only on `OK secure match=... servername=hostname`
/// (TLS to a listed MX whose certificate verifies and names it); NOTFOUND and
/// PERM both mean "no policy" there (delivery in clear), TEMP and an
/// unreachable map defer. So:
///   MTA-STS enforce over every MX, policy not off/deferring -> secure, its patterns;
///   require + eligible, every probed certificate verified   -> secure, the MX hosts;
///   require + eligible, certificates not verified           -> NOTFOUND (the
///       access map's `TLS_Rcpt:domain ENCR:128` from forcetls-ctl export
///       --sendmail-access is what enforces TLS there);
///   require + defer/refuse (ineligible, unknown, not cached) -> TEMP, never PERM;
///   prefer/off, or no MTA-STS                               -> NOTFOUND.
SocketmapAnswer sts_answer(const policy::Decision& decision, const checker::DomainReport* report);

}  // namespace forcetls::milter
