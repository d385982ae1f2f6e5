// SPDX-License-Identifier: Apache-2.0
// DNS record types the checker asks for, and bounds-checked parsers for their
// wire-format rdata (as libunbound hands it: uncompressed) and for the answer
// section of a whole DNS message (compressed names allowed). Pure functions
// on caller-owned bytes; any thread. Every parser rejects truncated or
// over-long input with Errc::protocol instead of reading past the end.
#pragma once

#include <asio/ip/address.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace forcetls::checker {

/// The RR types forcetls asks for (IANA "Resource Record (RR) TYPEs").
enum class DnsType : std::uint16_t {
  a = 1,      ///< RFC 1035
  cname = 5,  ///< RFC 1035
  mx = 15,    ///< RFC 1035
  txt = 16,   ///< RFC 1035
  aaaa = 28,  ///< RFC 3596
  tlsa = 52,  ///< RFC 6698
};

/// "A", "MX", ...; "TYPE<n>" for others.
std::string type_name(DnsType type);

/// DNS RCODEs that matter here (RFC 1035 §4.1.1, RFC 6895).
namespace rcode {
inline constexpr int noerror = 0;
inline constexpr int formerr = 1;
inline constexpr int servfail = 2;
inline constexpr int nxdomain = 3;
inline constexpr int notimp = 4;
inline constexpr int refused = 5;
}  // namespace rcode

/// "NOERROR", "SERVFAIL", ...; "RCODE<n>" for others.
std::string rcode_name(int rcode);

struct MxRecord {
  std::uint16_t preference = 0;
  /// Lower-case presentation form without trailing dot; "." for the root
  /// (the null MX of RFC 7505).
  std::string exchange;

  bool is_null() const { return exchange == "."; }
  friend bool operator==(const MxRecord&, const MxRecord&) = default;
};

/// RFC 6698 §2.1.
struct TlsaRecord {
  std::uint8_t usage = 0;          ///< 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE
  std::uint8_t selector = 0;       ///< 0 full certificate, 1 SubjectPublicKeyInfo
  std::uint8_t matching_type = 0;  ///< 0 exact, 1 SHA2-256, 2 SHA2-512
  std::vector<std::uint8_t> data;  ///< certificate association data

  /// Usable for SMTP per RFC 7672 §3.1: usage DANE-TA(2) or DANE-EE(3)
  /// (PKIX usages are not for SMTP), a known selector, and data of the
  /// length its matching type implies.
  bool usable_for_smtp() const;
  friend bool operator==(const TlsaRecord&, const TlsaRecord&) = default;
};

/// One TXT RR: its character-strings, kept apart (RFC 1035 §3.3.14).
struct TxtRecord {
  std::vector<std::string> strings;
  /// The strings concatenated, as MTA-STS (RFC 8461 §3.1) and SPF read them.
  std::string joined() const;
  friend bool operator==(const TxtRecord&, const TxtRecord&) = default;
};

/// Reads one uncompressed wire-format name at `offset`, advancing it. The
/// result is lower-case presentation form without trailing dot ("." for the
/// root); bytes other than letters, digits, '-' and '_' are escaped as \DDD
/// (and '.' inside a label as "\."), so the text round-trips through
/// libunbound's name parser.
Result<std::string> parse_wire_name(std::span<const std::uint8_t> wire, std::size_t& offset);

Result<MxRecord> parse_mx_rdata(std::span<const std::uint8_t> rdata);
Result<asio::ip::address_v4> parse_a_rdata(std::span<const std::uint8_t> rdata);
Result<asio::ip::address_v6> parse_aaaa_rdata(std::span<const std::uint8_t> rdata);
Result<std::string> parse_cname_rdata(std::span<const std::uint8_t> rdata);
Result<TxtRecord> parse_txt_rdata(std::span<const std::uint8_t> rdata);
Result<TlsaRecord> parse_tlsa_rdata(std::span<const std::uint8_t> rdata);

/// One resource record of a message's answer section.
struct WireRecord {
  std::string owner;  ///< presentation form, as parse_wire_name()
  std::uint16_t type = 0;
  std::uint16_t klass = 0;
  std::uint32_t ttl = 0;
  std::size_t rdata_offset = 0;  ///< into the message
  std::size_t rdata_length = 0;
};

/// A whole DNS message's header fields and answer section.
struct WireMessage {
  std::uint16_t id = 0;
  std::uint16_t flags = 0;
  int rcode = 0;
  std::vector<WireRecord> answers;
};

/// Parses header, question section and answer section of a DNS message
/// (RFC 1035 §4.1), following compression pointers with a loop bound.
Result<WireMessage> parse_message(std::span<const std::uint8_t> message);

/// Reads a possibly compressed name at `offset` of `message` (used for
/// CNAME targets inside a message); `offset` moves past the name's bytes
/// at the original position.
Result<std::string> parse_message_name(std::span<const std::uint8_t> message, std::size_t& offset);

/// The CNAME chain a message's answer section records, starting at `qname`
/// (presentation form, case-insensitive): each target in order. Stops at
/// `max_links` or when the chain loops.
std::vector<std::string> cname_chain(std::span<const std::uint8_t> message, std::string_view qname,
                                     std::size_t max_links = 16);

}  // namespace forcetls::checker
