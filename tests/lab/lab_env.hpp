// SPDX-License-Identifier: Apache-2.0
// The running lab as lab tests see it: DIR/env of `tests/lab/lab up DIR`, the
// expectation tables (personalities.tsv, servers.tsv) and a shell runner.
// Everything returned by reference is loaded once and immutable; any thread.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace forcetls::labtest {

/// DIR/env of a lab that is up (doc/lab.md lists every key).
struct Env {
  std::string dir;                          ///< LAB_DIR: the state directory
  std::string netns;                        ///< NETNS: the network namespace's name
  std::string resolver;                     ///< RESOLVER: validating unbound, "127.0.0.1@53"
  std::string resolver_option;              ///< RESOLVER_OPTION: lets `.test` names reach it
  std::string auth;                         ///< AUTH: authoritative nsd, "127.0.0.1@5300"
  std::string trust_anchor;                 ///< TRUST_ANCHOR: DS lines of the signed zones
  std::string ca_file;                      ///< CA_FILE: the lab CA (PEM)
  std::string send_smtp;                    ///< SEND_SMTP: sending Postfix smtpd, "127.0.0.1:2525"
  std::string send_log;                     ///< SEND_LOG: its maillog_file
  std::string mx_log;                       ///< MX_LOG: the receiving instance's maillog_file
  std::map<std::string, std::string> vars;  ///< every KEY=VALUE of DIR/env

  /// vars[key]; throws std::runtime_error naming the key when it is missing.
  const std::string& get(const std::string& key) const;
};

/// Parses KEY=VALUE lines; blank lines and lines starting with '#' are
/// skipped. Throws std::runtime_error on a line without '='.
std::map<std::string, std::string> parse_env(std::string_view text);

/// The lab named by $FORCETLS_LAB_DIR (read once). Throws std::runtime_error
/// when the variable is unset or DIR/env is missing (no lab is up).
const Env& env();

struct RunResult {
  int status;       ///< exit code, 128+N when killed by signal N, -1 if not run
  std::string out;  ///< stdout and stderr, interleaved
};

/// The lines of forcetls.yaml's `checker:` section that point forcetls at the
/// lab's resolver (resolver, trust_anchor, resolver_options), indented two
/// spaces, each ending in a newline. Every lab configuration writes these.
std::string checker_resolver_yaml();

/// Runs `/bin/sh -c shell_command` (in the lab's namespace when the test is).
RunResult run(const std::string& shell_command);

/// One argument quoted for /bin/sh: `it's` -> `'it'\''s'`.
std::string shell_quote(std::string_view arg);

/// Splits on `sep`, keeping empty fields.
std::vector<std::string> split(std::string_view text, char sep);

/// A row of a lab table: column name -> value.
using Row = std::map<std::string, std::string>;

/// Reads a tab-separated table: '#' lines are comments, the first other line
/// names the columns. Throws std::runtime_error on a short or long row.
std::vector<Row> read_table(const std::string& path);

/// tests/lab/personalities.tsv: one row per lab domain.
const std::vector<Row>& personalities();
/// tests/lab/servers.tsv: one row per MX address.
const std::vector<Row>& servers();
/// The personalities row of `domain`, or nullptr.
const Row* personality(std::string_view domain);
/// The servers row of `addr` ("127.0.0.10", "::1"), or nullptr.
const Row* server_at(std::string_view addr);

/// An MX record of a personalities row ("10:mx1.good.test"; host "." is a null MX).
struct Mx {
  int preference;
  std::string host;
};
std::vector<Mx> mx_of(const Row& personality);

/// A host entry of a personalities row: addresses, or a CNAME target, or none.
struct Host {
  std::string name;
  std::vector<std::string> addrs;  ///< A and AAAA values
  std::string cname;               ///< non-empty for HOST=>TARGET
};
std::vector<Host> hosts_of(const Row& personality);

/// Absolute path of a file in the source tree's tests/lab/.
std::string source_path(std::string_view name);

}  // namespace forcetls::labtest
