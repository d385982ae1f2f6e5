// SPDX-License-Identifier: Apache-2.0
// Eligibility pins (pins.hpp).
#include "cache/pins.hpp"

#include <cstring>

#include "common/duration_text.hpp"
#include "common/enum_names.hpp"

namespace forcetls::cache {
namespace {

constexpr NameTable<PinEvent, 6> kPinEventNames{{
    {PinEvent::none, "none"},
    {PinEvent::pinned, "pinned"},
    {PinEvent::renewed, "renewed"},
    {PinEvent::suspected, "downgrade-suspected"},
    {PinEvent::confirmed, "confirmed-ineligible"},
    {PinEvent::expired, "expired"},
}};

constexpr std::uint8_t kPinVersion = 1;
constexpr std::size_t kPinSize = 1 + 8 + 8 + 8 + 4;

template <typename T>
void put_le(std::string& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    out.push_back(static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff));
  }
}

template <typename T>
T get_le(std::string_view in, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  }
  return static_cast<T>(v);
}

}  // namespace

std::string_view to_string(PinEvent e) { return name_in(kPinEventNames, e); }

PinStep next_pin(std::optional<Pin> pin, checker::Eligibility verdict, std::int64_t now,
                 const PinOptions& options) {
  PinStep step;
  bool expired = false;
  if (pin && pin->until <= now) {
    pin.reset();
    expired = true;
  }
  switch (verdict) {
    case checker::Eligibility::eligible: {
      Pin p;
      p.pinned_at = pin ? pin->pinned_at : now;
      p.until = now + options.pin_for;
      step.event = pin ? PinEvent::renewed : PinEvent::pinned;
      step.pin = p;
      return step;
    }
    case checker::Eligibility::ineligible:
      if (!pin) {
        break;
      }
      pin->suspects += 1;
      if (pin->first_suspect == 0) {
        pin->first_suspect = now;
      }
      if (pin->suspects >= options.confirm_probes &&
          now - pin->first_suspect >= options.confirm_after) {
        step.event = PinEvent::confirmed;  // step.pin stays empty: delete it
        return step;
      }
      step.event = PinEvent::suspected;
      step.pin = pin;
      return step;
    case checker::Eligibility::unknown:
      step.pin = pin;
      break;
  }
  step.event = expired ? PinEvent::expired : PinEvent::none;
  return step;
}

void mark_downgrade_suspected(checker::DomainReport& report, const Pin& pin) {
  const std::string found =
      report.reasons.empty() ? std::string("ineligible") : format_reason(report.reasons.front());
  report.eligible = checker::Eligibility::unknown;
  report.unknown_cause = checker::UnknownCause::downgrade_suspected;
  checker::Reason why;
  why.code = "downgrade-suspected";
  why.host = found;
  why.detail = "eligible when pinned " + age_text(report.checked_at - pin.pinned_at) +
               " before; ineligible on " + std::to_string(pin.suspects) +
               " probe(s) since: held as unknown until the change is confirmed "
               "(forcetls-ctl cache unpin if it is real)";
  // The verdict with TLS 1.3 counted is never stricter: held the same way
  // when it is ineligible too, so no rule reads the suspected change as final.
  checker::EligibilityResult& loose = report.tls13_counted;
  if (loose.eligible == checker::Eligibility::ineligible) {
    loose.eligible = checker::Eligibility::unknown;
    loose.unknown_cause = checker::UnknownCause::downgrade_suspected;
    loose.reasons.insert(loose.reasons.begin(), why);
  }
  report.reasons.insert(report.reasons.begin(), std::move(why));
}

std::string encode_pin(const Pin& pin) {
  std::string out;
  out.reserve(kPinSize);
  out.push_back(static_cast<char>(kPinVersion));
  put_le(out, pin.pinned_at);
  put_le(out, pin.until);
  put_le(out, pin.first_suspect);
  put_le(out, pin.suspects);
  return out;
}

std::optional<Pin> decode_pin(std::string_view value) {
  if (value.size() != kPinSize || static_cast<std::uint8_t>(value[0]) != kPinVersion) {
    return std::nullopt;
  }
  Pin p;
  p.pinned_at = get_le<std::int64_t>(value, 1);
  p.until = get_le<std::int64_t>(value, 9);
  p.first_suspect = get_le<std::int64_t>(value, 17);
  p.suspects = get_le<std::uint32_t>(value, 25);
  if (p.until < p.pinned_at || p.first_suspect < 0) {
    return std::nullopt;
  }
  return p;
}

}  // namespace forcetls::cache
