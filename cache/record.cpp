// SPDX-License-Identifier: Apache-2.0
// Binary record encoding. Field order is the format: reading mirrors writing
// line by line, so a field added in one place and not the other shows up as
// a round-trip test failure.
#include "cache/record.hpp"

#include <limits>

namespace forcetls::cache {
namespace {

using checker::AddressReport;
using checker::DnssecStatus;
using checker::Eligibility;
using checker::MxSource;
using checker::Tri;
using checker::UnknownCause;

// ---- writing ---------------------------------------------------------------

class Writer {
 public:
  explicit Writer(RecordKind kind) {
    out_.push_back(static_cast<char>(kRecordMagic));
    out_.push_back(static_cast<char>(kind));
    out_.push_back(static_cast<char>(kRecordVersion));
  }

  void u(std::uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void s(std::int64_t v) {
    // Zigzag: small negative numbers stay short.
    u((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
  }
  void byte(std::uint8_t b) { out_.push_back(static_cast<char>(b)); }
  template <typename E>
  void e(E value) {
    byte(static_cast<std::uint8_t>(value));
  }
  void str(const std::string& v) {
    if (v.size() > kMaxString) {
      error_ = "a string is longer than " + std::to_string(kMaxString) + " bytes";
    }
    u(v.size());
    out_.append(v);
  }
  void count(std::size_t n, std::size_t limit, const char* what) {
    if (n > limit) {
      error_ = std::string("too many ") + what + " (" + std::to_string(n) + " > " +
               std::to_string(limit) + ")";
    }
    u(n);
  }
  void strings(const std::vector<std::string>& v, const char* what) {
    count(v.size(), kMaxList, what);
    for (const std::string& x : v) {
      str(x);
    }
  }

  Result<std::string> finish() {
    if (!error_.empty()) {
      return fail(Errc::invalid_argument, "cache record: " + error_);
    }
    return std::move(out_);
  }

 private:
  std::string out_;
  std::string error_;
};

void write_address(Writer& w, const AddressReport& a) {
  w.str(a.address);
  w.u(a.port);
  w.byte(a.probed ? 1 : 0);
  w.e(a.starttls);
  w.e(a.ssl3);
  w.e(a.tls1_0);
  w.e(a.tls1_1);
  w.e(a.tls1_2);
  w.e(a.tls1_3);
  w.e(a.weak);
  w.count(a.weak_suites.size(), kMaxList, "weak suites");
  for (std::uint16_t suite : a.weak_suites) {
    w.u(suite);
  }
  w.e(a.nist_r1);
  w.e(a.nist_r2);
  w.str(a.protocol);
  w.str(a.cipher);
  w.e(a.cert.trusted);
  w.e(a.cert.expired);
  w.e(a.cert.name_match);
  w.str(a.cert.cn);
  w.strings(a.cert.sans, "certificate names");
  w.str(a.cert.issuer);
  w.str(a.cert.not_after);
  w.s(a.cert.not_after_unix);
  w.str(a.cert.verify_error);
  w.s(a.connections);
  w.str(a.error);
  w.strings(a.notes, "notes");
}

void write_mta_sts(Writer& w, const checker::MtaStsReport& m) {
  w.str(m.txt);
  w.str(m.id);
  w.str(m.mode ? std::string(to_string(*m.mode)) : std::string());
  w.strings(m.mx_patterns, "MTA-STS patterns");
  w.s(m.max_age);
  w.strings(m.mx_match, "MTA-STS matched hosts");
  w.s(m.fetched_at);
  // The text form, as version 2 always wrote it (the cached-policy note,
  // which older writers appended, is derived from the mode on reading).
  w.str(checker::to_string(m.failure));
}

void write_tlsrpt(Writer& w, const checker::TlsRptReport& t) {
  w.str(t.txt);
  w.strings(t.rua, "TLSRPT addresses");
  w.str(t.error);
}

void write_dane(Writer& w, const checker::DaneReport& d) {
  w.strings(d.tlsa, "TLSA records");
  w.e(d.usable);
  w.e(d.match);
  w.str(d.error);
}

// ---- reading ---------------------------------------------------------------

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  void failed(std::string why) {
    if (error_.empty()) {
      error_ = std::move(why);
    }
  }

  bool header(RecordKind kind) {
    if (in_.size() < 3) {
      failed("record shorter than its header");
      return false;
    }
    if (static_cast<std::uint8_t>(in_[0]) != kRecordMagic) {
      failed("not a forcetls cache record");
      return false;
    }
    if (static_cast<std::uint8_t>(in_[1]) != static_cast<std::uint8_t>(kind)) {
      failed("record of another kind");
      return false;
    }
    version_ = static_cast<std::uint8_t>(in_[2]);
    if (version_ < kOldestRecordVersion || version_ > kRecordVersion) {
      failed("record version " + std::to_string(version_) + ", expected " +
             std::to_string(kOldestRecordVersion) + ".." + std::to_string(kRecordVersion));
      return false;
    }
    pos_ = 3;
    return true;
  }
  std::uint8_t version() const { return version_; }

  std::uint64_t u() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) {
        failed("truncated number");
        return 0;
      }
      auto b = static_cast<std::uint8_t>(in_[pos_++]);
      if (shift == 63 && b > 1) {
        failed("number too large");
        return 0;
      }
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return v;
      }
    }
    failed("number too long");
    return 0;
  }
  std::int64_t s() {
    std::uint64_t z = u();
    return static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  std::uint64_t bounded(std::uint64_t max, const char* what) {
    std::uint64_t v = u();
    if (v > max) {
      failed(std::string(what) + " out of range");
      return 0;
    }
    return v;
  }
  std::uint8_t byte() {
    if (pos_ >= in_.size()) {
      failed("truncated record");
      return 0;
    }
    return static_cast<std::uint8_t>(in_[pos_++]);
  }
  bool boolean() {
    std::uint8_t b = byte();
    if (b > 1) {
      failed("bad boolean");
    }
    return b == 1;
  }
  /// An enum whose values are 0..last.
  template <typename E>
  E e(E last, const char* what) {
    std::uint8_t b = byte();
    if (b > static_cast<std::uint8_t>(last)) {
      failed(std::string("bad ") + what);
      return E{};
    }
    return static_cast<E>(b);
  }
  Tri tri() { return e(Tri::no, "yes/no/unknown value"); }
  std::string str() {
    std::string v;
    str(v);
    return v;
  }
  /// Reads into `out`, reusing its buffer (the store's hot path).
  void str(std::string& out) {
    std::uint64_t n = u();
    if (!ok()) {
      out.clear();
      return;
    }
    if (n > kMaxString || n > in_.size() - pos_) {
      failed("string length out of range");
      out.clear();
      return;
    }
    out.assign(in_.data() + pos_, n);
    pos_ += n;
  }
  std::size_t count(std::size_t limit, const char* what) {
    std::uint64_t n = u();
    // Every element takes at least one byte, so a count above what is left
    // is a lie: refuse it before reserving anything.
    if (ok() && (n > limit || n > in_.size() - pos_)) {
      failed(std::string("too many ") + what);
      return 0;
    }
    return ok() ? static_cast<std::size_t>(n) : 0;
  }
  void strings(std::vector<std::string>& out, const char* what) {
    std::size_t n = count(kMaxList, what);
    out.resize(n);
    for (std::size_t i = 0; i < n && ok(); ++i) {
      str(out[i]);
    }
  }
  bool at_end() {
    if (ok() && pos_ != in_.size()) {
      failed("trailing bytes after the record");
    }
    return ok();
  }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
  std::string error_;
  std::uint8_t version_ = 0;
};

std::uint16_t port(Reader& r) { return static_cast<std::uint16_t>(r.bounded(65535, "port")); }

void read_address(Reader& r, AddressReport& a) {
  r.str(a.address);
  a.port = port(r);
  a.probed = r.boolean();
  a.starttls = r.tri();
  a.ssl3 = r.tri();
  a.tls1_0 = r.tri();
  a.tls1_1 = r.tri();
  a.tls1_2 = r.tri();
  a.tls1_3 = r.tri();
  a.weak = r.tri();
  std::size_t n = r.count(kMaxList, "weak suites");
  a.weak_suites.resize(n);
  for (std::size_t i = 0; i < n && r.ok(); ++i) {
    a.weak_suites[i] = static_cast<std::uint16_t>(r.bounded(0xFFFF, "cipher suite"));
  }
  a.nist_r1 = r.tri();
  a.nist_r2 = r.tri();
  r.str(a.protocol);
  r.str(a.cipher);
  a.cert.trusted = r.tri();
  a.cert.expired = r.tri();
  a.cert.name_match = r.tri();
  r.str(a.cert.cn);
  r.strings(a.cert.sans, "certificate names");
  r.str(a.cert.issuer);
  r.str(a.cert.not_after);
  a.cert.not_after_unix = r.s();
  r.str(a.cert.verify_error);
  std::int64_t connections = r.s();
  if (connections < 0 || connections > std::numeric_limits<int>::max()) {
    r.failed("connection count out of range");
  }
  a.connections = static_cast<int>(connections);
  r.str(a.error);
  r.strings(a.notes, "notes");
  // Judged fields are not stored; clear what a reused object held.
  a.grade = {};
  a.recommendations.clear();
}

void read_mta_sts(Reader& r, checker::MtaStsReport& m) {
  r.str(m.txt);
  r.str(m.id);
  std::string text;
  r.str(text);
  if (!text.empty()) {
    m.mode = checker::sts_mode_from_string(text);
    if (!m.mode) {
      r.failed("bad MTA-STS mode");
    }
  }
  r.strings(m.mx_patterns, "MTA-STS patterns");
  m.max_age = r.s();
  if (m.max_age < 0) {
    r.failed("negative MTA-STS max_age");
  }
  r.strings(m.mx_match, "MTA-STS matched hosts");
  m.fetched_at = r.s();
  r.str(text);
  if (!checker::set_sts_error(m, text)) {
    r.failed("unknown MTA-STS problem");
  }
}

void read_tlsrpt(Reader& r, checker::TlsRptReport& t) {
  r.str(t.txt);
  r.strings(t.rua, "TLSRPT addresses");
  r.str(t.error);
}

void read_dane(Reader& r, checker::DaneReport& d) {
  r.strings(d.tlsa, "TLSA records");
  d.usable = r.tri();
  d.match = r.tri();
  r.str(d.error);
}

}  // namespace

