// SPDX-License-Identifier: Apache-2.0
// Schema-driven YAML reading with collected problems. yaml-cpp reports
// positions 0-based; Problems are 1-based like compilers and editors.
#include "conf/yaml_reader.hpp"

#include <algorithm>
#include <cctype>
#include <exception>
#include <map>
#include <regex>
#include <sstream>

#include <yaml-cpp/eventhandler.h>

#include "common/duration_text.hpp"

namespace forcetls::conf::detail {
namespace {

/// Edit distance, for "did you mean" on misspelt keys.
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string key_list(const std::vector<Field>& fields) {
  std::string out;
  for (const Field& f : fields) {
    if (!out.empty()) {
      out += ", ";
    }
    out += f.key;
  }
  return out;
}

std::string join_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

bool valid(const YAML::Mark& m) { return m.line >= 0 && m.column >= 0; }

/// Far more nodes than any real configuration or policy (a rule per domain
/// for 20,000 domains fits); bounds the work a hostile file can cause.
constexpr long kMaxNodes = 200000;

struct TooManyNodes {};

/// Counts documents and events; throws TooManyNodes past kMaxNodes.
class DocumentCounter final : public YAML::EventHandler {
 public:
  YAML::Mark second_start = YAML::Mark::null_mark();

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2) {
      second_start = mark;
    }
    tick();
  }
  void OnDocumentEnd() override { tick(); }
  void OnNull(const YAML::Mark&, YAML::anchor_t) override { tick(); }
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { tick(); }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {
    tick();
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    tick();
  }
  void OnSequenceEnd() override { tick(); }
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    tick();
  }
  void OnMapEnd() override { tick(); }

 private:
  void tick() {
    if (++events_ > kMaxNodes) {
      throw TooManyNodes{};
    }
  }
  int documents_ = 0;
  long events_ = 0;
};

}  // namespace

Field section(std::string key, std::vector<Field> children) {
  Field f;
  f.key = std::move(key);
  f.children = std::move(children);
  // The reader is given a copy of the children: Field tables are built per load.
  f.read = [kids = f.children](YamlReader& r, const YAML::Node& node, const Where& where) {
    r.read_map(node, where, kids);
  };
  return f;
}

void list_keys(const std::vector<Field>& fields, const std::string& prefix,
               std::vector<std::string>& out) {
  for (const Field& f : fields) {
    const std::string path = prefix.empty() ? f.key : prefix + "." + f.key;
    if (f.children.empty()) {
      out.push_back(path);
    } else {
      list_keys(f.children, path, out);
    }
  }
}

void YamlReader::error(const YAML::Mark& mark, std::string message) {
  ++errors_;
  if (problems_.size() >= kMaxProblems) {
    if (problems_.size() == kMaxProblems) {
      problems_.push_back({Problem::Severity::error, file_, 0, 0,
                           "too many problems; stopped after " + std::to_string(kMaxProblems)});
    }
    return;
  }
  problems_.push_back({Problem::Severity::error, file_, valid(mark) ? mark.line + 1 : 0,
                       valid(mark) ? mark.column + 1 : 0, std::move(message)});
}

void YamlReader::warning(const YAML::Mark& mark, std::string message) {
  if (problems_.size() >= kMaxProblems) {
    return;
  }
  problems_.push_back({Problem::Severity::warning, file_, valid(mark) ? mark.line + 1 : 0,
                       valid(mark) ? mark.column + 1 : 0, std::move(message)});
}

