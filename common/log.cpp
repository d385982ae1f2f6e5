// SPDX-License-Identifier: Apache-2.0
// Logging back end: a mutex-guarded sink so lines from many libmilter worker
// threads never interleave on stderr.
#include "common/log.hpp"

#include <syslog.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <mutex>

namespace forcetls::log {
namespace {

struct State {
  std::mutex mutex;
  Options options;
  std::string ident;  // openlog keeps the pointer: must outlive the syslog session
  std::function<void(Level, std::string_view)> sink;
};

State& state() {
  static State s;
  return s;
}

std::atomic<int> g_level{static_cast<int>(Level::info)};

int syslog_priority(Level level) {
  switch (level) {
    case Level::debug:
      return LOG_DEBUG;
    case Level::info:
      return LOG_INFO;
    case Level::warning:
      return LOG_WARNING;
    case Level::error:
      return LOG_ERR;
    case Level::fatal:
      return LOG_CRIT;
  }
  return LOG_ERR;
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) {
    return true;
  }
  for (unsigned char c : v) {
    if (c <= 0x20 || c == 0x7f || c == '"' || c == '=' || c == '\\') {
      return true;
    }
  }
  return false;
}

}  // namespace

bool parse_level(std::string_view text, Level& out) {
  static constexpr std::array<std::pair<std::string_view, Level>, 5> kNames{{
      {"debug", Level::debug},
      {"info", Level::info},
      {"warning", Level::warning},
      {"error", Level::error},
      {"fatal", Level::fatal},
  }};
  for (const auto& [name, level] : kNames) {
    if (name == text) {
      out = level;
      return true;
    }
  }
  return false;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warning:
      return "warning";
    case Level::error:
      return "error";
    case Level::fatal:
      return "fatal";
  }
  return "?";
}

void init(const Options& options) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.options = options;
  s.ident = options.ident;
  g_level.store(static_cast<int>(options.level));
  if (options.target == Target::syslog) {
    openlog(s.ident.c_str(), LOG_PID | LOG_NDELAY,
            options.facility >= 0 ? options.facility : LOG_MAIL);
  }
}

void set_sink(std::function<void(Level, std::string_view)> sink) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.sink = std::move(sink);
}

void set_level(Level level) { g_level.store(static_cast<int>(level)); }

bool enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

void write(Level level, std::string_view line) {
  if (!enabled(level)) {
    return;
  }
  State& s = state();
  std::lock_guard lock(s.mutex);
  if (s.sink) {
    s.sink(level, line);
    return;
  }
  if (s.options.target == Target::syslog) {
    syslog(syslog_priority(level), "%.*s", static_cast<int>(line.size()), line.data());
    return;
  }
  std::fprintf(stderr, "%s[%d]: %s: %.*s\n", s.options.ident.c_str(), static_cast<int>(getpid()),
               std::string(level_name(level)).c_str(), static_cast<int>(line.size()), line.data());
}

std::string quote(std::string_view value) {
  if (!needs_quotes(value)) {
    return std::string(value);
  }
  std::string out = "\"";
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

std::string fields(std::initializer_list<Field> kv) {
  std::string out;
  for (const auto& [key, value] : kv) {
    if (!out.empty()) {
      out += ' ';
    }
    out += key;
    out += '=';
    out += quote(value);
  }
  return out;
}

bool Throttle::due(std::uint64_t* events) {
  pending_.fetch_add(1);
  const std::int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  std::int64_t seen = last_.load();
  if (seen != kNever && now - seen < interval_.count()) {
    return false;
  }
  if (!last_.compare_exchange_strong(seen, now)) {
    return false;  // another thread logs this interval's line
  }
  const std::uint64_t n = pending_.exchange(0);
  if (events != nullptr) {
    *events = n;
  }
  return true;
}

}  // namespace forcetls::log