std::string_view to_string(TtlClass c) {
  switch (c) {
    case TtlClass::good:
      return "good";
    case TtlClass::ineligible:
      return "ineligible";
    case TtlClass::unknown:
      return "unknown";
  }
  return "unknown";
}

Result<std::string> encode(const DomainRecord& d) {
  Writer w(RecordKind::domain);
  w.str(d.domain);
  w.s(d.checked_at);
  w.s(d.stored_at);
  w.s(d.expires_at);
  w.s(d.dns_ttl);
  w.e(d.ttl_class);
  w.e(d.eligible);
  w.e(d.source);
  w.e(d.dnssec);
  w.str(d.dns_error);
  w.e(d.dns_failure);
  w.e(d.mta_sts_enforce);
  w.e(d.dane);
  w.count(d.mx.size(), kMaxMx, "MX hosts");
  for (const MxEntry& m : d.mx) {
    w.str(m.host);
    w.u(m.priority);
    w.e(m.dnssec);
    w.str(m.dns_error);
    w.e(m.dns_failure);
    w.count(m.addresses.size(), kMaxAddresses, "addresses of one MX host");
    for (const AddressRef& a : m.addresses) {
      w.str(a.address);
      w.u(a.port);
    }
    write_dane(w, m.dane);
  }
  write_mta_sts(w, d.mta_sts);
  write_tlsrpt(w, d.tlsrpt);
  return w.finish();
}