std::optional<YAML::Node> YamlReader::parse(std::string_view text) {
  if (text.size() > kMaxFileSize) {
    error(YAML::Mark::null_mark(),
          "file larger than " + std::to_string(kMaxFileSize) + " bytes; refusing to parse it");
    return std::nullopt;
  }
  if (text.find('\0') != std::string_view::npos) {
    error(YAML::Mark::null_mark(), "file contains a NUL byte; not a text file");
    return std::nullopt;
  }
  try {
    // yaml-cpp 0.7's LoadAll() can loop forever, allocating, on a stray ','
    // (jbeder/yaml-cpp#1040, falcosecurity/falco#3281), and Load() silently
    // returns an empty node for it. So a first pass counts documents (at most
    // two) and events with a bounded handler, and only then Load() builds the tree.
    const std::string input(text);
    {
      std::istringstream stream(input);
      YAML::Parser parser(stream);
      DocumentCounter counter;
      if (parser.HandleNextDocument(counter) && parser.HandleNextDocument(counter)) {
        error(counter.second_start,
              "unexpected content after the first YAML document (a "
              "second '---' or a stray character); the file must hold "
              "exactly one document");
        return std::nullopt;
      }
    }
    return YAML::Load(input);
  } catch (const TooManyNodes&) {
    error(YAML::Mark::null_mark(),
          "more than " + std::to_string(kMaxNodes) + " YAML nodes; refusing to read further");
  } catch (const YAML::Exception& e) {
    // yaml-cpp's own depth guard (DeepRecursion) lands here too.
    error(e.mark, "YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    error(YAML::Mark::null_mark(), std::string("cannot parse: ") + e.what());
  }
  return std::nullopt;
}

YAML::Mark YamlReader::mark_of(const YAML::Node& value, const YAML::Mark& key_mark) {
  if (!value.IsDefined() || value.IsNull() || !valid(value.Mark())) {
    return key_mark;
  }
  return value.Mark();
}

std::string YamlReader::lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return s;
}

std::string_view YamlReader::type_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return "a string";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
  }
  return "something else";
}

void YamlReader::read_map(const YAML::Node& node, const Where& where,
                          const std::vector<Field>& fields) {
  if (node.IsNull()) {
    return;  // `milter:` with nothing under it: all defaults
  }
  if (!node.IsMap()) {
    error(where.mark, (where.path.empty() ? std::string("the file") : where.path) +
                          ": expected a mapping with keys " + key_list(fields) + ", got " +
                          std::string(type_name(node)));
    return;
  }
  std::map<std::string, int> seen;  // key -> 1-based line of its first use
  for (auto it = node.begin(); it != node.end(); ++it) {
    // By value: `it->` goes through a proxy that dies at the end of the
    // statement, so references into it would dangle (found by ASan).
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    const YAML::Mark key_mark = key.Mark();
    if (!key.IsScalar()) {
      error(key_mark, (where.path.empty() ? std::string("top level") : where.path) +
                          ": a key must be a plain word, got " + std::string(type_name(key)));
      continue;
    }
    const std::string& name = key.Scalar();
    const std::string in = where.path.empty() ? "top level" : where.path;
    if (auto [pos, fresh] = seen.emplace(name, key_mark.line + 1); !fresh) {
      error(key_mark, in + ": duplicate key '" + name + "' (first at line " +
                          std::to_string(pos->second) + ")");
      continue;
    }
    auto field =
        std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.key == name; });
    if (field == fields.end()) {
      std::string hint;
      std::size_t best = 3;
      for (const Field& f : fields) {
        std::size_t d = distance(lower(name), f.key);
        if (d < best) {
          best = d;
          hint = "did you mean '" + f.key + "'? ";
        }
      }
      error(key_mark,
            in + ": unknown key '" + name + "' (" + hint + "allowed: " + key_list(fields) + ")");
      continue;
    }
    const std::string path = join_path(where.path, name);
    // "rules[3].mode" is recorded as "rules[].mode": the schema's form.
    static const std::regex kIndex(R"(\[[0-9]+\])");
    seen_.emplace(std::regex_replace(path, kIndex, "[]"), key_mark);
    field->read(*this, value, Where{path, mark_of(value, key_mark)});
  }
}

