// SPDX-License-Identifier: Apache-2.0
// JSON (de)serialisation of reports with nlohmann::json. Tri-states are the
// strings yes/no/unknown, as the JSON contract says.
#include "checker/report/report_json.hpp"

#include <nlohmann/json.hpp>

#include "checker/report/cipher_suites.hpp"
#include "checker/report/marks.hpp"

namespace forcetls::checker {
namespace {

using nlohmann::json;

json grade_json(const Grade& g) {
  json deductions = json::array();
  for (const Deduction& d : g.deductions) {
    deductions.push_back({{"points", d.points}, {"what", d.what}});
  }
  return {{"letter", to_string(g.letter)},
          {"score", g.score},
          {"provisional", g.provisional},
          {"deductions", deductions}};
}

// The marks (checker/report/marks.hpp) beside the raw answers: `marks` mirrors the
// keys it judges; `graded` false with a `not_graded_reason` code says `grade`
// stands for no finding. Derived from the answers, so the reader ignores them.
json address_marks(const AddressReport& a, std::string_view host) {
  json marks = json::object();
  for (const CheckRow& row : check_rows(a, host)) {
    json& into = row.group.empty() ? marks : marks[std::string(row.group)];
    into[std::string(row.key)] = to_string(row.mark);
  }
  return marks;
}

template <typename Judged>
std::string not_graded_code(const Judged& judged) {
  std::optional<NotGraded> why = not_graded(judged);
  return why ? why->code : "";
}

json address_json(const AddressReport& a, std::string_view host) {
  json weak_names = json::array();
  for (std::uint16_t s : a.weak_suites) {
    weak_names.push_back(display_name(s));
  }
  return {
      {"address", a.address},
      {"port", a.port},
      {"probed", a.probed},
      {"starttls", to_string(a.starttls)},
      {"ssl3", to_string(a.ssl3)},
      {"tls1_0", to_string(a.tls1_0)},
      {"tls1_1", to_string(a.tls1_1)},
      {"tls1_2", to_string(a.tls1_2)},
      {"tls1_3", to_string(a.tls1_3)},
      {"weak_ciphers_off", to_string(a.weak == Tri::yes  ? Tri::no
                                     : a.weak == Tri::no ? Tri::yes
                                                         : Tri::unknown)},
      {"weak_ciphers", weak_names},
      {"weak_cipher_codes", a.weak_suites},
      {"nist_r1", to_string(a.nist_r1)},
      {"nist_r2", to_string(a.nist_r2)},
      {"protocol", a.protocol},
      {"cipher", a.cipher},
      {"cert",
       {{"cn", a.cert.cn},
        {"sans", a.cert.sans},
        {"issuer", a.cert.issuer},
        {"trusted", to_string(a.cert.trusted)},
        {"expired", to_string(a.cert.expired)},
        {"name_match", to_string(a.cert.name_match)},
        {"not_after", a.cert.not_after},
        {"not_after_unix", a.cert.not_after_unix},
        {"verify_error", a.cert.verify_error}}},
      {"connections", a.connections},
      {"error", a.error},
      {"notes", a.notes},
      {"grade", to_string(a.grade.letter)},
      {"grade_detail", grade_json(a.grade)},
      {"recommendations", a.recommendations},
      {"marks", address_marks(a, host)},
      {"graded", !not_graded(a)},
      {"not_graded_reason", not_graded_code(a)},
  };
}

json mta_sts_json(const MtaStsReport& m) {
  return {{"txt", m.txt},
          {"id", m.id},
          {"mode", m.mode ? to_string(*m.mode) : ""},
          {"mx_patterns", m.mx_patterns},
          {"max_age", m.max_age},
          {"mx_match", m.mx_match},
          {"fetched_at", m.fetched_at},
          {"error", sts_error(m)}};
}

json tlsrpt_json(const TlsRptReport& t) {
  return {{"txt", t.txt}, {"rua", t.rua}, {"error", t.error}};
}

json dane_json(const DaneReport& d) {
  return {{"tlsa", d.tlsa},
          {"usable", to_string(d.usable)},
          {"match", to_string(d.match)},
          {"error", d.error}};
}

// ---- strict reading -------------------------------------------------------

struct Reader {
  std::string error;

