// SPDX-License-Identifier: Apache-2.0
// MX resolution; see mx_resolver.hpp.
#include "checker/dns/mx_resolver.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <exception>
#include <memory>
#include <optional>
#include <set>

namespace forcetls::checker {

namespace {

/// Runs every task concurrently on the current executor and returns their
/// results in order; a task that threw leaves nullopt. If the caller is
/// cancelled it returns at once with what is done; the tasks keep running
/// (they own their data) and their results are dropped.
template <typename T>
asio::awaitable<std::vector<std::optional<T>>> gather(std::vector<asio::awaitable<T>> tasks) {
  auto executor = co_await asio::this_coro::executor;
  struct State {
    explicit State(const asio::any_io_executor& ex, std::size_t n)
        : results(n), remaining(n), done(ex, asio::steady_timer::time_point::max()) {}
    std::vector<std::optional<T>> results;
    std::size_t remaining;
    asio::steady_timer done;  // cancelled when the last task finishes
  };
  auto state = std::make_shared<State>(executor, tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    asio::co_spawn(executor, std::move(tasks[i]), [state, i](std::exception_ptr e, T value) {
      if (!e) {
        state->results[i] = std::move(value);
      }
      if (--state->remaining == 0) {
        state->done.cancel();
      }
    });
  }
  while (state->remaining > 0) {
    std::error_code ec;
    co_await state->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) {
      break;
    }
  }
  co_return state->results;
}

/// The worse of two DNSSEC statuses (for answers combined across CNAMEs).
DnssecStatus worse(DnssecStatus a, DnssecStatus b) {
  auto rank = [](DnssecStatus s) {
    switch (s) {
      case DnssecStatus::secure:
        return 0;
      case DnssecStatus::insecure:
        return 1;
      case DnssecStatus::indeterminate:
        return 2;
      case DnssecStatus::bogus:
        return 3;
    }
    return 2;
  };
  return rank(a) >= rank(b) ? a : b;
}

/// A Lookup plus the answer's records.
struct Followed {
  Lookup lookup;
  DnsAnswer answer;
};

void classify(Lookup& l, const Result<DnsAnswer>& r) {
  if (!r) {
    l.outcome = LookupOutcome::failure;
    l.dnssec = DnssecStatus::indeterminate;
    l.error = r.error().message;
    return;
  }
  const DnsAnswer& a = *r;
  l.rcode = a.rcode;
  l.ttl = a.ttl;
  l.dnssec = worse(l.dnssec, a.dnssec);
  if (a.bogus()) {
    l.outcome = LookupOutcome::failure;
    l.dnssec = DnssecStatus::bogus;
    l.error = "DNSSEC validation failed (bogus): " +
              (a.why_bogus.empty() ? std::string("no reason given") : a.why_bogus);
  } else if (a.nxdomain || a.rcode == rcode::nxdomain) {
    l.outcome = LookupOutcome::nxdomain;
  } else if (a.rcode != rcode::noerror) {
    l.outcome = LookupOutcome::failure;
    l.error = rcode_name(a.rcode);
  } else if (a.havedata) {
    const bool parsed = !a.mx.empty() || !a.addresses.empty() || !a.tlsa.empty() ||
                        !a.txt.empty() || !a.cname.empty();
    if (!parsed && a.malformed > 0) {
      l.outcome = LookupOutcome::failure;
      l.error = "malformed " + type_name(a.qtype) + " records";
    } else {
      l.outcome = LookupOutcome::data;
    }
  } else {
    l.outcome = LookupOutcome::nodata;
  }
}

/// Asks `type` at `name`, following CNAMEs the resolver reports but did not
/// resolve (an answer that ends in an alias without data is asked again at
/// the alias target), with `max_links` CNAME links in all.
asio::awaitable<Followed> follow(Resolver& resolver, std::string name, DnsType type,
                                 std::size_t max_links) {
  Followed f;
  f.lookup.qname = name;
  f.lookup.qtype = type;
  f.lookup.dnssec = DnssecStatus::secure;  // lowered by every answer
  std::set<std::string> visited{name};
  std::string current = name;
  while (true) {
    auto r = co_await resolver.query(current, type);
    classify(f.lookup, r);
    if (!r) {
      co_return f;
    }
    f.answer = std::move(*r);
    for (const auto& target : f.answer.cname_chain) {
      f.lookup.cname_chain.push_back(target);
    }
    f.lookup.canonname = f.answer.canonname.empty() ? current : f.answer.canonname;
    if (f.lookup.cname_chain.size() > max_links) {
      f.lookup.outcome = LookupOutcome::failure;
      f.lookup.error =
          "CNAME chain from " + name + " longer than " + std::to_string(max_links) + " links";
      co_return f;
    }
    const bool unresolved_alias =
        f.lookup.outcome == LookupOutcome::nodata && f.lookup.canonname != current;
    if (!unresolved_alias) {
      co_return f;
    }
    current = f.lookup.canonname;
    if (!visited.insert(current).second) {
      f.lookup.outcome = LookupOutcome::failure;
      f.lookup.error = "CNAME loop at " + current;
      co_return f;
    }
  }
}

/// What one address family of a host gave.
struct FamilyResult {
  Lookup lookup;
  std::vector<asio::ip::address> addresses;
};

asio::awaitable<FamilyResult> lookup_family(Resolver& resolver, std::string host, DnsType type,
                                            bool wanted, std::size_t max_links) {
  FamilyResult out;
  if (!wanted) {
    out.lookup.qname = host;
    out.lookup.qtype = type;
    out.lookup.canonname = host;
    co_return out;
  }
  Followed f = co_await follow(resolver, host, type, max_links);
  out.lookup = std::move(f.lookup);
  if (out.lookup.outcome == LookupOutcome::data) {
    out.addresses = std::move(f.answer.addresses);
  }
  co_return out;
}

/// TLSA for one host per RFC 7672 §2.2, given that it should be asked.
asio::awaitable<TlsaResult> lookup_tlsa(Resolver& resolver, std::vector<std::string> names,
                                        std::size_t max_links) {
  TlsaResult t;
  for (const auto& name : names) {
    Followed f = co_await follow(resolver, name, DnsType::tlsa, max_links);
    const Lookup l = f.lookup;
    t.lookups.push_back(l);
    switch (l.outcome) {
      case LookupOutcome::failure:
        t.state = TlsaState::failure;
        t.reason = "TLSA lookup " + name + " failed: " + l.error;
        co_return t;
      case LookupOutcome::data:
        if (l.secure()) {
          t.state = TlsaState::found;
          t.reason.clear();
          t.records = std::move(f.answer.tlsa);
          co_return t;
        }
        t.state = TlsaState::insecure;
        t.reason = "TLSA answer for " + name + " is " + std::string(to_string(l.dnssec));
        break;
      case LookupOutcome::nodata:
      case LookupOutcome::nxdomain:
        if (l.secure()) {
          t.state = TlsaState::none;
          t.reason = "no TLSA records at " + name;
        } else {
          t.state = TlsaState::insecure;
          t.reason = "TLSA denial for " + name + " is " + std::string(to_string(l.dnssec));
        }
        break;
      case LookupOutcome::skipped:
        break;
    }
  }
  co_return t;
}

std::string tlsa_name(std::uint16_t port, const std::string& host) {
  return "_" + std::to_string(port) + "._tcp." + host;
}

// The families' addresses, up to options.max_addresses_per_host, each with
// its answer's DNSSEC state and the address policy's refusal.
void add_addresses(MxHost& host, const std::vector<std::optional<FamilyResult>>& families,
                   const MxOptions& options) {
  for (const auto* fam : {&*families[0], &*families[1]}) {
    for (const auto& address : fam->addresses) {
      if (host.addresses.size() >= options.max_addresses_per_host) {
        ++host.addresses_dropped;
        continue;
      }
      MxAddress a;
      a.address = address;
      a.dnssec = fam->lookup.dnssec;
      if (auto why = options.address_policy.refusal(address)) {
        a.refused = std::move(*why);
      }
      host.addresses.push_back(std::move(a));
    }
  }
}

void set_host_status(MxHost& host) {
  std::string failures;
  for (const Lookup* l : {&host.a, &host.aaaa}) {
    if (l->failed()) {
      if (!failures.empty()) {
        failures += "; ";
      }
      failures += type_name(l->qtype) + " lookup for " + host.name + " failed: " + l->error;
    }
  }
  if (!failures.empty()) {
    host.status = HostStatus::dns_failure;
    host.problem = failures;
  } else if (host.addresses.empty()) {
    host.status = HostStatus::no_addresses;
    host.problem = "MX host " + host.name + " has no address records";
  } else {
    host.status = HostStatus::ok;
  }
}

// The names to ask for the host's TLSA records; nullopt, with the reason in
// host.tlsa, when they are not looked up (off, or an answer on the way is
// not DNSSEC-secure).
std::optional<std::vector<std::string>> tlsa_names(MxHost& host, DnssecStatus mx_dnssec,
                                                   const MxOptions& options) {
  if (!options.lookup_tlsa) {
    host.tlsa.reason = "TLSA lookups disabled";
    return std::nullopt;
  }
  if (mx_dnssec != DnssecStatus::secure) {
    host.tlsa.reason =
        "the MX answer is " + std::string(to_string(mx_dnssec)) + ", not DNSSEC-secure";
    host.tlsa.stopped_by = mx_dnssec;
    return std::nullopt;
  }
  std::vector<const Lookup*> with_data;
  for (const Lookup* l : {&host.a, &host.aaaa}) {
    if (l->outcome == LookupOutcome::data) {
      with_data.push_back(l);
    }
  }
  if (with_data.empty()) {
    host.tlsa.reason = "no address records";
    return std::nullopt;
  }
  for (const Lookup* l : with_data) {
    if (!l->secure()) {
      host.tlsa.reason = "the " + type_name(l->qtype) + " answer for " + host.name + " is " +
                         std::string(to_string(l->dnssec)) + ", not DNSSEC-secure";
      host.tlsa.stopped_by = l->dnssec;
      return std::nullopt;
    }
  }
  // RFC 7672 §2.2.2: a securely aliased host is asked at its final target
  // first, then at the name the MX record gave.
  std::vector<std::string> names;
  const std::string& canon = with_data.front()->canonname;
  if (!canon.empty() && canon != host.name) {
    names.push_back(tlsa_name(options.port, canon));
  }
  names.push_back(tlsa_name(options.port, host.name));
  return names;
}

asio::awaitable<MxHost> resolve_host(Resolver& resolver, MxHost host, DnssecStatus mx_dnssec,
                                     MxOptions options) {
  std::vector<asio::awaitable<FamilyResult>> tasks;
  tasks.push_back(lookup_family(resolver, host.name, DnsType::a, options.families.ipv4,
                                options.max_cname_links));
  tasks.push_back(lookup_family(resolver, host.name, DnsType::aaaa, options.families.ipv6,
                                options.max_cname_links));
  auto families = co_await gather(std::move(tasks));
  for (std::size_t i = 0; i < families.size(); ++i) {
    if (!families[i]) {
      families[i].emplace();
      families[i]->lookup.qname = host.name;
      families[i]->lookup.qtype = i == 0 ? DnsType::a : DnsType::aaaa;
      families[i]->lookup.outcome = LookupOutcome::failure;
      families[i]->lookup.error = "internal error during the lookup";
    }
  }
  host.a = std::move(families[0]->lookup);
  host.aaaa = std::move(families[1]->lookup);
  add_addresses(host, families, options);
  set_host_status(host);

  if (std::optional<std::vector<std::string>> names = tlsa_names(host, mx_dnssec, options)) {
    host.tlsa = co_await lookup_tlsa(resolver, std::move(*names), options.max_cname_links);
  }
  co_return host;
}

void add_note(std::string& reason, const std::string& note) {
  if (!reason.empty()) {
    reason += "; ";
  }
  reason += note;
}

// The hosts of an MX answer, by preference: null MX records, duplicates and
// hosts beyond options.max_mx_hosts left out, and noted in result.reason.
// nullopt (result says why) when the domain has only a null MX.
std::optional<std::vector<MxHost>> listed_hosts(const DnsAnswer& answer, const std::string& domain,
                                                const MxOptions& options, MxResult& result) {
  std::vector<MxRecord> records = answer.mx;
  const auto nulls =
      std::count_if(records.begin(), records.end(), [](const MxRecord& r) { return r.is_null(); });
  if (nulls > 0 && static_cast<std::size_t>(nulls) == records.size()) {
    result.status = MxStatus::null_mx;
    result.reason = "null MX (RFC 7505): " + domain + " accepts no mail";
    return std::nullopt;
  }
  if (nulls > 0) {
    // RFC 7505 §3 forbids mixing; the real records are what senders use.
    add_note(result.reason, "null MX mixed with other MX records (RFC 7505 §3); ignored");
    std::erase_if(records, [](const MxRecord& r) { return r.is_null(); });
  }
  if (answer.malformed > 0) {
    add_note(result.reason, std::to_string(answer.malformed) + " malformed MX record(s) skipped");
  }
  std::stable_sort(records.begin(), records.end(), [](const MxRecord& x, const MxRecord& y) {
    return x.preference < y.preference;
  });
  std::vector<MxHost> hosts;
  std::set<std::string> seen;
  for (auto& r : records) {
    if (!seen.insert(r.exchange).second) {
      add_note(result.reason, "duplicate MX host " + r.exchange + " listed once");
      continue;
    }
    if (hosts.size() >= options.max_mx_hosts) {
      ++result.hosts_dropped;
      continue;
    }
    MxHost h;
    h.name = std::move(r.exchange);
    h.preference = r.preference;
    hosts.push_back(std::move(h));
  }
  if (result.hosts_dropped > 0) {
    add_note(result.reason, std::to_string(result.hosts_dropped) +
                                " MX host(s) beyond the limit of " +
                                std::to_string(options.max_mx_hosts) + " not checked");
  }
  return hosts;
}

// Resolves the hosts concurrently into result.hosts, in their order; a host
// whose lookup failed outright is kept as a DNS failure.
asio::awaitable<void> resolve_hosts(Resolver& resolver, std::vector<MxHost> hosts,
                                    const MxOptions& options, MxResult& result) {
  std::vector<asio::awaitable<MxHost>> tasks;
  for (auto& h : hosts) {
    tasks.push_back(resolve_host(resolver, h, result.mx.dnssec, options));
  }
  auto resolved = co_await gather(std::move(tasks));
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    if (resolved[i]) {
      result.hosts.push_back(std::move(*resolved[i]));
    } else {
      MxHost h = std::move(hosts[i]);
      h.status = HostStatus::dns_failure;
      h.problem = "internal error while resolving " + h.name;
      result.hosts.push_back(std::move(h));
    }
  }
}

}  // namespace

