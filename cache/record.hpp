// SPDX-License-Identifier: Apache-2.0
// The cache's stored records and their versioned binary encoding: one record
// per MX address (shared by every domain using that MX) and one per domain
// (its DNS facts and which address records it uses). Pure values; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "checker/report/report.hpp"
#include "common/error.hpp"

namespace forcetls::cache {

/// Version of the record encoding. Bump it whenever a field is added to,
/// removed from or reinterpreted in the records below (or in the checker's
/// report structs they copy); a record with an unknown version decodes as
/// an error, which the store counts and treats as a miss.
/// 2 added the domain's MTA-STS and TLSRPT facts and each MX host's DANE
/// facts; version 1 records are still read (those parts left empty; the
/// address record is unchanged).
inline constexpr std::uint8_t kRecordVersion = 2;
inline constexpr std::uint8_t kOldestRecordVersion = 1;

/// First byte of every record, so a value written by something else is
/// recognised as foreign instead of being misread.
inline constexpr std::uint8_t kRecordMagic = 0xF7;

/// Second byte: which record this is.
enum class RecordKind : std::uint8_t { domain = 'D', address = 'A' };

/// Which TTL a result earned (doc/design.md: good, ineligible, unknown).
enum class TtlClass : std::uint8_t { good, ineligible, unknown };
std::string_view to_string(TtlClass c);

/// Limits the encoder refuses to exceed and the decoder refuses to accept:
/// they keep a hostile import or a corrupt value from allocating without
/// bound. Real reports are far below them.
inline constexpr std::size_t kMaxString = 16 * 1024;
inline constexpr std::size_t kMaxList = 1024;
inline constexpr std::size_t kMaxMx = 128;
inline constexpr std::size_t kMaxAddresses = 64;  ///< per MX host

/// What was observed at one MX address (host + address + port). The judged
/// fields of the AddressReport (grade, recommendations) are not stored: the
/// store re-judges on every read.
struct AddressRecord {
  std::int64_t checked_at = 0;  ///< unix time of the probe
  std::int64_t expires_at = 0;  ///< unix time the observation stops being fresh
  TtlClass ttl_class = TtlClass::unknown;
  checker::AddressReport report;  ///< observations only
};

/// Which address record an MX host of a domain uses.
struct AddressRef {
  std::string address;
  std::uint16_t port = 25;
};

/// One MX host of a domain, without the per-address observations.
struct MxEntry {
  std::string host;
  std::uint16_t priority = 0;
  checker::DnssecStatus dnssec = checker::DnssecStatus::indeterminate;
  std::string dns_error;
  checker::UnknownCause dns_failure = checker::UnknownCause::none;
  std::vector<AddressRef> addresses;
  checker::DaneReport dane;  ///< since version 2
};

/// A domain's facts and composition. The verdict stored here is the one at
/// store time (for listing); readers re-judge the reassembled report.
struct DomainRecord {
  std::string domain;
  std::int64_t checked_at = 0;  ///< unix time the probe finished
  std::int64_t stored_at = 0;   ///< unix time the record was written
  std::int64_t expires_at = 0;  ///< min of the class TTL, the DNS TTL and the address records
  std::int64_t dns_ttl = -1;    ///< DNS TTL cap given at store time, -1 for none
  TtlClass ttl_class = TtlClass::unknown;
  checker::Eligibility eligible = checker::Eligibility::unknown;  ///< at store time
  checker::MxSource source = checker::MxSource::none;
  checker::DnssecStatus dnssec = checker::DnssecStatus::indeterminate;
  std::string dns_error;
  checker::UnknownCause dns_failure = checker::UnknownCause::none;
  checker::Tri mta_sts_enforce = checker::Tri::unknown;
  checker::Tri dane = checker::Tri::unknown;
  std::vector<MxEntry> mx;
  checker::MtaStsReport mta_sts;  ///< since version 2
  checker::TlsRptReport tlsrpt;   ///< since version 2
};

/// Encodes a record: magic, kind, version, then the fields (LEB128 varints,
/// zigzag for signed numbers, length-prefixed strings, one byte per enum).
/// Fails only when a limit above is exceeded.
Result<std::string> encode(const DomainRecord& record);
Result<std::string> encode(const AddressRecord& record);

/// Strict decoders: wrong magic, kind or version, out-of-range enums,
/// lengths past the end, limits exceeded or trailing bytes are all errors.
Result<DomainRecord> decode_domain(std::string_view bytes);
Result<AddressRecord> decode_address(std::string_view bytes);

/// decode_address() into an existing record, reusing its strings' storage
/// (the store's read path). On error `out` holds garbage.
Result<void> decode_address_into(std::string_view bytes, AddressRecord& out);

/// The kind byte of a record, or an error if the header is not ours.
Result<RecordKind> record_kind(std::string_view bytes);

}  // namespace forcetls::cache
