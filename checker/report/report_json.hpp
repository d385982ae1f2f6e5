// SPDX-License-Identifier: Apache-2.0
// JSON form of a DomainReport: the `forcetls-check --json` output and the
// portable form `forcetls-ctl cache export/import` moves between machines.
// Pure; any thread. Reading is strict: a document that does not decode is an
// Error, never a half-filled report.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "checker/report/report.hpp"
#include "common/error.hpp"

namespace forcetls::checker {

/// The "format" number written. 2 added mta_sts, tlsrpt and per-MX dane
/// objects; format 1 documents are still read (those parts left empty).
/// `marks`, `graded` and `not_graded_reason` joined format 2 later without a
/// new number: they are derived from the answers, readers recompute rather
/// than read them, and a reader that meets them ignores them as unknown keys
/// — while a 3 would make every reader of today refuse the whole document.
inline constexpr int kReportFormat = 2;

/// The report as JSON (keys documented in README "forcetls-check --json").
nlohmann::json to_json(const DomainReport& report);

/// Parses what to_json wrote. Unknown keys are ignored (newer writers);
/// missing or mistyped known keys are an error naming the key.
Result<DomainReport> report_from_json(const nlohmann::json& doc);

/// Convenience: serialise / parse text.
std::string to_json_text(const DomainReport& report, int indent = -1);
Result<DomainReport> report_from_json_text(std::string_view text);

}  // namespace forcetls::checker
