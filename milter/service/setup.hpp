// SPDX-License-Identifier: Apache-2.0
// From the daemon configuration (conf::Config) to the options of the
// components it runs: the cache store, the resolver and the prober. Pure
// mapping; any thread. One place, so forcetls-milter and forcetls-ctl can
// never probe or store differently.
#pragma once

#include "cache/refresh.hpp"
#include "cache/store.hpp"
#include "checker/dns/dns.hpp"
#include "checker/probe/prober.hpp"
#include "conf/config.hpp"

namespace forcetls::milter {

cache::StoreOptions store_options(const conf::Config& config);
checker::ResolverOptions resolver_options(const conf::Config& config);
/// The prober as the daemon runs it (address results not remembered: the
/// cache holds them). `this_host` fills an empty checker.ehlo_name.
checker::ProberOptions prober_options(const conf::Config& config, const std::string& this_host);
cache::RefreshOptions refresh_options(const conf::Config& config);

using checker::this_host_name;  ///< the default EHLO name (checker/smtp/smtp_session.hpp)

}  // namespace forcetls::milter
