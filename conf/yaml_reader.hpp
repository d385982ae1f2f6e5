// SPDX-License-Identifier: Apache-2.0
// Internal to conf/: a schema-driven reader over yaml-cpp nodes that turns
// every problem (unknown key, wrong type, bad value) into a Problem with the
// node's position instead of throwing. One reader per load; one thread.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conf/loader.hpp"
#include "conf/units.hpp"

namespace forcetls::conf::detail {

/// A value's place: its dotted key path ("milter.socket") and its position.
struct Where {
  std::string path;
  YAML::Mark mark;
};

class YamlReader;

/// One key of a mapping: how to read its value, and (for sections) the keys
/// inside it, so the schema can be listed as well as read.
struct Field {
  std::string key;
  std::function<void(YamlReader&, const YAML::Node&, const Where&)> read;
  std::vector<Field> children;
};

/// A section: a mapping whose keys are `children`.
Field section(std::string key, std::vector<Field> children);

/// Dotted key paths of a schema ("milter.socket"); `prefix` is prepended.
void list_keys(const std::vector<Field>& fields, const std::string& prefix,
               std::vector<std::string>& out);

class YamlReader {
 public:
  YamlReader(std::string file, std::vector<Problem>& problems)
      : file_(std::move(file)), problems_(problems) {}

  const std::string& file() const { return file_; }
  void error(const YAML::Mark& mark, std::string message);
  void warning(const YAML::Mark& mark, std::string message);
  std::size_t error_count() const { return errors_; }
  /// Every key read so far ("milter.socket", "rules[].mode") with its position.
  const std::map<std::string, YAML::Mark>& seen() const { return seen_; }

  /// Parses exactly one YAML document; nullopt (with a problem) on a syntax
  /// error, several documents, or oversized input. An empty text is a null node.
  std::optional<YAML::Node> parse(std::string_view text);

  /// Reads a mapping against `fields`: unknown, duplicate and non-string keys
  /// are reported; a null node (an empty section) reads as an empty mapping.
  void read_map(const YAML::Node& node, const Where& where, const std::vector<Field>& fields);

  /// The scalar text of a value, or nullopt after reporting that it is not a
  /// scalar. `null_ok`: an empty value reads as "".
  std::optional<std::string> scalar(const YAML::Node& node, const Where& where,
                                    std::string_view expected, bool null_ok = false);

  void read_string(const YAML::Node& node, const Where& where, std::string& out);
  void read_bool(const YAML::Node& node, const Where& where, bool& out);
  void read_int(const YAML::Node& node, const Where& where, int& out, int min, int max);
  void read_duration(const YAML::Node& node, const Where& where, Duration& out, Duration min,
                     Duration max);
  void read_size(const YAML::Node& node, const Where& where, std::uint64_t& out, std::uint64_t min,
                 std::uint64_t max);

  /// Reads a keyword (case-insensitive) with `parse`; the error lists `names`.
  template <typename E>
  void read_enum(const YAML::Node& node, const Where& where, E& out,
                 std::optional<E> (*parse)(std::string_view), std::string_view names) {
    auto text = scalar(node, where, std::string("one of: ") + std::string(names));
    if (!text) {
      return;
    }
    if (auto v = parse(lower(*text))) {
      out = *v;
      return;
    }
    error(where.mark,
          where.path + ": unknown value '" + *text + "' (allowed: " + std::string(names) + ")");
  }

  /// A list of strings, or one string standing for a list of one. Each
  /// element comes with its own position.
  std::vector<std::pair<std::string, YAML::Mark>> read_string_list(const YAML::Node& node,
                                                                   const Where& where);

  /// The mark of a value, falling back to its key's when yaml-cpp has none
  /// (empty values are marked on the next line).
  static YAML::Mark mark_of(const YAML::Node& value, const YAML::Mark& key_mark);
  static std::string lower(std::string s);
  static std::string_view type_name(const YAML::Node& node);

 private:
  std::string file_;
  std::vector<Problem>& problems_;
  std::size_t errors_ = 0;
  std::map<std::string, YAML::Mark> seen_;
};

/// Reads a whole file for a loader; problems (missing, too large) are added.
std::string read_text_file(const std::string& path, std::vector<Problem>& problems);
/// `path` relative to the directory of `base_file` (absolute paths unchanged).
std::string resolve_path(const std::string& base_file, const std::string& path);

}  // namespace forcetls::conf::detail
