// SPDX-License-Identifier: Apache-2.0
// Domain-name normalisation for policy patterns, recipients and senders:
// lower case, no trailing dot, IDN U-labels converted to A-labels (libidn2,
// IDNA2008 with UTS #46 non-transitional mapping). Pure; any thread.
// checker/report/domain_name.hpp owns the project's normaliser; these forward to it
// so policy rules and milter lookups can never disagree on a name. Nothing
// else in policy/ or conf/ normalises names.
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace forcetls::policy {

/// `Bücher.Example.` -> `xn--bcher-kva.example`. Errors (Errc::invalid_argument)
/// for an empty name, an empty label, a label over 63 or a name over 253
/// octets, characters outside letters/digits/`-`, single-label names and IDN
/// that libidn2 refuses. IP literals (`[192.0.2.1]`) are not domain names.
Result<std::string> normalize_domain(std::string_view name);

/// The normalised domain of an address: `<Bob@Example.COM>` -> `example.com`.
/// Takes the part after the last `@` (so quoted local parts that contain `@`
/// work), strips one pair of angle brackets; a bare domain is accepted too.
/// Errors: no domain, an IP literal, or a domain normalize_domain refuses.
Result<std::string> domain_of_address(std::string_view address);

}  // namespace forcetls::policy
