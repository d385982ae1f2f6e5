// SPDX-License-Identifier: Apache-2.0
// The checker's report: what the prober observed for one domain, per MX host
// and per address, plus the judgement (grade, eligibility, recommendations).
// Plain values, copyable, no I/O; any thread. Consumed by cache/, policy/ and
// milter/ — keep field meanings stable, the cache stores them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace forcetls::checker {

/// A probe answer: yes, no, or unknown (the prober could not get it).
/// Unknown is never a guess and never "no" (doc/checks.md).
enum class Tri : std::uint8_t { unknown, yes, no };

std::string_view to_string(Tri t);
/// "yes" / "no" / "unknown"; anything else -> nullopt.
std::optional<Tri> tri_from_string(std::string_view s);
inline Tri tri(bool b) { return b ? Tri::yes : Tri::no; }

/// DNSSEC status of an answer, as libunbound reports it.
enum class DnssecStatus : std::uint8_t { indeterminate, insecure, secure, bogus };

std::string_view to_string(DnssecStatus s);
std::optional<DnssecStatus> dnssec_from_string(std::string_view s);

/// The leaf certificate as seen by the full OpenSSL handshake. The three
/// verification questions are answered separately (doc/checks.md).
struct CertInfo {
  Tri trusted = Tri::unknown;     ///< chains to a trusted CA (ignoring time and name)
  Tri expired = Tri::unknown;     ///< yes: not_after is past (or not yet valid)
  Tri name_match = Tri::unknown;  ///< the MX host name matches a SAN (CN without SANs)
  std::string cn;
  std::vector<std::string> sans;
  std::string issuer;
  std::string not_after;  ///< ISO 8601 UTC, e.g. 2027-03-01T00:00:00Z
  std::int64_t not_after_unix = 0;
  std::string verify_error;  ///< OpenSSL's text for the chain error, if any
};

/// Why an unknown verdict is unknown; the policy has a separate action for each.
/// Why a verdict is unknown. downgrade_suspected: a domain pinned eligible
/// (cache/pins.hpp) was found ineligible in a way an on-path attacker can
/// cause; it stays unknown until the change is confirmed.
enum class UnknownCause : std::uint8_t {
  none,
  dns_failure,
  dnssec_bogus,
  probe_failure,
  downgrade_suspected,
};
std::string_view to_string(UnknownCause c);

/// One deduction of the grade, shown to the user.
struct Deduction {
  int points = 0;
  std::string what;  ///< e.g. "TLS 1.2 not accepted"
};

/// Grade letters, worst first, so `>=` reads "at least as good as".
enum class GradeLetter : std::uint8_t { F, D, C, B, A, A_plus };
/// "A+", "A", "B", "C", "D", "F".
std::string_view to_string(GradeLetter g);
std::optional<GradeLetter> grade_from_string(std::string_view s);

/// A letter grade with the points behind it.
struct Grade {
  GradeLetter letter = GradeLetter::F;
  int score = 0;             ///< 0..100
  bool provisional = false;  ///< some answer was unknown
  std::vector<Deduction> deductions;
};
/// The letter, with "?" when provisional: "B", "A?".
std::string short_grade(const Grade& g);

/// Everything observed at one address of one MX host.
struct AddressReport {
  std::string address;  ///< textual IPv4 or IPv6
  std::uint16_t port = 25;
  Tri starttls = Tri::unknown;  ///< 220, EHLO lists STARTTLS, STARTTLS 220, handshake completes
  Tri ssl3 = Tri::unknown;      ///< yes = SSL 3.0 accepted (bad)
  Tri tls1_0 = Tri::unknown;
  Tri tls1_1 = Tri::unknown;
  Tri tls1_2 = Tri::unknown;
  Tri tls1_3 = Tri::unknown;
  Tri weak = Tri::unknown;  ///< yes = some weak suite accepted (weak_suites lists them)
  std::vector<std::uint16_t> weak_suites;  ///< IANA code points of accepted weak suites
  Tri nist_r1 = Tri::unknown;              ///< some NIST SP 800-52r1 suite accepted
  Tri nist_r2 = Tri::unknown;              ///< some NIST SP 800-52r2 suite accepted
  std::string protocol;                    ///< negotiated by the widest handshake, e.g. TLSv1.3
  std::string cipher;                      ///< IANA name of the negotiated suite
  CertInfo cert;
  int connections = 0;                       ///< TCP connections this report cost
  Grade grade;                               ///< filled by judge()
  std::vector<std::string> recommendations;  ///< filled by judge()
  bool probed = true;              ///< false: refused by the address policy, not contacted
  std::string error;               ///< why answers are unknown (last failure seen)
  std::vector<std::string> notes;  ///< oddities: server bugs, injected bytes, ...
};