std::string_view lookup_outcome_name(LookupOutcome outcome) {
  switch (outcome) {
    case LookupOutcome::skipped:
      return "skipped";
    case LookupOutcome::data:
      return "data";
    case LookupOutcome::nodata:
      return "nodata";
    case LookupOutcome::nxdomain:
      return "nxdomain";
    case LookupOutcome::failure:
      return "failure";
  }
  return "failure";
}

std::string_view tlsa_state_name(TlsaState state) {
  switch (state) {
    case TlsaState::not_looked_up:
      return "not_looked_up";
    case TlsaState::found:
      return "found";
    case TlsaState::none:
      return "none";
    case TlsaState::insecure:
      return "insecure";
    case TlsaState::failure:
      return "failure";
  }
  return "failure";
}

std::string_view host_status_name(HostStatus status) {
  switch (status) {
    case HostStatus::ok:
      return "ok";
    case HostStatus::no_addresses:
      return "no_addresses";
    case HostStatus::dns_failure:
      return "dns_failure";
  }
  return "dns_failure";
}

std::string_view mx_status_name(MxStatus status) {
  switch (status) {
    case MxStatus::ok:
      return "ok";
    case MxStatus::null_mx:
      return "null_mx";
    case MxStatus::nxdomain:
      return "nxdomain";
    case MxStatus::dns_failure:
      return "dns_failure";
  }
  return "dns_failure";
}

