// SPDX-License-Identifier: Apache-2.0
// The daemon's configuration: every key of forcetls.yaml with its default.
// A default-constructed Config is the embedded configuration the daemon runs
// on when there is no file. Plain value, immutable once loaded; any thread.
// Loading and validation: conf/loader.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/log.hpp"
#include "conf/socket_address.hpp"
#include "conf/units.hpp"
#include "policy/rule.hpp"

namespace forcetls::conf {

using namespace std::chrono_literals;

/// What the milter does when a recipient domain is not in the cache.
enum class MissBehaviour : std::uint8_t {
  wait,        ///< probe now and wait up to miss_deadline, then answer as not-checked
  answer_now,  ///< answer as not-checked at once (on_unknown.not_checked); probe in background
};
std::string_view to_string(MissBehaviour m);  ///< "wait", "answer-now"

/// Which address families the prober contacts.
enum class AddressFamilies : std::uint8_t {
  automatic,  ///< those this host has a route for ("auto")
  ipv4,
  ipv6,
  both,
};
std::string_view to_string(AddressFamilies f);  ///< "auto", "ipv4", "ipv6", "both"

inline constexpr std::string_view kDefaultConfigPath = "/etc/forcetls/forcetls.yaml";

struct Config {
  struct Milter {
    /// Default: loopback only, the port README.md documents for Postfix.
    SocketAddress socket{SocketAddress::Kind::inet, 8891, "127.0.0.1", ""};
    MissBehaviour on_miss = MissBehaviour::wait;
    /// Well inside Postfix's milter_command_timeout (30 s by default), so
    /// Postfix never gives up on the milter first.
    Duration miss_deadline = 20s;
    /// What an internal failure (exception, cache error) turns into.
    policy::Action on_error = policy::Action::tempfail;
    bool header = true;  ///< add the informational header to every checked message
    std::string header_name = "X-ForceTLS";
    /// MTA sessions checked at once; one beyond is tempfailed at connect
    /// (the client retries), so a flood cannot exhaust the daemon.
    int max_sessions = 1024;
    bool operator==(const Milter&) const = default;
  } milter;

  struct Socketmap {
    /// Postfix smtp_tls_policy_maps listener (socketmap_table(5)); `none` disables.
    SocketAddress socket{SocketAddress::Kind::inet, 8892, "127.0.0.1", ""};
    std::string name = "forcetls";  ///< the map name in `socketmap:...:NAME`
    /// Sendmail FEATURE(sts) answers (`secure match=...`) under this map
    /// name (Sendmail's own map is called `sts`); empty: not served.
    std::string sts_name = "sts";
    /// Postfix validates DNSSEC (smtp_dns_support_level = dnssec): only then
    /// are `dane-only` and `verify match=hostname` answered.
    bool postfix_dnssec = false;
    /// Open connections at most; at the limit a new one evicts the one idle
    /// longest (Postfix reconnects transparently).
    int max_connections = 1024;
    Duration idle_timeout = 60s;  ///< a connection silent this long is closed
    /// unix socket: the MTA's user, for whom a quarter of max_connections
    /// is reserved (root always counts); other local users cannot take them.
    std::string mta_user = "postfix";
    /// Probes one connection may queue per second (ten times that at once);
    /// beyond, a miss answers from the cache alone (TEMP under `require`).
    int miss_rate = 10;
    bool operator==(const Socketmap&) const = default;
  } socketmap;

  struct Daemon {
    std::string user = "forcetls";  ///< dropped to after opening sockets (when root)
    std::string group;              ///< empty: the user's primary group
    std::string pid_file;           ///< empty: none
    bool operator==(const Daemon&) const = default;
  } daemon;

  struct Cache {
    std::string path = "/var/lib/forcetls";  ///< LMDB environment directory
    std::uint64_t max_size = 512ULL << 20;   ///< LMDB map size
    Duration ttl_eligible = 24h;
    Duration ttl_ineligible = 1h;  ///< short enough that a fixed domain recovers soon
    Duration ttl_unknown = 15min;
    Duration pin_for = 24h * 7;        ///< an eligible verdict is pinned this long (pins.hpp)
    Duration pin_confirm_after = 24h;  ///< a pinned domain's ineligibility must last this long
    Duration grace = 1h;               ///< an expired entry is still answered (stale) this long
    int decoded_domains = 20'000;      ///< judged reports kept decoded in memory (0: none)
    bool operator==(const Cache&) const = default;
  } cache;

  struct Checker {
    std::string ehlo_name;  ///< empty: this host's name
    Duration connect_timeout = 10s;
    Duration command_timeout = 10s;  ///< each SMTP reply and TLS read
    Duration probe_deadline = 60s;   ///< one whole domain
    int concurrency = 32;            ///< domains probed at once
    /// Probe requests queued per class at most (cache/refresh.hpp): senders
    /// waiting at RCPT, policy-map misses, background refreshes.
    int queue_waiting = 1000;
    int queue_delivery = 1000;
    int queue_background = 10000;
    int connections_per_address = 1;
    Duration pause = 500ms;  ///< between connections to one address (politeness)
    int max_addresses_per_mx = 8;
    std::string resolver;  ///< IP@PORT forwarder; empty: full recursion from the root
    std::string trust_anchor = "/usr/share/dns/root.key";
    /// libunbound options (name without ':', value), applied after the
    /// others: `- local-zone: test. transparent`; none by default.
    std::vector<std::pair<std::string, std::string>> resolver_options;
    std::string ca_file;  ///< empty: the system CA store
    bool allow_private = false;
    AddressFamilies address_families = AddressFamilies::automatic;
    bool operator==(const Checker&) const = default;
  } checker;

  struct Log {
    std::string facility = "mail";  ///< syslog facility name
    log::Level level = log::Level::info;
    bool operator==(const Log&) const = default;
  } log;

  /// The policy file; empty: the built-in policy (`prefer` everywhere). A
  /// relative path is relative to the configuration file's directory.
  std::string policy_file;

  bool operator==(const Config&) const = default;
};

/// syslog(3) facility code for a name ("mail" -> LOG_MAIL); -1 if unknown.
int syslog_facility(std::string_view name);
/// The facility names syslog_facility() accepts, for error messages.
std::string_view syslog_facility_names();

}  // namespace forcetls::conf