/// DANE for one MX host (RFC 7672): TLSA `_25._tcp.<host>`, looked at only when
/// the MX and address answers are DNSSEC-secure. Filled by the prober; the
/// match is OpenSSL's own DANE verification during the handshake probe.
struct DaneReport {
  /// TLSA records as presentation text, "3 1 1 ab12..."; empty: none found.
  std::vector<std::string> tlsa;
  Tri usable = Tri::unknown;  ///< some record has usage 2/3, selector 0/1, matching 0/1/2
  Tri match = Tri::unknown;   ///< every probed address authenticated by a usable record
  std::string error;          ///< why not usable / no match / not looked up, in words
};

struct MxReport {
  std::string host;
  std::uint16_t priority = 0;
  DnssecStatus dnssec = DnssecStatus::indeterminate;  ///< of the host's address answers
  std::string dns_error;                              ///< e.g. no address records
  UnknownCause dns_failure = UnknownCause::none;      ///< address lookup failed (not NODATA)
  std::vector<AddressReport> addresses;
  DaneReport dane;
  Grade grade;                               ///< filled by judge()
  std::vector<std::string> recommendations;  ///< filled by judge()
};

/// How the domain's mail servers were found.
enum class MxSource : std::uint8_t {
  mx,        ///< MX records
  implicit,  ///< no MX: the domain's own A/AAAA (RFC 5321 §5.1)
  null_mx,   ///< `MX 0 .`: the domain accepts no mail (RFC 7505)
  none,      ///< nothing usable found (see dns_error)
};
std::string_view to_string(MxSource s);
std::optional<MxSource> mx_source_from_string(std::string_view s);

enum class Eligibility : std::uint8_t { unknown, eligible, ineligible };
std::string_view to_string(Eligibility e);
std::optional<Eligibility> eligibility_from_string(std::string_view s);

/// One reason of a verdict: a short code and the MX host it concerns,
/// logged as `code(host)`, e.g. `no-starttls(mx2.example.com)`.
struct Reason {
  std::string code;
  std::string host;    ///< empty for domain-wide reasons
  std::string detail;  ///< plain words for people
};
std::string format_reason(const Reason& r);

/// The eligibility verdict alone, with its reasons.
struct EligibilityResult {
  Eligibility eligible = Eligibility::unknown;
  UnknownCause unknown_cause = UnknownCause::none;
  std::vector<Reason> reasons;
};

/// An MTA-STS policy's mode (RFC 8461 §5).
enum class StsMode : std::uint8_t { enforce, testing, none };
std::string_view to_string(StsMode m);
std::optional<StsMode> sts_mode_from_string(std::string_view s);

/// What kept a domain's MTA-STS policy from being fetched, by name; the
/// text form is `name(detail)`, e.g. `http-status(404)`.
enum class StsProblem : std::uint8_t {
  none,
  no_txt,            ///< no `v=STSv1` TXT record: the domain has no MTA-STS
  bad_txt,           ///< several records, or one that does not parse
  dns_failure,       ///< a lookup failed (SERVFAIL, timeout, DNSSEC bogus)
  no_policy_host,    ///< `mta-sts.<domain>` has no address
  address_refused,   ///< its addresses are all refused by the address policy
  connect_failed,    ///< no connection, or it broke before a response
  timeout,           ///< the fetch took longer than its limit
  tls_failed,        ///< the TLS handshake failed
  https_cert,        ///< the certificate does not verify for the policy host
  https_error,       ///< any other transfer failure
  too_large,         ///< the body exceeds 64 KiB
  http_status,       ///< a status other than 200 (the detail is the number)
  bad_content_type,  ///< not text/plain
  bad_policy,        ///< the body does not parse (the detail names the line)
};
std::string_view to_string(StsProblem p);