  const json* field(const json& obj, const char* key, json::value_t type) {
    if (!error.empty()) {
      return nullptr;
    }
    if (!obj.is_object()) {
      error = std::string("expected an object around \"") + key + "\"";
      return nullptr;
    }
    auto it = obj.find(key);
    if (it == obj.end()) {
      error = std::string("missing key \"") + key + "\"";
      return nullptr;
    }
    bool ok = it->type() == type ||
              (type == json::value_t::number_integer && it->is_number_integer()) ||
              (type == json::value_t::number_unsigned && it->is_number_unsigned());
    if (!ok) {
      error = std::string("key \"") + key + "\" has the wrong type";
      return nullptr;
    }
    return &*it;
  }

  std::string str(const json& obj, const char* key) {
    const json* v = field(obj, key, json::value_t::string);
    return v ? v->get<std::string>() : std::string();
  }
  bool boolean(const json& obj, const char* key) {
    const json* v = field(obj, key, json::value_t::boolean);
    return v ? v->get<bool>() : false;
  }
  std::int64_t integer(const json& obj, const char* key, std::int64_t lo, std::int64_t hi) {
    const json* v = field(obj, key, json::value_t::number_integer);
    if (v == nullptr) {
      return 0;
    }
    std::int64_t n = v->get<std::int64_t>();
    if (n < lo || n > hi) {
      error = std::string("key \"") + key + "\" is out of range";
      return 0;
    }
    return n;
  }
  template <typename E>
  E enumerated(const json& obj, const char* key, std::optional<E> (*parse)(std::string_view)) {
    std::string s = str(obj, key);
    if (!error.empty()) {
      return E{};
    }
    std::optional<E> e = parse(s);
    if (!e) {
      error = std::string("key \"") + key + "\" has an unknown value \"" + s + "\"";
      return E{};
    }
    return *e;
  }
  Tri tri(const json& obj, const char* key) { return enumerated<Tri>(obj, key, tri_from_string); }
  std::vector<std::string> strings(const json& obj, const char* key) {
    std::vector<std::string> out;
    const json* v = field(obj, key, json::value_t::array);
    if (v == nullptr) {
      return out;
    }
    for (const json& e : *v) {
      if (!e.is_string()) {
        error = std::string("key \"") + key + "\" must hold strings";
        return {};
      }
      out.push_back(e.get<std::string>());
    }
    return out;
  }
  const json& array(const json& obj, const char* key) {
    static const json kEmpty = json::array();
    const json* v = field(obj, key, json::value_t::array);
    return v ? *v : kEmpty;
  }

  Grade grade(const json& obj) {
    Grade g;
    g.letter = enumerated<GradeLetter>(obj, "letter", grade_from_string);
    g.score = static_cast<int>(integer(obj, "score", 0, 100));
    g.provisional = boolean(obj, "provisional");
    for (const json& d : array(obj, "deductions")) {
      g.deductions.push_back({static_cast<int>(integer(d, "points", 0, 100)), str(d, "what")});
    }
    return g;
  }

  MtaStsReport mta_sts(const json& obj) {
    MtaStsReport m;
    m.txt = str(obj, "txt");
    m.id = str(obj, "id");
    if (std::string mode = str(obj, "mode"); !mode.empty()) {
      m.mode = sts_mode_from_string(mode);
      if (error.empty() && !m.mode) {
        error = "key \"mode\" has an unknown value \"" + mode + "\"";
      }
    }
    m.mx_patterns = strings(obj, "mx_patterns");
    m.max_age = integer(obj, "max_age", 0, INT64_MAX);
    m.mx_match = strings(obj, "mx_match");
    m.fetched_at = integer(obj, "fetched_at", 0, INT64_MAX);
    if (std::string e = str(obj, "error"); error.empty() && !set_sts_error(m, e)) {
      error = "key \"error\" names an unknown MTA-STS problem \"" + e + "\"";
    }
    return m;
  }

  TlsRptReport tlsrpt(const json& obj) {
    TlsRptReport t;
    t.txt = str(obj, "txt");
    t.rua = strings(obj, "rua");
    t.error = str(obj, "error");
    return t;
  }

  DaneReport dane(const json& obj) {
    DaneReport d;
    d.tlsa = strings(obj, "tlsa");
    d.usable = tri(obj, "usable");
    d.match = tri(obj, "match");
    d.error = str(obj, "error");
    return d;
  }

