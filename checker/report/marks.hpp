// SPDX-License-Identifier: Apache-2.0
// How each row of a report reads — good, bad, information or unknown — and
// whether a grade was earned at all. The one place that judges a row: the
// text report prints these marks, the JSON carries them beside the raw
// answers. Derived from the answers on demand, never stored (the cache and
// the JSON readers keep only the answers). Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checker/report/report.hpp"

namespace forcetls::checker {

/// The mark of a row, by the grade and the eligibility rule (judgement.hpp):
/// bad is a fault to fix — the grade deducts for it, the rule fails on it, or
/// it lets down the senders that apply it (a broken MTA-STS policy, TLSA
/// records that authenticate nothing); good is the answer the rules want;
/// info counts for neither (TLS 1.0 and 1.1 either way, TLS 1.3 not offered,
/// no MTA-STS or DANE published); unknown: the answer is unknown.
enum class Mark : std::uint8_t { unknown, good, bad, info };

/// "unknown", "good", "bad", "info" (the JSON `marks` values).
std::string_view to_string(Mark m);

/// One check of one address, as both forms of the report show it.
struct CheckRow {
  std::string_view group;     ///< JSON object holding the raw answer: "" (the address) or "cert"
  std::string_view key;       ///< its JSON key, e.g. "tls1_0", "weak_ciphers_off", "trusted"
  std::string label;          ///< the question in words, e.g. "TLS 1.0 accepted"
  Tri answer = Tri::unknown;  ///< the raw answer, exactly as the JSON key holds it
  Mark mark = Mark::unknown;
  std::string detail;  ///< suites, dates, errors; may be empty
};

/// The rows of one address of MX `host`, in report order.
std::vector<CheckRow> check_rows(const AddressReport& address, std::string_view host);

/// The domain's MTA-STS: good when `enforce` covers every MX; bad when a
/// policy is published but cannot be fetched or parsed, or `enforce` leaves an
/// MX out; info when none is published or the mode is testing or none.
Mark mta_sts_mark(const DomainReport& report);

/// One MX host's DANE: good when every address is authenticated; bad when
/// TLSA records exist but none is usable or none matches (judge() recommends
/// a fix); info when there are no records (or DANE does not apply).
Mark dane_mark(const DaneReport& dane);

/// Why a report, an MX host or an address carries no grade of its own: its
/// servers were never probed, or answered nothing, so the grade judge()
/// filled in (F 0/100 or A 100/100, provisional) stands for no finding.
struct NotGraded {
  /// dnssec-bogus, dns-failure, null-mx, no-mail-server, no-mx-address,
  /// address-refused, probe-failed (the eligibility reason codes).
  std::string code;
  std::string why;  ///< in words, for the text report
};

/// nullopt: the address was probed and some answer is known.
std::optional<NotGraded> not_graded(const AddressReport& address);
/// nullopt: some address of the host is graded.
std::optional<NotGraded> not_graded(const MxReport& mx);
/// nullopt: some MX host is graded.
std::optional<NotGraded> not_graded(const DomainReport& report);

}  // namespace forcetls::checker
