// SPDX-License-Identifier: Apache-2.0
// Cache administration. Scans go through Store::for_each_domain (short read
// transactions), so listing a million entries pins no old pages of a cache
// the daemon keeps writing.
#include "cache/admin.hpp"

#include <algorithm>
#include <cstdio>
#include <istream>
#include <limits>
#include <nlohmann/json.hpp>
#include <ostream>

#include "checker/report/next_hop.hpp"
#include "checker/report/report_json.hpp"
#include "checker/report/report_text.hpp"
#include "common/duration_text.hpp"

namespace forcetls::cache {
namespace {

using nlohmann::json;

// A line longer than this is refused rather than read into memory: a real
// report is a few kilobytes.
constexpr std::size_t kMaxLine = 1 << 20;
constexpr std::size_t kImportBatch = 500;

ListEntry entry_of(const std::string& domain, Lookup& l) {
  ListEntry e;
  e.domain = domain;
  e.state = l.state;
  e.miss = l.miss;
  e.checked_at = l.checked_at;
  e.expires_at = l.expires_at;
  e.last_used = l.last_used;
  if (l.miss == Miss::none || l.miss == Miss::expired) {
    e.eligible = l.report->eligible;
    e.grade = checker::short_grade(l.report->grade);
  }
  return e;
}

std::string state_text(const ListEntry& e) {
  if (e.state == Freshness::missing) {
    return std::string(to_string(e.miss));
  }
  return std::string(to_string(e.state));
}

void pad(std::string& out, std::string_view text, std::size_t width) {
  out += text;
  if (text.size() < width) {
    out.append(width - text.size(), ' ');
  }
  out += ' ';
}

std::string_view verdict_text(checker::Eligibility e) {
  switch (e) {
    case checker::Eligibility::eligible:
      return "eligible";
    case checker::Eligibility::ineligible:
      return "ineligible";
    case checker::Eligibility::unknown:
      return "unknown";
  }
  return "unknown";
}

std::string ago(std::int64_t when, std::int64_t now) {
  return when <= 0 ? "-" : span_text(now - when);
}

}  // namespace

Result<std::vector<ListEntry>> list(Store& store, ListFilter filter) {
  std::vector<ListEntry> out;
  auto r = store.for_each_domain([&](const std::string& domain) {
    Lookup l = store.peek(domain);
    ListEntry e = entry_of(domain, l);
    bool keep = filter == ListFilter::all ||
                (filter == ListFilter::stale && e.state != Freshness::fresh) ||
                (filter == ListFilter::ineligible && !e.grade.empty() &&
                 e.eligible == checker::Eligibility::ineligible);
    if (keep) {
      out.push_back(std::move(e));
    }
    return true;
  });
  if (!r) {
    return std::unexpected(r.error());
  }
  return out;
}

std::string format_list(const std::vector<ListEntry>& entries, std::int64_t now) {
  std::size_t width = 6;
  for (const ListEntry& e : entries) {
    width = std::max(width, e.domain.size());
  }
  std::string out;
  pad(out, "DOMAIN", width);
  out += "STATE      VERDICT    GRADE CHECKED  EXPIRES  USED\n";
  for (const ListEntry& e : entries) {
    pad(out, e.domain, width);
    pad(out, state_text(e), 10);
    pad(out, e.grade.empty() ? "-" : verdict_text(e.eligible), 10);
    pad(out, e.grade.empty() ? "-" : e.grade, 5);
    pad(out, ago(e.checked_at, now), 8);
    pad(out, e.expires_at == 0 ? "-" : span_text(e.expires_at - now), 8);
    out += ago(e.last_used, now);
    out += '\n';
  }
  return out;
}

Result<std::string> show(Store& store, std::string_view domain) {
  auto key = checker::normalize_report_key(domain);
  if (!key) {
    return fail(Errc::invalid_argument,
                "domain " + std::string(domain) + ": " + key.error().message);
  }
  Lookup l = store.peek(*key);
  if (l.miss == Miss::absent) {
    return fail(Errc::not_found, *key + " is not in the cache");
  }
  if (l.miss == Miss::corrupt || l.miss == Miss::incomplete) {
    return *key + ": " + std::string(to_string(l.miss)) +
           " entry (it will be re-probed when next asked for)\n";
  }
  std::int64_t now = store.now();
  std::string state = l.state == Freshness::missing ? "expired" : std::string(to_string(l.state));
  std::string out =
      "cache: " + *key + " " + state + ", checked " + span_text(now - l.checked_at) + " ago, " +
      (l.expires_at > now ? "expires in " + span_text(l.expires_at - now)
                          : "expired " + span_text(now - l.expires_at) + " ago") +
      ", last used " + (l.last_used > 0 ? span_text(now - l.last_used) + " ago" : "never") + "\n";
  if (std::optional<Pin> pin = store.pin(*key); pin && pin->until > now) {
    out += "pin: eligible since " + span_text(now - pin->pinned_at) + " ago, pinned for " +
           span_text(pin->until - now) + " more";
    if (pin->suspected()) {
      out += "; ineligible on " + std::to_string(pin->suspects) + " probe(s) since " +
             span_text(now - pin->first_suspect) +
             " ago: downgrade suspected (forcetls-ctl cache unpin if the change is real)";
    }
    out += "\n";
  }
  out += "\n" + checker::to_text(*l.report);
  return out;
}

Result<bool> refresh(Store& store, std::string_view domain) { return store.invalidate(domain); }

Result<checker::DomainReport> refresh_now(Store& store, std::string_view domain,
                                          const SyncProbeFn& probe) {
  auto key = checker::normalize_report_key(domain);
  if (!key) {
    return fail(Errc::invalid_argument,
                "domain " + std::string(domain) + ": " + key.error().message);
  }
  auto probed = probe(*key);
  if (!probed) {
    return std::unexpected(probed.error());
  }
  probed->report.domain = *key;
  PutOptions options;
  options.dns_ttl = probed->dns_ttl;
  options.probed = true;
  if (auto r = store.put(probed->report, options); !r) {
    return std::unexpected(r.error());
  }
  Lookup l = store.peek(*key);
  if (l.state == Freshness::missing) {
    return fail(Errc::internal, "cache: " + *key + " stored but not readable (" +
                                    std::string(to_string(l.miss)) + ")");
  }
  return *l.report;
}

Result<bool> purge(Store& store, std::string_view domain) { return store.purge(domain); }

Result<std::size_t> purge_all(Store& store) { return store.purge_all(); }

std::string format_stats(const StoreStats& s) {
  auto line = [](std::string_view key, std::uint64_t v) {
    return std::string(key) + ": " + std::to_string(v) + "\n";
  };
  std::string out;
  out += line("domains", s.domains);
  out += line("mx_addresses", s.addresses);
  out += line("hits", s.hits);
  out += line("stale_hits", s.stale_hits);
  out += line("misses", s.misses);
  out += line("decode_failures", s.decode_failures);
  out += line("evicted", s.evicted);
  out += line("file_bytes", s.file_bytes);
  out += line("used_bytes", s.used_bytes);
  out += line("map_bytes", s.map_bytes);
  out += line("readers", s.readers);
  out += line("max_readers", s.max_readers);
  if (s.domains > 0) {
    out += line("bytes_per_domain", s.used_bytes / s.domains);
  }
  return out;
}

Result<ExportResult> export_jsonl(Store& store, std::ostream& out) {
  ExportResult result;
  auto r = store.for_each_domain([&](const std::string& domain) {
    Lookup l = store.peek(domain);
    if (l.miss != Miss::none && l.miss != Miss::expired) {
      ++result.skipped;
      return true;
    }
    json doc = checker::to_json(*l.report);
    doc["cache"] = {
        {"stored_at", l.stored_at}, {"expires_at", l.expires_at}, {"last_used", l.last_used}};
    if (l.dns_ttl >= 0) {
      doc["cache"]["dns_ttl"] = l.dns_ttl;
    }
    out << doc.dump() << '\n';
    ++result.written;
    return static_cast<bool>(out);
  });
  if (!r) {
    return std::unexpected(r.error());
  }
  if (!out) {
    return fail(Errc::io, "cache export: write failed");
  }
  return result;
}

namespace {

// Parses one exported line into a put item, or says why not.
Result<PutItem> parse_line(std::string_view line) {
  json doc = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return fail(Errc::protocol, "not valid JSON");
  }
  if (!doc.is_object()) {
    return fail(Errc::protocol, "not a JSON object");
  }
  auto report = checker::report_from_json(doc);
  if (!report) {
    return std::unexpected(report.error());
  }
  if (report->checked_at <= 0) {
    return fail(Errc::protocol, "checked_at must be a positive unix time");
  }
  if (auto ok = check_storable(*report); !ok) {
    return std::unexpected(ok.error());
  }
  PutItem item{std::move(*report), {}};
  if (auto it = doc.find("cache"); it != doc.end()) {
    if (!it->is_object()) {
      return fail(Errc::protocol, "\"cache\" is not an object");
    }
    if (auto u = it->find("last_used"); u != it->end()) {
      if (!u->is_number_integer()) {
        return fail(Errc::protocol, "\"cache.last_used\" is not an integer");
      }
      std::int64_t v = u->get<std::int64_t>();
      if (v > 0) {
        item.options.last_used = v;
      }
    }
    if (auto t = it->find("dns_ttl"); t != it->end()) {
      if (!t->is_number_integer() || t->get<std::int64_t>() < 0) {
        return fail(Errc::protocol, "\"cache.dns_ttl\" is not a TTL");
      }
      item.options.dns_ttl = t->get<std::int64_t>();
    }
  }
  return item;
}

}  // namespace

