// SPDX-License-Identifier: Apache-2.0
// Wire-format parsers; see dns_record.hpp.
#include "checker/dns/dns_record.hpp"

#include <algorithm>
#include <array>

namespace forcetls::checker {

namespace {

// RFC 1035 §2.3.4: a name is at most 255 octets on the wire.
constexpr std::size_t kMaxWireName = 255;
// Compression pointers followed before a name is declared malformed; a
// legitimate message needs at most one per label (127 labels).
constexpr int kMaxPointers = 128;

std::unexpected<Error> malformed(std::string what) {
  return fail(Errc::protocol, "malformed DNS data: " + std::move(what));
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

void append_label(std::string& out, std::span<const std::uint8_t> label) {
  if (!out.empty()) {
    out += '.';
  }
  for (std::uint8_t b : label) {
    const char c = lower(static_cast<char>(b));
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
      out += c;
    } else if (c == '.' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      const std::array<char, 4> digits{'\\', static_cast<char>('0' + b / 100),
                                       static_cast<char>('0' + b / 10 % 10),
                                       static_cast<char>('0' + b % 10)};
      out.append(digits.data(), digits.size());
    }
  }
}

std::uint16_t get16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}

std::uint32_t get32(std::span<const std::uint8_t> b, std::size_t at) {
  return (static_cast<std::uint32_t>(b[at]) << 24) | (static_cast<std::uint32_t>(b[at + 1]) << 16) |
         (static_cast<std::uint32_t>(b[at + 2]) << 8) | b[at + 3];
}

/// Shared name reader: `allow_pointers` selects message (compressed) or
/// rdata (uncompressed) rules.
Result<std::string> read_name(std::span<const std::uint8_t> wire, std::size_t& offset,
                              bool allow_pointers) {
  std::string out;
  std::size_t pos = offset;
  std::size_t wire_length = 0;
  bool jumped = false;
  int pointers = 0;
  while (true) {
    if (pos >= wire.size()) {
      return malformed("name runs past the end");
    }
    const std::uint8_t len = wire[pos];
    if ((len & 0xc0) == 0xc0) {
      if (!allow_pointers) {
        return malformed("compression pointer in uncompressed name");
      }
      if (pos + 1 >= wire.size()) {
        return malformed("truncated compression pointer");
      }
      const std::size_t target = static_cast<std::size_t>(get16(wire, pos) & 0x3fff);
      // Pointers must go backwards (to an earlier name); with the bound
      // below this rules out loops.
      if (target >= pos || ++pointers > kMaxPointers) {
        return malformed("bad compression pointer");
      }
      if (!jumped) {
        offset = pos + 2;
        jumped = true;
      }
      pos = target;
      continue;
    }
    if ((len & 0xc0) != 0) {
      return malformed("unknown label type");
    }
    wire_length += 1U + len;
    if (wire_length > kMaxWireName) {
      return malformed("name longer than 255 octets");
    }
    if (len == 0) {
      if (!jumped) {
        offset = pos + 1;
      }
      break;
    }
    if (pos + 1 + len > wire.size()) {
      return malformed("label runs past the end");
    }
    append_label(out, wire.subspan(pos + 1, len));
    pos += 1U + len;
  }
  if (out.empty()) {
    out = ".";
  }
  return out;
}

}  // namespace

std::string type_name(DnsType type) {
  switch (type) {
    case DnsType::a:
      return "A";
    case DnsType::cname:
      return "CNAME";
    case DnsType::mx:
      return "MX";
    case DnsType::txt:
      return "TXT";
    case DnsType::aaaa:
      return "AAAA";
    case DnsType::tlsa:
      return "TLSA";
  }
  return "TYPE" + std::to_string(static_cast<unsigned>(type));
}

std::string rcode_name(int value) {
  // RFC 1035 §4.1.1 and RFC 6895 §2.3.
  switch (value) {
    case rcode::noerror:
      return "NOERROR";
    case rcode::formerr:
      return "FORMERR";
    case rcode::servfail:
      return "SERVFAIL";
    case rcode::nxdomain:
      return "NXDOMAIN";
    case rcode::notimp:
      return "NOTIMP";
    case rcode::refused:
      return "REFUSED";
    default:
      return "RCODE" + std::to_string(value);
  }
}

bool TlsaRecord::usable_for_smtp() const {
  // RFC 7672 §3.1.3: PKIX-TA(0)/PKIX-EE(1) are not usable for SMTP.
  if (usage != 2 && usage != 3) {
    return false;
  }
  if (selector > 1) {
    return false;
  }
  // RFC 6698 §2.1.3: 0 = full data, 1 = SHA2-256 (32 octets), 2 = SHA2-512 (64).
  switch (matching_type) {
    case 0:
      return !data.empty();
    case 1:
      return data.size() == 32;
    case 2:
      return data.size() == 64;
    default:
      return false;
  }
}

std::string TxtRecord::joined() const {
  std::string out;
  for (const auto& s : strings) {
    out += s;
  }
  return out;
}

Result<std::string> parse_wire_name(std::span<const std::uint8_t> wire, std::size_t& offset) {
  return read_name(wire, offset, false);
}

Result<std::string> parse_message_name(std::span<const std::uint8_t> message, std::size_t& offset) {
  return read_name(message, offset, true);
}

