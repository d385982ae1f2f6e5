// SPDX-License-Identifier: Apache-2.0
// Fetching MTA-STS (RFC 8461) and TLSRPT (RFC 8460) for a domain: the TXT
// records through the checker's Resolver, the policy by HTTPS GET with
// libcurl — to addresses the checker resolved itself and its AddressPolicy
// allows (curl does no DNS), full certificate validation, no redirects, a
// size limit and timeouts. An StsFetcher owns a few worker threads for the
// blocking curl calls; fetch() and fetch_tlsrpt() run on the Resolver's
// io_context thread, and the Resolver must outlive the fetcher.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <asio/thread_pool.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checker/dns/address_policy.hpp"
#include "checker/dns/dns.hpp"
#include "checker/report/report.hpp"

namespace forcetls::checker {

using namespace std::chrono_literals;

struct StsFetchOptions {
  std::string ca_file = {};  ///< PEM bundle (the checker's --ca-file); empty: curl's default
  std::string ca_path = {};
  AddressPolicy address_policy = {};  ///< which policy-host addresses may be contacted
  Families families = {};
  std::chrono::milliseconds connect_timeout = 10s;
  std::chrono::milliseconds total_timeout = 20s;  ///< the whole HTTPS exchange
  std::uint16_t port = 443;                       ///< RFC 8461 §3.3: HTTPS; other ports for tests
  int threads = 4;                                ///< policy fetches at once
  /// Unix time "now" (tests pass a fake clock); empty: the system clock.
  std::function<std::int64_t()> clock = {};
};

/// The outcome of one HTTPS GET, for the policy parser or an error name.
struct HttpsResult {
  long status = 0;           ///< HTTP status; 0 when no response
  std::string content_type;  ///< as sent, e.g. "text/plain; charset=utf-8"
  std::string body;
  /// None on a complete response (any status); otherwise timeout,
  /// connect-failed, https-cert, tls-failed, too-large or https-error.
  StsFailure failure;
};

/// Blocking GET of https://HOST/.well-known/mta-sts.txt connecting only to
/// `addresses` (CURLOPT_RESOLVE, and an open-socket check refusing anything
/// else); any thread. Once `*cancel` is set the transfer ends within about
/// a second (curl's progress callback) as https-error(cancelled).
HttpsResult https_get_policy(const std::string& host,
                             const std::vector<asio::ip::address>& addresses,
                             const StsFetchOptions& options,
                             const std::atomic<bool>* cancel = nullptr);

/// "text/plain" media type (parameters such as charset allowed), RFC 8461 §3.3.
bool is_text_plain(std::string_view content_type);

class StsFetcher {
 public:
  StsFetcher(Resolver& resolver, StsFetchOptions options);
  ~StsFetcher();  ///< cancels running curl calls and waits for them (about a second)
  StsFetcher(const StsFetcher&) = delete;
  StsFetcher& operator=(const StsFetcher&) = delete;

  /// MTA-STS of a normalised domain. With `previous` (an earlier report's
  /// mta_sts) the RFC 8461 §5.1 cache rule applies: a fresh previous
  /// policy with the TXT id seen now is reused without HTTPS; if this fetch
  /// yields no valid policy, a fresh previous one is kept.
  /// mx_match is left empty (the prober fills it).
  asio::awaitable<MtaStsReport> fetch(std::string domain,
                                      std::optional<MtaStsReport> previous = std::nullopt);

  /// `_smtp._tls.<domain>` TXT.
  asio::awaitable<TlsRptReport> fetch_tlsrpt(std::string domain);

  int https_fetches() const { return https_fetches_; }  ///< GETs started
  int reused() const { return reused_; }                ///< policies taken from `previous`

 private:
  asio::awaitable<std::vector<std::string>> txt_records(const std::string& name,
                                                        StsFailure& failure);
  std::int64_t now() const;

  Resolver& resolver_;
  StsFetchOptions options_;
  std::atomic<bool> stopping_{false};  ///< read by the pool's transfers
  asio::thread_pool pool_;
  int https_fetches_ = 0;
  int reused_ = 0;
};

}  // namespace forcetls::checker
