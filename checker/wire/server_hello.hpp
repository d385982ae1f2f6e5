// SPDX-License-Identifier: Apache-2.0
// Reading a server's answer to a probe ClientHello: an incremental parser (bytes
// may arrive in any split, at most 32 KiB are buffered) that stops at the first
// ServerHello, fatal alert or non-TLS data, and the classification of that answer
// against what the hello offered (doc/checks.md). One parser per connection; the
// parser is not thread-safe, the free functions are pure.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "checker/report/cipher_suites.hpp"
#include "checker/wire/client_hello.hpp"

namespace forcetls::checker {

struct TlsExtension {
  std::uint16_t type = 0;
  std::vector<std::uint8_t> data;
};

/// RFC 8446 §4.1.3 downgrade sentinel in the last 8 bytes of ServerHello.random.
enum class Downgrade : std::uint8_t {
  none,
  tls1_2,  ///< "DOWNGRD\x01": a TLS 1.3 server negotiated TLS 1.2
  tls1_1,  ///< "DOWNGRD\x00": a TLS 1.2+ server negotiated TLS 1.1 or below
};

struct ServerHello {
  std::uint16_t record_version = 0;  ///< of the record that completed the message
  std::uint16_t legacy_version = 0;  ///< ServerHello.server_version / legacy_version
  std::array<std::uint8_t, 32> random{};
  std::vector<std::uint8_t> session_id;
  std::uint16_t cipher_suite = 0;
  std::uint8_t compression = 0;
  bool has_extensions = false;  ///< an extensions block was present (even if empty)
  std::vector<TlsExtension> extensions;
  std::optional<std::uint16_t> supported_version;  ///< the supported_versions extension
  std::optional<std::uint16_t> key_share_group;    ///< the key_share extension's group
  bool hello_retry_request = false;                ///< random is the RFC 8446 HRR value
  Downgrade downgrade = Downgrade::none;
  /// The version the server selected: supported_version if present, else legacy_version.
  std::uint16_t selected_version() const {
    return supported_version ? *supported_version : legacy_version;
  }
};

struct Alert {
  std::uint8_t level = 0;  ///< 1 warning, 2 fatal
  std::uint8_t description = 0;
};
/// "handshake_failure", ... (RFC 8446 §6, RFC 5246 §7.2); "alert_N" if unknown.
std::string alert_name(std::uint8_t description);

enum class GarbageKind : std::uint8_t {
  plaintext,           ///< not a TLS record: e.g. an SMTP reply line
  sslv2,               ///< an SSL 2.0 record header (high bit set)
  bad_record,          ///< TLS-looking record with impossible header fields
  bad_message,         ///< a malformed ServerHello or alert
  unexpected_message,  ///< well-formed TLS, but not what may come first
  oversized,           ///< more than 32 KiB (or a longer message) before an answer
};
std::string_view garbage_kind_name(GarbageKind kind);

struct Garbage {
  GarbageKind kind = GarbageKind::plaintext;
  std::string detail;  ///< one line, printable (non-printing bytes as \xNN)
};

struct NeedMore {};

/// The parser's verdict so far.
using ServerReply = std::variant<NeedMore, ServerHello, Alert, Garbage>;

class ServerHelloParser {
 public:
  static constexpr std::size_t kMaxBytes = 32 * 1024;

  /// Feeds the next bytes read from the connection. Returns the reply so far;
  /// once it is not NeedMore it is final and further bytes are ignored.
  const ServerReply& feed(std::span<const std::uint8_t> bytes);
  /// For transports that pass everything read so far on each call (the
  /// RawEnough predicate of checker/smtp/raw_exchange.hpp): feeds only the bytes
  /// beyond those already fed. `all` must extend what earlier calls passed.
  const ServerReply& feed_cumulative(std::span<const std::uint8_t> all) {
    return all.size() > seen_ ? feed(all.subspan(seen_)) : reply_;
  }
  const ServerReply& reply() const { return reply_; }
  bool done() const { return !std::holds_alternative<NeedMore>(reply_); }
  /// Bytes fed before the answer was complete.
  std::size_t bytes_seen() const { return seen_; }
  /// Buffered bytes of an incomplete record or message (0 at a clean boundary).
  std::size_t pending_bytes() const {
    return (buf_.size() - pos_) + (hs_.size() - hs_pos_) + (alert_.size() - alert_pos_);
  }
  /// Warning-level alerts skipped before the answer (e.g. unrecognized_name).
  const std::vector<Alert>& warnings() const { return warnings_; }

