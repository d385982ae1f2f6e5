// SPDX-License-Identifier: Apache-2.0
// Judgement: grade, Forced-TLS eligibility and recommendations from the
// observations in a DomainReport (doc/checks.md, Grade, Eligibility,
// Recommendations). Pure functions; any thread.
#pragma once

#include "checker/report/report.hpp"

namespace forcetls::checker {

struct JudgeOptions {
  /// Let TLS 1.3 satisfy "TLS 1.0 and/or TLS 1.2" and, since SP 800-52r2
  /// lists TLS 1.3 suites, an accepted r2 suite under TLS 1.3 satisfy the
  /// cipher rule. Off by default: the rule is the user's.
  bool tls13_counts = false;
};

/// Applies the eligibility rule to the observations (ignores stored verdicts).
EligibilityResult eligibility(const DomainReport& report, const JudgeOptions& options = {});

/// The eligibility rule for one MX address alone (STARTTLS, TLS 1.0/1.2, a
/// NIST SP 800-52r1 suite): unknown when the probe got no answer.
Eligibility address_eligibility(const AddressReport& address, const JudgeOptions& options = {});

/// Grades one address (points, deductions, provisional mark).
Grade grade_address(const AddressReport& address, std::string_view host);

/// Letter for a score: >=92 A, >=75 B, >=60 C, >=40 D, else F (A+ needs
/// MTA-STS enforce or DANE and is decided by judge()).
GradeLetter letter_for(int score);

/// Plain-language recommendations for one address of `host`.
std::vector<std::string> recommendations(const AddressReport& address, std::string_view host);

/// The one judging point: fills every judged field (address, MX and domain
/// grades, recommendations, the verdict and its reasons under `options`, and
/// `tls13_counted`). Called where a report is completed — by the prober when
/// a probe ends and by the cache when it reassembles a report from its
/// records —; every other reader takes the judged fields as they are. A+ (doc/checks.md): an MX or
/// domain grade of 100 without unknown answers, with `mta_sts_enforce` yes or DANE matching
/// (`mx.dane.match` for an MX, `report.dane` for the domain); both are inputs, set by the prober.
/// A TLSA recommendation is added per MX whose records exist but do not
/// authenticate. The eligibility verdict never looks at DANE or MTA-STS.
void judge(DomainReport& report, const JudgeOptions& options = {});

/// A report for a domain the prober could not answer for (it failed or ran
/// out of time): no MX, `dns_failure` = `cause` (so it judges unknown with
/// that cause wherever it is judged again), `reason` as the one reason.
DomainReport unknown_report(std::string domain, std::int64_t checked_at, UnknownCause cause,
                            Reason reason);

}  // namespace forcetls::checker
