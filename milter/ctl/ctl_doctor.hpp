// SPDX-License-Identifier: Apache-2.0
// forcetls-ctl `doctor`: is Postfix wired to forcetls the way README.md
// ("Postfix", "Delivery-time enforcement") says? It reads what postconf
// prints (`-n`, `-d NAME...`, `-M`, `-P`, all with `-x`), the transport
// tables it can read and resolv.conf, next to forcetls's own configuration
// and policy, and prints one line per item: ok, note, or problem with its
// fix. The parsers take Postfix's output as untrusted text (skip what they
// cannot read, never throw); diagnose() is pure. One call at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "conf/loader.hpp"
#include "milter/ctl/ctl.hpp"
#include "policy/policy.hpp"

namespace forcetls::milter::doctor {

/// `name = value` lines (postconf -n, postconf -d NAME...): name -> value.
/// Lines of another form are skipped; a later line wins.
std::map<std::string, std::string> parse_params(std::string_view text);

/// One service of `postconf -M` (one line each: name, type, private,
/// unpriv, chroot, wakeup, maxproc, command and its arguments).
struct Service {
  std::string name;     ///< "submission", "127.0.0.1:2525", "relay"
  std::string type;     ///< "inet", "unix", "pass", ...
  bool chroot = false;  ///< chroot column `y` (`-` is `n` since Postfix 3.0)
  std::string command;  ///< the program: smtpd, smtp, lmtp, cleanup, ...
  std::string key() const { return name + "/" + type; }  ///< as postconf -P writes it
  bool operator==(const Service&) const = default;
};
std::vector<Service> parse_master(std::string_view text);

/// `postconf -P`: `service/type/parameter = value` -> [service/type][parameter].
using Overrides = std::map<std::string, std::map<std::string, std::string>>;
Overrides parse_overrides(std::string_view text);

/// The items of a Postfix list (comma and/or white space between them); a
/// `{ ... }` group, also inside an item (`inline:{ a=b, c=d }`), stays one item.
std::vector<std::string> split_list(std::string_view text);

/// One entry of smtpd_milters / non_smtpd_milters: `inet:host:port`, or
/// `{ inet:host:port, command_timeout=10s, default_action=accept }`.
struct MilterEntry {
  std::string address;
  std::map<std::string, std::string> settings;  ///< the per-milter settings of a `{ }` entry
};
std::vector<MilterEntry> parse_milters(std::string_view text);

/// A socket Postfix connects to: `inet:host:port`, `inet:[v6]:port`,
/// `unix:path`, `local:path` (a relative path is below queue_directory).
struct Endpoint {
  enum class Kind : std::uint8_t { inet, unix_path };
  Kind kind = Kind::inet;
  std::string host;  ///< inet: without brackets
  std::uint16_t port = 0;
  std::string path;  ///< unix_path
  std::string text;  ///< as written
};
std::optional<Endpoint> parse_endpoint(std::string_view text);

/// A `socketmap:ENDPOINT:NAME` table (also behind `proxy:`).
struct SocketmapTable {
  Endpoint endpoint;
  std::string name;
  bool proxied = false;  ///< `proxy:socketmap:...`: proxymap(8) connects
};
std::optional<SocketmapTable> parse_socketmap(std::string_view table);

/// A Postfix time value: a whole number with an optional unit (s, m, h, d,
/// w; none means seconds, as for milter_command_timeout).
std::optional<std::chrono::milliseconds> parse_time(std::string_view text);

/// One `key value` of a lookup table's source text.
struct TableEntry {
  std::string key;
  std::string value;
  int line = 0;  ///< 1-based line of the key in the source (0 for inline:)
};
/// postmap(1) source format: `key value` per line, `#` comments, blank
/// lines skipped, a line starting with white space continues the previous one.
std::vector<TableEntry> parse_table_source(std::string_view text);
/// The entries of an `inline:{ key=value, { key = value } }` table, or
/// nullopt when `spec` is not one.
std::optional<std::vector<TableEntry>> parse_inline_table(std::string_view spec);

/// A transport(5) result `transport:nexthop` (either part may be empty; no
/// colon: all transport).
struct Route {
  std::string transport;
  std::string nexthop;
};
Route parse_route(std::string_view value);

/// What the checks read, as text. Tests fill it with fixed text.
struct Inputs {
  std::string main_set;       ///< postconf -n -x
  std::string main_defaults;  ///< postconf -d -x parameter_names()...
  std::string master;         ///< postconf -M -x
  std::string overrides;      ///< postconf -P -x
  /// "postconf" or "postconf -c DIR": the fixes name the same instance.
  std::string postconf = "postconf";
  std::string resolv_conf = "/etc/resolv.conf";
  /// A file's contents (transport tables, resolv.conf); nullopt when unreadable.
  std::function<std::optional<std::string>(const std::string& path)> read_file;
  std::string policy_source = "policy.yaml";  ///< for the fix of an uncovered relay
};

/// The main.cf parameters the checks read; their defaults come from
/// `postconf -d` for those main.cf does not set.
const std::vector<std::string>& parameter_names();

enum class Status : std::uint8_t { ok, note, problem };
std::string_view to_string(Status s);  ///< "ok", "note", "problem"

struct Finding {
  Status status = Status::ok;
  std::string item;  ///< "milter", "policy-map", "milter_default_action", ...
  std::string text;
  std::string fix;  ///< problems only
  /// `ok: ITEM: TEXT`, `note: ITEM: TEXT`, `problem: ITEM: TEXT; fix: FIX`.
  std::string line() const;
};

/// Every check, in a fixed order. Whether forcetls gives dane-only /
/// verify answers is config.socketmap.postfix_dnssec.
std::vector<Finding> diagnose(const conf::Config& config, const policy::Policy& policy,
                              const Inputs& inputs);

}  // namespace forcetls::milter::doctor

namespace forcetls::milter {

/// `doctor [-c DIR] [--resolv-conf FILE]` (args after "doctor"): runs
/// postconf through env.run_command and prints diagnose()'s lines.
/// kExitOk when there is no problem, kExitProblem otherwise.
int doctor_command(const conf::Setup& setup, const std::vector<std::string>& args, CtlEnv& env);

}  // namespace forcetls::milter
