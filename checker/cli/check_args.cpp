// SPDX-License-Identifier: Apache-2.0
// forcetls-check argument parsing. Hand-written (no option library in the
// dependency set); every error is one line naming the option.
#include "checker/cli/check_args.hpp"

#include <charconv>

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
  --trust-anchor FILE        DNSSEC trust anchors (default /usr/share/dns/root.key)
  --ca-file FILE             CA certificates for verification (default: system store)
  --previous FILE            an earlier --json output: MTA-STS policies still within
                             max_age under an unchanged id are reused, and kept when a
                             fetch fails (RFC 8461 section 5.1)
  --ehlo NAME                name sent in EHLO (default: this host's name)
  --port N                   SMTP port (default 25)
  --timeout DURATION         per-step timeout, e.g. 10s (default 10s)
  --per-address-connections N  connections at once to one address (default 1)
  --pause DURATION           pause between connections to one address (default 50ms)
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
    auto value = [&](std::string& dest) -> Result<void> {
      if (i + 1 >= args.size()) {
        return fail(Errc::invalid_argument, a + " needs a value");
      }
      dest = args[++i];
      return {};
    };
    std::string v;
    Result<void> got;
    if (a == "--json") {
      out.json = true;
    } else if (a == "--quick") {
      out.quick = true;
    } else if (a == "--allow-private") {
      out.allow_private = true;
    } else if (a == "--tls13-counts") {
      out.tls13_counts = true;
    } else if (a == "--help" || a == "-h") {
      out.help = true;
    } else if (a == "--version") {
      out.version = true;
    } else if (a == "--mx") {
      if (!(got = value(v))) {
        return std::unexpected(got.error());
      }
      out.mx.push_back(v);
    } else if (a == "--file") {
      if (!(got = value(out.list_file))) {
        return std::unexpected(got.error());
      }
    } else if (a == "--resolver") {
      if (!(got = value(out.resolver))) {
        return std::unexpected(got.error());
      }
    } else if (a == "--trust-anchor") {
      if (!(got = value(out.trust_anchor))) {
        return std::unexpected(got.error());
      }
    } else if (a == "--ca-file") {
      if (!(got = value(out.ca_file))) {
        return std::unexpected(got.error());
      }
    } else if (a == "--previous") {
      if (!(got = value(out.previous))) {
        return std::unexpected(got.error());
      }
    } else if (a == "--ehlo") {
      if (!(got = value(out.ehlo))) {
        return std::unexpected(got.error());
      }
    } else if (a == "--families") {
      if (!(got = value(out.families))) {
        return std::unexpected(got.error());
      }
      if (out.families != "auto" && out.families != "ipv4" && out.families != "ipv6" &&
          out.families != "both") {
        return fail(Errc::invalid_argument,
                    "--families must be auto, ipv4, ipv6 or both, not \"" + out.families + "\"");
      }
    } else if (a == "--port" || a == "--per-address-connections") {
      if (!(got = value(v))) {
        return std::unexpected(got.error());
      }
      unsigned n = 0;
      unsigned max = a == "--port" ? 65535 : 16;
      if (!parse_number(std::string_view(v), n) || n == 0 || n > max) {
        return fail(Errc::invalid_argument,
                    a + " needs a number from 1 to " + std::to_string(max) + ", not \"" + v + "\"");
      }
      if (a == "--port") {
        out.port = static_cast<std::uint16_t>(n);
      } else {
        out.per_address_connections = static_cast<int>(n);
      }
    } else if (a == "--timeout" || a == "--pause") {
      if (!(got = value(v))) {
        return std::unexpected(got.error());
      }
      auto d = parse_duration_arg(v);
      if (!d) {
        return fail(Errc::invalid_argument, a + ": " + d.error().message);
      }
      if (a == "--timeout" && *d < std::chrono::milliseconds(100)) {
        return fail(Errc::invalid_argument, "--timeout must be at least 100ms");
      }
      (a == "--timeout" ? out.timeout : out.pause) = *d;
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
