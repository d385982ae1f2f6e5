// SPDX-License-Identifier: Apache-2.0
// SocketmapHandler: one socketmap request (`NAME KEY`) in, one reply out —
// map name -> key form -> policy (Policy::match_delivery) -> cache -> the
// answer mapping (socketmap_answer.hpp), plus the log line. Free of sockets,
// so unit tests run it with an in-memory DeliveryReports. answer() is
// reentrant: the responder calls it from every connection thread.
#pragma once

#include <string>
#include <string_view>

#include "cache/reports.hpp"
#include "common/log.hpp"
#include "milter/socketmap/socketmap_answer.hpp"
#include "policy/policy.hpp"

namespace forcetls::milter {

/// The map names the responder answers (config socketmap.name / sts_name)
/// and what its answers may assume about Postfix.
struct SocketmapOptions {
  std::string postfix = "forcetls";  ///< smtp_tls_policy_maps values
  std::string sts = "sts";           ///< Sendmail FEATURE(sts) values; empty: not served
  /// socketmap.postfix_dnssec: Postfix validates DNSSEC (postfix_answer).
  bool postfix_dnssec = false;
};

/// A reply and the log line it earns.
struct SocketmapReply {
  SocketmapAnswer answer;
  /// OK and NOTFOUND at debug (one per delivery: the mail log has Postfix's
  /// own line), TEMP and PERM at info (each defers or holds mail).
  log::Level level = log::Level::debug;
  /// `socketmap map=forcetls key=example.com answer=OK value="encrypt ..."
  /// policy=require verdict=eligible cache=hit rule=policy.yaml:3`; empty
  /// when `level` is not enabled (the line is not built).
  std::string log_line;
};

/// Answers one request payload. Every key a `require` rule covers — a
/// domain, a `[host]`, either with a port — is looked up (and probed on a
/// miss) under its own ReportTarget; none is answered NOTFOUND for want of
/// a report.
SocketmapReply answer_request(const policy::Policy& policy, const SocketmapOptions& options,
                              cache::Reports& reports, std::string_view request);

}  // namespace forcetls::milter
