// SPDX-License-Identifier: Apache-2.0
// String forms of the report's enumerations (used by the JSON form, the
// text report and the mail log, so they are part of the stored format).
#include "checker/report/report.hpp"

#include <array>
#include <utility>

#include "common/enum_names.hpp"

namespace forcetls::checker {
namespace {

constexpr std::array<std::pair<Tri, std::string_view>, 3> kTri{{
    {Tri::unknown, "unknown"},
    {Tri::yes, "yes"},
    {Tri::no, "no"},
}};

constexpr std::array<std::pair<DnssecStatus, std::string_view>, 4> kDnssec{{
    {DnssecStatus::indeterminate, "indeterminate"},
    {DnssecStatus::insecure, "insecure"},
    {DnssecStatus::secure, "secure"},
    {DnssecStatus::bogus, "bogus"},
}};

constexpr std::array<std::pair<MxSource, std::string_view>, 4> kSource{{
    {MxSource::mx, "mx"},
    {MxSource::implicit, "implicit"},
    {MxSource::null_mx, "null-mx"},
    {MxSource::none, "none"},
}};

constexpr std::array<std::pair<Eligibility, std::string_view>, 3> kEligibility{{
    {Eligibility::unknown, "unknown"},
    {Eligibility::eligible, "yes"},
    {Eligibility::ineligible, "no"},
}};

constexpr std::array<std::pair<UnknownCause, std::string_view>, 5> kCause{{
    {UnknownCause::none, "none"},
    {UnknownCause::dns_failure, "dns-failure"},
    {UnknownCause::dnssec_bogus, "dnssec-bogus"},
    {UnknownCause::probe_failure, "probe-failure"},
    {UnknownCause::downgrade_suspected, "downgrade-suspected"},
}};

}  // namespace

std::string_view to_string(Tri t) { return name_in(kTri, t); }
std::optional<Tri> tri_from_string(std::string_view s) { return value_in(kTri, s); }
std::string_view to_string(DnssecStatus s) { return name_in(kDnssec, s); }
std::optional<DnssecStatus> dnssec_from_string(std::string_view s) { return value_in(kDnssec, s); }
std::string_view to_string(MxSource s) { return name_in(kSource, s); }
std::optional<MxSource> mx_source_from_string(std::string_view s) { return value_in(kSource, s); }
std::string_view to_string(Eligibility e) { return name_in(kEligibility, e); }
std::optional<Eligibility> eligibility_from_string(std::string_view s) {
  return value_in(kEligibility, s);
}
std::string_view to_string(UnknownCause c) { return name_in(kCause, c); }

std::string format_reason(const Reason& r) {
  if (r.host.empty()) {
    return r.code;
  }
  return r.code + "(" + r.host + ")";
}

}  // namespace forcetls::checker
