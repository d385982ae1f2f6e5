// SPDX-License-Identifier: Apache-2.0
// forcetls-milter argument parsing. Hand-written like forcetls-check's, so it
// holds no global state (getopt's optind) and tests call it in-process; the
// short options keep getopt's forms.
#include "milter/daemon/daemon_args.hpp"

namespace forcetls::milter {

std::string_view daemon_usage() {
  return R"(usage: forcetls-milter [-c FILE] [-f] [-s] [-t]
       forcetls-milter --help | --version

Forced TLS per recipient domain: the milter and the TLS policy map for
Postfix and Sendmail.

options:
  -c FILE      configuration (default /etc/forcetls/forcetls.yaml if present)
  -f           stay in the foreground, log to stderr
  -s           log to syslog even with -f (the systemd unit does)
  -t           check the configuration and exit
  -h, --help   print this text
  --version    print the version

exit status: 0 stopped cleanly (or -t found the configuration valid),
1 runtime failure, 2 invalid configuration, 64 usage error.
)";
}

Result<DaemonArgs> parse_daemon_args(const std::vector<std::string>& args) {
  DaemonArgs out;
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "--help") {
      out.help = true;
      continue;
    }
    if (a == "--version") {
      out.version = true;
      continue;
    }
    if (a.starts_with("--")) {
      return fail(Errc::invalid_argument, "unknown option " + a);
    }
    if (!a.starts_with("-") || a.size() == 1) {
      break;
    }
    // A bundle of short options; -c takes the rest of it or the next argument.
    for (std::size_t k = 1; k < a.size(); ++k) {
      switch (a[k]) {
        case 'f':
          out.options.foreground = true;
          continue;
        case 's':
          out.options.syslog = true;
          continue;
        case 't':
          out.options.check_only = true;
          continue;
        case 'h':
          out.help = true;
          continue;
        case 'c':
          if (k + 1 < a.size()) {
            out.options.config_file = a.substr(k + 1);
          } else if (i + 1 < args.size()) {
            out.options.config_file = args[++i];
          } else {
            return fail(Errc::invalid_argument, "-c needs a FILE");
          }
          k = a.size();
          continue;
        default:
          return fail(Errc::invalid_argument, "unknown option -" + std::string(1, a[k]));
      }
    }
  }
  if (i < args.size()) {
    return fail(Errc::invalid_argument, "unexpected argument " + args[i]);
  }
  return out;
}

}  // namespace forcetls::milter
