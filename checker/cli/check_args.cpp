// SPDX-License-Identifier: Apache-2.0
// forcetls-check argument parsing. Hand-written (no option library in the
// dependency set); every error is one line naming the option.
#include "checker/cli/check_args.hpp"

#include <charconv>

#include "checker/dns/dns.hpp"

namespace forcetls::checker {
namespace {

template <typename T>
bool parse_number(std::string_view text, T& out) {
  if (text.empty()) {
    return false;
  }
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// An option without a value: sets its flag.
struct FlagOption {
  std::string_view name;
  bool CheckArgs::*field;
};
constexpr FlagOption kFlagOptions[] = {
    {"--json", &CheckArgs::json},
    {"--quick", &CheckArgs::quick},
    {"--allow-private", &CheckArgs::allow_private},
    {"--tls13-counts", &CheckArgs::tls13_counts},
    {"--help", &CheckArgs::help},
    {"-h", &CheckArgs::help},
    {"--version", &CheckArgs::version},
};

// An option with a value (the next argument): `set` checks and stores it;
// an error names the option.
struct ValueOption {
  std::string_view name;
  Result<void> (*set)(CheckArgs& out, const std::string& option, const std::string& value);
};

template <std::string CheckArgs::*field>
Result<void> set_text(CheckArgs& out, const std::string& /*option*/, const std::string& value) {
  out.*field = value;
  return {};
}

Result<void> set_mx(CheckArgs& out, const std::string& /*option*/, const std::string& value) {
  out.mx.push_back(value);
  return {};
}

Result<void> set_resolver_option(CheckArgs& out, const std::string& option,
                                 const std::string& value) {
  auto parsed = parse_unbound_option(value);
  if (!parsed) {
    return fail(Errc::invalid_argument, option + ": " + parsed.error().message);
  }
  out.resolver_options.push_back(std::move(*parsed));
  return {};
}

Result<void> set_families(CheckArgs& out, const std::string& /*option*/, const std::string& value) {
  out.families = value;
  if (out.families != "auto" && out.families != "ipv4" && out.families != "ipv6" &&
      out.families != "both") {
    return fail(Errc::invalid_argument,
                "--families must be auto, ipv4, ipv6 or both, not \"" + out.families + "\"");
  }
  return {};
}

// --port and --per-address-connections.
Result<void> set_count(CheckArgs& out, const std::string& option, const std::string& value) {
  unsigned n = 0;
  unsigned max = option == "--port" ? 65535 : 16;
  if (!parse_number(std::string_view(value), n) || n == 0 || n > max) {
    return fail(Errc::invalid_argument, option + " needs a number from 1 to " +
                                            std::to_string(max) + ", not \"" + value + "\"");
  }
  if (option == "--port") {
    out.port = static_cast<std::uint16_t>(n);
  } else {
    out.per_address_connections = static_cast<int>(n);
  }
  return {};
}

// --timeout and --pause.
Result<void> set_duration(CheckArgs& out, const std::string& option, const std::string& value) {
  auto d = parse_duration_arg(value);
  if (!d) {
    return fail(Errc::invalid_argument, option + ": " + d.error().message);
  }
  if (option == "--timeout" && *d < std::chrono::milliseconds(100)) {
    return fail(Errc::invalid_argument, "--timeout must be at least 100ms");
  }
  (option == "--timeout" ? out.timeout : out.pause) = *d;
  return {};
}

constexpr ValueOption kValueOptions[] = {
    {"--mx", set_mx},
    {"--file", set_text<&CheckArgs::list_file>},
    {"--resolver", set_text<&CheckArgs::resolver>},
    {"--resolver-option", set_resolver_option},
    {"--trust-anchor", set_text<&CheckArgs::trust_anchor>},
    {"--ca-file", set_text<&CheckArgs::ca_file>},
    {"--previous", set_text<&CheckArgs::previous>},
    {"--ehlo", set_text<&CheckArgs::ehlo>},
    {"--families", set_families},
    {"--port", set_count},
    {"--per-address-connections", set_count},
    {"--timeout", set_duration},
    {"--pause", set_duration},
};

template <typename Option, std::size_t N>
const Option* find_option(const Option (&options)[N], std::string_view name) {
  for (const Option& option : options) {
    if (option.name == name) {
      return &option;
    }
  }
  return nullptr;
}

}  // namespace

std::string_view check_usage() {
  return R"(usage: forcetls-check [options] DOMAIN...
       forcetls-check [options] --file LIST
       forcetls-check [options] --mx HOST[:PORT]...

Checks the inbound mail servers (every MX, every address) of each DOMAIN for
SMTP TLS and the Forced-TLS eligibility rule, and prints a report.

options:
  --json                     one JSON document per domain (one per line)
  --quick                    stop once eligibility is proven (one handshake per address)
  --mx HOST[:PORT]           probe one server directly, no MX lookup
  --file LIST                read domains from LIST (one per line, # comments)
  --resolver IP[@PORT]       forward DNS to this resolver (default: full recursion)
  --resolver-option 'NAME: VALUE'  a libunbound option as unbound.conf writes it,
                             e.g. 'local-zone: test. transparent' (repeatable)
  --trust-anchor FILE        DNSSEC trust anchors (default /usr/share/dns/root.key)
  --ca-file FILE             CA certificates for verification (default: system store)
  --previous FILE            an earlier --json output: MTA-STS policies still within
                             max_age under an unchanged id are reused, and kept when a
                             fetch fails (RFC 8461 section 5.1)
  --ehlo NAME                name sent in EHLO (default: this host's name)
  --port N                   SMTP port (default 25)
  --timeout DURATION         per-step timeout, e.g. 10s (default 10s)
  --per-address-connections N  connections at once to one address (default 1)
  --pause DURATION           pause between connections to one address (default 5ms)
  --families auto|ipv4|ipv6|both  address families to probe (default auto)
  --allow-private            probe loopback and private addresses (labs)
  --tls13-counts             let TLS 1.3 satisfy the TLS version and cipher rules
  --help, --version

exit status: 0 all eligible, 1 some domain not eligible, 2 some unknown,
64 usage error, 70 internal failure.
)";
}

Result<std::chrono::milliseconds> parse_duration_arg(std::string_view text) {
  std::string_view digits = text;
  std::int64_t scale = 1000;
  if (text.ends_with("ms")) {
    digits = text.substr(0, text.size() - 2);
    scale = 1;
  } else if (text.ends_with("s")) {
    digits = text.substr(0, text.size() - 1);
  } else if (text.ends_with("m")) {
    digits = text.substr(0, text.size() - 1);
    scale = 60000;
  }
  std::int64_t n = 0;
  if (!parse_number(digits, n) || n < 0 || n > 24 * 3600 * 1000 / scale) {
    return fail(Errc::invalid_argument,
                "invalid duration \"" + std::string(text) + "\" (e.g. 500ms, 10s, 2m)");
  }
  return std::chrono::milliseconds(n * scale);
}

Result<HostPort> parse_host_port(std::string_view text, std::uint16_t default_port) {
  HostPort hp{.host = std::string(text), .port = default_port};
  std::string_view port_text;
  if (text.starts_with("[")) {
    auto close = text.find(']');
    if (close == std::string_view::npos) {
      return fail(Errc::invalid_argument, "unbalanced '[' in \"" + std::string(text) + "\"");
    }
    hp.host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') {
        return fail(Errc::invalid_argument,
                    "expected :PORT after ']' in \"" + std::string(text) + "\"");
      }
      port_text = rest.substr(1);
    }
  } else if (auto colon = text.rfind(':');
             colon != std::string_view::npos && text.find(':') == colon) {
    hp.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (!port_text.empty() || (text.ends_with(":") && !text.starts_with("["))) {
    unsigned port = 0;
    if (!parse_number(port_text, port) || port == 0 || port > 65535) {
      return fail(Errc::invalid_argument, "invalid port in \"" + std::string(text) + "\"");
    }
    hp.port = static_cast<std::uint16_t>(port);
  }
  if (hp.host.empty()) {
    return fail(Errc::invalid_argument, "missing host in \"" + std::string(text) + "\"");
  }
  return hp;
}

Result<CheckArgs> parse_check_args(const std::vector<std::string>& args) {
  CheckArgs out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (const FlagOption* flag = find_option(kFlagOptions, a)) {
      out.*(flag->field) = true;
    } else if (const ValueOption* option = find_option(kValueOptions, a)) {
      if (i + 1 >= args.size()) {
        return fail(Errc::invalid_argument, a + " needs a value");
      }
      if (auto set = option->set(out, a, args[++i]); !set) {
        return std::unexpected(set.error());
      }
    } else if (a.starts_with("-") && a.size() > 1) {
      return fail(Errc::invalid_argument, "unknown option " + a);
    } else {
      out.domains.push_back(a);
    }
  }
  if (!out.help && !out.version && out.domains.empty() && out.list_file.empty() && out.mx.empty()) {
    return fail(Errc::invalid_argument, "no domain given");
  }
  if (!out.mx.empty() && (!out.domains.empty() || !out.list_file.empty())) {
    return fail(Errc::invalid_argument, "--mx probes servers directly: give no domains with it");
  }
  return out;
}

}  // namespace forcetls::checker
