// SPDX-License-Identifier: Apache-2.0
// Configuration -> component options.
#include "milter/service/setup.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "common/c_handle.hpp"

namespace forcetls::milter {
namespace {

std::int64_t seconds(conf::Duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

}  // namespace

cache::StoreOptions store_options(const conf::Config& config) {
  cache::StoreOptions o;
  o.path = config.cache.path;
  o.ttls.good = seconds(config.cache.ttl_eligible);
  o.ttls.ineligible = seconds(config.cache.ttl_ineligible);
  o.ttls.unknown = seconds(config.cache.ttl_unknown);
  o.ttls.grace = seconds(config.cache.grace);
  o.pins.pin_for = seconds(config.cache.pin_for);
  o.pins.confirm_after = seconds(config.cache.pin_confirm_after);
  o.max_map_size = static_cast<std::size_t>(config.cache.max_size);
  o.map_size = std::min(o.map_size, o.max_map_size);
  o.decoded_domains = static_cast<std::size_t>(config.cache.decoded_domains);
  return o;
}

checker::ResolverOptions resolver_options(const conf::Config& config) {
  checker::ResolverOptions o;
  o.forwarder = config.checker.resolver;
  o.trust_anchor_file = config.checker.trust_anchor;
  o.unbound_options = config.checker.resolver_options;
  o.timeout = std::max(config.checker.command_timeout, conf::Duration(5000));
  return o;
}

checker::ProberOptions prober_options(const conf::Config& config, const std::string& this_host) {
  const conf::Config::Checker& c = config.checker;
  checker::ProberOptions o;
  o.smtp.ehlo_name = c.ehlo_name.empty() ? this_host : c.ehlo_name;
  o.set_timeouts(c.connect_timeout, c.command_timeout);
  o.per_address_connections = c.connections_per_address;
  o.politeness.pause = c.pause;
  o.mx.max_addresses_per_host = static_cast<std::size_t>(c.max_addresses_per_mx);
  o.mx.address_policy.allow_private = c.allow_private;
  checker::FamilyChoice choice = checker::FamilyChoice::automatic;
  switch (c.address_families) {
    case conf::AddressFamilies::automatic:
      choice = checker::FamilyChoice::automatic;
      break;
    case conf::AddressFamilies::ipv4:
      choice = checker::FamilyChoice::ipv4;
      break;
    case conf::AddressFamilies::ipv6:
      choice = checker::FamilyChoice::ipv6;
      break;
    case conf::AddressFamilies::both:
      choice = checker::FamilyChoice::both;
      break;
  }
  o.mx.families = checker::select_families(choice);
  o.tls.ca_file = c.ca_file;
  o.remember_addresses = false;
  return o;
}

cache::RefreshOptions refresh_options(const conf::Config& config) {
  cache::RefreshOptions o;
  o.max_in_flight = static_cast<std::size_t>(std::max(1, config.checker.concurrency));
  o.queue_waiting = static_cast<std::size_t>(config.checker.queue_waiting);
  o.queue_delivery = static_cast<std::size_t>(config.checker.queue_delivery);
  o.queue_background = static_cast<std::size_t>(config.checker.queue_background);
  // The engine abandons a probe that outlives the per-domain deadline by far.
  o.probe_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(config.checker.probe_deadline * 2);
  return o;
}

Result<DaemonIds> daemon_ids(const conf::Config& config) {
  const passwd* pw = ::getpwnam(config.daemon.user.c_str());
  if (pw == nullptr) {
    return fail(Errc::config, "daemon.user '" + config.daemon.user +
                                  "' does not exist (create it, or set daemon.user)");
  }
  DaemonIds ids{pw->pw_uid, pw->pw_gid};
  if (!config.daemon.group.empty()) {
    const group* gr = ::getgrnam(config.daemon.group.c_str());
    if (gr == nullptr) {
      return fail(Errc::config, "daemon.group '" + config.daemon.group + "' does not exist");
    }
    ids.gid = gr->gr_gid;
  }
  return ids;
}

namespace {

/// data.mdb and lock.mdb in the open cache directory: each must be a plain
/// file with one link (a symbolic or hard link would let whoever can write
/// the directory aim root's LMDB open or chown at another file); with
/// `ids`, given to them.
Result<void> check_cache_files(int dir_fd, const std::string& dir, std::optional<DaemonIds> ids) {
  for (const char* name : {"data.mdb", "lock.mdb"}) {
    const std::string path = dir + "/" + name;
    Fd file(::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!file) {
      if (errno == ENOENT) {
        continue;
      }
      if (errno == ELOOP) {
        return fail(Errc::config, path + " is a symbolic link: not opening the cache");
      }
      return fail(Errc::io, "open " + path + ": " + std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(file.get(), &st) != 0) {
      return fail(Errc::io, "stat " + path + ": " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
      return fail(Errc::config,
                  path + " is not a plain file with a single link: not opening the cache");
    }
    if (ids && ::fchown(file.get(), ids->uid, ids->gid) != 0) {
      return fail(Errc::io, "chown " + path + ": " + std::strerror(errno));
    }
  }
  return {};
}

}  // namespace

Result<void> own_cache(const std::string& dir, DaemonIds ids) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return fail(Errc::io, "mkdir " + dir + ": " + std::strerror(errno));
  }
  Fd cache_dir(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!cache_dir) {
    if (errno == ELOOP || errno == ENOTDIR) {
      return fail(Errc::config, "cache.path " + dir +
                                    " is a symbolic link or not a directory: not changing its "
                                    "owner (point cache.path at the directory itself)");
    }
    return fail(Errc::io, "open " + dir + ": " + std::strerror(errno));
  }
  if (::fchown(cache_dir.get(), ids.uid, ids.gid) != 0) {
    return fail(Errc::io, "chown " + dir + ": " + std::strerror(errno));
  }
  return check_cache_files(cache_dir.get(), dir, ids);
}

Result<void> check_cache(const std::string& dir) {
  Fd cache_dir(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cache_dir) {
    return errno == ENOENT ? Result<void>{}
                           : fail(Errc::io, "open " + dir + ": " + std::strerror(errno));
  }
  return check_cache_files(cache_dir.get(), dir, std::nullopt);
}

AsCacheOwner::AsCacheOwner(const std::string& dir, std::optional<DaemonIds> ids) {
  struct stat st {};
  if (::geteuid() != 0 || !ids || ids->uid == 0 || ::stat(dir.c_str(), &st) != 0 ||
      st.st_uid != ids->uid) {
    return;
  }
  egid_ = ::getegid();
  const int n = ::getgroups(0, nullptr);
  groups_.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  if (n > 0 && ::getgroups(n, groups_.data()) != n) {
    groups_.clear();
  }
  const gid_t only = ids->gid;
  // Groups, then gid, then uid: the uid last, while root may still change
  // the others.
  if (::setgroups(1, &only) != 0 || ::setegid(ids->gid) != 0 || ::seteuid(ids->uid) != 0) {
    ok_ = false;
  }
  switched_ = true;
}

AsCacheOwner::~AsCacheOwner() {
  if (!switched_) {
    return;
  }
  // Back to root: the uid first, so the gid and groups may be restored.
  if (::seteuid(0) != 0 || ::setegid(egid_) != 0 ||
      ::setgroups(groups_.size(), groups_.data()) != 0) {
    // A half-restored root: go no further than acting as the daemon user.
    std::abort();
  }
}

}  // namespace forcetls::milter
