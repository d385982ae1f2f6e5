// SPDX-License-Identifier: Apache-2.0
// From the daemon configuration (conf::Config) to the options of the
// components it runs: the cache store, the resolver and the prober. Pure
// mapping; any thread. One place, so forcetls-milter and forcetls-ctl can
// never probe or store differently.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>
#include "cache/refresh.hpp"
#include "cache/store.hpp"
#include "checker/dns/dns.hpp"
#include "checker/probe/prober.hpp"

#include "common/error.hpp"
#include "conf/config.hpp"

namespace forcetls::milter {

cache::StoreOptions store_options(const conf::Config& config);
checker::ResolverOptions resolver_options(const conf::Config& config);
/// The prober as the daemon runs it (address results not remembered: the
/// cache holds them). `this_host` fills an empty checker.ehlo_name.
checker::ProberOptions prober_options(const conf::Config& config, const std::string& this_host);
cache::RefreshOptions refresh_options(const conf::Config& config);

/// The uid and gid `daemon.user` / `daemon.group` name.
struct DaemonIds {
  uid_t uid = 0;
  gid_t gid = 0;
};
Result<DaemonIds> daemon_ids(const conf::Config& config);

/// As root: creates cache.path (0700) when missing and gives it, and the
/// LMDB files in it, to `ids`, so the daemon can always open a cache
/// whoever made it. Never through a symbolic link (its target would change
/// owner): a linked cache.path is an error.
/// The LMDB files must be plain files with a single link (not a symbolic
/// or hard link to another file); they are given to `ids` too.
Result<void> own_cache(const std::string& dir, DaemonIds ids);
/// As root, before a read-only opening: the LMDB files are plain files with
/// a single link (cache.path itself may be a link). A missing cache is fine.
Result<void> check_cache(const std::string& dir);

/// While alive, a root process whose cache.path belongs to `ids` acts with
/// the daemon's effective uid, gid and groups: what it opens meanwhile (the
/// LMDB files) it opens with the daemon user's rights, so a link that user
/// planted after check_cache() can reach no file only root may write.
/// Nothing happens when not root, without ids, or for a directory owned by
/// someone else (the daemon user could not plant links there). For
/// single-threaded callers (forcetls-ctl): effective ids are per process.
class AsCacheOwner {
 public:
  AsCacheOwner(const std::string& dir, std::optional<DaemonIds> ids);
  ~AsCacheOwner();
  AsCacheOwner(const AsCacheOwner&) = delete;
  AsCacheOwner& operator=(const AsCacheOwner&) = delete;
  /// False when the switch failed: open nothing.
  bool ok() const { return ok_; }

 private:
  bool switched_ = false;
  bool ok_ = true;
  gid_t egid_ = 0;
  std::vector<gid_t> groups_;
};

using checker::this_host_name;  ///< the default EHLO name (checker/smtp/smtp_session.hpp)

}  // namespace forcetls::milter
