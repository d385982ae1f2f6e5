// SPDX-License-Identifier: Apache-2.0
// Human-readable form of a DomainReport for `forcetls-check` and
// `forcetls-ctl cache show`: per MX a table of checks with their answers and
// ✔/✘/·/? marks (checker/report/marks.hpp), the grade with its deductions or why
// there is none, the verdict and the recommendations. Pure; any thread.
#pragma once

#include <string>

#include "checker/report/report.hpp"

namespace forcetls::checker {

std::string to_text(const DomainReport& report);

}  // namespace forcetls::checker