ImportResult import_jsonl(Store& store, std::istream& in) {
  ImportResult result;
  std::vector<PutItem> batch;
  std::vector<std::size_t> batch_lines;
  auto commit = [&] {
    if (batch.empty()) {
      return;
    }
    if (store.put_many(batch)) {
      result.imported += batch.size();
    } else {
      // Find the culprit(s) line by line.
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (auto r = store.put(batch[i].report, batch[i].options); r) {
          ++result.imported;
        } else {
          result.errors.push_back("line " + std::to_string(batch_lines[i]) + ": " +
                                  r.error().message);
        }
      }
    }
    batch.clear();
    batch_lines.clear();
  };
  std::string buf(kMaxLine + 1, '\0');
  for (std::size_t number = 1;; ++number) {
    in.getline(buf.data(), static_cast<std::streamsize>(buf.size()));
    std::streamsize got = in.gcount();
    if (in.eof() && got == 0) {
      break;
    }
    if (in.fail() && !in.eof()) {
      // Longer than kMaxLine: refuse it and skip to the next line.
      in.clear();
      in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
      result.errors.push_back("line " + std::to_string(number) + ": longer than " +
                              std::to_string(kMaxLine) + " bytes");
      continue;
    }
    // gcount counts the newline getline consumed.
    std::size_t len = std::char_traits<char>::length(buf.data());
    if (len != static_cast<std::size_t>(got) - (in.eof() ? 0 : 1)) {
      result.errors.push_back("line " + std::to_string(number) + ": contains a NUL byte");
    } else {
      std::string_view line(buf.data(), len);
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
        line.remove_suffix(1);
      }
      if (!line.empty() && line.front() != '#') {
        auto item = parse_line(line);
        if (item) {
          batch.push_back(std::move(*item));
          batch_lines.push_back(number);
          if (batch.size() >= kImportBatch) {
            commit();
          }
        } else {
          result.errors.push_back("line " + std::to_string(number) + ": " + item.error().message);
        }
      }
    }
    if (in.eof()) {
      break;
    }
  }
  commit();
  return result;
}

}  // namespace forcetls::cache
