// SPDX-License-Identifier: Apache-2.0
// ClientHello construction. Layout: RFC 5246 §7.4.1.2 (SSL 3.0 .. TLS 1.2),
// RFC 8446 §4.1.2 (TLS 1.3); extensions from RFC 6066, RFC 8422, RFC 8446,
// RFC 7685.
#include "checker/wire/client_hello.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <random>

#include "checker/report/next_hop.hpp"

namespace forcetls::checker {
namespace {

// Groups for ≤ TLS 1.2 ECDHE: x25519, secp256r1, secp384r1, secp521r1, x448
// (RFC 8422 §5.1.1, RFC 8446 §4.2.7). No FFDHE groups: under RFC 7919 a server
// that knows none of the listed FFDHE groups must not pick a DHE suite, so
// listing a few would hide DHE suites of servers with other groups.
constexpr std::uint16_t kGroupsTls12[] = {0x001D, 0x0017, 0x0018, 0x0019, 0x001E};
// TLS 1.3 adds all five RFC 7919 FFDHE groups (ffdhe2048 .. ffdhe8192).
constexpr std::uint16_t kGroupsTls13[] = {0x001D, 0x0017, 0x0018, 0x0019, 0x001E,
                                          0x0100, 0x0101, 0x0102, 0x0103, 0x0104};

// SignatureScheme values (RFC 8446 §4.2.3), broad enough for old servers with
// DSA or SHA-1 certificates: ECDSA, EdDSA, RSA-PSS, PKCS#1, then SHA-224/SHA-1
// and DSA code points from RFC 5246 §7.4.1.4.1.
constexpr std::uint16_t kSignatureSchemes[] = {
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0809, 0x080A, 0x080B, 0x0401,
    0x0501, 0x0601, 0x0303, 0x0301, 0x0302, 0x0402, 0x0502, 0x0602, 0x0203, 0x0201, 0x0202};

// RFC 7748 §6.1: Alice's X25519 public key (a valid, non-low-order point).
constexpr std::uint8_t kX25519Public[32] = {
    0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54, 0x74, 0x8b, 0x7d, 0xdc, 0xb4, 0x3e, 0xf7, 0x5a,
    0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38, 0x1a, 0xf4, 0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b, 0x4e, 0x6a};

// SEC 2 §2.4.2: the secp256r1 base point G, uncompressed (0x04 || x || y).
constexpr std::uint8_t kP256Generator[65] = {
    0x04, 0x6B, 0x17, 0xD1, 0xF2, 0xE1, 0x2C, 0x42, 0x47, 0xF8, 0xBC, 0xE6, 0xE5,
    0x63, 0xA4, 0x40, 0xF2, 0x77, 0x03, 0x7D, 0x81, 0x2D, 0xEB, 0x33, 0xA0, 0xF4,
    0xA1, 0x39, 0x45, 0xD8, 0x98, 0xC2, 0x96, 0x4F, 0xE3, 0x42, 0xE2, 0xFE, 0x1A,
    0x7F, 0x9B, 0x8E, 0xE7, 0xEB, 0x4A, 0x7C, 0x0F, 0x9E, 0x16, 0x2B, 0xCE, 0x33,
    0x57, 0x6B, 0x31, 0x5E, 0xCE, 0xCB, 0xB6, 0x40, 0x68, 0x37, 0xBF, 0x51, 0xF5};

using Bytes = std::vector<std::uint8_t>;

void put8(Bytes& out, unsigned v) { out.push_back(static_cast<std::uint8_t>(v)); }
void put16(Bytes& out, unsigned v) {
  put8(out, (v >> 8) & 0xFF);
  put8(out, v & 0xFF);
}
void put_bytes(Bytes& out, std::span<const std::uint8_t> b) {
  out.insert(out.end(), b.begin(), b.end());
}

// Length-prefixed block: reserve `width` bytes at open(), patch them at close().
class Block {
 public:
  Block(Bytes& out, int width) : out_(out), at_(out.size()), width_(width) {
    out.resize(out.size() + static_cast<std::size_t>(width));
  }
  void close() {
    std::size_t len = out_.size() - at_ - static_cast<std::size_t>(width_);
    for (int i = 0; i < width_; ++i) {
      out_[at_ + static_cast<std::size_t>(i)] =
          static_cast<std::uint8_t>(len >> (8 * (width_ - 1 - i)));
    }
  }

