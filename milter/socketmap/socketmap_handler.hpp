// SPDX-License-Identifier: Apache-2.0
// SocketmapHandler: one socketmap request (`NAME KEY`) in, one reply out —
// map name -> key form -> policy (Policy::match_delivery) -> cache -> the
// answer mapping (socketmap_answer.hpp), plus the log line. Free of sockets,
// so unit tests run it with an in-memory DeliveryReports. answer() is
// reentrant: the responder calls it from every connection thread.
#pragma once

#include <string>
#include <string_view>

#include "cache/refresh.hpp"
#include "cache/store.hpp"
#include "common/log.hpp"
#include "milter/socketmap/socketmap_answer.hpp"
#include "policy/policy.hpp"

namespace forcetls::milter {

/// Where the responder's reports come from; safe to call from many threads.
class DeliveryReports {
 public:
  virtual ~DeliveryReports() = default;
  /// The domain's report (fresh / stale / missing). Not fresh queues a
  /// refresh, a missing one with `miss_priority` (waiting: mail for a
  /// `require` domain sits in a queue). Never waits for a probe.
  virtual cache::Lookup lookup(std::string_view domain, cache::Priority miss_priority) = 0;
  /// The name's own record, without queueing anything (`[host]` keys).
  virtual cache::Lookup peek(std::string_view name) = 0;
};

/// The daemon's DeliveryReports: the refresh engine over the LMDB store.
class EngineDeliveryReports final : public DeliveryReports {
 public:
  EngineDeliveryReports(cache::RefreshEngine& engine, cache::Store& store)
      : engine_(engine), store_(store) {}
  cache::Lookup lookup(std::string_view domain, cache::Priority miss_priority) override;
  cache::Lookup peek(std::string_view name) override { return store_.peek(name); }

 private:
  cache::RefreshEngine& engine_;
  cache::Store& store_;
};

/// The map names the responder answers (config socketmap.name / sts_name).
struct SocketmapMaps {
  std::string postfix = "forcetls";  ///< smtp_tls_policy_maps values
  std::string sts = "sts";           ///< Sendmail FEATURE(sts) values; empty: not served
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

/// Answers one request payload.
SocketmapReply answer_request(const policy::Policy& policy, const SocketmapMaps& maps,
                              DeliveryReports& reports, std::string_view request);

}  // namespace forcetls::milter
