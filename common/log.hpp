// SPDX-License-Identifier: Apache-2.0
// Logging: one line per event, `key=value` fields, to syslog (facility mail
// by default) or to stderr in the foreground. Thread-safe: any thread may log
// once init() has run; init() itself is called once at startup.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

namespace forcetls::log {

enum class Level { debug, info, warning, error, fatal };

/// Parses "debug|info|warning|error|fatal"; false for anything else.
bool parse_level(std::string_view text, Level& out);
std::string_view level_name(Level level);

enum class Target { stderr_stream, syslog };

struct Options {
  std::string ident = "forcetls";
  Target target = Target::stderr_stream;
  int facility = -1;  ///< syslog facility; -1 means LOG_MAIL
  Level level = Level::info;
};

/// Sets where lines go and which are kept. Call before threads start.
void init(const Options& options);

/// Replaces the output with a function (tests capture lines this way).
/// Pass an empty function to restore the configured target.
void set_sink(std::function<void(Level, std::string_view)> sink);

void set_level(Level level);
bool enabled(Level level);

/// Writes one line (no newline needed) if `level` is enabled.
void write(Level level, std::string_view line);

/// A `key=value` field. Values with spaces, quotes, '=' or control
/// characters are quoted so every line stays machine-parsable.
using Field = std::pair<std::string_view, std::string_view>;

/// Builds "k1=v1 k2=v2" with quoting as needed.
std::string fields(std::initializer_list<Field> kv);

/// Quotes one value if needed: `a b` -> `"a b"`, control bytes -> \xNN.
std::string quote(std::string_view value);

/// At most one line per interval for an event that can come in floods
/// (a full queue, a refused connection): due() counts the event and says
/// whether to log it now; the first one is always due. Thread-safe.
class Throttle {
 public:
  explicit Throttle(std::chrono::steady_clock::duration interval = std::chrono::minutes(1))
      : interval_(interval) {}
  Throttle(const Throttle&) = delete;
  Throttle& operator=(const Throttle&) = delete;
  /// Counts one event; true when it is to be logged now, with `events` (if
  /// given) set to the events counted since the last logged one, this one
  /// included.
  bool due(std::uint64_t* events = nullptr);

 private:
  static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min();
  std::chrono::steady_clock::duration interval_;
  std::atomic<std::int64_t> last_{kNever};  ///< steady clock ticks of the last logged one
  std::atomic<std::uint64_t> pending_{0};
};

inline void info(std::string_view line) { write(Level::info, line); }
inline void warning(std::string_view line) { write(Level::warning, line); }
inline void error(std::string_view line) { write(Level::error, line); }

}  // namespace forcetls::log
