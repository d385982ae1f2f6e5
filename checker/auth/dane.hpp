// SPDX-License-Identifier: Apache-2.0
// DANE for SMTP (RFC 7672): which TLSA records are usable, arming OpenSSL's
// own DANE verification on a client SSL before the handshake, reading its
// verdict after it, and the per-MX / per-domain summary for the report.
// DaneVerifier is immutable after for_host() and shared read-only between
// coroutines of one io_context thread; the free functions are pure, any thread.
#pragma once

#include <openssl/ssl.h>

#include <optional>
#include <string>
#include <vector>

#include "checker/dns/dns.hpp"
#include "checker/dns/mx_resolver.hpp"
#include "checker/report/report.hpp"

namespace forcetls::checker {

/// RFC 6698 §2.2 presentation form: "3 1 1 ab12..." (data in lower-case hex).
std::string tlsa_presentation(const TlsaRecord& record);

/// Why `record` is unusable for SMTP (RFC 7672 §3.1.3: PKIX-TA(0) / PKIX-EE(1)
/// are not for SMTP; RFC 6698 §2.1: unknown usage, selector or matching type,
/// or data of the wrong length); empty when it is usable.
std::string tlsa_unusable_reason(const TlsaRecord& record);

/// What OpenSSL's DANE check found at one address.
struct DaneOutcome {
  Tri match = Tri::unknown;  ///< unknown: no completed handshake, or DANE not armed
  /// yes: the record that matched ("3 1 1 ab12... matched the leaf");
  /// no: OpenSSL's verify error; unknown: why not known.
  std::string detail;
};

/// The usable TLSA records of one MX host, ready to be armed on client SSLs.
class DaneVerifier {
 public:
  /// Null when no record is usable. `names` are the reference identifiers
  /// for DANE-TA(2) name checks: the MX host name first, then the
  /// CNAME-expanded name when the TLSA records came from it (RFC 7672 §3.2.2).
  static std::optional<DaneVerifier> for_host(std::vector<std::string> names,
                                              const std::vector<TlsaRecord>& records);

  /// What arm() left behind on one SSL; pass it to outcome().
  struct Armed {
    int records = 0;    ///< records OpenSSL accepted
    std::string error;  ///< SSL_dane_enable / SSL_dane_tlsa_add failure
  };

  /// Before the ClientHello (TlsHandshakeOptions::before_handshake):
  /// SSL_dane_enable with the MX host as base domain, no name checks for
  /// DANE-EE(3) (RFC 7672 §3.1.1), no partial wildcards (§3.2.3), every
  /// usable record. The context must have had SSL_CTX_dane_enable().
  Armed arm(SSL* ssl) const;

  /// After a completed handshake: OpenSSL's verdict (SSL_get_verify_result,
  /// SSL_get0_dane_tlsa). The PKIX checks of the report are separate and
  /// untouched: verification runs with SSL_VERIFY_NONE and only reports.
  DaneOutcome outcome(SSL* ssl, const Armed& armed) const;

  /// The usable records, presentation form, in DNS order.
  const std::vector<std::string>& usable() const { return usable_text_; }
  /// One string naming the host and the usable records (a cache key).
  std::string key() const;

 private:
  DaneVerifier() = default;
  std::vector<std::string> names_;
  std::vector<TlsaRecord> usable_;
  std::vector<std::string> usable_text_;
};

/// The DaneReport of one MX host from its TLSA lookup and, for each of its
/// addresses in order, the outcome there (nullopt: not probed). Records that
/// exist but none usable, or usable ones that match nowhere, say so in
/// `error`; "does not apply" states (no secure TLSA) are usable = match = no;
/// lookup failures and addresses without a completed handshake are unknown.
DaneReport dane_report(const TlsaResult& tlsa, const std::vector<std::optional<DaneOutcome>>& at);

/// The domain's DANE fact: yes when every MX host with addresses has
/// match == yes, no when some has match == no (or there is no mail host),
/// unknown otherwise. Hosts without addresses and without a DNS failure are
/// skipped (no MTA delivers there either).
Tri domain_dane(const DomainReport& report);

}  // namespace forcetls::checker
