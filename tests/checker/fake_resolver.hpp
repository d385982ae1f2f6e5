// SPDX-License-Identifier: Apache-2.0
// FakeResolver: a scripted Resolver for unit tests (no network). Answers
// are set per (name, type); every question asked is recorded; an optional
// delay makes concurrency observable. Single io_context thread, like the real one.
#pragma once

#include <algorithm>
#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "checker/dns/dns.hpp"

namespace forcetls::checker::testing {

class FakeResolver : public Resolver {
 public:
  void set(DnsAnswer answer) {
    const auto key = std::make_pair(answer.qname, answer.qtype);
    answers_[key] = std::move(answer);
  }
  void set_error(const std::string& name, DnsType type, Error error) {
    errors_[{name, type}] = std::move(error);
  }

  asio::awaitable<Result<DnsAnswer>> query(std::string name, DnsType type) override {
    asked.push_back(name + "/" + type_name(type));
    ++in_flight_;
    max_in_flight = std::max(max_in_flight, in_flight_);
    if (delay.count() > 0) {
      asio::steady_timer timer(co_await asio::this_coro::executor, delay);
      std::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    --in_flight_;
    if (auto e = errors_.find({name, type}); e != errors_.end()) {
      co_return std::unexpected(e->second);
    }
    if (auto a = answers_.find({name, type}); a != answers_.end()) {
      co_return a->second;
    }
    co_return fail(Errc::internal,
                   "fake resolver: no answer scripted for " + name + "/" + type_name(type));
  }

  bool was_asked(const std::string& name, DnsType type) const {
    const auto key = name + "/" + type_name(type);
    return std::find(asked.begin(), asked.end(), key) != asked.end();
  }

  std::vector<std::string> asked;
  std::chrono::milliseconds delay{0};
  std::size_t max_in_flight = 0;

 private:
  std::map<std::pair<std::string, DnsType>, DnsAnswer> answers_;
  std::map<std::pair<std::string, DnsType>, Error> errors_;
  std::size_t in_flight_ = 0;
};

/// An answer skeleton: NOERROR, no data, given status, canonname = name.
inline DnsAnswer answer(const std::string& name, DnsType type,
                        DnssecStatus status = DnssecStatus::insecure) {
  DnsAnswer a;
  a.qname = name;
  a.qtype = type;
  a.canonname = name;
  a.dnssec = status;
  a.ttl = 300;
  return a;
}

inline DnsAnswer mx_answer(const std::string& name,
                           std::initializer_list<std::pair<std::uint16_t, std::string>> records,
                           DnssecStatus status = DnssecStatus::insecure) {
  DnsAnswer a = answer(name, DnsType::mx, status);
  for (const auto& [pref, host] : records) {
    a.mx.push_back(MxRecord{pref, host});
  }
  a.havedata = !a.mx.empty();
  return a;
}

inline DnsAnswer address_answer(const std::string& name, DnsType type,
                                std::initializer_list<const char*> addresses,
                                DnssecStatus status = DnssecStatus::insecure) {
  DnsAnswer a = answer(name, type, status);
  for (const char* text : addresses) {
    a.addresses.push_back(asio::ip::make_address(text));
  }
  a.havedata = !a.addresses.empty();
  return a;
}

inline DnsAnswer nxdomain_answer(const std::string& name, DnsType type,
                                 DnssecStatus status = DnssecStatus::insecure) {
  DnsAnswer a = answer(name, type, status);
  a.rcode = rcode::nxdomain;
  a.nxdomain = true;
  return a;
}

inline DnsAnswer servfail_answer(const std::string& name, DnsType type) {
  DnsAnswer a = answer(name, type, DnssecStatus::indeterminate);
  a.rcode = rcode::servfail;
  return a;
}

inline DnsAnswer bogus_answer(const std::string& name, DnsType type, const std::string& why) {
  DnsAnswer a = answer(name, type, DnssecStatus::bogus);
  a.rcode = rcode::servfail;
  a.why_bogus = why;
  return a;
}

/// Runs one awaitable to completion on a fresh io_context.
template <typename T>
T run(asio::awaitable<T> task) {
  asio::io_context io;
  std::optional<T> out;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) {
      out = std::move(value);
    }
  });
  io.run();
  if (error) {
    std::rethrow_exception(error);
  }
  return std::move(*out);
}

}  // namespace forcetls::checker::testing