Result<std::string> encode(const AddressRecord& a) {
  Writer w(RecordKind::address);
  w.s(a.checked_at);
  w.s(a.expires_at);
  w.e(a.ttl_class);
  write_address(w, a.report);
  return w.finish();
}

Result<DomainRecord> decode_domain(std::string_view bytes) {
  Reader r(bytes);
  DomainRecord d;
  if (r.header(RecordKind::domain)) {
    d.domain = r.str();
    d.checked_at = r.s();
    d.stored_at = r.s();
    d.expires_at = r.s();
    d.dns_ttl = r.s();
    d.ttl_class = r.e(TtlClass::unknown, "TTL class");
    d.eligible = r.e(Eligibility::ineligible, "eligibility");
    d.source = r.e(MxSource::none, "MX source");
    d.dnssec = r.e(DnssecStatus::bogus, "DNSSEC status");
    d.dns_error = r.str();
    d.dns_failure = r.e(UnknownCause::probe_failure, "unknown cause");
    d.mta_sts_enforce = r.tri();
    d.dane = r.tri();
    std::size_t n = r.count(kMaxMx, "MX hosts");
    for (std::size_t i = 0; i < n && r.ok(); ++i) {
      MxEntry m;
      m.host = r.str();
      m.priority = static_cast<std::uint16_t>(r.bounded(65535, "MX priority"));
      m.dnssec = r.e(DnssecStatus::bogus, "DNSSEC status");
      m.dns_error = r.str();
      m.dns_failure = r.e(UnknownCause::probe_failure, "unknown cause");
      std::size_t k = r.count(kMaxAddresses, "addresses of one MX host");
      for (std::size_t j = 0; j < k && r.ok(); ++j) {
        AddressRef a;
        a.address = r.str();
        a.port = port(r);
        m.addresses.push_back(std::move(a));
      }
      if (r.version() >= 2) {
        read_dane(r, m.dane);
      }
      d.mx.push_back(std::move(m));
    }
    if (r.version() >= 2) {
      read_mta_sts(r, d.mta_sts);
      read_tlsrpt(r, d.tlsrpt);
    }
    r.at_end();
  }
  if (!r.ok()) {
    return fail(Errc::protocol, "cache domain record: " + r.error());
  }
  return d;
}

Result<void> decode_address_into(std::string_view bytes, AddressRecord& a) {
  Reader r(bytes);
  if (r.header(RecordKind::address)) {
    a.checked_at = r.s();
    a.expires_at = r.s();
    a.ttl_class = r.e(TtlClass::unknown, "TTL class");
    read_address(r, a.report);
    r.at_end();
  }
  if (!r.ok()) {
    return fail(Errc::protocol, "cache address record: " + r.error());
  }
  return {};
}

Result<AddressRecord> decode_address(std::string_view bytes) {
  AddressRecord a;
  if (auto r = decode_address_into(bytes, a); !r) {
    return std::unexpected(r.error());
  }
  return a;
}

Result<RecordKind> record_kind(std::string_view bytes) {
  if (bytes.size() < 3 || static_cast<std::uint8_t>(bytes[0]) != kRecordMagic) {
    return fail(Errc::protocol, "not a forcetls cache record");
  }
  auto kind = static_cast<RecordKind>(bytes[1]);
  if (kind != RecordKind::domain && kind != RecordKind::address) {
    return fail(Errc::protocol, "unknown record kind");
  }
  return kind;
}

}  // namespace forcetls::cache