 private:
  void step();
  void handshake_messages();
  void alerts();
  void finish(ServerReply r) { reply_ = std::move(r); }

  ServerReply reply_ = NeedMore{};
  // Each buffer only grows (at most kMaxBytes in all); a cursor marks what was
  // consumed, so hostile streams of tiny records cost no quadratic copying.
  std::vector<std::uint8_t> buf_;    // record bytes as received
  std::vector<std::uint8_t> hs_;     // handshake payload across records
  std::vector<std::uint8_t> alert_;  // alert payload across records
  std::size_t pos_ = 0;
  std::size_t hs_pos_ = 0;
  std::size_t alert_pos_ = 0;
  std::vector<Alert> warnings_;
  std::size_t seen_ = 0;
  std::uint16_t record_version_ = 0;
  bool first_record_ = true;
};

/// Parses one ServerHello handshake body (after the 4-byte message header).
/// Exposed for tests and the lab's emulator; nullopt + `why` when malformed.
std::optional<ServerHello> parse_server_hello_body(std::span<const std::uint8_t> body,
                                                   std::string* why);

/// What one probe established.
enum class Acceptance : std::uint8_t {
  accepted,      ///< ServerHello (or HelloRetryRequest) choosing what was offered
  not_accepted,  ///< refusal alert, or close/reset in answer to the hello
  server_bug,    ///< a ServerHello choosing something not offered, or malformed: recorded, not
                 ///< counted
  unknown,       ///< no usable answer (timeout, non-TLS data, unusual alert, connection trouble)
};
std::string_view acceptance_name(Acceptance a);

struct ProbeResult {
  Acceptance acceptance = Acceptance::unknown;
  std::optional<TlsVersion> version;  ///< negotiated (accepted; server_bug when readable)
  std::uint16_t suite = 0;            ///< chosen (accepted; server_bug when readable)
  bool hello_retry = false;           ///< accepted through a HelloRetryRequest
  Downgrade downgrade = Downgrade::none;
  std::string reason;  ///< one line for notes and logs
};

/// How the connection ended when the parser had no answer.
enum class StreamEnd : std::uint8_t { closed, reset, timeout };

/// Classifies a final reply against the hello's offer:
/// - ServerHello whose version and suite were offered, the suite valid at that
///   version, compression null -> accepted;
/// - HelloRetryRequest (RFC 8446 §4.1.4) selecting TLS 1.3 and an offered TLS
///   1.3 suite -> accepted for TLS 1.3: the server agreed to version and suite
///   and only asks for a key share in another group;
/// - anything else in a ServerHello (version above the offer, suite not offered
///   or invalid at the version, supported_versions without having been offered,
///   compression) or a malformed one -> server_bug;
/// - fatal alert handshake_failure / protocol_version / insufficient_security,
///   or close_notify -> not_accepted; any other alert -> unknown (it may mean the
///   hello was not understood, which must never read as "no");
/// - plaintext, SSLv2, impossible record headers, oversize -> unknown.
ProbeResult classify(const ServerReply& reply, const ClientHelloOptions& offered);

/// The same, for a connection that ended (or timed out) after the hello was
/// sent: with a final reply, classify(reply); otherwise a close or reset at a
/// record boundary is not_accepted, a close mid-record or a timeout unknown.
ProbeResult classify(const ServerHelloParser& parser, const ClientHelloOptions& offered,
                     StreamEnd end);

}  // namespace forcetls::checker
