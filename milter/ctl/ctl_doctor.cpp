// SPDX-License-Identifier: Apache-2.0
// forcetls-ctl doctor (ctl_doctor.hpp): the Postfix wiring README.md
// describes, checked item by item against postconf's answers.
#include "milter/ctl/ctl_doctor.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>

#include "checker/report/domain_name.hpp"
#include "checker/report/next_hop.hpp"
#include "common/duration_text.hpp"

namespace forcetls::milter {

CommandOutput run_process(const std::vector<std::string>& argv) {
  CommandOutput result;
  if (argv.empty()) {
    return result;
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return result;
  }
  std::vector<char*> args;
  for (const std::string& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return result;
  }
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) {
      // postconf's output is a few KiB; a runaway program is cut off.
      if (result.out.size() < (std::size_t{64} << 20)) {
        result.out.append(buf, static_cast<std::size_t>(n));
      }
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace forcetls::milter

namespace forcetls::milter::doctor {
namespace {

constexpr std::string_view kSpace = " \t\r\n";

std::string_view trim(std::string_view s) {
  const std::size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) {
    return {};
  }
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  }
  return out;
}

std::vector<std::string_view> words_of(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (true) {
    i = s.find_first_not_of(kSpace, i);
    if (i == std::string_view::npos) {
      break;
    }
    const std::size_t e = std::min(s.find_first_of(kSpace, i), s.size());
    out.push_back(s.substr(i, e - i));
    i = e;
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// `{ inner }` -> inner; anything else unchanged.
std::string_view unbrace(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '{' && s.back() == '}') {
    return trim(s.substr(1, s.size() - 2));
  }
  return s;
}

/// Splits at `seps` outside braces.
std::vector<std::string> split_outside_braces(std::string_view text, std::string_view seps) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  auto flush = [&] {
    std::string_view t = trim(cur);
    if (!t.empty()) {
      out.emplace_back(t);
    }
    cur.clear();
  };
  for (char c : text) {
    if (c == '{') {
      ++depth;
    } else if (c == '}' && depth > 0) {
      --depth;
    }
    if (depth == 0 && seps.find(c) != std::string_view::npos) {
      flush();
    } else {
      cur += c;
    }
  }
  flush();
  return out;
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(v);
}

}  // namespace

std::map<std::string, std::string> parse_params(std::string_view text) {
  std::map<std::string, std::string> out;
  for (std::string_view line : lines_of(text)) {
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    const std::string_view name = trim(line.substr(0, eq));
    if (name.empty() || name.find_first_of(kSpace) != std::string_view::npos) {
      continue;
    }
    out[std::string(name)] = std::string(trim(line.substr(eq + 1)));
  }
  return out;
}

std::vector<Service> parse_master(std::string_view text) {
  std::vector<Service> out;
  for (std::string_view line : lines_of(text)) {
    const std::vector<std::string_view> w = words_of(line);
    if (w.size() < 8 || w[0].starts_with('#')) {
      continue;
    }
    Service s;
    s.name = w[0];
    s.type = w[1];
    s.chroot = w[4] == "y";
    // The command may be a path (/usr/lib/postfix/sbin/smtpd).
    const std::string_view cmd = w[7];
    const std::size_t slash = cmd.rfind('/');
    s.command = slash == std::string_view::npos ? cmd : cmd.substr(slash + 1);
    out.push_back(std::move(s));
  }
  return out;
}

Overrides parse_overrides(std::string_view text) {
  Overrides out;
  for (std::string_view line : lines_of(text)) {
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    const std::string_view key = trim(line.substr(0, eq));
    // service/type/parameter: the service name is what is left of the
    // last two slashes.
    const std::size_t p2 = key.rfind('/');
    if (p2 == std::string_view::npos || p2 == 0) {
      continue;
    }
    const std::size_t p1 = key.rfind('/', p2 - 1);
    if (p1 == std::string_view::npos || p1 == 0 || p1 + 1 == p2 || p2 + 1 == key.size()) {
      continue;
    }
    out[std::string(key.substr(0, p2))][std::string(key.substr(p2 + 1))] =
        std::string(trim(line.substr(eq + 1)));
  }
  return out;
}

std::vector<std::string> split_list(std::string_view text) {
  return split_outside_braces(text, ", \t\r\n");
}

std::vector<MilterEntry> parse_milters(std::string_view text) {
  std::vector<MilterEntry> out;
  for (const std::string& item : split_list(text)) {
    MilterEntry e;
    if (item.front() != '{') {
      e.address = item;
      out.push_back(std::move(e));
      continue;
    }
    std::vector<std::string> parts = split_outside_braces(unbrace(item), ",");
    if (parts.empty()) {
      continue;
    }
    e.address = std::string(trim(parts.front()));
    for (std::size_t i = 1; i < parts.size(); ++i) {
      const std::size_t eq = parts[i].find('=');
      if (eq != std::string::npos) {
        e.settings[std::string(trim(std::string_view(parts[i]).substr(0, eq)))] =
            std::string(trim(std::string_view(parts[i]).substr(eq + 1)));
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<Endpoint> parse_endpoint(std::string_view text) {
  Endpoint e;
  e.text = std::string(text);
  if (text.starts_with("unix:") || text.starts_with("local:")) {
    e.kind = Endpoint::Kind::unix_path;
    e.path = std::string(text.substr(text.find(':') + 1));
    if (e.path.empty()) {
      return std::nullopt;
    }
    return e;
  }
  if (!text.starts_with("inet:")) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(5);
  const std::size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view host = rest.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const auto port = parse_port(rest.substr(colon + 1));
  if (!port || host.empty()) {
    return std::nullopt;
  }
  e.kind = Endpoint::Kind::inet;
  e.host = lower(host);
  e.port = *port;
  return e;
}

std::optional<SocketmapTable> parse_socketmap(std::string_view table) {
  SocketmapTable t;
  if (table.starts_with("proxy:")) {
    t.proxied = true;
    table.remove_prefix(6);
  }
  if (!table.starts_with("socketmap:")) {
    return std::nullopt;
  }
  table.remove_prefix(10);
  const std::size_t colon = table.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == table.size()) {
    return std::nullopt;
  }
  auto endpoint = parse_endpoint(table.substr(0, colon));
  if (!endpoint) {
    return std::nullopt;
  }
  t.endpoint = std::move(*endpoint);
  t.name = std::string(table.substr(colon + 1));
  return t;
}

std::optional<std::chrono::milliseconds> parse_time(std::string_view text) {
  text = trim(text);
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    ++digits;
  }
  if (digits == 0 || digits > 9 || text.size() - digits > 1) {
    return std::nullopt;
  }
  std::int64_t n = 0;
  std::from_chars(text.data(), text.data() + digits, n);
  const char unit = digits < text.size() ? text[digits] : 's';
  using std::chrono::milliseconds;
  switch (unit) {
    case 's':
      return milliseconds(n * 1000);
    case 'm':
      return milliseconds(n * 60'000);
    case 'h':
      return milliseconds(n * 3'600'000);
    case 'd':
      return milliseconds(n * 86'400'000);
    case 'w':
      return milliseconds(n * 604'800'000);
    default:
      return std::nullopt;
  }
}

std::vector<TableEntry> parse_table_source(std::string_view text) {
  std::vector<TableEntry> out;
  int number = 0;
  bool continuable = false;
  for (std::string_view line : lines_of(text)) {
    ++number;
    const std::string_view t = trim(line);
    if (t.empty() || t.front() == '#') {
      continuable = continuable && !t.empty();
      continue;
    }
    if ((line.front() == ' ' || line.front() == '\t')) {
      if (continuable && !out.empty()) {
        out.back().value += (out.back().value.empty() ? "" : " ") + std::string(t);
      }
      continue;
    }
    const std::size_t sp = t.find_first_of(kSpace);
    TableEntry e;
    e.key = std::string(t.substr(0, sp));
    e.value = sp == std::string_view::npos ? "" : std::string(trim(t.substr(sp)));
    e.line = number;
    out.push_back(std::move(e));
    continuable = true;
  }
  return out;
}

std::optional<std::vector<TableEntry>> parse_inline_table(std::string_view spec) {
  spec = trim(spec);
  if (!spec.starts_with("inline:")) {
    return std::nullopt;
  }
  spec.remove_prefix(7);
  spec = trim(spec);
  if (spec.size() < 2 || spec.front() != '{' || spec.back() != '}') {
    return std::nullopt;
  }
  std::vector<TableEntry> out;
  for (const std::string& item : split_list(unbrace(spec))) {
    const std::string_view kv = unbrace(item);
    const std::size_t eq = kv.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    out.push_back({std::string(trim(kv.substr(0, eq))), std::string(trim(kv.substr(eq + 1))), 0});
  }
  return out;
}

Route parse_route(std::string_view value) {
  value = trim(value);
  const std::size_t colon = value.find(':');
  if (colon == std::string_view::npos) {
    return {std::string(value), ""};
  }
  return {std::string(value.substr(0, colon)), std::string(value.substr(colon + 1))};
}

const std::vector<std::string>& parameter_names() {
  static const std::vector<std::string> names = {
      "queue_directory",
      "smtpd_milters",
      "non_smtpd_milters",
      "milter_default_action",
      "milter_command_timeout",
      "smtp_tls_policy_maps",
      "lmtp_tls_policy_maps",
      "smtp_dns_support_level",
      "smtp_host_lookup",
      "ignore_mx_lookup_error",
      "relayhost",
      "transport_maps",
      "default_transport",
      "relay_transport",
  };
  return names;
}

std::string_view to_string(Status s) {
  switch (s) {
    case Status::ok:
      return "ok";
    case Status::note:
      return "note";
    case Status::problem:
      return "problem";
  }
  return "?";
}

std::string Finding::line() const {
  std::string s = std::string(to_string(status)) + ": " + item + ": " + text;
  if (status == Status::problem && !fix.empty()) {
    s += "; fix: " + fix;
  }
  return s;
}

namespace {

namespace fs = std::filesystem;

/// Postfix as postconf described it.
struct View {
  std::map<std::string, std::string> main;
  std::vector<Service> services;
  Overrides overrides;
  std::string queue_dir;
  std::string postconf;

  std::string get(const std::string& name) const {
    auto it = main.find(name);
    return it == main.end() ? std::string() : it->second;
  }
  const std::string* override_of(const Service& s, const std::string& name) const {
    auto it = overrides.find(s.key());
    if (it == overrides.end()) {
      return nullptr;
    }
    auto p = it->second.find(name);
    return p == it->second.end() ? nullptr : &p->second;
  }
  std::vector<const Service*> running(std::string_view command) const {
    std::vector<const Service*> out;
    for (const Service& s : services) {
      if (s.command == command) {
        out.push_back(&s);
      }
    }
    return out;
  }
  const Service* service(std::string_view name, std::string_view type) const {
    for (const Service& s : services) {
      if (s.name == name && s.type == type) {
        return &s;
      }
    }
    return nullptr;
  }
};

/// Where a parameter's value comes from for one service (or main.cf alone
/// when master.cf lists none).
struct Place {
  const Service* service = nullptr;
  std::string parameter;
  std::string value;
  bool overridden = false;  ///< a master.cf -o, not main.cf
  /// Set for a `{ }` milter's own setting: where it is written.
  std::string label;

  std::string service_text() const { return service ? service->key() : "main.cf"; }
  /// "smtpd_milters of submission/inet (master.cf -o)"
  std::string text() const {
    if (!service) {
      return parameter + " (main.cf)";
    }
    return parameter + " of " + service->key() + (overridden ? " (master.cf -o)" : " (main.cf)");
  }
  bool chroot() const { return service && service->chroot; }
};

/// The value of `parameter` for every service running `command`.
std::vector<Place> places(const View& v, std::string_view command, const std::string& parameter) {
  std::vector<Place> out;
  for (const Service* s : v.running(command)) {
    const std::string* o = v.override_of(*s, parameter);
    out.push_back({s, parameter, o ? *o : v.get(parameter), o != nullptr, {}});
  }
  if (out.empty() && v.services.empty()) {
    out.push_back({nullptr, parameter, v.get(parameter), false, {}});
  }
  return out;
}

/// Places that share one source (main.cf, or one service's -o), for one
/// problem line per source.
struct Source {
  std::string what;     ///< "milter_default_action (main.cf)" or "... of relay/unix (master.cf -o)"
  bool braces = false;  ///< a `{ }` milter's own setting
  std::string value;
  bool overridden = false;
  std::string service;  ///< for overrides
  std::vector<std::string> services;
};
std::vector<Source> sources(const std::vector<Place>& ps) {
  std::vector<Source> out;
  for (const Place& p : ps) {
    const std::string what = !p.label.empty() ? p.label
                             : p.overridden
                                 ? p.parameter + " of " + p.service_text() + " (master.cf -o)"
                                 : p.parameter + " (main.cf)";
    auto it = std::find_if(out.begin(), out.end(), [&](const Source& s) { return s.what == what; });
    if (it == out.end()) {
      out.push_back({what,
                     !p.label.empty(),
                     p.value,
                     p.overridden,
                     p.overridden ? p.service_text() : "",
                     {}});
      it = out.end() - 1;
    }
    if (p.service) {
      it->services.push_back(p.service->key());
    }
  }
  return out;
}

std::string joined(const std::vector<std::string>& v, std::string_view sep = ", ") {
  std::string s;
  for (const std::string& x : v) {
    s += (s.empty() ? "" : std::string(sep)) + x;
  }
  return s;
}

std::string shown(const std::string& value) { return value.empty() ? "(empty)" : value; }

/// The fix that sets a parameter where `src` sets it.
std::string set_fix(const View& v, const Source& src, const std::string& parameter,
                    const std::string& value) {
  if (src.overridden) {
    return v.postconf + " -P '" + src.service + "/" + parameter + "=" + value + "'";
  }
  return v.postconf + " -e '" + parameter + " = " + value + "'";
}

bool loopback_name(std::string_view h) {
  return h == "localhost" || h == "127.0.0.1" || h == "::1";
}

enum class Reach : std::uint8_t { no, yes, chroot_blocked };

std::string normal(const std::string& p) { return fs::path(p).lexically_normal().string(); }

bool under(const std::string& path, const std::string& dir) {
  const std::string d = normal(dir + "/");
  const std::string p = normal(path);
  return !dir.empty() && p.size() > d.size() && p.compare(0, d.size(), d) == 0;
}

/// Whether Postfix, connecting to `e` from a service (chrooted or not),
/// reaches forcetls's socket `s`. chroot_blocked: it names the socket's
/// path, but chrooted that path means another file.
Reach reach(const Endpoint& e, const conf::SocketAddress& s, bool chrooted,
            const std::string& queue_dir) {
  using K = conf::SocketAddress::Kind;
  if (e.kind == Endpoint::Kind::inet) {
    if ((s.kind != K::inet && s.kind != K::inet6) || e.port != s.port) {
      return Reach::no;
    }
    const std::string host = lower(s.host);
    const bool any = host.empty() || host == "0.0.0.0" || host == "::";
    if (any || host == e.host || (loopback_name(host) && loopback_name(e.host))) {
      return Reach::yes;
    }
    return Reach::no;
  }
  if (s.kind != K::unix_path) {
    return Reach::no;
  }
  const fs::path p(e.path);
  const std::string real =
      p.is_relative() ? queue_dir + "/" + e.path : (chrooted ? queue_dir + e.path : e.path);
  if (normal(real) == normal(s.path)) {
    return Reach::yes;
  }
  if (chrooted && p.is_absolute() && normal(e.path) == normal(s.path)) {
    return Reach::chroot_blocked;
  }
  return Reach::no;
}

/// How Postfix names forcetls's socket (README.md, "Postfix").
std::string postfix_spec(const conf::SocketAddress& s, const std::string& queue_dir) {
  using K = conf::SocketAddress::Kind;
  switch (s.kind) {
    case K::inet:
      return "inet:" + (s.host.empty() || s.host == "0.0.0.0" ? std::string("127.0.0.1") : s.host) +
             ":" + std::to_string(s.port);
    case K::inet6:
      return "inet:[" + (s.host.empty() || s.host == "::" ? std::string("::1") : s.host) +
             "]:" + std::to_string(s.port);
    case K::unix_path:
      if (under(s.path, queue_dir)) {
        return "unix:" + fs::path(s.path).lexically_relative(queue_dir).string();
      }
      return "unix:" + s.path;
    case K::none:
      break;
  }
  return "none";
}

/// A place that names forcetls's milter or map, and how it reaches it.
struct Wired {
  Place place;
  std::string entry;  ///< the milter address / the table as written
  Reach reach = Reach::no;
  std::map<std::string, std::string> settings;  ///< a `{ }` milter's own settings
};

struct Checker {
  const conf::Config& config;
  const policy::Policy& policy;
  const Inputs& in;
  View v;
  std::vector<Finding> out;
  std::vector<Wired> milter_wired;  ///< places naming forcetls's milter
  std::vector<Wired> map_wired;     ///< places naming forcetls's map

  bool dane() const { return config.socketmap.postfix_dnssec; }

  void add(Status st, std::string item, std::string text, std::string fix = {}) {
    out.push_back({st, std::move(item), std::move(text), std::move(fix)});
  }

  std::vector<Place> milter_places() const {
    std::vector<Place> ps = places(v, "smtpd", "smtpd_milters");
    for (Place& p : places(v, "cleanup", "non_smtpd_milters")) {
      ps.push_back(std::move(p));
    }
    return ps;
  }

  void milter() {
    const conf::SocketAddress& sock = config.milter.socket;
    if (sock.kind == conf::SocketAddress::Kind::none) {
      add(Status::note, "milter", "milter.socket is none: forcetls's milter does not listen");
      return;
    }
    const std::string spec = postfix_spec(sock, v.queue_dir);
    std::vector<std::string> where;
    for (const Place& p : milter_places()) {
      for (const MilterEntry& m : parse_milters(p.value)) {
        auto e = parse_endpoint(m.address);
        if (!e) {
          continue;
        }
        const Reach r = reach(*e, sock, p.chroot(), v.queue_dir);
        if (r != Reach::no) {
          milter_wired.push_back({p, m.address, r, m.settings});
          where.push_back(p.text());
          break;
        }
      }
    }
    if (where.empty()) {
      add(Status::problem, "milter",
          "no smtpd_milters or non_smtpd_milters names forcetls's milter (milter.socket " +
              sock.spec() + ")",
          "add `-o smtpd_milters=" + spec + "` to the submission service in master.cf and `" +
              v.postconf + " -e 'non_smtpd_milters = " + spec + "'` (README.md, Postfix)");
      return;
    }
    add(Status::ok, "milter", spec + " in " + joined(where));
  }

  /// A milter parameter's effective value where forcetls's milter is wired:
  /// its `{ }` setting, else the service's -o, else main.cf.
  std::vector<Place> milter_setting(const std::string& parameter, const std::string& setting) {
    std::vector<Place> ps;
    if (milter_wired.empty()) {
      ps.push_back({nullptr, parameter, v.get(parameter), false, {}});
      return ps;
    }
    for (const Wired& w : milter_wired) {
      auto it = w.settings.find(setting);
      if (it != w.settings.end()) {
        Place p{w.place.service, setting, it->second, false, {}};
        p.label = setting + " in {" + w.entry + ", ...} of " + w.place.text();
        ps.push_back(std::move(p));
        continue;
      }
      const Service* s = w.place.service;
      const std::string* o = s ? v.override_of(*s, parameter) : nullptr;
      ps.push_back({s, parameter, o ? *o : v.get(parameter), o != nullptr, {}});
    }
    return ps;
  }

  void default_action() {
    if (config.milter.socket.kind == conf::SocketAddress::Kind::none) {
      return;
    }
    bool bad = false;
    for (const Source& src : sources(milter_setting("milter_default_action", "default_action"))) {
      if (src.value == "tempfail") {
        continue;
      }
      bad = true;
      const bool braces = src.braces;
      add(Status::problem, "milter_default_action",
          src.what + " = " + shown(src.value) +
              ": while forcetls is unreachable Postfix does not answer 4xx, so mail is " +
              (src.value == "accept" ? "accepted unchecked" : "not retried by the client"),
          braces ? "write default_action=tempfail in that { } entry"
                 : set_fix(v, src, "milter_default_action", "tempfail"));
    }
    if (!bad) {
      add(Status::ok, "milter_default_action", "tempfail");
    }
  }

  void command_timeout() {
    if (config.milter.socket.kind == conf::SocketAddress::Kind::none) {
      return;
    }
    const conf::Duration deadline = config.milter.miss_deadline;
    // Postfix's default is 30s; suggest 10 s of room over the deadline.
    const auto secs = std::chrono::ceil<std::chrono::seconds>(deadline).count() + 10;
    const std::string want = std::to_string(std::max<std::int64_t>(secs, 30)) + "s";
    bool bad = false;
    std::string seen;
    for (const Source& src : sources(milter_setting("milter_command_timeout", "command_timeout"))) {
      const std::string value = src.value.empty() ? "30s" : src.value;
      const auto t = parse_time(value);
      const bool braces = src.braces;
      const std::string fix = braces ? "write command_timeout=" + want + " in that { } entry"
                                     : set_fix(v, src, "milter_command_timeout", want);
      if (!t) {
        bad = true;
        add(Status::problem, "milter_command_timeout",
            src.what + " = " + value + " is not a Postfix time", fix);
      } else if (*t <= deadline) {
        bad = true;
        add(Status::problem, "milter_command_timeout",
            src.what + " = " + value + " is not above milter.miss_deadline (" +
                duration_text(deadline) +
                "): Postfix gives up on a recipient while forcetls still waits for its probe",
            fix + " (or lower milter.miss_deadline)");
      } else {
        seen = value;
      }
    }
    if (!bad) {
      add(Status::ok, "milter_command_timeout",
          seen + " is above milter.miss_deadline (" + duration_text(deadline) + ")");
    }
  }

  /// The services that deliver over SMTP (and LMTP), with their map parameter.
  std::vector<Place> map_places() const {
    std::vector<Place> ps = places(v, "smtp", "smtp_tls_policy_maps");
    for (Place& p : places(v, "lmtp", "lmtp_tls_policy_maps")) {
      if (p.service) {
        ps.push_back(std::move(p));
      }
    }
    return ps;
  }

  void policy_map() {
    const conf::SocketAddress& sock = config.socketmap.socket;
    if (sock.kind == conf::SocketAddress::Kind::none) {
      add(Status::note, "policy-map",
          "socketmap.socket is none: no delivery-time enforcement (mail to eligible `require` "
          "domains may leave in clear when STARTTLS is stripped)");
      return;
    }
    const std::string table =
        "socketmap:" + postfix_spec(sock, v.queue_dir) + ":" + config.socketmap.name;
    const Service* proxymap = v.service("proxymap", "unix");
    std::vector<std::string> covered;
    std::vector<Place> missing_smtp;
    for (const Place& p : map_places()) {
      bool found = false;
      for (const std::string& t : split_list(p.value)) {
        auto sm = parse_socketmap(t);
        if (!sm || sm->name != config.socketmap.name) {
          continue;
        }
        const bool chrooted = sm->proxied ? (proxymap && proxymap->chroot) : p.chroot();
        const Reach r = reach(sm->endpoint, sock, chrooted, v.queue_dir);
        if (r != Reach::no) {
          Place shown_place = p;
          if (sm->proxied && proxymap) {
            shown_place.service = proxymap;
          }
          map_wired.push_back({shown_place, t, r, {}});
          found = true;
          break;
        }
      }
      if (found) {
        covered.push_back(p.service_text());
      } else if (p.parameter == "lmtp_tls_policy_maps") {
        add(Status::note, "policy-map",
            p.text() + " lacks " + table + ": LMTP deliveries of " + p.service_text() +
                " are not held to TLS (fine for local LMTP)");
      } else {
        missing_smtp.push_back(p);
      }
    }
    for (const Source& src : sources(missing_smtp)) {
      const std::string fix = src.overridden
                                  ? "add " + table + " to that -o in master.cf (" + v.postconf +
                                        " -P '" + src.service + "/smtp_tls_policy_maps=" + table +
                                        "'), or remove the -o"
                                  : v.postconf + " -e 'smtp_tls_policy_maps = " + table + "'";
      add(Status::problem, "policy-map",
          src.what + " = " + shown(src.value) + " lacks " + table + ": deliveries of " +
              (src.services.empty() ? std::string("smtp") : joined(src.services)) +
              " are not held to TLS",
          fix);
    }
    if (missing_smtp.empty()) {
      add(Status::ok, "policy-map",
          table + " in smtp_tls_policy_maps of " + (covered.empty() ? "-" : joined(covered)));
    }
  }

  /// smtp(8)'s value of a parameter, one problem per source.
  template <typename Good>
  bool per_smtp(const std::string& parameter, Good good, const std::string& item,
                const std::string& why, const std::string& fix_value, const std::string& extra) {
    bool bad = false;
    for (const Source& src : sources(places(v, "smtp", parameter))) {
      if (good(src.value)) {
        continue;
      }
      bad = true;
      add(Status::problem, item, src.what + " = " + shown(src.value) + ": " + why,
          set_fix(v, src, parameter, fix_value) + extra);
    }
    return !bad;
  }

  void dns_support_level() {
    auto is_dnssec = [](const std::string& x) { return x == "dnssec"; };
    if (!dane()) {
      const std::string now = v.get("smtp_dns_support_level");
      add(Status::ok, "smtp_dns_support_level",
          "dane/verify answers are off (socketmap.postfix_dnssec: false); dane/verify answers "
          "need smtp_dns_support_level = dnssec (now " +
              shown(now) + ")");
      return;
    }
    if (per_smtp("smtp_dns_support_level", is_dnssec, "smtp_dns_support_level",
                 "socketmap.postfix_dnssec is on, and dane/verify answers need "
                 "smtp_dns_support_level = dnssec",
                 "dnssec", " (or socketmap.postfix_dnssec: false)")) {
      add(Status::ok, "smtp_dns_support_level", "dnssec (dane/verify answers are on)");
    }
  }

  void host_lookup() {
    auto has_dns = [](const std::string& x) {
      for (const std::string& w : split_list(x)) {
        if (w == "dns") {
          return true;
        }
      }
      return false;
    };
    if (!dane()) {
      const std::string now = v.get("smtp_host_lookup");
      add(Status::ok, "smtp_host_lookup",
          shown(now) + (has_dns(now) ? "" : " (dane/verify answers, which are off, need dns)"));
      return;
    }
    if (per_smtp("smtp_host_lookup", has_dns, "smtp_host_lookup",
                 "dane/verify answers need DNSSEC-validated address lookups, which only dns gives",
                 "dns", "")) {
      add(Status::ok, "smtp_host_lookup", "includes dns");
    }
  }

  void ignore_mx_lookup_error() {
    auto no = [](const std::string& x) { return x.empty() || lower(x) == "no"; };
    if (per_smtp("ignore_mx_lookup_error", no, "ignore_mx_lookup_error",
                 "a failed MX lookup makes Postfix deliver to the domain's own address, not to "
                 "the MX hosts forcetls judged",
                 "no", "")) {
      add(Status::ok, "ignore_mx_lookup_error", "no");
    }
  }

  static bool has_trust_ad(const std::string& text) {
    for (std::string_view line : lines_of(text)) {
      const std::vector<std::string_view> w = words_of(line);
      if (!w.empty() && w[0] == "options" &&
          std::find(w.begin() + 1, w.end(), "trust-ad") != w.end()) {
        return true;
      }
    }
    return false;
  }

  void trust_ad() {
    if (!dane()) {
      add(Status::ok, "trust-ad", "not needed (dane/verify answers are off)");
      return;
    }
    std::vector<std::string> files = {in.resolv_conf};
    for (const Service* s : v.running("smtp")) {
      if (s->chroot && !v.queue_dir.empty()) {
        files.push_back(normal(v.queue_dir + "/etc/resolv.conf"));  // what a chrooted smtp reads
        break;
      }
    }
    bool bad = false;
    for (const std::string& f : files) {
      const auto text = in.read_file ? in.read_file(f) : std::nullopt;
      if (!text) {
        bad = true;
        add(Status::problem, "trust-ad",
            "cannot read " + f + " (dane/verify answers need `options trust-ad` there)",
            "make " + f + " readable, with an `options trust-ad` line");
      } else if (!has_trust_ad(*text)) {
        bad = true;
        add(Status::problem, "trust-ad",
            "no `options trust-ad` in " + f +
                ": the resolver library drops the DNSSEC AD bit, so Postfix never sees a "
                "validated answer and defers dane-only and verify deliveries",
            "add `options trust-ad` to " + f + " (the resolver it names must validate)");
      }
    }
    if (!bad) {
      add(Status::ok, "trust-ad", "options trust-ad in " + joined(files));
    }
  }

  /// The relay next hops Postfix may use: one per (source, next hop).
  struct Relay {
    std::string
        source;  ///< "relayhost", "transport_maps hash:/etc/postfix/transport:3 (example.com)"
    std::string nexthop;
  };

  /// Whether a transport name delivers with smtp(8).
  bool smtp_transport(const std::string& transport) const {
    std::string t = transport;
    if (t.empty()) {
      t = parse_route(v.get("default_transport")).transport;
    }
    if (t.empty()) {
      t = "smtp";
    }
    const Service* s = v.service(t, "unix");
    return s ? s->command == "smtp" : (t == "smtp" || t == "relay");
  }

  std::optional<std::vector<TableEntry>> read_table(const std::string& table, std::string& why) {
    if (auto entries = parse_inline_table(table)) {
      return entries;
    }
    const std::size_t colon = table.find(':');
    const std::string type = colon == std::string::npos ? "" : table.substr(0, colon);
    static const std::set<std::string> indexed = {"hash", "btree", "lmdb",    "cdb",
                                                  "dbm",  "sdbm",  "texthash"};
    if (!indexed.contains(type)) {
      why = "a " + (type.empty() ? std::string("bare") : type) + " table is not read";
      return std::nullopt;
    }
    const std::string path = table.substr(colon + 1);
    const auto text = in.read_file ? in.read_file(path) : std::nullopt;
    if (!text) {
      why = "cannot read " + path;
      return std::nullopt;
    }
    return parse_table_source(*text);
  }

  std::vector<Relay> relays() {
    std::vector<Relay> out;
    for (const std::string& h : split_list(v.get("relayhost"))) {
      out.push_back({"relayhost", h});
    }
    for (const char* p : {"default_transport", "relay_transport"}) {
      const Route r = parse_route(v.get(p));
      if (!r.nexthop.empty() && smtp_transport(r.transport)) {
        out.push_back({p, r.nexthop});
      }
    }
    for (const std::string& table : split_list(v.get("transport_maps"))) {
      std::string why;
      auto entries = read_table(table, why);
      if (!entries) {
        add(Status::note, "relay",
            "could not read transport_maps table " + table + " (" + why +
                "): check its [relay] next hops by hand");
        continue;
      }
      for (const TableEntry& e : *entries) {
        const Route r = parse_route(e.value);
        if (r.nexthop.empty() || !smtp_transport(r.transport)) {
          continue;
        }
        // `example.com smtp:example.com` is no relay: the domain's own MX.
        auto key = checker::parse_report_key(e.key);
        auto hop = checker::parse_report_key(r.nexthop);
        if (key && hop && key->kind == hop->kind && key->name == hop->name) {
          continue;
        }
        out.push_back({"transport_maps " + table + (e.line ? ":" + std::to_string(e.line) : "") +
                           " (" + e.key + ")",
                       r.nexthop});
      }
    }
    return out;
  }

  void relay() {
    const std::vector<Relay> rs = relays();
    if (rs.empty()) {
      add(Status::ok, "relay",
          "no relayhost and no relay next hop in transport_maps: delivery-time enforcement "
          "applies to each recipient domain's MX hosts");
      return;
    }
    for (const Relay& r : rs) {
      auto target = checker::parse_report_key(r.nexthop);
      if (!target) {
        add(Status::problem, "relay",
            r.source + " names " + r.nexthop + ", which forcetls cannot read (" +
                target.error().message + ")",
            "write the next hop as [host], [host]:port, host or host:port");
        continue;
      }
      add(Status::note, "relay",
          r.source + " sends mail to " + r.nexthop +
              ": delivery-time enforcement applies to the relay " + target->name +
              ", not the recipients' MX hosts");
      const policy::Match m =
          target->address() ? policy.match_delivery_address() : policy.match_delivery(target->name);
      const std::string rule =
          m.rule->origin.text() + " (" + (m.is_default ? "default" : m.pattern.text()) + ")";
      if (m.rule->options.mode == policy::Mode::require) {
        add(Status::ok, "relay", r.nexthop + " is under require (" + rule + ")");
      } else {
        add(Status::problem, "relay",
            r.nexthop + " (" + r.source + ") is covered by no require rule (" + rule + " is " +
                std::string(to_string(m.rule->options.mode)) +
                "): mail handed to it need not be encrypted",
            "add a require rule for " + target->name + " to " +
                (in.policy_source == "built-in" ? std::string("a policy file (policy_file)")
                                                : in.policy_source));
      }
    }
  }

  void chroot() {
    const bool any_unix = config.milter.socket.kind == conf::SocketAddress::Kind::unix_path ||
                          config.socketmap.socket.kind == conf::SocketAddress::Kind::unix_path;
    if (!any_unix) {
      add(Status::ok, "chroot", "forcetls's sockets are inet: Postfix's chroot does not matter");
      return;
    }
    bool bad = false;
    auto check = [&](const std::vector<Wired>& ws, const conf::SocketAddress& sock,
                     const char* key) {
      for (const Wired& w : ws) {
        if (w.reach != Reach::chroot_blocked) {
          continue;
        }
        bad = true;
        const std::string svc = w.place.service_text();
        const std::string fix =
            under(sock.path, v.queue_dir)
                ? "name it " + postfix_spec(sock, v.queue_dir) +
                      " (relative to queue_directory) in " + w.place.parameter
                : "move " + std::string(key) + " below " + v.queue_dir + " (e.g. unix:" +
                      normal(v.queue_dir + "/forcetls/" + fs::path(sock.path).filename().string()) +
                      ", named unix:forcetls/" + fs::path(sock.path).filename().string() +
                      " in Postfix), or set the chroot column of " + svc + " to n (" + v.postconf +
                      " -F '" + svc + "/chroot=n')";
        add(Status::problem, "chroot",
            svc + " runs chrooted in " + v.queue_dir + " (master.cf chroot y) and its " +
                w.place.parameter + " names " + w.entry + ", which the chroot does not reach",
            fix);
      }
    };
    check(milter_wired, config.milter.socket, "milter.socket");
    check(map_wired, config.socketmap.socket, "socketmap.socket");
    if (!bad) {
      add(Status::ok, "chroot", "every service that names a unix socket of forcetls reaches it");
    }
  }
};

}  // namespace

std::vector<Finding> diagnose(const conf::Config& config, const policy::Policy& policy,
                              const Inputs& inputs) {
  Checker c{config, policy, inputs, {}, {}, {}, {}};
  c.v.main = parse_params(inputs.main_defaults);
  for (auto& [k, val] : parse_params(inputs.main_set)) {
    c.v.main[k] = val;
  }
  c.v.services = parse_master(inputs.master);
  c.v.overrides = parse_overrides(inputs.overrides);
  c.v.queue_dir = c.v.get("queue_directory");
  c.v.postconf = inputs.postconf;
  c.milter();
  c.default_action();
  c.command_timeout();
  c.policy_map();
  c.dns_support_level();
  c.host_lookup();
  c.ignore_mx_lookup_error();
  c.trust_ad();
  c.relay();
  c.chroot();
  return std::move(c.out);
}

}  // namespace forcetls::milter::doctor

namespace forcetls::milter {

int doctor_command(const conf::Setup& setup, const std::vector<std::string>& args, CtlEnv& env) {
  std::optional<std::string> dir;
  doctor::Inputs in;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-c" && i + 1 < args.size()) {
      dir = args[++i];
    } else if (a == "--resolv-conf" && i + 1 < args.size()) {
      in.resolv_conf = args[++i];
    } else {
      env.err << "forcetls-ctl: usage: forcetls-ctl doctor [-c POSTFIX_DIR] [--resolv-conf FILE]\n";
      return kExitUsage;
    }
  }
  std::vector<std::string> base = {"postconf"};
  if (dir) {
    base.insert(base.end(), {"-c", *dir});
    in.postconf = "postconf -c " + *dir;
  }
  auto ask = [&](std::vector<std::string> extra, std::string& into) {
    std::vector<std::string> argv = base;
    argv.insert(argv.end(), extra.begin(), extra.end());
    CommandOutput r = env.run_command(argv);
    if (r.status != 0) {
      std::string shown;
      for (const std::string& x : argv) {
        shown += (shown.empty() ? "" : " ") + x;
      }
      env.out << "problem: postconf: `" << shown << "` failed (exit " << r.status
              << "); fix: install Postfix, or name its configuration directory with -c DIR\n";
      return false;
    }
    into = std::move(r.out);
    return true;
  };
  std::vector<std::string> defaults = {"-d", "-x"};
  for (const std::string& n : doctor::parameter_names()) {
    defaults.push_back(n);
  }
  if (!ask({"-n", "-x"}, in.main_set) || !ask(defaults, in.main_defaults) ||
      !ask({"-M", "-x"}, in.master) || !ask({"-P", "-x"}, in.overrides)) {
    return kExitProblem;
  }
  in.read_file = [](const std::string& path) -> std::optional<std::string> {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
      return std::nullopt;
    }
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
  };
  in.policy_source = setup.policy_source;
  std::size_t problems = 0;
  for (const doctor::Finding& f : doctor::diagnose(setup.config, *setup.policy, in)) {
    env.out << f.line() << "\n";
    problems += f.status == doctor::Status::problem ? 1 : 0;
  }
  env.out << "doctor: " << (problems == 0 ? std::string("no") : std::to_string(problems))
          << (problems == 1 ? " problem" : " problems") << " (Postfix "
          << (dir ? *dir : std::string("default instance")) << ", forcetls " << setup.config_source
          << ", policy " << setup.policy_source << ")\n";
  return problems == 0 ? kExitOk : kExitProblem;
}

}  // namespace forcetls::milter