Result<MxRecord> parse_mx_rdata(std::span<const std::uint8_t> rdata) {
  if (rdata.size() < 3) {
    return malformed("MX rdata shorter than 3 octets");
  }
  MxRecord mx;
  mx.preference = get16(rdata, 0);
  std::size_t offset = 2;
  auto name = parse_wire_name(rdata, offset);
  if (!name) {
    return std::unexpected(name.error());
  }
  if (offset != rdata.size()) {
    return malformed("trailing bytes after MX exchange");
  }
  mx.exchange = std::move(*name);
  return mx;
}

Result<asio::ip::address_v4> parse_a_rdata(std::span<const std::uint8_t> rdata) {
  if (rdata.size() != 4) {
    return malformed("A rdata is " + std::to_string(rdata.size()) + " octets, not 4");
  }
  asio::ip::address_v4::bytes_type bytes;
  std::copy(rdata.begin(), rdata.end(), bytes.begin());
  return asio::ip::address_v4(bytes);
}

Result<asio::ip::address_v6> parse_aaaa_rdata(std::span<const std::uint8_t> rdata) {
  if (rdata.size() != 16) {
    return malformed("AAAA rdata is " + std::to_string(rdata.size()) + " octets, not 16");
  }
  asio::ip::address_v6::bytes_type bytes;
  std::copy(rdata.begin(), rdata.end(), bytes.begin());
  return asio::ip::address_v6(bytes);
}

Result<std::string> parse_cname_rdata(std::span<const std::uint8_t> rdata) {
  std::size_t offset = 0;
  auto name = parse_wire_name(rdata, offset);
  if (!name) {
    return std::unexpected(name.error());
  }
  if (offset != rdata.size()) {
    return malformed("trailing bytes after CNAME target");
  }
  return name;
}

Result<TxtRecord> parse_txt_rdata(std::span<const std::uint8_t> rdata) {
  TxtRecord txt;
  std::size_t pos = 0;
  while (pos < rdata.size()) {
    const std::size_t len = rdata[pos];
    if (pos + 1 + len > rdata.size()) {
      return malformed("TXT character-string runs past the end");
    }
    const auto* begin = reinterpret_cast<const char*>(rdata.data() + pos + 1);
    txt.strings.emplace_back(begin, len);
    pos += 1 + len;
  }
  return txt;
}

Result<TlsaRecord> parse_tlsa_rdata(std::span<const std::uint8_t> rdata) {
  if (rdata.size() < 3) {
    return malformed("TLSA rdata shorter than 3 octets");
  }
  TlsaRecord tlsa;
  tlsa.usage = rdata[0];
  tlsa.selector = rdata[1];
  tlsa.matching_type = rdata[2];
  tlsa.data.assign(rdata.begin() + 3, rdata.end());
  return tlsa;
}

Result<WireMessage> parse_message(std::span<const std::uint8_t> message) {
  if (message.size() < 12) {
    return malformed("message shorter than its 12-octet header");
  }
  WireMessage out;
  out.id = get16(message, 0);
  out.flags = get16(message, 2);
  out.rcode = out.flags & 0x000f;
  const std::uint16_t qdcount = get16(message, 4);
  const std::uint16_t ancount = get16(message, 6);
  std::size_t pos = 12;
  for (std::uint16_t q = 0; q < qdcount; ++q) {
    auto name = parse_message_name(message, pos);
    if (!name) {
      return std::unexpected(name.error());
    }
    if (pos + 4 > message.size()) {
      return malformed("truncated question");
    }
    pos += 4;
  }
  for (std::uint16_t a = 0; a < ancount; ++a) {
    WireRecord rr;
    auto owner = parse_message_name(message, pos);
    if (!owner) {
      return std::unexpected(owner.error());
    }
    rr.owner = std::move(*owner);
    if (pos + 10 > message.size()) {
      return malformed("truncated resource record header");
    }
    rr.type = get16(message, pos);
    rr.klass = get16(message, pos + 2);
    rr.ttl = get32(message, pos + 4);
    rr.rdata_length = get16(message, pos + 8);
    rr.rdata_offset = pos + 10;
    if (rr.rdata_offset + rr.rdata_length > message.size()) {
      return malformed("rdata runs past the end");
    }
    pos = rr.rdata_offset + rr.rdata_length;
    out.answers.push_back(std::move(rr));
  }
  return out;
}

std::vector<std::string> cname_chain(std::span<const std::uint8_t> message, std::string_view qname,
                                     std::size_t max_links) {
  std::vector<std::string> chain;
  auto parsed = parse_message(message);
  if (!parsed) {
    return chain;
  }
  std::string current(qname);
  std::transform(current.begin(), current.end(), current.begin(), lower);
  if (current.size() > 1 && current.back() == '.') {
    current.pop_back();
  }
  const std::string start = current;
  while (chain.size() < max_links) {
    bool advanced = false;
    for (const auto& rr : parsed->answers) {
      if (rr.type != static_cast<std::uint16_t>(DnsType::cname) || rr.owner != current) {
        continue;
      }
      std::size_t at = rr.rdata_offset;
      auto target = parse_message_name(message.first(rr.rdata_offset + rr.rdata_length), at);
      if (!target || at != rr.rdata_offset + rr.rdata_length) {
        return chain;
      }
      if (*target == start || std::find(chain.begin(), chain.end(), *target) != chain.end()) {
        chain.push_back(*target);  // the loop, shown once
        return chain;
      }
      chain.push_back(*target);
      current = *target;
      advanced = true;
      break;
    }
    if (!advanced) {
      break;
    }
  }
  return chain;
}

}  // namespace forcetls::checker
