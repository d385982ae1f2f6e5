// SPDX-License-Identifier: Apache-2.0
// String forms of the report's enumerations (used by the JSON form, the
// text report and the mail log, so they are part of the stored format).
#include "checker/report/report.hpp"

#include <algorithm>
#include <array>
#include <charconv>
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

// The checker's letters (doc/checks.md, Grade), best first.
constexpr NameTable<GradeLetter, 6> kGrades{{
    {GradeLetter::A_plus, "A+"},
    {GradeLetter::A, "A"},
    {GradeLetter::B, "B"},
    {GradeLetter::C, "C"},
    {GradeLetter::D, "D"},
    {GradeLetter::F, "F"},
}};

constexpr NameTable<StsMode, 3> kStsModes{{
    {StsMode::enforce, "enforce"},
    {StsMode::testing, "testing"},
    {StsMode::none, "none"},
}};

constexpr NameTable<StsProblem, 15> kStsProblems{{
    {StsProblem::none, ""},
    {StsProblem::no_txt, "no-txt"},
    {StsProblem::bad_txt, "bad-txt"},
    {StsProblem::dns_failure, "dns-failure"},
    {StsProblem::no_policy_host, "no-policy-host"},
    {StsProblem::address_refused, "address-refused"},
    {StsProblem::connect_failed, "connect-failed"},
    {StsProblem::timeout, "timeout"},
    {StsProblem::tls_failed, "tls-failed"},
    {StsProblem::https_cert, "https-cert"},
    {StsProblem::https_error, "https-error"},
    {StsProblem::too_large, "too-large"},
    {StsProblem::http_status, "http-status"},
    {StsProblem::bad_content_type, "bad-content-type"},
    {StsProblem::bad_policy, "bad-policy"},
}};

// What sts_error() appends when a cached policy applies despite the problem.
constexpr std::string_view kCachedApplies = "; the cached policy fetched at ";

}  // namespace

std::string_view to_string(GradeLetter g) { return name_in(kGrades, g); }
std::optional<GradeLetter> grade_from_string(std::string_view s) { return value_in(kGrades, s); }
std::string_view to_string(StsMode m) { return name_in(kStsModes, m); }
std::optional<StsMode> sts_mode_from_string(std::string_view s) { return value_in(kStsModes, s); }
std::string_view to_string(StsProblem p) { return name_in(kStsProblems, p); }
std::optional<StsProblem> sts_problem_from_string(std::string_view s) {
  return value_in(kStsProblems, s);
}

std::string short_grade(const Grade& g) {
  return std::string(to_string(g.letter)) + (g.provisional ? "?" : "");
}

std::string to_string(const StsFailure& f) {
  if (!f) {
    return {};
  }
  std::string out(to_string(f.problem));
  if (!f.detail.empty()) {
    out += "(" + f.detail + ")";
  }
  return out;
}

std::optional<StsFailure> sts_failure_from_string(std::string_view text) {
  const std::string_view name = text.substr(0, text.find('('));
  std::string_view detail = text.substr(name.size());
  if (!detail.empty()) {
    if (detail.size() < 2 || detail.back() != ')') {
      return std::nullopt;
    }
    detail = detail.substr(1, detail.size() - 2);
  }
  std::optional<StsProblem> p = sts_problem_from_string(name);
  if (!p || (*p == StsProblem::none && !detail.empty())) {
    return std::nullopt;
  }
  return StsFailure{*p, std::string(detail)};
}

bool sts_failure_transient(const StsFailure& f) {
  switch (f.problem) {
    case StsProblem::dns_failure:
    case StsProblem::timeout:
    case StsProblem::connect_failed:
      return true;
    case StsProblem::http_status: {
      int status = 0;
      const char* end = f.detail.data() + f.detail.size();
      auto [at, ec] = std::from_chars(f.detail.data(), end, status);
      return ec == std::errc{} && at == end && status >= 500 && status <= 599;
    }
    default:
      return false;
  }
}

std::string sts_error(const MtaStsReport& m) {
  std::string out = to_string(m.failure);
  if (m.failure && m.mode) {
    out += std::string(kCachedApplies) + std::to_string(m.fetched_at) + " applies";
  }
  return out;
}

bool set_sts_error(MtaStsReport& m, std::string_view text) {
  // The note sts_error() appends (derived from the mode and fetched_at), only
  // as a whole suffix: a detail may quote anything the policy host sent.
  if (auto cached = text.rfind(kCachedApplies); cached != std::string_view::npos) {
    std::string_view note = text.substr(cached + kCachedApplies.size());
    constexpr std::string_view kApplies = " applies";
    if (note.ends_with(kApplies)) {
      note.remove_suffix(kApplies.size());
      if (!note.empty() && note.size() <= 20 &&
          std::all_of(note.begin(), note.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
        text = text.substr(0, cached);
      }
    }
  }
  std::optional<StsFailure> f = sts_failure_from_string(text);
  if (!f) {
    return false;
  }
  m.failure = std::move(*f);
  return true;
}

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