 private:
  Bytes& out_;
  std::size_t at_;
  int width_;
};

void put_extension(Bytes& out, std::uint16_t type, const Bytes& body) {
  put16(out, type);
  put16(out, static_cast<unsigned>(body.size()));
  put_bytes(out, body);
}

Bytes u16_list(std::span<const std::uint16_t> values, int prefix_width) {
  Bytes b;
  Block list(b, prefix_width);
  for (std::uint16_t v : values) {
    put16(b, v);
  }
  list.close();
  return b;
}

// RFC 6066 §3: HostName is an ASCII DNS name (A-labels), no trailing dot.
Result<std::string> sni_name(std::string name) {
  if (!name.empty() && name.back() == '.') {
    name.pop_back();
  }
  if (name.empty() || normalize_address(name)) {
    return std::string();
  }
  if (name.size() > 253) {
    return fail(Errc::invalid_argument, "server name longer than 253 bytes");
  }
  std::size_t label = 0;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) {
      return fail(Errc::invalid_argument, "server name has a byte outside [A-Za-z0-9._-]");
    }
    if (c == '.' && label == 0) {
      return fail(Errc::invalid_argument, "server name has an empty label");
    }
    label = c == '.' ? 0 : label + 1;
    if (label > 63) {
      return fail(Errc::invalid_argument, "server name has a label longer than 63 bytes");
    }
  }
  return name;
}

// The offer must be non-empty, fit one hello with the SCSV, and list each
// suite once (the SCSV is added by the hello itself).
Result<void> check_suites(const std::vector<std::uint16_t>& suites) {
  if (suites.empty()) {
    return fail(Errc::invalid_argument, "no cipher suites to offer");
  }
  if (suites.size() + 1 > kMaxHelloSuites) {
    return fail(Errc::invalid_argument, "more than 126 cipher suites in one hello");
  }
  std::vector<std::uint16_t> sorted = suites;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end() ||
      std::binary_search(sorted.begin(), sorted.end(), kRenegotiationInfoScsv)) {
    return fail(Errc::invalid_argument, "duplicate cipher suite (or the SCSV) in the offer");
  }
  return {};
}

// The ClientHello body (after the 4-byte handshake header) up to the
// extensions: version, random, session id, cipher suites, compression.
Bytes hello_fields(TlsVersion top, const std::vector<std::uint16_t>& suites,
                   const RandomSource& random) {
  const bool tls13 = top == TlsVersion::tls1_3;
  Bytes body;
  put16(body, tls13 ? wire(TlsVersion::tls1_2) : wire(top));
  std::array<std::uint8_t, 32> client_random{};
  random(client_random);
  put_bytes(body, client_random);
  if (tls13) {
    std::array<std::uint8_t, 32> session_id{};
    random(session_id);
    put8(body, session_id.size());
    put_bytes(body, session_id);
  } else {
    put8(body, 0);
  }
  Block list(body, 2);
  for (std::uint16_t s : suites) {
    put16(body, s);
  }
  // RFC 5746 §3.3: signal secure renegotiation with the SCSV, which SSL 3.0
  // hellos (no extensions) can carry too.
  put16(body, kRenegotiationInfoScsv);
  list.close();
  put8(body, 1);  // compression methods: null only
  put8(body, 0);
  return body;
}

// server_name body: a ServerNameList with one host_name entry.
Bytes server_name_body(const std::string& host) {
  Bytes b;
  Block list(b, 2);
  put8(b, 0);  // host_name
  Block name(b, 2);
  put_bytes(b, std::span(reinterpret_cast<const std::uint8_t*>(host.data()), host.size()));
  name.close();
  list.close();
  return b;
}

// supported_versions body: `top` down to `lowest` (never below SSL 3.0).
Bytes supported_versions_body(TlsVersion top, TlsVersion lowest) {
  Bytes versions;
  for (unsigned v = wire(top); v >= wire(lowest) && v >= wire(TlsVersion::ssl3); --v) {
    put16(versions, v);
  }
  Bytes b;
  put8(b, versions.size());
  put_bytes(b, versions);
  return b;
}

