// SPDX-License-Identifier: Apache-2.0
// Configuration -> component options.
#include "milter/service/setup.hpp"

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
  return o;
}

checker::ResolverOptions resolver_options(const conf::Config& config) {
  checker::ResolverOptions o;
  o.forwarder = config.checker.resolver;
  o.trust_anchor_file = config.checker.trust_anchor;
  o.timeout = std::max(config.checker.command_timeout, conf::Duration(5000));
  return o;
}

checker::ProberOptions prober_options(const conf::Config& config, const std::string& this_host) {
  const conf::Config::Checker& c = config.checker;
  checker::ProberOptions o;
  o.smtp.ehlo_name = c.ehlo_name.empty() ? this_host : c.ehlo_name;
  o.set_timeouts(c.connect_timeout, c.command_timeout);
  o.per_address_connections = c.connections_per_address;
  o.pause = c.pause;
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
  // The engine abandons a probe that outlives the per-domain deadline by far.
  o.probe_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(config.checker.probe_deadline * 2);
  return o;
}

}  // namespace forcetls::milter
