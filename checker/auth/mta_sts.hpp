// SPDX-License-Identifier: Apache-2.0
// MTA-STS (RFC 8461) and SMTP TLS Reporting (RFC 8460), the pure half: the
// `_mta-sts` and `_smtp._tls` TXT record parsers, the strict policy parser,
// the MX pattern matcher and the policy-cache rule. Plain functions on
// values, no I/O; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checker/report/report.hpp"
#include "common/error.hpp"

namespace forcetls::checker {

/// RFC 8461 §3.2: max_age is at most 31557600 seconds (about one year).
inline constexpr std::int64_t kStsMaxAge = 31557600;
/// RFC 8461 §3.3: senders may limit the policy body; 64 KiB is the
/// suggested limit.
inline constexpr std::size_t kStsMaxPolicyBytes = 64 * 1024;

/// A policy as parsed from `/.well-known/mta-sts.txt`.
struct StsPolicy {
  StsMode mode = StsMode::none;
  std::vector<std::string> mx;  ///< patterns as written, lower-cased
  std::int64_t max_age = 0;
  friend bool operator==(const StsPolicy&, const StsPolicy&) = default;
};

/// Parses a policy body strictly (RFC 8461 §3.2): lines end in LF or CRLF;
/// `version: STSv1` first; mode, max_age exactly once; at least one `mx:`
/// unless the mode is none; unknown keys that are well-formed are ignored.
/// The error message names the first problem and its line: "line 3: bad
/// mode \"Enforce\"".
Result<StsPolicy> parse_sts_policy(std::string_view text);

/// Parses one `_mta-sts` TXT record (RFC 8461 §3.1) and returns its id.
Result<std::string> parse_sts_txt(std::string_view record);

/// The `_mta-sts` TXT answer reduced by RFC 8461 §3.1: records that do not
/// begin with `v=STSv1` are discarded; exactly one must remain and parse.
struct StsTxtChoice {
  std::string record;  ///< the one record (empty when none begins with v=STSv1)
  std::string id;      ///< its id when valid
  StsFailure failure;  ///< none: valid; else no-txt or bad-txt(...)
};
StsTxtChoice choose_sts_txt(const std::vector<std::string>& records);

/// RFC 8461 §4.1: does MX host `host` match policy pattern `pattern`? Case
/// insensitive, a trailing dot ignored; `*.example.com` matches exactly one
/// extra leftmost label (mail.example.com, not example.com nor
/// a.b.example.com).
bool mx_match(std::string_view pattern, std::string_view host);

/// The `_smtp._tls` TXT record (RFC 8460 §3).
struct TlsRptRecord {
  std::vector<std::string> rua;  ///< mailto: and https: URIs in order
};
Result<TlsRptRecord> parse_tlsrpt_txt(std::string_view record);

/// The `_smtp._tls` answer reduced by RFC 8460 §3: records not beginning with
/// `v=TLSRPTv1` are discarded; exactly one must remain and parse. Fills
/// txt, rua and error ("no-txt", "bad-txt(...)").
TlsRptReport choose_tlsrpt_txt(const std::vector<std::string>& records);

// ---- the policy cache (RFC 8461 §5.1) -------------------------------------

/// A previous report's policy is still usable at `now`: a valid policy was
/// fetched (mode set, fetched_at set) and max_age has not run out.
bool sts_policy_fresh(const MtaStsReport& previous, std::int64_t now);

/// Before fetching: the previous policy may be reused without an HTTPS
/// fetch when it is fresh and the TXT id seen now is the id it was fetched
/// under (a changed id means a new policy to fetch, RFC 8461 §3.1).
bool sts_may_reuse(const MtaStsReport& previous, std::string_view current_id, std::int64_t now);

/// After a fetch that produced no valid policy: RFC 8461 §5.1 says a
/// still-valid cached policy keeps applying (whether the TXT vanished, the
/// DNS failed or the HTTPS fetch failed). Returns `fetched` unchanged when
/// it holds a valid policy or there is no fresh previous one; otherwise the
/// previous policy with `failure` saying what this fetch saw.
MtaStsReport sts_keep_cached(const MtaStsReport* previous, MtaStsReport fetched, std::int64_t now);

/// Fills sts.mx_match from the MX hosts and returns the domain's
/// mta_sts_enforce: yes = a valid policy in mode enforce and every MX host
/// matches some pattern; no = no policy (no TXT, bad TXT, a definite fetch
/// failure such as a certificate error, 404 or a bad policy), mode testing or
/// none, an MX host not covered, or no MX host at all; unknown = a transient
/// failure (sts_failure_transient) and no cached policy.
Tri sts_enforce(MtaStsReport& sts, const std::vector<std::string>& mx_hosts);

}  // namespace forcetls::checker