/// A named MTA-STS problem with its detail; the text form is `name(detail)`,
/// e.g. `http-status(404)`, `bad-policy(line 3: bad mode "Enforce")`, `no-txt`.
struct StsFailure {
  StsProblem problem = StsProblem::none;
  std::string detail;
  explicit operator bool() const { return problem != StsProblem::none; }
  friend bool operator==(const StsFailure&, const StsFailure&) = default;
};
/// The text form; empty for none.
std::string to_string(const StsFailure& f);
/// The text form read back; nullopt for an unknown name or a malformed detail.
std::optional<StsFailure> sts_failure_from_string(std::string_view text);
/// A problem that may go away by itself (DNS, connection, timeout, HTTP
/// 5xx): the domain's MTA-STS state is then unknown, not "none".
bool sts_failure_transient(const StsFailure& f);

/// MTA-STS (RFC 8461) as fetched for one domain.
struct MtaStsReport {
  std::string txt;                       ///< the `_mta-sts` TXT record; empty: none
  std::string id;                        ///< its id=
  std::optional<StsMode> mode;           ///< nullopt: no valid policy
  std::vector<std::string> mx_patterns;  ///< `mx:` lines, as written ("*.example.com")
  std::int64_t max_age = 0;              ///< seconds
  std::vector<std::string> mx_match;     ///< MX hosts matched by some pattern
  std::int64_t fetched_at = 0;           ///< unix time the policy was fetched; 0: never
  /// Why the last fetch found no valid policy (none when it did). With a
  /// mode as well, the cached policy of `fetched_at` applies despite it.
  StsFailure failure;
};

/// The failure as the report shows it (JSON `error`, the text report, the
/// cache): its text form, plus "; the cached policy fetched at T applies"
/// when a cached policy applies despite it; empty without a failure.
std::string sts_error(const MtaStsReport& m);
/// Reads sts_error()'s form back into `m.failure` (the cached-policy note is
/// derived from the mode, so it is dropped); false for an unknown problem.
bool set_sts_error(MtaStsReport& m, std::string_view text);

/// SMTP TLS Reporting (RFC 8460): `_smtp._tls.<domain>` TXT.
struct TlsRptReport {
  std::string txt;               ///< empty: none
  std::vector<std::string> rua;  ///< mailto: / https: report addresses
  std::string error;             ///< bad record, DNS failure
};

struct DomainReport {
  std::string domain;
  std::int64_t checked_at = 0;  ///< unix time the probe finished
  std::uint32_t dns_ttl = 0;    ///< smallest TTL of the DNS answers used; 0: none
  MxSource source = MxSource::none;
  DnssecStatus dnssec = DnssecStatus::indeterminate;  ///< of the MX answer
  std::string dns_error;                              ///< DNS failure of the MX lookup
  /// Why the domain as a whole has no answer: dns_failure or dnssec_bogus
  /// (the MX lookup), probe_failure (the probe failed or ran out of time).
  UnknownCause dns_failure = UnknownCause::none;
  std::vector<MxReport> mx;
  MtaStsReport mta_sts;
  TlsRptReport tlsrpt;
  /// MTA-STS policy in `enforce` mode whose patterns cover every MX (RFC 8461).
  Tri mta_sts_enforce = Tri::unknown;
  /// DNSSEC-secure TLSA records usable and matching on every MX (RFC 7672).
  Tri dane = Tri::unknown;
  // Filled by judge():
  Grade grade;
  Eligibility eligible = Eligibility::unknown;
  UnknownCause unknown_cause = UnknownCause::none;
  std::vector<Reason> reasons;
  /// The verdict with TLS 1.3 counted (a policy rule's tls13_counts), judged
  /// beside the one above so that no reader applies the rule again.
  EligibilityResult tls13_counted;
};

}  // namespace forcetls::checker
