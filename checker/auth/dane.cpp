// SPDX-License-Identifier: Apache-2.0
// DANE for SMTP: see dane.hpp. Sources: RFC 7672 (SMTP security via
// opportunistic DANE TLS), RFC 6698 §2 (TLSA fields), RFC 7671 (DANE
// operational updates), OpenSSL's SSL_CTX_dane_enable(3).
#include "checker/auth/dane.hpp"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "checker/tls/tls_channel.hpp"

namespace forcetls::checker {
namespace {

std::string hex(const std::vector<std::uint8_t>& data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (std::uint8_t b : data) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0f];
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) {
      out += sep;
    }
    out += p;
  }
  return out;
}

}  // namespace

std::string tlsa_presentation(const TlsaRecord& record) {
  std::string out = std::to_string(record.usage) + " " + std::to_string(record.selector) + " " +
                    std::to_string(record.matching_type);
  if (!record.data.empty()) {
    out += " " + hex(record.data);
  }
  return out;
}

std::string tlsa_unusable_reason(const TlsaRecord& record) {
  // RFC 7218 acronyms for the messages; RFC 7672 §3.1.3 for the PKIX usages.
  switch (record.usage) {
    case 0:
      return "usage 0 (PKIX-TA) is not used for SMTP (RFC 7672 §3.1.3)";
    case 1:
      return "usage 1 (PKIX-EE) is not used for SMTP (RFC 7672 §3.1.3)";
    case 2:
    case 3:
      break;
    default:
      return "unknown usage " + std::to_string(record.usage);
  }
  if (record.selector > 1) {
    return "unknown selector " + std::to_string(record.selector);
  }
  switch (record.matching_type) {
    case 0:
      if (record.data.empty()) {
        return "empty association data";
      }
      break;
    case 1:
      if (record.data.size() != 32) {
        return "SHA2-256 data of " + std::to_string(record.data.size()) + " octets, not 32";
      }
      break;
    case 2:
      if (record.data.size() != 64) {
        return "SHA2-512 data of " + std::to_string(record.data.size()) + " octets, not 64";
      }
      break;
    default:
      return "unknown matching type " + std::to_string(record.matching_type);
  }
  return "";
}

std::optional<DaneVerifier> DaneVerifier::for_host(std::vector<std::string> names,
                                                   const std::vector<TlsaRecord>& records) {
  DaneVerifier v;
  for (std::string& n : names) {
    if (n.ends_with('.')) {
      n.pop_back();
    }
    if (!n.empty()) {
      v.names_.push_back(std::move(n));
    }
  }
  if (v.names_.empty()) {
    return std::nullopt;
  }
  for (const TlsaRecord& r : records) {
    if (tlsa_unusable_reason(r).empty()) {
      v.usable_.push_back(r);
      v.usable_text_.push_back(tlsa_presentation(r));
    }
  }
  if (v.usable_.empty()) {
    return std::nullopt;
  }
  return v;
}

DaneVerifier::Armed DaneVerifier::arm(SSL* ssl) const {
  Armed armed;
  ERR_clear_error();
  // Sets the reference identifier for DANE-TA(2) name checks (and SNI only
  // when none was set; the handshake already sent the MX host name).
  if (SSL_dane_enable(ssl, names_.front().c_str()) <= 0) {
    armed.error = "SSL_dane_enable: " + drain_openssl_errors();
    return armed;
  }
  // RFC 7672 §3.1.1: with DANE-EE(3) the names (and dates) of the
  // certificate are not checked; OpenSSL checks names unless told not to.
  SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
  // RFC 7672 §3.2.3: a wildcard only as the whole left-most label.
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  for (std::size_t i = 1; i < names_.size(); ++i) {
    if (SSL_add1_host(ssl, names_[i].c_str()) != 1) {
      armed.error = "SSL_add1_host: " + drain_openssl_errors();
      return armed;
    }
  }
  for (const TlsaRecord& r : usable_) {
    int added =
        SSL_dane_tlsa_add(ssl, r.usage, r.selector, r.matching_type, r.data.data(), r.data.size());
    if (added > 0) {
      ++armed.records;
    } else if (added < 0) {
      armed.error = "SSL_dane_tlsa_add: " + drain_openssl_errors();
      return armed;
    }
    // 0: OpenSSL finds the record unusable (e.g. Full(0) data that does not
    // parse): RFC 7671 §4 says to ignore it, as Postfix does.
  }
  drain_openssl_errors();
  return armed;
}

DaneOutcome DaneVerifier::outcome(SSL* ssl, const Armed& armed) const {
  if (!armed.error.empty()) {
    return {Tri::unknown, "DANE not set up: " + armed.error};
  }
  if (armed.records == 0) {
    return {Tri::no, "OpenSSL finds none of the TLSA records usable"};
  }
  if (SSL_get0_peer_certificate(ssl) == nullptr) {
    return {Tri::unknown, "the server sent no certificate"};
  }
  const long verify = SSL_get_verify_result(ssl);
  std::uint8_t usage = 0;
  std::uint8_t selector = 0;
  std::uint8_t mtype = 0;
  const unsigned char* data = nullptr;
  std::size_t length = 0;
  const int depth = SSL_get0_dane_tlsa(ssl, &usage, &selector, &mtype, &data, &length);
  if (verify == X509_V_OK && depth >= 0) {
    TlsaRecord matched{.usage = usage, .selector = selector, .matching_type = mtype, .data = {}};
    if (data != nullptr) {
      matched.data.assign(data, data + length);
    }
    return {Tri::yes, tlsa_presentation(matched) +
                          (depth == 0 ? " matched the server certificate"
                                      : " matched the issuer at depth " + std::to_string(depth))};
  }
  if (verify == X509_V_OK) {
    // Cannot happen with records armed; never call it a DANE match.
    return {Tri::no, "verified without DANE"};
  }
  return {Tri::no, X509_verify_cert_error_string(verify)};
}

