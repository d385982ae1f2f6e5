// SPDX-License-Identifier: Apache-2.0
// Mail domain names: normalisation of what users and MTAs hand us (UTF-8 IDN,
// upper case, trailing dot) to the lower-case A-label form DNS is asked with,
// and extraction of the domain from an RCPT/MAIL address. Pure functions, no
// I/O, any thread. Returned string_views point into the caller's input.
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace forcetls::checker {

/// Longest name accepted, in presentation form without the trailing dot
/// (RFC 1035 §2.3.4: 255 octets on the wire = 253 characters).
inline constexpr std::size_t kMaxDomainLength = 253;
/// Longest label (RFC 1035 §2.3.4).
inline constexpr std::size_t kMaxLabelLength = 63;

/// Normalises a mail domain for DNS: ASCII lower case, one trailing dot
/// stripped, UTF-8 IDNs converted to A-labels (libidn2, UTS #46
/// non-transitional, so "faß.de" is "xn--fa-hia.de" as IDNA2008 registries
/// use it), existing A-labels checked. Rejected, each with a one-line
/// message (Errc::invalid_argument): empty names, address literals
/// ("[192.0.2.1]"), bare IPv4/IPv6 addresses, an all-numeric top-level label,
/// labels over 63 octets, names over 253, empty labels, characters outside
/// letters/digits/hyphen (RFC 5321 §4.1.2 sub-domain) and underscore (which
/// Postfix accepts, so forcetls must decide on it too), hyphens at a label's
/// start or end, and single-label names ("localhost", "com"): a recipient
/// domain without a dot is a local name the MTA qualifies, not something to
/// look up in public DNS.
Result<std::string> normalize_domain(std::string_view input);

/// Normalises a host name as DNS gives it (an MX target, the host of a
/// `[host]` next hop) to the same form: lower case, one trailing dot
/// stripped, UTF-8 converted to A-labels. Only the characters (as above) and
/// the sizes are checked: single labels and hyphens at a label's end are
/// what DNS may hold, and a report naming such an MX must still be stored.
Result<std::string> normalize_host(std::string_view input);

/// The domain part of a mail address as an MTA passes it: "<user@example.com>",
/// "user@example.com", ESMTP parameters after the closing '>' are ignored,
/// quoted local parts ("\"a@b\"@example.com") and source routes
/// ("<@relay.example:user@example.com>", RFC 5321 §4.1.2, the route ignored
/// as Appendix C says) are understood. Errors: the null address "<>", no '@',
/// empty local part or domain, unbalanced quotes or brackets. The domain is
/// returned as written (address literals like "[192.0.2.1]" included) —
/// normalize_domain() judges it.
Result<std::string_view> domain_of_address(std::string_view address);

/// domain_of_address() followed by normalize_domain().
Result<std::string> recipient_domain(std::string_view address);

}  // namespace forcetls::checker
