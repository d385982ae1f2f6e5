// SPDX-License-Identifier: Apache-2.0
// Eligibility pins: a report key (domain, `[host]`, with a port) once probed
// eligible is remembered as such for `pin_for`, the way MTA-STS remembers a
// policy for its max_age and HSTS a host. A later probe that finds it
// ineligible — no STARTTLS, a failed handshake, older protocols or weaker
// suites: all things an attacker on the path can cause — does not make it
// ineligible at once: it is read as unknown (UnknownCause::downgrade_suspected,
// reason `downgrade-suspected(<what the probe found>)`), kept for the short
// unknown TTL so it is probed again soon, and only after `confirm_probes`
// such probes spread over at least `confirm_after` is the change accepted and
// the pin dropped. An eligible probe renews the pin and clears the
// suspicion; an unknown one changes nothing.
//
// Each MX address a probe finds eligible is pinned as well, under its
// server key (`[192.0.2.1]`, `[2001:db8::1]:2525`): a domain with no pin of
// its own whose probe finds such a server ineligible starts a pin inherited
// from the server's (the same pinned_at and until, one suspect probe).
//
// Pins live beside the reports in the LMDB environment (database "pins"):
// eviction and `cache purge` leave them; `forcetls-ctl cache unpin` removes
// one. Pure functions here; the store applies them in its write transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "checker/report/report.hpp"

namespace forcetls::cache {

struct PinOptions {
  std::int64_t pin_for = 7 * 86400;    ///< seconds a pin lasts after its last eligible probe
  std::int64_t confirm_after = 86400;  ///< the suspect probes must span at least this
  std::uint32_t confirm_probes = 3;    ///< and number at least this many
  bool operator==(const PinOptions&) const = default;
};

struct Pin {
  std::int64_t pinned_at = 0;      ///< first eligible probe of this pin
  std::int64_t until = 0;          ///< last eligible probe + pin_for
  std::int64_t first_suspect = 0;  ///< first ineligible probe since (0: none)
  std::uint32_t suspects = 0;      ///< ineligible probes since the last eligible one
  bool suspected() const { return suspects > 0; }
  bool operator==(const Pin&) const = default;
};

enum class PinEvent : std::uint8_t {
  none,       ///< nothing changed (unknown verdict, or no pin and not eligible)
  pinned,     ///< first eligible probe: a new pin
  renewed,    ///< eligible again: the pin extended, any suspicion cleared
  suspected,  ///< ineligible under a live pin: read as downgrade-suspected
  confirmed,  ///< ineligible long and often enough: the pin is dropped
  expired,    ///< the pin ran out before this probe: gone
};
std::string_view to_string(PinEvent e);

struct PinStep {
  std::optional<Pin> pin;  ///< what to store (nullopt: delete)
  PinEvent event = PinEvent::none;
};

/// The pin after a probe with this verdict at `now`.
PinStep next_pin(std::optional<Pin> pin, checker::Eligibility verdict, std::int64_t now,
                 const PinOptions& options);

/// Reads `report` (judged ineligible) as unknown under a suspected pin: the
/// cause downgrade_suspected and one reason `downgrade-suspected(<the first
/// ineligible reason>)` ahead of the probe's own.
void mark_downgrade_suspected(checker::DomainReport& report, const Pin& pin);

/// Fixed-size value in the "pins" database; nullopt for anything else.
std::string encode_pin(const Pin& pin);
std::optional<Pin> decode_pin(std::string_view value);

}  // namespace forcetls::cache
