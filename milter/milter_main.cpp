// forcetls-milter: the daemon's command line (-c FILE, -f, -s, -t).
#include <unistd.h>

#include <iostream>

#include "milter/milter_daemon.hpp"

int main(int argc, char** argv) {
  forcetls::milter::DaemonOptions options;
  int opt = 0;
  while ((opt = ::getopt(argc, argv, "c:fsth")) != -1) {
    switch (opt) {
      case 'c':
        options.config_file = optarg;
        break;
      case 'f':
        options.foreground = true;
        break;
      case 's':
        options.syslog = true;
        break;
      case 't':
        options.check_only = true;
        break;
      default:
        std::cerr << "usage: forcetls-milter [-c FILE] [-f] [-s] [-t]\n"
                     "  -c FILE  configuration (default /etc/forcetls/forcetls.yaml if present)\n"
                     "  -f       stay in the foreground, log to stderr\n"
                     "  -s       log to syslog even with -f (the systemd unit does)\n"
                     "  -t       check the configuration and exit\n";
        return opt == 'h' ? 0 : 64;
    }
  }
  if (optind != argc) {
    std::cerr << "forcetls-milter: unexpected argument " << argv[optind] << "\n";
    return 64;
  }
  return forcetls::milter::run_daemon(options);
}
