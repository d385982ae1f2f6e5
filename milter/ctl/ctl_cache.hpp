// SPDX-License-Identifier: Apache-2.0
// forcetls-ctl's `cache ...` commands and the cache-backed report source, on
// their own Store of the daemon's cache directory (safe while the daemon
// runs: LMDB coordinates the processes). One call at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cache/reports.hpp"
#include "cache/store.hpp"
#include "conf/config.hpp"
#include "milter/ctl/ctl.hpp"

namespace forcetls::milter {

/// `cache list|show|refresh|purge|stats|export|import ...` (args after "cache").
int cache_command(const conf::Config& config, const std::vector<std::string>& args, CtlEnv& env);

/// The configured cache for a forcetls-ctl command; nullptr after printing
/// why to env.err. `must_exist`: a missing cache directory is an error
/// (reading commands) instead of a new, empty cache (writing ones).
std::unique_ptr<cache::Store> open_ctl_store(const conf::Config& config, bool must_exist,
                                             CtlEnv& env);

/// The configured cache, read only (cache::StoreReports); NoReports when the cache
/// directory does not exist (nothing was ever cached there).
std::unique_ptr<cache::Reports> open_cache_reports(const conf::Config& config);

}  // namespace forcetls::milter
