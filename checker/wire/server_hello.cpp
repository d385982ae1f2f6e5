// SPDX-License-Identifier: Apache-2.0
// ServerHello / alert parsing and classification. Wire formats: RFC 5246 §6.2
// (records), §7.2 (alerts), §7.4.1.3 (ServerHello); RFC 8446 §4.1.3-4.1.4
// (supported_versions, HelloRetryRequest, downgrade sentinels). Every length is
// checked against the bytes actually present: the peer is hostile.
#include "checker/wire/server_hello.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace forcetls::checker {
namespace {

constexpr std::uint8_t kChangeCipherSpec = 20;
constexpr std::uint8_t kAlert = 21;
constexpr std::uint8_t kHandshake = 22;
constexpr std::uint8_t kApplicationData = 23;
constexpr std::uint8_t kHeartbeat = 24;
constexpr std::size_t kMaxRecordPayload = 16384;  // 2^14, plaintext records (RFC 5246 §6.2.1)

// RFC 8446 §4.1.3: SHA-256("HelloRetryRequest").
constexpr std::uint8_t kHelloRetryRandom[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};
// RFC 8446 §4.1.3 downgrade sentinels: "DOWNGRD" followed by 01 or 00.
constexpr std::uint8_t kDowngradePrefix[7] = {0x44, 0x4F, 0x57, 0x4E, 0x47, 0x52, 0x44};

// Alert descriptions: RFC 8446 §6, RFC 5246 §7.2, RFC 6066 §3/§9, RFC 7507.
struct AlertName {
  std::uint8_t code;
  std::string_view name;
};
constexpr AlertName kAlertNames[] = {
    {0, "close_notify"},
    {10, "unexpected_message"},
    {20, "bad_record_mac"},
    {21, "decryption_failed"},
    {22, "record_overflow"},
    {30, "decompression_failure"},
    {40, "handshake_failure"},
    {41, "no_certificate"},
    {42, "bad_certificate"},
    {43, "unsupported_certificate"},
    {44, "certificate_revoked"},
    {45, "certificate_expired"},
    {46, "certificate_unknown"},
    {47, "illegal_parameter"},
    {48, "unknown_ca"},
    {49, "access_denied"},
    {50, "decode_error"},
    {51, "decrypt_error"},
    {60, "export_restriction"},
    {70, "protocol_version"},
    {71, "insufficient_security"},
    {80, "internal_error"},
    {86, "inappropriate_fallback"},
    {90, "user_canceled"},
    {100, "no_renegotiation"},
    {109, "missing_extension"},
    {110, "unsupported_extension"},
    {111, "certificate_unobtainable"},
    {112, "unrecognized_name"},
    {113, "bad_certificate_status_response"},
    {114, "bad_certificate_hash_value"},
    {115, "unknown_psk_identity"},
    {116, "certificate_required"},
    {120, "no_application_protocol"},
};

// doc/checks.md: these alerts in answer to the hello mean "not accepted".
constexpr std::uint8_t kRefusalAlerts[] = {40, 70, 71};

std::string printable(std::span<const std::uint8_t> bytes, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < max; ++i) {
    std::uint8_t b = bytes[i];
    if (b == '\r' || b == '\n') {
      break;
    }
    if (b >= 0x20 && b < 0x7F && b != '\\') {
      out += static_cast<char>(b);
    } else {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\x%02X", b);
      out += esc;
    }
  }
  return out;
}

std::string hex16(std::uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04X", v);
  return buf;
}