// key_share body: fixed x25519 and secp256r1 shares.
Bytes key_share_body() {
  Bytes shares;
  Block list(shares, 2);
  put16(shares, 0x001D);
  put16(shares, sizeof kX25519Public);
  put_bytes(shares, kX25519Public);
  put16(shares, 0x0017);
  put16(shares, sizeof kP256Generator);
  put_bytes(shares, kP256Generator);
  list.close();
  return shares;
}

// Every extension but padding, in wire order.
Bytes hello_extensions(const ClientHelloOptions& options, const std::string& host) {
  const TlsVersion top = options.version;
  const bool tls13 = top == TlsVersion::tls1_3;
  const TlsVersion lowest = tls13 && options.lowest_version ? *options.lowest_version : top;
  // signature_algorithms only when TLS 1.2 (or 1.3) is on offer.
  const bool offers_tls12_plus = wire(top) >= wire(TlsVersion::tls1_2);
  const bool ecc = tls13 || std::any_of(options.suites.begin(), options.suites.end(), needs_ecc);
  Bytes exts;
  if (!host.empty()) {
    put_extension(exts, hello_ext::server_name, server_name_body(host));
  }
  if (ecc) {
    put_extension(exts, hello_ext::supported_groups, u16_list(offered_groups(top), 2));
    put_extension(exts, hello_ext::ec_point_formats, Bytes{1, 0});  // uncompressed
  }
  if (offers_tls12_plus) {
    put_extension(exts, hello_ext::signature_algorithms, u16_list(kSignatureSchemes, 2));
  }
  if (tls13) {
    put_extension(exts, hello_ext::supported_versions, supported_versions_body(top, lowest));
    put_extension(exts, hello_ext::psk_key_exchange_modes, Bytes{1, 1});  // psk_dhe_ke
    put_extension(exts, hello_ext::key_share, key_share_body());
  }
  return exts;
}

// RFC 7685 §4: hellos of 256..511 bytes make some servers hang; pad the body
// to 512 when it (or the message with its 4-byte header) would land there.
void pad_extensions(Bytes& exts, std::size_t fields_size, bool padding) {
  std::size_t len = fields_size + 2 + exts.size();
  if (padding && len + 4 >= 256 && len < 512) {
    std::size_t pad = 512 - len;
    pad = pad >= 4 ? pad - 4 : 0;
    put_extension(exts, hello_ext::padding, Bytes(pad, 0));
  }
}

// The body as a client_hello handshake message in one handshake record.
Bytes handshake_record(const Bytes& body, TlsVersion top) {
  Bytes record;
  put8(record, 22);  // handshake
  put16(record, top == TlsVersion::ssl3 ? wire(TlsVersion::ssl3) : wire(TlsVersion::tls1_0));
  Block rec(record, 2);
  put8(record, 1);  // client_hello
  Block msg(record, 3);
  put_bytes(record, body);
  msg.close();
  rec.close();
  return record;
}

}  // namespace

RandomSource system_random() {
  return [](std::span<std::uint8_t> out) {
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) == 1) {
      return;
    }
    std::random_device rd;
    for (std::uint8_t& b : out) {
      b = static_cast<std::uint8_t>(rd());
    }
  };
}

std::span<const std::uint16_t> offered_groups(TlsVersion version) {
  if (version == TlsVersion::tls1_3) {
    return kGroupsTls13;
  }
  return kGroupsTls12;
}

Result<std::vector<std::uint8_t>> build_client_hello(const ClientHelloOptions& options,
                                                     const RandomSource& random) {
  if (auto checked = check_suites(options.suites); !checked) {
    return std::unexpected(checked.error());
  }
  auto host = sni_name(options.server_name);
  if (!host) {
    return std::unexpected(host.error());
  }
  Bytes body = hello_fields(options.version, options.suites, random);
  if (options.version != TlsVersion::ssl3) {
    Bytes exts = hello_extensions(options, *host);
    pad_extensions(exts, body.size(), options.padding);
    put16(body, exts.size());
    put_bytes(body, exts);
  }
  Bytes record = handshake_record(body, options.version);
  if (record.size() - 5 > 16384) {
    return fail(Errc::invalid_argument, "ClientHello larger than one record");
  }
  return record;
}

}  // namespace forcetls::checker