std::uint32_t MxResult::min_ttl() const {
  std::optional<std::uint32_t> low;
  auto take = [&](const Lookup& l) {
    if (l.outcome != LookupOutcome::skipped && l.outcome != LookupOutcome::failure) {
      low = low ? std::min(*low, l.ttl) : l.ttl;
    }
  };
  take(mx);
  for (const auto& h : hosts) {
    take(h.a);
    take(h.aaaa);
    for (const auto& t : h.tlsa.lookups) {
      take(t);
    }
  }
  return low.value_or(0);
}

asio::awaitable<MxResult> resolve_mx(Resolver& resolver, std::string domain, MxOptions options) {
  MxResult result;
  result.domain = domain;
  Followed f = co_await follow(resolver, domain, DnsType::mx, options.max_cname_links);
  result.mx = f.lookup;

  std::vector<MxHost> hosts;
  switch (result.mx.outcome) {
    case LookupOutcome::skipped:
    case LookupOutcome::failure:
      result.status = MxStatus::dns_failure;
      result.reason = "MX lookup for " + domain + " failed: " + result.mx.error;
      co_return result;
    case LookupOutcome::nxdomain:
      result.status = MxStatus::nxdomain;
      result.reason = "domain " + domain + " does not exist (NXDOMAIN, " +
                      std::string(to_string(result.mx.dnssec)) + ")";
      co_return result;
    case LookupOutcome::nodata: {
      // RFC 5321 §5.1: no MX records, so the domain (after CNAMEs) is its
      // own mail host, preference 0.
      result.implicit_mx = true;
      MxHost h;
      h.name = result.mx.canonname.empty() ? domain : result.mx.canonname;
      h.implicit = true;
      hosts.push_back(std::move(h));
      break;
    }
    case LookupOutcome::data: {
      std::optional<std::vector<MxHost>> listed = listed_hosts(f.answer, domain, options, result);
      if (!listed) {
        co_return result;
      }
      hosts = std::move(*listed);
      break;
    }
  }

  co_await resolve_hosts(resolver, std::move(hosts), options, result);
  result.status = MxStatus::ok;
  co_return result;
}

}  // namespace forcetls::checker
