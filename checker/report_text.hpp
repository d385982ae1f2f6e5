// Human-readable form of a DomainReport for `forcetls-check`: per MX a table
// of checks with ✔/✘/? marks, the grade with its deductions, the verdict and
// the recommendations. Pure; any thread.
#pragma once

#include <string>

#include "checker/report.hpp"

namespace forcetls::checker {

std::string to_text(const DomainReport& report);

}  // namespace forcetls::checker
