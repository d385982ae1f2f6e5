// SPDX-License-Identifier: Apache-2.0
// forcetls.yaml: the schema (one Field per key, so reading, validation and
// the list of accepted keys cannot drift apart) and the cross-key checks.
#include <syslog.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "checker/report/domain_name.hpp"
#include "common/duration_text.hpp"
#include "common/unbound_options.hpp"
#include "conf/config.hpp"
#include "conf/loader.hpp"
#include "conf/yaml_reader.hpp"

namespace forcetls::conf {
namespace {

using detail::Field;
using detail::section;
using detail::Where;
using detail::YamlReader;
using Fn = std::function<void(YamlReader&, const YAML::Node&, const Where&)>;

Field leaf(std::string key, Fn fn) { return Field{std::move(key), std::move(fn), {}}; }

Field bool_field(std::string key, bool& out) {
  return leaf(std::move(key), [&out](YamlReader& r, const YAML::Node& n, const Where& w) {
    r.read_bool(n, w, out);
  });
}

Field int_field(std::string key, int& out, int min, int max) {
  return leaf(std::move(key), [&out, min, max](YamlReader& r, const YAML::Node& n, const Where& w) {
    r.read_int(n, w, out, min, max);
  });
}

Field duration_field(std::string key, Duration& out, Duration min, Duration max) {
  return leaf(std::move(key), [&out, min, max](YamlReader& r, const YAML::Node& n, const Where& w) {
    r.read_duration(n, w, out, min, max);
  });
}

/// A path: empty allowed only when `optional`; no control characters.
Field path_field(std::string key, std::string& out, bool optional, bool absolute) {
  return leaf(std::move(key),
              [&out, optional, absolute](YamlReader& r, const YAML::Node& n, const Where& w) {
                std::string v = out;
                r.read_string(n, w, v);
                if (v.empty() && !optional) {
                  r.error(w.mark, w.path + ": a path is required");
                  return;
                }
                for (unsigned char c : v) {
                  if (c < 0x20 || c == 0x7f) {
                    r.error(w.mark, w.path + ": control character in path");
                    return;
                  }
                }
                if (absolute && !v.empty() && v.front() != '/') {
                  r.error(w.mark, w.path + ": '" + v + "' must be an absolute path");
                  return;
                }
                out = v;
              });
}

/// POSIX portable user/group name characters (IEEE 1003.1 §3.437).
bool portable_name(std::string_view s) {
  if (s.empty() || s.front() == '-' || s.size() > 32) {
    return false;
  }
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

Field account_field(std::string key, std::string& out) {
  return leaf(std::move(key), [&out](YamlReader& r, const YAML::Node& n, const Where& w) {
    std::string v = out;
    r.read_string(n, w, v);
    if (!v.empty() && !portable_name(v)) {
      r.error(w.mark,
              w.path + ": '" + v + "' is not a valid user or group name (letters, digits, . _ -)");
      return;
    }
    out = v;
  });
}

/// Where some values were written, for checks that involve several keys.
struct Marks {
  YAML::Mark milter_socket;
  YAML::Mark socketmap_socket;
};

// A socketmap map name: what Postfix or Sendmail sends before the key.
Field map_name_field(std::string key, std::string& out, bool empty_ok) {
  return leaf(std::move(key), [&out, empty_ok](YamlReader& r, const YAML::Node& n, const Where& w) {
    std::string v = out;
    r.read_string(n, w, v);
    bool ok = (empty_ok || !v.empty()) && v.size() <= 64;
    for (char ch : v) {
      ok = ok && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.');
    }
    if (!ok) {
      r.error(w.mark, w.path + ": '" + v + "' is not a map name (letters, digits, - _ .)");
      return;
    }
    out = v;
  });
}

Field socket_field(std::string key, SocketAddress& out, bool none_ok, YAML::Mark& mark) {
  return leaf(
      std::move(key), [&out, none_ok, &mark](YamlReader& r, const YAML::Node& n, const Where& w) {
        auto s = r.scalar(n, w, "a socket like inet:8891@127.0.0.1");
        if (!s) {
          return;
        }
        auto a = parse_socket_address(*s);
        if (!a) {
          r.error(w.mark, w.path + ": " + a.error().message);
          return;
        }
        if (!none_ok && a->kind == SocketAddress::Kind::none) {
          r.error(w.mark, w.path + ": the milter needs a socket; 'none' is not allowed here");
          return;
        }
        if (!a->is_local()) {
          r.warning(w.mark, w.path + ": " + a->spec() +
                                " is reachable from other hosts; anything that connects can use it "
                                "(prefer a loopback address or a unix socket)");
        }
        out = *a;
        mark = w.mark;
      });
}

Field on_miss_field(std::string key, MissBehaviour& out) {
  return leaf(std::move(key), [&out](YamlReader& r, const YAML::Node& n, const Where& w) {
    r.read_enum<MissBehaviour>(
        n, w, out,
        [](std::string_view s) -> std::optional<MissBehaviour> {
          if (s == "wait") {
            return MissBehaviour::wait;
          }
          if (s == "answer-now") {
            return MissBehaviour::answer_now;
          }
          return std::nullopt;
        },
        "wait, answer-now");
  });
}

Field miss_deadline_field(std::string key, Duration& out) {
  return leaf(std::move(key), [&out](YamlReader& r, const YAML::Node& n, const Where& w) {
    r.read_duration(n, w, out, 100ms, 10min);
    // Postfix: milter_command_timeout = 30s by default (postconf(5)).
    if (out >= 30s) {
      r.warning(w.mark, w.path + ": " + duration_text(out) +
                            " reaches Postfix's default "
                            "milter_command_timeout (30s); Postfix may give "
                            "up on the milter before it answers");
    }
  });
}

// The milter's action when it cannot decide: tempfail, accept or reject.
Field on_error_field(std::string key, policy::Action& out) {
  using policy::Action;
  return leaf(std::move(key), [&out](YamlReader& r, const YAML::Node& n, const Where& w) {
    Action a = out;
    r.read_enum<Action>(n, w, a, policy::action_from_string, "tempfail, accept, reject");
    if (a != Action::tempfail && a != Action::accept && a != Action::reject) {
      r.error(w.mark, w.path + ": '" + std::string(policy::to_string(a)) +
                          "' cannot stand for a failure (allowed: tempfail, "
                          "accept, reject)");
      return;
    }
    out = a;
  });
}

Field header_name_field(std::string key, std::string& out) {
  return leaf(std::move(key), [&out](YamlReader& r, const YAML::Node& n, const Where& w) {
    std::string v = out;
    r.read_string(n, w, v);
    // RFC 5322 §3.6.8: field-name = 1*ftext, printable ASCII but ':'.
    bool ok = !v.empty() && v.size() <= 64;
    for (unsigned char ch : v) {
      ok = ok && ch >= 33 && ch <= 126 && ch != ':';
    }
    if (!ok) {
      r.error(w.mark, w.path + ": '" + v +
                          "' is not a header field name (1-64 printable "
                          "characters, no ':' or space)");
      return;
    }
    out = v;
  });
}

// A string that is empty (the default) or what `parse` makes of it, whose
// error message is reported under the key.
template <typename Parse>
Field optional_text_field(std::string key, std::string& out, Parse parse) {
  return leaf(std::move(key), [&out, parse](YamlReader& r, const YAML::Node& n, const Where& w) {
    std::string v = out;
    r.read_string(n, w, v);
    if (v.empty()) {
      out.clear();
      return;
    }
    auto parsed = parse(v);
    if (!parsed) {
      r.error(w.mark, w.path + ": " + parsed.error().message);
      return;
    }
    out = *parsed;
  });
}

// checker.resolver_options: a list of libunbound options, each written as in
// unbound.conf (`- local-zone: test. transparent`, a mapping of one key).
// Whether libunbound knows the name and takes the value is its own
// judgement, when the resolver starts.
Field resolver_options_field(std::string key,
                             std::vector<std::pair<std::string, std::string>>& out) {
  return leaf(std::move(key), [&out](YamlReader& r, const YAML::Node& n, const Where& w) {
    out.clear();
    if (n.IsNull()) {
      return;
    }
    if (!n.IsSequence()) {
      r.error(w.mark, w.path + ": expected a list of libunbound options (- name: value), got " +
                          std::string(YamlReader::type_name(n)));
      return;
    }
    std::size_t i = 0;
    for (const YAML::Node& item : n) {
      const Where at{w.path + "[" + std::to_string(i++) + "]", YamlReader::mark_of(item, w.mark)};
      if (!item.IsMap() || item.size() != 1) {
        r.error(at.mark, at.path +
                             ": write one libunbound option as name: value, unquoted (e.g. "
                             "- local-zone: test. transparent)");
        continue;
      }
      const auto entry = *item.begin();
      const std::string name = entry.first.IsScalar() ? entry.first.Scalar() : std::string();
      bool name_ok = !name.empty();
      for (char c : name) {
        name_ok = name_ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
      }
      if (!name_ok) {
        r.error(at.mark, at.path + ": '" + name +
                             "' is not a libunbound option name (lower-case letters, digits, -)");
        continue;
      }
      if (!unbound_option_allowed(name)) {
        r.error(at.mark, at.path + ": '" + name +
                             "' is not a resolver option forcetls lets set (nothing that "
                             "touches DNSSEC validation); allowed: " +
                             std::string(kUnboundOptionsAllowed));
        continue;
      }
      const Where value_at{at.path + "." + name, YamlReader::mark_of(entry.second, at.mark)};
      std::optional<std::string> value = r.scalar(entry.second, value_at, "the option's value");
      if (!value) {
        continue;
      }
      bool value_ok = !value->empty();
      for (unsigned char c : *value) {
        value_ok = value_ok && c >= 0x20 && c != 0x7f;
      }
      if (!value_ok) {
        r.error(value_at.mark, value_at.path + ": an empty value or a control character");
        continue;
      }
      out.emplace_back(name, *value);
    }
  });
}

Field address_families_field(std::string key, AddressFamilies& out) {
  return leaf(std::move(key), [&out](YamlReader& r, const YAML::Node& n, const Where& w) {
    r.read_enum<AddressFamilies>(
        n, w, out,
        [](std::string_view s) -> std::optional<AddressFamilies> {
          for (auto f : {AddressFamilies::automatic, AddressFamilies::ipv4, AddressFamilies::ipv6,
                         AddressFamilies::both}) {
            if (to_string(f) == s) {
              return f;
            }
          }
          return std::nullopt;
        },
        "auto, ipv4, ipv6, both");
  });
}

Field facility_field(std::string key, std::string& out) {
  return leaf(std::move(key), [&out](YamlReader& r, const YAML::Node& n, const Where& w) {
    auto s = r.scalar(n, w, "a syslog facility name");
    if (!s) {
      return;
    }
    const std::string v = YamlReader::lower(*s);
    if (syslog_facility(v) < 0) {
      r.error(w.mark, w.path + ": unknown facility '" + *s +
                          "' (allowed: " + std::string(syslog_facility_names()) + ")");
      return;
    }
    out = v;
  });
}

Field level_field(std::string key, log::Level& out) {
  return leaf(std::move(key), [&out](YamlReader& r, const YAML::Node& n, const Where& w) {
    auto s = r.scalar(n, w, "a log level");
    if (!s) {
      return;
    }
    if (!log::parse_level(YamlReader::lower(*s), out)) {
      r.error(w.mark, w.path + ": unknown level '" + *s +
                          "' (allowed: debug, info, warning, error, fatal)");
    }
  });
}

Field milter_section(Config& c, Marks& m) {
  return section("milter", {
                               socket_field("socket", c.milter.socket, false, m.milter_socket),
                               on_miss_field("on_miss", c.milter.on_miss),
                               miss_deadline_field("miss_deadline", c.milter.miss_deadline),
                               on_error_field("on_error", c.milter.on_error),
                               bool_field("header", c.milter.header),
                               header_name_field("header_name", c.milter.header_name),
                               int_field("max_sessions", c.milter.max_sessions, 1, 65536),
                           });
}

Field cache_section(Config& c) {
  return section("cache",
                 {
                     path_field("path", c.cache.path, false, true),
                     leaf("max_size",
                          [&c](YamlReader& r, const YAML::Node& n, const Where& w) {
                            r.read_size(n, w, c.cache.max_size, 1ULL << 20, 1ULL << 40);
                          }),
                     duration_field("ttl_eligible", c.cache.ttl_eligible, 1min, 24h * 30),
                     duration_field("ttl_ineligible", c.cache.ttl_ineligible, 1min, 24h * 30),
                     duration_field("ttl_unknown", c.cache.ttl_unknown, 10s, 24h),
                     duration_field("pin_for", c.cache.pin_for, 0s, 24h * 365),
                     duration_field("pin_confirm_after", c.cache.pin_confirm_after, 0s, 24h * 30),
                     duration_field("grace", c.cache.grace, 0s, 24h * 30),
                     int_field("decoded_domains", c.cache.decoded_domains, 0, 10000000),
                 });
}

Field checker_section(Config& c) {
  return section(
      "checker",
      {
          optional_text_field("ehlo_name", c.checker.ehlo_name,
                              [](const std::string& v) { return checker::normalize_domain(v); }),
          duration_field("connect_timeout", c.checker.connect_timeout, 1s, 5min),
          duration_field("command_timeout", c.checker.command_timeout, 1s, 10min),
          duration_field("probe_deadline", c.checker.probe_deadline, 1s, 1h),
          int_field("concurrency", c.checker.concurrency, 1, 4096),
          int_field("queue_waiting", c.checker.queue_waiting, 1, 1000000),
          int_field("queue_delivery", c.checker.queue_delivery, 1, 1000000),
          int_field("queue_background", c.checker.queue_background, 1, 10000000),
          int_field("connections_per_address", c.checker.connections_per_address, 1, 16),
          duration_field("pause", c.checker.pause, 0s, 1min),
          int_field("max_addresses_per_mx", c.checker.max_addresses_per_mx, 1, 64),
          optional_text_field("resolver", c.checker.resolver,
                              [](const std::string& v) { return parse_resolver_address(v); }),
          path_field("trust_anchor", c.checker.trust_anchor, false, false),
          resolver_options_field("resolver_options", c.checker.resolver_options),
          path_field("ca_file", c.checker.ca_file, true, false),
          bool_field("allow_private", c.checker.allow_private),
          address_families_field("address_families", c.checker.address_families),
      });
}

std::vector<Field> config_schema(Config& c, Marks& m) {
  return {
      milter_section(c, m),
      section("socketmap",
              {
                  socket_field("socket", c.socketmap.socket, true, m.socketmap_socket),
                  map_name_field("name", c.socketmap.name, false),
                  map_name_field("sts_name", c.socketmap.sts_name, true),
                  bool_field("postfix_dnssec", c.socketmap.postfix_dnssec),
                  int_field("max_connections", c.socketmap.max_connections, 4, 65536),
                  duration_field("idle_timeout", c.socketmap.idle_timeout, 1s, 1h),
                  account_field("mta_user", c.socketmap.mta_user),
                  int_field("miss_rate", c.socketmap.miss_rate, 1, 100000),
              }),
      section("daemon",
              {
                  account_field("user", c.daemon.user),
                  account_field("group", c.daemon.group),
                  path_field("pid_file", c.daemon.pid_file, true, true),
              }),
      cache_section(c),
      checker_section(c),
      section("log",
              {
                  facility_field("facility", c.log.facility),
                  level_field("level", c.log.level),
              }),
      path_field("policy_file", c.policy_file, true, false),
  };
}

Loaded<Config> parse_config_impl(std::string_view text, std::string_view name,
                                 std::map<std::string, YAML::Mark>* seen) {
  Loaded<Config> out;
  YamlReader reader(std::string(name), out.problems);
  auto root = reader.parse(text);
  if (!root) {
    return out;
  }
  Marks marks;
  const std::vector<Field> schema = config_schema(out.value, marks);
  reader.read_map(*root, Where{"", root->Mark()}, schema);

  const Config& c = out.value;
  if (c.socketmap.socket.kind != SocketAddress::Kind::none &&
      c.socketmap.socket == c.milter.socket) {
    reader.error(marks.socketmap_socket.line >= 0 ? marks.socketmap_socket : marks.milter_socket,
                 "socketmap.socket: " + c.socketmap.socket.spec() +
                     " is also the milter socket; they need different sockets");
  }
  if (!c.socketmap.sts_name.empty() && c.socketmap.sts_name == c.socketmap.name) {
    reader.error(marks.socketmap_socket, "socketmap.sts_name: '" + c.socketmap.sts_name +
                                             "' is also socketmap.name; they need different names");
  }
  for (const auto& [key, mark] : reader.seen()) {
    out.keys_set.push_back(key);
  }
  if (seen != nullptr) {
    *seen = reader.seen();
  }
  return out;
}

std::string read_file(const std::string& path, std::vector<Problem>& problems) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    problems.push_back(
        {Problem::Severity::error, path, 0, 0,
         std::filesystem::exists(path, ec) ? "not a regular file" : "cannot read: no such file"});
    return {};
  }
  if (std::filesystem::file_size(path, ec) > kMaxFileSize) {
    problems.push_back({Problem::Severity::error, path, 0, 0,
                        "file larger than " + std::to_string(kMaxFileSize) + " bytes"});
    return {};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    problems.push_back({Problem::Severity::error, path, 0, 0, "cannot open for reading"});
    return {};
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::string resolve(const std::string& base_file, const std::string& path) {
  if (path.empty() || path.front() == '/') {
    return path;
  }
  std::filesystem::path dir = std::filesystem::path(base_file).parent_path();
  return (dir / path).lexically_normal().string();
}

}  // namespace

std::string_view to_string(MissBehaviour m) {
  return m == MissBehaviour::wait ? "wait" : "answer-now";
}

std::string_view to_string(AddressFamilies f) {
  switch (f) {
    case AddressFamilies::automatic:
      return "auto";
    case AddressFamilies::ipv4:
      return "ipv4";
    case AddressFamilies::ipv6:
      return "ipv6";
    case AddressFamilies::both:
      return "both";
  }
  return "?";
}

namespace {
// syslog(3) facility names, as <syslog.h> defines them (LOG_AUTHPRIV etc.
// are not for mail daemons and are left out).
constexpr std::array<std::pair<std::string_view, int>, 11> kFacilities{{
    {"mail", LOG_MAIL},
    {"daemon", LOG_DAEMON},
    {"user", LOG_USER},
    {"local0", LOG_LOCAL0},
    {"local1", LOG_LOCAL1},
    {"local2", LOG_LOCAL2},
    {"local3", LOG_LOCAL3},
    {"local4", LOG_LOCAL4},
    {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6},
    {"local7", LOG_LOCAL7},
}};
}  // namespace

int syslog_facility(std::string_view name) {
  for (const auto& [n, code] : kFacilities) {
    if (n == name) {
      return code;
    }
  }
  return -1;
}

std::string_view syslog_facility_names() {
  return "mail, daemon, user, local0, local1, local2, local3, local4, local5, local6, local7";
}

std::string Problem::text() const {
  std::string out = file;
  if (line > 0) {
    out += ":" + std::to_string(line) + ":" + std::to_string(column);
  }
  out += severity == Severity::error ? ": error: " : ": warning: ";
  out += message;
  return out;
}

Loaded<Config> parse_config(std::string_view text, std::string_view name) {
  return parse_config_impl(text, name, nullptr);
}

Loaded<Config> load_config_file(const std::string& path) {
  Loaded<Config> out;
  std::string text = read_file(path, out.problems);
  if (!out.problems.empty()) {
    return out;
  }
  std::map<std::string, YAML::Mark> seen;
  out = parse_config_impl(text, path, &seen);
  Config& c = out.value;
  c.policy_file = resolve(path, c.policy_file);
  c.checker.trust_anchor = resolve(path, c.checker.trust_anchor);
  c.checker.ca_file = resolve(path, c.checker.ca_file);
  // Files named explicitly must exist now, not at the first probe.
  for (const auto& [key, file] :
       {std::pair<std::string, std::string>{"checker.trust_anchor", c.checker.trust_anchor},
        {"checker.ca_file", c.checker.ca_file}}) {
    auto at = seen.find(key);
    std::error_code ec;
    if (at != seen.end() && !file.empty() && !std::filesystem::is_regular_file(file, ec)) {
      out.problems.push_back({Problem::Severity::error, path, at->second.line + 1,
                              at->second.column + 1, key + ": no such file '" + file + "'"});
    }
  }
  return out;
}

std::vector<std::string> config_keys() {
  Config c;
  Marks m;
  std::vector<std::string> out;
  detail::list_keys(config_schema(c, m), "", out);
  return out;
}

// Shared with policy_loader.cpp.
namespace detail {
std::string read_text_file(const std::string& path, std::vector<Problem>& problems) {
  return read_file(path, problems);
}
std::string resolve_path(const std::string& base_file, const std::string& path) {
  return resolve(base_file, path);
}
}  // namespace detail

}  // namespace forcetls::conf