  AddressReport address(const json& obj) {
    AddressReport a;
    a.address = str(obj, "address");
    a.port = static_cast<std::uint16_t>(integer(obj, "port", 0, 65535));
    a.probed = boolean(obj, "probed");
    a.starttls = tri(obj, "starttls");
    a.ssl3 = tri(obj, "ssl3");
    a.tls1_0 = tri(obj, "tls1_0");
    a.tls1_1 = tri(obj, "tls1_1");
    a.tls1_2 = tri(obj, "tls1_2");
    a.tls1_3 = tri(obj, "tls1_3");
    Tri off = tri(obj, "weak_ciphers_off");
    a.weak = off == Tri::yes ? Tri::no : off == Tri::no ? Tri::yes : Tri::unknown;
    for (const json& c : array(obj, "weak_cipher_codes")) {
      if (!c.is_number_unsigned() || c.get<std::uint64_t>() > 0xFFFF) {
        error = "key \"weak_cipher_codes\" must hold code points";
        break;
      }
      a.weak_suites.push_back(static_cast<std::uint16_t>(c.get<std::uint64_t>()));
    }
    a.nist_r1 = tri(obj, "nist_r1");
    a.nist_r2 = tri(obj, "nist_r2");
    a.protocol = str(obj, "protocol");
    a.cipher = str(obj, "cipher");
    if (const json* cert = field(obj, "cert", json::value_t::object)) {
      a.cert.cn = str(*cert, "cn");
      a.cert.sans = strings(*cert, "sans");
      a.cert.issuer = str(*cert, "issuer");
      a.cert.trusted = tri(*cert, "trusted");
      a.cert.expired = tri(*cert, "expired");
      a.cert.name_match = tri(*cert, "name_match");
      a.cert.not_after = str(*cert, "not_after");
      a.cert.not_after_unix = integer(*cert, "not_after_unix", INT64_MIN, INT64_MAX);
      a.cert.verify_error = str(*cert, "verify_error");
    }
    a.connections = static_cast<int>(integer(obj, "connections", 0, 1 << 20));
    a.error = str(obj, "error");
    a.notes = strings(obj, "notes");
    if (const json* g = field(obj, "grade_detail", json::value_t::object)) {
      a.grade = grade(*g);
    }
    a.recommendations = strings(obj, "recommendations");
    return a;
  }
};

}  // namespace

json to_json(const DomainReport& r) {
  json mx = json::array();
  for (const MxReport& m : r.mx) {
    json addresses = json::array();
    for (const AddressReport& a : m.addresses) {
      addresses.push_back(address_json(a, m.host));
    }
    mx.push_back({{"host", m.host},
                  {"priority", m.priority},
                  {"dnssec", to_string(m.dnssec)},
                  {"dns_error", m.dns_error},
                  {"dns_failure", to_string(m.dns_failure)},
                  {"addresses", addresses},
                  {"dane", dane_json(m.dane)},
                  {"grade", to_string(m.grade.letter)},
                  {"grade_detail", grade_json(m.grade)},
                  {"recommendations", m.recommendations},
                  {"marks", {{"dane", to_string(dane_mark(m.dane))}}},
                  {"graded", !not_graded(m)},
                  {"not_graded_reason", not_graded_code(m)}});
  }
  json reasons = json::array();
  for (const Reason& reason : r.reasons) {
    reasons.push_back({{"code", reason.code},
                       {"host", reason.host},
                       {"detail", reason.detail},
                       {"text", format_reason(reason)}});
  }
  return {{"format", kReportFormat},
          {"domain", r.domain},
          {"checked_at", r.checked_at},
          {"dns_ttl", r.dns_ttl},
          {"source", to_string(r.source)},
          {"dnssec", to_string(r.dnssec)},
          {"dns_error", r.dns_error},
          {"dns_failure", to_string(r.dns_failure)},
          {"mta_sts_enforce", to_string(r.mta_sts_enforce)},
          {"dane", to_string(r.dane)},
          {"mta_sts", mta_sts_json(r.mta_sts)},
          {"tlsrpt", tlsrpt_json(r.tlsrpt)},
          {"mx", mx},
          {"grade", short_grade(r.grade)},
          {"grade_detail", grade_json(r.grade)},
          {"eligible", to_string(r.eligible)},
          {"unknown_cause", to_string(r.unknown_cause)},
          {"reasons", reasons},
          {"marks", {{"mta_sts", to_string(mta_sts_mark(r))}}},
          {"graded", !not_graded(r)},
          {"not_graded_reason", not_graded_code(r)}};
}

Result<DomainReport> report_from_json(const json& doc) {
  Reader in;
  DomainReport r;
  std::int64_t format = in.integer(doc, "format", 0, INT64_MAX);
  // Format 1 (before MTA-STS, TLSRPT and DANE details) is still read: those
  // parts stay empty, as a report of that time had them.
  if (in.error.empty() && format != 1 && format != kReportFormat) {
    return fail(Errc::protocol, "unsupported report format " + std::to_string(format));
  }
  auto cause = [&](const json& obj, const char* key) {
    std::string s = in.str(obj, key);
    for (UnknownCause c :
         {UnknownCause::none, UnknownCause::dns_failure, UnknownCause::dnssec_bogus,
          UnknownCause::probe_failure, UnknownCause::downgrade_suspected}) {
      if (to_string(c) == s) {
        return c;
      }
    }
    if (in.error.empty()) {
      in.error = std::string("key \"") + key + "\" has an unknown value \"" + s + "\"";
    }
    return UnknownCause::none;
  };
  r.domain = in.str(doc, "domain");
  r.checked_at = in.integer(doc, "checked_at", INT64_MIN, INT64_MAX);
  if (doc.is_object() && doc.contains("dns_ttl")) {  // optional: older exports lack it
    r.dns_ttl = static_cast<std::uint32_t>(in.integer(doc, "dns_ttl", 0, UINT32_MAX));
  }
  r.source = in.enumerated<MxSource>(doc, "source", mx_source_from_string);
  r.dnssec = in.enumerated<DnssecStatus>(doc, "dnssec", dnssec_from_string);
  r.dns_error = in.str(doc, "dns_error");
  r.dns_failure = cause(doc, "dns_failure");
  r.mta_sts_enforce = in.tri(doc, "mta_sts_enforce");
  r.dane = in.tri(doc, "dane");
  if (format >= 2) {
    if (const json* m = in.field(doc, "mta_sts", json::value_t::object)) {
      r.mta_sts = in.mta_sts(*m);
    }
    if (const json* t = in.field(doc, "tlsrpt", json::value_t::object)) {
      r.tlsrpt = in.tlsrpt(*t);
    }
  }
  for (const json& m : in.array(doc, "mx")) {
    MxReport mx;
    mx.host = in.str(m, "host");
    mx.priority = static_cast<std::uint16_t>(in.integer(m, "priority", 0, 65535));
    mx.dnssec = in.enumerated<DnssecStatus>(m, "dnssec", dnssec_from_string);
    mx.dns_error = in.str(m, "dns_error");
    mx.dns_failure = cause(m, "dns_failure");
    for (const json& a : in.array(m, "addresses")) {
      mx.addresses.push_back(in.address(a));
    }
    if (format >= 2) {
      if (const json* d = in.field(m, "dane", json::value_t::object)) {
        mx.dane = in.dane(*d);
      }
    }
    if (const json* g = in.field(m, "grade_detail", json::value_t::object)) {
      mx.grade = in.grade(*g);
    }
    mx.recommendations = in.strings(m, "recommendations");
    r.mx.push_back(std::move(mx));
  }
  if (const json* g = in.field(doc, "grade_detail", json::value_t::object)) {
    r.grade = in.grade(*g);
  }
  r.eligible = in.enumerated<Eligibility>(doc, "eligible", eligibility_from_string);
  r.unknown_cause = cause(doc, "unknown_cause");
  for (const json& reason : in.array(doc, "reasons")) {
    r.reasons.push_back({in.str(reason, "code"), in.str(reason, "host"), in.str(reason, "detail")});
  }
  if (!in.error.empty()) {
    return fail(Errc::protocol, "report: " + in.error);
  }
  return r;
}

std::string to_json_text(const DomainReport& report, int indent) {
  return to_json(report).dump(indent);
}

Result<DomainReport> report_from_json_text(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return fail(Errc::protocol, "report: not valid JSON");
  }
  return report_from_json(doc);
}

}  // namespace forcetls::checker