std::optional<std::string> YamlReader::scalar(const YAML::Node& node, const Where& where,
                                              std::string_view expected, bool null_ok) {
  if (node.IsScalar()) {
    return node.Scalar();
  }
  if (null_ok && node.IsNull()) {
    return std::string();
  }
  error(where.mark, where.path + ": expected " + std::string(expected) + ", got " +
                        std::string(type_name(node)));
  return std::nullopt;
}

void YamlReader::read_string(const YAML::Node& node, const Where& where, std::string& out) {
  if (auto s = scalar(node, where, "a string", true)) {
    out = *s;
  }
}

void YamlReader::read_bool(const YAML::Node& node, const Where& where, bool& out) {
  auto s = scalar(node, where, "true or false");
  if (!s) {
    return;
  }
  // YAML 1.1 spellings too, as admins write them (yaml-cpp accepts the same).
  const std::string v = lower(*s);
  if (v == "true" || v == "yes" || v == "on") {
    out = true;
  } else if (v == "false" || v == "no" || v == "off") {
    out = false;
  } else {
    error(where.mark, where.path + ": expected true or false, got '" + *s + "'");
  }
}

void YamlReader::read_int(const YAML::Node& node, const Where& where, int& out, int min, int max) {
  auto s = scalar(node, where, "a whole number");
  if (!s) {
    return;
  }
  long long v = 0;
  std::size_t used = 0;
  bool ok =
      !s->empty() && (std::isdigit(static_cast<unsigned char>((*s)[0])) != 0 || (*s)[0] == '-');
  if (ok) {
    try {
      v = std::stoll(*s, &used);
    } catch (const std::exception&) {
      ok = false;
    }
  }
  if (!ok || used != s->size()) {
    error(where.mark, where.path + ": expected a whole number, got '" + *s + "'");
    return;
  }
  if (v < min || v > max) {
    error(where.mark, where.path + ": " + *s + " is outside " + std::to_string(min) + "-" +
                          std::to_string(max));
    return;
  }
  out = static_cast<int>(v);
}

void YamlReader::read_duration(const YAML::Node& node, const Where& where, Duration& out,
                               Duration min, Duration max) {
  auto s = scalar(node, where, "a duration like 30s, 15m, 24h or 7d");
  if (!s) {
    return;
  }
  auto d = parse_duration(*s);
  if (!d) {
    error(where.mark, where.path + ": " + d.error().message);
    return;
  }
  if (*d < min || *d > max) {
    error(where.mark, where.path + ": " + *s + " is outside " + duration_text(min) + " to " +
                          duration_text(max));
    return;
  }
  out = *d;
}

void YamlReader::read_size(const YAML::Node& node, const Where& where, std::uint64_t& out,
                           std::uint64_t min, std::uint64_t max) {
  auto s = scalar(node, where, "a size like 512M or 1G");
  if (!s) {
    return;
  }
  auto v = parse_size(*s);
  if (!v) {
    error(where.mark, where.path + ": " + v.error().message);
    return;
  }
  if (*v < min || *v > max) {
    error(where.mark,
          where.path + ": " + *s + " is outside " + format_size(min) + " to " + format_size(max));
    return;
  }
  out = *v;
}

std::vector<std::pair<std::string, YAML::Mark>> YamlReader::read_string_list(const YAML::Node& node,
                                                                             const Where& where) {
  std::vector<std::pair<std::string, YAML::Mark>> out;
  if (node.IsScalar()) {
    out.emplace_back(node.Scalar(), where.mark);
    return out;
  }
  if (!node.IsSequence()) {
    error(where.mark,
          where.path + ": expected a list of strings, got " + std::string(type_name(node)));
    return out;
  }
  std::size_t i = 0;
  for (const YAML::Node& item : node) {
    Where at{where.path + "[" + std::to_string(i++) + "]", mark_of(item, where.mark)};
    if (auto s = scalar(item, at, "a string")) {
      out.emplace_back(*s, at.mark);
    }
  }
  return out;
}

}  // namespace forcetls::conf::detail