std::string DaneVerifier::key() const { return join(names_, ",") + "|" + join(usable_text_, ","); }

namespace {

void does_not_apply(DaneReport& d, std::string why) {
  d.usable = Tri::no;
  d.match = Tri::no;
  d.error = std::move(why);
}

// The report of a TLSA lookup that found no records to match; false (and
// `d` untouched) when records were found.
bool report_without_records(const TlsaResult& tlsa, DaneReport& d) {
  switch (tlsa.state) {
    case TlsaState::not_looked_up:
      // An insecure MX or address answer: DANE does not apply (RFC 7672
      // §2.2). Anything else that stopped the lookup (bogus, lookups off)
      // leaves the question open.
      if (tlsa.stopped_by == DnssecStatus::insecure) {
        does_not_apply(d, "not looked up: " + tlsa.reason);
      } else {
        d.error = "not looked up: " + tlsa.reason;
      }
      return true;
    case TlsaState::none:
      does_not_apply(d, "no TLSA records (" + tlsa.reason + ")");
      return true;
    case TlsaState::insecure:
      does_not_apply(d, "TLSA answer not DNSSEC-secure: " + tlsa.reason);
      return true;
    case TlsaState::failure:
      // RFC 7672 §2.2: the MTA may not deliver to the host at all.
      d.error = tlsa.reason.empty() ? "TLSA lookup failed" : tlsa.reason;
      return true;
    case TlsaState::found:
      break;
  }
  return false;
}

// d.match from the addresses' outcomes against the `usable` records: no when
// any address mismatched, unknown when any is open or none was probed.
void judge_outcomes(const std::vector<std::string>& usable,
                    const std::vector<std::optional<DaneOutcome>>& at, DaneReport& d) {
  std::vector<std::string> mismatches;
  std::vector<std::string> open;
  std::size_t matched = 0;
  for (const std::optional<DaneOutcome>& o : at) {
    if (!o) {
      open.push_back("an address was not probed");
      continue;
    }
    switch (o->match) {
      case Tri::yes:
        ++matched;
        break;
      case Tri::no:
        mismatches.push_back(o->detail);
        break;
      case Tri::unknown:
        open.push_back(o->detail);
        break;
    }
  }
  if (!mismatches.empty()) {
    d.match = Tri::no;
    d.error = "certificate does not match TLSA " + join(usable, ", ") + " (" +
              join(mismatches, "; ") + ")";
  } else if (!open.empty() || matched == 0) {
    d.match = Tri::unknown;
    d.error = open.empty() ? "no address probed" : "not verified: " + join(open, "; ");
  } else {
    d.match = Tri::yes;
  }
}

}  // namespace

DaneReport dane_report(const TlsaResult& tlsa, const std::vector<std::optional<DaneOutcome>>& at) {
  DaneReport d;
  for (const TlsaRecord& r : tlsa.records) {
    d.tlsa.push_back(tlsa_presentation(r));
  }
  if (report_without_records(tlsa, d)) {
    return d;
  }
  std::vector<std::string> usable;
  std::vector<std::string> why_not;
  for (const TlsaRecord& r : tlsa.records) {
    std::string why = tlsa_unusable_reason(r);
    if (why.empty()) {
      usable.push_back(tlsa_presentation(r));
    } else {
      why_not.push_back(tlsa_presentation(r) + ": " + why);
    }
  }
  if (usable.empty()) {
    does_not_apply(d, "no usable TLSA records" +
                          (why_not.empty() ? std::string() : " (" + join(why_not, "; ") + ")"));
    return d;
  }
  d.usable = Tri::yes;
  judge_outcomes(usable, at, d);
  return d;
}

Tri domain_dane(const DomainReport& report) {
  if (report.dns_failure != UnknownCause::none) {
    return Tri::unknown;
  }
  if (report.source != MxSource::mx && report.source != MxSource::implicit) {
    return Tri::no;
  }
  bool any_host = false;
  bool any_unknown = false;
  for (const MxReport& mx : report.mx) {
    if (mx.addresses.empty()) {
      any_unknown = any_unknown || mx.dns_failure != UnknownCause::none;
      continue;
    }
    any_host = true;
    if (mx.dane.match == Tri::no) {
      return Tri::no;
    }
    any_unknown = any_unknown || mx.dane.match == Tri::unknown;
  }
  if (any_unknown) {
    return Tri::unknown;
  }
  return any_host ? Tri::yes : Tri::no;
}

}  // namespace forcetls::checker