// A bounds-checked cursor over a byte span.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> data) : data_(data) {}
  std::size_t left() const { return data_.size() - pos_; }
  bool u8(std::uint8_t& v) {
    if (left() < 1) {
      return false;
    }
    v = data_[pos_++];
    return true;
  }
  bool u16(std::uint16_t& v) {
    if (left() < 2) {
      return false;
    }
    v = static_cast<std::uint16_t>(data_[pos_] << 8 | data_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool bytes(std::size_t n, std::span<const std::uint8_t>& out) {
    if (left() < n) {
      return false;
    }
    out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
};

std::string version_text(std::uint16_t v) {
  auto known = version_from_wire(v);
  return known ? std::string(version_name(*known)) : hex16(v);
}

}  // namespace

std::string alert_name(std::uint8_t description) {
  for (const AlertName& a : kAlertNames) {
    if (a.code == description) {
      return std::string(a.name);
    }
  }
  return "alert_" + std::to_string(description);
}

std::string_view garbage_kind_name(GarbageKind kind) {
  switch (kind) {
    case GarbageKind::plaintext:
      return "plaintext";
    case GarbageKind::sslv2:
      return "sslv2";
    case GarbageKind::bad_record:
      return "bad_record";
    case GarbageKind::bad_message:
      return "bad_message";
    case GarbageKind::unexpected_message:
      return "unexpected_message";
    case GarbageKind::oversized:
      return "oversized";
  }
  return "unknown";
}

std::string_view acceptance_name(Acceptance a) {
  switch (a) {
    case Acceptance::accepted:
      return "accepted";
    case Acceptance::not_accepted:
      return "not_accepted";
    case Acceptance::server_bug:
      return "server_bug";
    case Acceptance::unknown:
      return "unknown";
  }
  return "unknown";
}

std::optional<ServerHello> parse_server_hello_body(std::span<const std::uint8_t> body,
                                                   std::string* why) {
  auto bad = [why](std::string text) -> std::optional<ServerHello> {
    if (why != nullptr) {
      *why = std::move(text);
    }
    return std::nullopt;
  };
  ServerHello sh;
  Reader r(body);
  std::span<const std::uint8_t> random;
  std::uint8_t sid_len = 0;
  std::span<const std::uint8_t> sid;
  if (!r.u16(sh.legacy_version) || !r.bytes(32, random) || !r.u8(sid_len)) {
    return bad("ServerHello truncated before the session id");
  }
  if (sid_len > 32) {
    return bad("ServerHello session id of " + std::to_string(sid_len) + " bytes (max 32)");
  }
  if (!r.bytes(sid_len, sid) || !r.u16(sh.cipher_suite) || !r.u8(sh.compression)) {
    return bad("ServerHello truncated before the compression method");
  }
  std::copy(random.begin(), random.end(), sh.random.begin());
  sh.session_id.assign(sid.begin(), sid.end());
  if (r.left() > 0) {
    std::uint16_t ext_len = 0;
    if (!r.u16(ext_len) || ext_len != r.left()) {
      return bad("ServerHello extensions length does not match the message");
    }
    sh.has_extensions = true;
    while (r.left() > 0) {
      std::uint16_t type = 0;
      std::uint16_t len = 0;
      std::span<const std::uint8_t> data;
      if (!r.u16(type) || !r.u16(len) || !r.bytes(len, data)) {
        return bad("ServerHello extension overruns its block");
      }
      for (const TlsExtension& e : sh.extensions) {
        if (e.type == type) {
          return bad("ServerHello repeats extension " + std::to_string(type));
        }
      }
      sh.extensions.push_back({type, std::vector<std::uint8_t>(data.begin(), data.end())});
      Reader ext(data);
      if (type == hello_ext::supported_versions) {
        std::uint16_t v = 0;
        if (!ext.u16(v) || ext.left() != 0) {
          return bad("ServerHello supported_versions is not 2 bytes");
        }
        sh.supported_version = v;
      } else if (type == hello_ext::key_share) {
        std::uint16_t group = 0;
        if (!ext.u16(group)) {
          return bad("ServerHello key_share truncated");
        }
        sh.key_share_group = group;
        if (ext.left() > 0) {  // ServerHello: KeyShareEntry; HRR: the group alone
          std::uint16_t klen = 0;
          std::span<const std::uint8_t> key;
          if (!ext.u16(klen) || !ext.bytes(klen, key) || ext.left() != 0 || klen == 0) {
            return bad("ServerHello key_share entry malformed");
          }
        }
      }
    }
  }
  sh.hello_retry_request = std::equal(random.begin(), random.end(), std::begin(kHelloRetryRandom));
  if (std::equal(std::begin(kDowngradePrefix), std::end(kDowngradePrefix), random.begin() + 24)) {
    if (random[31] == 0x01) {
      sh.downgrade = Downgrade::tls1_2;
    } else if (random[31] == 0x00) {
      sh.downgrade = Downgrade::tls1_1;
    }
  }
  return sh;
}

const ServerReply& ServerHelloParser::feed(std::span<const std::uint8_t> bytes) {
  if (done()) {
    return reply_;
  }
  std::size_t take = std::min(bytes.size(), kMaxBytes - seen_);
  buf_.insert(buf_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
  seen_ += take;
  step();
  if (!done() && seen_ >= kMaxBytes) {
    finish(Garbage{GarbageKind::oversized, "no ServerHello or alert in the first 32 KiB"});
  }
  return reply_;
}

void ServerHelloParser::step() {
  while (!done()) {
    std::span<const std::uint8_t> avail(buf_.data() + pos_, buf_.size() - pos_);
    if (avail.empty()) {
      return;
    }
    const std::uint8_t type = avail[0];
    if (first_record_ && (type & 0x80) != 0) {
      // SSL 2.0 records start with a 2-byte length whose high bit is set.
      finish(Garbage{GarbageKind::sslv2, "SSLv2 record: " + printable(avail, 16)});
      return;
    }
    if (type < kChangeCipherSpec || type > kHeartbeat) {
      if (first_record_) {
        finish(Garbage{GarbageKind::plaintext, printable(avail, 120)});
      } else {
        finish(Garbage{GarbageKind::bad_record, "record content type " + std::to_string(type)});
      }
      return;
    }
    if (avail.size() >= 3 && (avail[1] != 3 || avail[2] > 4)) {
      finish(Garbage{first_record_ ? GarbageKind::plaintext : GarbageKind::bad_record,
                     "record version " +
                         hex16(static_cast<std::uint16_t>(avail[1] << 8 | avail[2])) + ": " +
                         printable(avail, 120)});
      return;
    }
    if (avail.size() < 5) {
      return;
    }
    const std::uint16_t version = static_cast<std::uint16_t>(avail[1] << 8 | avail[2]);
    const std::size_t len = static_cast<std::size_t>(avail[3] << 8 | avail[4]);
    if (len > kMaxRecordPayload) {
      finish(Garbage{GarbageKind::bad_record, "record of " + std::to_string(len) + " bytes"});
      return;
    }
    if (len == 0 && type != kApplicationData) {
      // RFC 5246 §6.2.1: no zero-length handshake, alert or CCS fragments.
      finish(Garbage{GarbageKind::bad_record, "empty record of type " + std::to_string(type)});
      return;
    }
    if (avail.size() < 5 + len) {
      return;
    }
    std::span<const std::uint8_t> payload = avail.subspan(5, len);
    pos_ += 5 + len;
    first_record_ = false;
    record_version_ = version;
    switch (type) {
      case kHandshake:
        hs_.insert(hs_.end(), payload.begin(), payload.end());
        handshake_messages();
        break;
      case kAlert:
        alert_.insert(alert_.end(), payload.begin(), payload.end());
        alerts();
        break;
      case kChangeCipherSpec:
        finish(
            Garbage{GarbageKind::unexpected_message, "change_cipher_spec before the ServerHello"});
        break;
      case kApplicationData:
        finish(Garbage{GarbageKind::unexpected_message, "application data before the ServerHello"});
        break;
      default:
        finish(Garbage{GarbageKind::unexpected_message, "heartbeat before the ServerHello"});
        break;
    }
  }
}

void ServerHelloParser::handshake_messages() {
  while (!done()) {
    std::span<const std::uint8_t> avail(hs_.data() + hs_pos_, hs_.size() - hs_pos_);
    if (avail.size() < 4) {
      return;
    }
    const std::uint8_t type = avail[0];
    const std::size_t len = static_cast<std::size_t>(avail[1]) << 16 |
                            static_cast<std::size_t>(avail[2]) << 8 | avail[3];
    if (len > kMaxBytes) {
      finish(Garbage{GarbageKind::oversized,
                     "handshake message of " + std::to_string(len) + " bytes"});
      return;
    }
    if (avail.size() < 4 + len) {
      return;
    }
    std::span<const std::uint8_t> body = avail.subspan(4, len);
    hs_pos_ += 4 + len;
    if (type == 0) {  // hello_request: clients ignore it during a handshake (RFC 5246 §7.4.1.1)
      if (len != 0) {
        finish(Garbage{GarbageKind::bad_message, "hello_request with a body"});
      }
      continue;
    }
    if (type != 2) {
      finish(Garbage{GarbageKind::unexpected_message,
                     "handshake message type " + std::to_string(type) + " before the ServerHello"});
      return;
    }
    std::string why;
    std::optional<ServerHello> sh = parse_server_hello_body(body, &why);
    if (!sh) {
      finish(Garbage{GarbageKind::bad_message, why});
      return;
    }
    sh->record_version = record_version_;
    finish(std::move(*sh));
  }
}

void ServerHelloParser::alerts() {
  while (!done() && alert_.size() - alert_pos_ >= 2) {
    Alert a{alert_[alert_pos_], alert_[alert_pos_ + 1]};
    alert_pos_ += 2;
    if (a.level != 1 && a.level != 2) {
      finish(Garbage{GarbageKind::bad_message, "alert level " + std::to_string(a.level)});
      return;
    }
    // Warnings other than close_notify do not end a handshake: some servers
    // send unrecognized_name as a warning and then their ServerHello.
    if (a.level == 1 && a.description != 0) {
      warnings_.push_back(a);
      continue;
    }
    finish(a);
  }
}

ProbeResult classify(const ServerReply& reply, const ClientHelloOptions& offered) {
  ProbeResult out;
  if (std::holds_alternative<NeedMore>(reply)) {
    out.reason = "no complete answer";
    return out;
  }
  if (const Garbage* g = std::get_if<Garbage>(&reply)) {
    const bool tls_but_broken =
        g->kind == GarbageKind::bad_message || g->kind == GarbageKind::unexpected_message;
    out.acceptance = tls_but_broken ? Acceptance::server_bug : Acceptance::unknown;
    out.reason = std::string(garbage_kind_name(g->kind)) + ": " + g->detail;
    return out;
  }
  if (const Alert* a = std::get_if<Alert>(&reply)) {
    const bool refusal =
        a->description == 0 || std::find(std::begin(kRefusalAlerts), std::end(kRefusalAlerts),
                                         a->description) != std::end(kRefusalAlerts);
    out.acceptance = refusal ? Acceptance::not_accepted : Acceptance::unknown;
    out.reason =
        std::string(a->level == 1 ? "warning" : "fatal") + " alert " + alert_name(a->description);
    return out;
  }
  const ServerHello& sh = std::get<ServerHello>(reply);
  out.suite = sh.cipher_suite;
  out.hello_retry = sh.hello_retry_request;
  out.downgrade = sh.downgrade;
  const bool offered13 = offered.version == TlsVersion::tls1_3;
  const std::uint16_t selected = sh.selected_version();
  out.version = version_from_wire(selected);
  auto bug = [&out](std::string why) {
    out.acceptance = Acceptance::server_bug;
    out.reason = std::move(why);
    return out;
  };

  // Version: ≤ TLS 1.2 hellos allow any version from SSL 3.0 up to client_version;
  // TLS 1.3 hellos the supported_versions list, or (from a server that ignores
  // the extension) a legacy version up to the legacy_version 0x0303 we sent.
  if (sh.supported_version) {
    const TlsVersion low =
        offered13 && offered.lowest_version ? *offered.lowest_version : TlsVersion::tls1_3;
    if (!offered13) {
      return bug("supported_versions " + version_text(selected) + " in answer to a " +
                 std::string(version_name(offered.version)) + " hello without it");
    }
    if (selected > wire(TlsVersion::tls1_3) || selected < wire(low)) {
      return bug("selected " + version_text(selected) + ", not offered");
    }
    if (selected < wire(TlsVersion::tls1_3)) {
      // RFC 8446 §4.2.1: the extension is only for TLS 1.3 and later.
      return bug("supported_versions selecting " + version_text(selected));
    }
  } else {
    const std::uint16_t top = offered13 ? wire(TlsVersion::tls1_2) : wire(offered.version);
    if (selected > top || selected < wire(TlsVersion::ssl3)) {
      return bug("selected " + version_text(selected) + ", above the offer");
    }
  }
  if (sh.hello_retry_request && selected != wire(TlsVersion::tls1_3)) {
    return bug("HelloRetryRequest without selecting TLS 1.3");
  }
  if (std::find(offered.suites.begin(), offered.suites.end(), sh.cipher_suite) ==
      offered.suites.end()) {
    return bug("selected suite " + display_name(sh.cipher_suite) + ", not offered");
  }
  if (!valid_at(sh.cipher_suite, *out.version)) {
    return bug("selected suite " + display_name(sh.cipher_suite) + ", not valid with " +
               version_text(selected));
  }
  if (sh.compression != 0) {
    return bug("selected compression method " + std::to_string(sh.compression) + ", not offered");
  }
  out.acceptance = Acceptance::accepted;
  out.reason = std::string(sh.hello_retry_request ? "HelloRetryRequest " : "ServerHello ") +
               version_text(selected) + " " + display_name(sh.cipher_suite);
  return out;
}

ProbeResult classify(const ServerHelloParser& parser, const ClientHelloOptions& offered,
                     StreamEnd end) {
  if (parser.done()) {
    return classify(parser.reply(), offered);
  }
  ProbeResult out;
  if (end == StreamEnd::timeout) {
    out.reason = "timeout waiting for the ServerHello";
    return out;
  }
  const char* how = end == StreamEnd::reset ? "reset" : "closed";
  if (parser.pending_bytes() > 0) {
    out.reason = std::string(how) + " in the middle of a record (" +
                 std::to_string(parser.bytes_seen()) + " bytes received)";
    return out;
  }
  out.acceptance = Acceptance::not_accepted;
  out.reason = std::string("connection ") + how + " in answer to the ClientHello";
  return out;
}

}  // namespace forcetls::checker
