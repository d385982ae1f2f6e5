// SPDX-License-Identifier: Apache-2.0
// Test fixtures for cache/: reports with good, failing and unknown
// addresses, a temporary directory, and a clock the test sets. Test-only.
#pragma once

#include <stdlib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cache/store.hpp"
#include "checker/report/judgement.hpp"
#include "checker/report/report.hpp"

namespace forcetls::cache::test {

using checker::AddressReport;
using checker::DomainReport;
using checker::Tri;

/// Every answer known and good: eligible.
inline AddressReport good_address(std::string address) {
  AddressReport a;
  a.address = std::move(address);
  a.starttls = Tri::yes;
  a.ssl3 = Tri::no;
  a.tls1_0 = Tri::no;
  a.tls1_1 = Tri::no;
  a.tls1_2 = Tri::yes;
  a.tls1_3 = Tri::yes;
  a.weak = Tri::no;
  a.nist_r1 = Tri::yes;
  a.nist_r2 = Tri::yes;
  a.protocol = "TLSv1.3";
  a.cipher = "TLS_AES_256_GCM_SHA384";
  a.cert.trusted = Tri::yes;
  a.cert.expired = Tri::no;
  a.cert.name_match = Tri::yes;
  a.cert.cn = "mx.example.test";
  a.cert.sans = {"mx.example.test", "mx2.example.test"};
  a.cert.issuer = "Lab CA";
  a.cert.not_after = "2030-01-01T00:00:00Z";
  a.cert.not_after_unix = 1893456000;
  a.connections = 7;
  return a;
}

/// No STARTTLS: ineligible.
inline AddressReport plain_address(std::string address) {
  AddressReport a;
  a.address = std::move(address);
  a.starttls = Tri::no;
  a.connections = 1;
  return a;
}

/// The probe failed: unknown.
inline AddressReport failed_address(std::string address) {
  AddressReport a;
  a.address = std::move(address);
  a.error = "connect timeout";
  a.connections = 1;
  return a;
}

struct Host {
  std::string name;
  std::vector<AddressReport> addresses;
};

inline DomainReport report(std::string domain, std::vector<Host> hosts,
                           std::int64_t checked_at = 0) {
  DomainReport r;
  r.domain = std::move(domain);
  r.checked_at = checked_at;
  r.source = checker::MxSource::mx;
  r.dnssec = checker::DnssecStatus::insecure;
  std::uint16_t priority = 10;
  for (Host& h : hosts) {
    checker::MxReport mx;
    mx.host = std::move(h.name);
    mx.priority = priority;
    priority = static_cast<std::uint16_t>(priority + 10);
    mx.addresses = std::move(h.addresses);
    r.mx.push_back(std::move(mx));
  }
  checker::judge(r);  // judged, as the prober returns it
  return r;
}

/// One MX host with one address of the given kind.
inline DomainReport simple(std::string domain, AddressReport address,
                           std::string host = "mx.example.test", std::int64_t checked_at = 0) {
  return report(std::move(domain), {{std::move(host), {std::move(address)}}}, checked_at);
}

/// A clock the test moves. Copies share the time.
class FakeClock {
 public:
  explicit FakeClock(std::int64_t start = 1'700'000'000)
      : now_(std::make_shared<std::atomic<std::int64_t>>(start)) {}
  Clock clock() const {
    return [now = now_] { return now->load(); };
  }
  std::int64_t now() const { return now_->load(); }
  void set(std::int64_t t) { now_->store(t); }
  void advance(std::int64_t seconds) { now_->fetch_add(seconds); }

 private:
  std::shared_ptr<std::atomic<std::int64_t>> now_;
};

/// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir() {
    const char* base = ::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/forcetls-cache-XXXXXX";
    char* made = ::mkdtemp(tmpl.data());
    path_ = made != nullptr ? made : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  /// A subdirectory path (not created): the store creates it.
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// Options for a store in `dir` on `clock`, with nothing synced (speed).
inline StoreOptions options_for(const std::string& dir, const FakeClock& clock) {
  StoreOptions o;
  o.path = dir;
  o.clock = clock.clock();
  o.durability = Durability::none;
  return o;
}

}  // namespace forcetls::cache::test
