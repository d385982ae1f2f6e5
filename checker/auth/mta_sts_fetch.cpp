// SPDX-License-Identifier: Apache-2.0
// MTA-STS / TLSRPT fetch. Why curl runs on worker threads: the easy
// interface blocks, and the prober's io_context thread must keep probing MX
// hosts meanwhile; each call posts its result back to the coroutine's
// executor (holding work on it so io_context::run() waits).
#include "checker/auth/mta_sts_fetch.hpp"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <cstring>
#include <mutex>

#include "checker/auth/mta_sts.hpp"
#include "common/c_handle.hpp"
#include "common/unix_time.hpp"

namespace forcetls::checker {
namespace {

using CurlHandle = CHandle<CURL, curl_easy_cleanup>;
using CurlList = CHandle<curl_slist, curl_slist_free_all>;

void curl_global() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  std::string body;
  bool too_large = false;
  const std::vector<asio::ip::address>* allowed = nullptr;
  std::string refused;  // an address curl tried that we did not give it
  const std::atomic<bool>* cancel = nullptr;
};

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* t = static_cast<const Transfer*>(user);
  return t->cancel != nullptr && t->cancel->load() ? 1 : 0;  // 1: CURLE_ABORTED_BY_CALLBACK
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * n;
  if (t->body.size() + bytes > kStsMaxPolicyBytes) {
    t->too_large = true;
    return 0;  // CURLE_WRITE_ERROR
  }
  t->body.append(data, bytes);
  return bytes;
}

// Belt and braces for the network-safety rule: curl may only connect to the
// addresses we resolved and the address policy allowed.
curl_socket_t on_open_socket(void* user, curlsocktype purpose, curl_sockaddr* sa) {
  auto* t = static_cast<Transfer*>(user);
  asio::ip::address address;
  if (sa->family == AF_INET && sa->addrlen >= sizeof(sockaddr_in)) {
    sockaddr_in in{};
    std::memcpy(&in, &sa->addr, sizeof(in));
    asio::ip::address_v4::bytes_type b{};
    std::memcpy(b.data(), &in.sin_addr, 4);
    address = asio::ip::address_v4(b);
  } else if (sa->family == AF_INET6 && sa->addrlen >= sizeof(sockaddr_in6)) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, &sa->addr, sizeof(in6));
    asio::ip::address_v6::bytes_type b{};
    std::memcpy(b.data(), &in6.sin6_addr, 16);
    address = asio::ip::address_v6(b);
  } else {
    t->refused = "a socket of an unexpected family";
    return CURL_SOCKET_BAD;
  }
  if (purpose != CURLSOCKTYPE_IPCXN ||
      std::find(t->allowed->begin(), t->allowed->end(), address) == t->allowed->end()) {
    t->refused = address.to_string();
    return CURL_SOCKET_BAD;
  }
  return ::socket(sa->family, sa->socktype, sa->protocol);
}

// The transfer's rules: HTTPS only, no redirects, no proxy, a verified
// certificate, TLS 1.2 or later, the size limit and the timeouts; bodies
// and sockets go through `transfer`.
void set_transfer_options(CURL* c, const StsFetchOptions& options, Transfer& transfer,
                          char* errbuf) {
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // RFC 8461 §3.3: no redirects
  curl_easy_setopt(c, CURLOPT_PROXY, "");           // never a proxy from the environment
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!options.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, options.ca_file.c_str());
  }
  if (!options.ca_path.empty()) {
    curl_easy_setopt(c, CURLOPT_CAPATH, options.ca_path.c_str());
  }
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.total_timeout.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(kStsMaxPolicyBytes));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "forcetls-check (MTA-STS)");
}

// The named failure of a finished transfer (HttpsResult::failure), none when
// a complete response came. `why` is curl's own description.
StsFailure transfer_failure(CURLcode rc, const Transfer& transfer, const std::string& why) {
  if (!transfer.refused.empty()) {
    return {StsProblem::connect_failed, "refused to connect to " + transfer.refused};
  }
  switch (rc) {
    case CURLE_OK:
      return {};
    case CURLE_OPERATION_TIMEDOUT:
      return {StsProblem::timeout, ""};
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
      return {StsProblem::connect_failed, why};
    case CURLE_PEER_FAILED_VERIFICATION:
      return {StsProblem::https_cert, why};
    case CURLE_SSL_CONNECT_ERROR:
      return {StsProblem::tls_failed, why};
    case CURLE_FILESIZE_EXCEEDED:
      return {StsProblem::too_large, ""};
    case CURLE_ABORTED_BY_CALLBACK:
      return {StsProblem::https_error, "cancelled: the prober is stopping"};
    case CURLE_WRITE_ERROR:
      if (transfer.too_large) {
        return {StsProblem::too_large, ""};
      }
      [[fallthrough]];
    default:
      return {StsProblem::https_error, why};
  }
}

std::string host_port_addresses(const std::string& host, std::uint16_t port,
                                const std::vector<asio::ip::address>& addresses) {
  std::string entry = host + ":" + std::to_string(port) + ":";
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    const auto& a = addresses[i];
    entry += (i > 0 ? "," : "") + (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string());
  }
  return entry;
}

// One blocking HTTPS GET handed to a worker thread. Shared, so only a
// pointer travels through Asio's handlers and the coroutine machinery.
struct HttpsJob {
  std::string host;
  std::vector<asio::ip::address> addresses;
  StsFetchOptions options;
  HttpsResult result;
  const std::atomic<bool>* cancel = nullptr;  ///< the fetcher's, which outlives its pool
};

// Runs the job on `pool` and resumes the awaiting coroutine on its own
// executor (whose outstanding work it holds meanwhile). Not a coroutine
// itself: the initiation captures nothing but the pool and the job.
asio::awaitable<void> run_on_pool(asio::thread_pool& pool, std::shared_ptr<HttpsJob> job) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
      [&pool](auto handler, std::shared_ptr<HttpsJob> job) {
        auto work = asio::prefer(asio::get_associated_executor(handler),
                                 asio::execution::outstanding_work.tracked);
        asio::post(pool, [job, handler = std::move(handler), work]() mutable {
          job->result = https_get_policy(job->host, job->addresses, job->options, job->cancel);
          asio::post(work, std::move(handler));
        });
      },
      asio::use_awaitable, std::move(job));
}

StsFailure dns_failure(const std::string& name, const Result<DnsAnswer>& answer) {
  if (!answer) {
    return {StsProblem::dns_failure, name + ": " + answer.error().message};
  }
  if (answer->bogus()) {
    return {StsProblem::dns_failure,
            name + ": DNSSEC bogus" + (answer->why_bogus.empty() ? "" : ": " + answer->why_bogus)};
  }
  if (answer->rcode != rcode::noerror && !answer->nxdomain) {
    return {StsProblem::dns_failure, name + ": " + std::string(rcode_name(answer->rcode))};
  }
  return {};
}

// The policy host's addresses that the address policy allows, or, when there
// are none, why not.
struct PolicyHost {
  std::vector<asio::ip::address> addresses;
  StsFailure failure;  // set when `addresses` is empty
};

asio::awaitable<PolicyHost> resolve_policy_host(Resolver& resolver, const StsFetchOptions& options,
                                                const std::string& host) {
  PolicyHost out;
  std::string refused;
  StsFailure dns_problem;
  bool nxdomain = false;
  for (DnsType type : {DnsType::a, DnsType::aaaa}) {
    if ((type == DnsType::a && !options.families.ipv4) ||
        (type == DnsType::aaaa && !options.families.ipv6)) {
      continue;
    }
    Result<DnsAnswer> answer = co_await resolver.query(host, type);
    if (StsFailure f = dns_failure(host, answer)) {
      dns_problem = std::move(f);
      continue;
    }
    nxdomain = nxdomain || answer->nxdomain;
    for (const asio::ip::address& a : answer->addresses) {
      if (auto why = options.address_policy.refusal(a)) {
        refused = *why;
      } else {
        out.addresses.push_back(a);
      }
    }
  }
  if (out.addresses.empty()) {
    out.failure = dns_problem ? dns_problem
                  : !refused.empty()
                      ? StsFailure{StsProblem::address_refused, refused}
                      : StsFailure{StsProblem::no_policy_host,
                                   host + (nxdomain ? ": NXDOMAIN" : ": no address")};
  }
  co_return out;
}

// Fills `r` from the HTTPS response: the policy's mode, MX patterns and
// max_age, or r.failure. True when a policy was taken.
bool take_policy(const HttpsResult& got, MtaStsReport& r) {
  if (got.failure) {
    r.failure = got.failure;
  } else if (got.status != 200) {
    r.failure = {StsProblem::http_status, std::to_string(got.status)};
  } else if (!is_text_plain(got.content_type)) {
    r.failure = {StsProblem::bad_content_type,
                 got.content_type.empty() ? "none" : got.content_type};
  } else if (auto policy = parse_sts_policy(got.body); !policy) {
    r.failure = {StsProblem::bad_policy, policy.error().message};
  } else {
    r.mode = policy->mode;
    r.mx_patterns = policy->mx;
    r.max_age = policy->max_age;
    return true;
  }
  return false;
}

}  // namespace

bool is_text_plain(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) {
    media.remove_suffix(1);
  }
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) {
    media.remove_prefix(1);
  }
  static constexpr std::string_view kWant = "text/plain";
  return media.size() == kWant.size() &&
         std::equal(media.begin(), media.end(), kWant.begin(),
                    [](char a, char b) { return (a | 0x20) == b || a == b; });
}

HttpsResult https_get_policy(const std::string& host,
                             const std::vector<asio::ip::address>& addresses,
                             const StsFetchOptions& options, const std::atomic<bool>* cancel) {
  curl_global();
  HttpsResult out;
  CurlHandle curl(curl_easy_init());
  if (!curl) {
    out.failure = {StsProblem::https_error, "curl_easy_init failed"};
    return out;
  }
  Transfer transfer;
  transfer.allowed = &addresses;
  transfer.cancel = cancel;
  CurlList resolve(
      curl_slist_append(nullptr, host_port_addresses(host, options.port, addresses).c_str()));
  std::string url = "https://" + host +
                    (options.port == 443 ? "" : ":" + std::to_string(options.port)) +
                    "/.well-known/mta-sts.txt";
  char errbuf[CURL_ERROR_SIZE] = {};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_RESOLVE, resolve.get());
  set_transfer_options(c, options, transfer, errbuf);

  CURLcode rc = curl_easy_perform(c);
  std::string why = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
  out.failure = transfer_failure(rc, transfer, why);
  if (out.failure) {
    return out;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
  char* type = nullptr;
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
  out.content_type = type != nullptr ? type : "";
  out.body = std::move(transfer.body);
  return out;
}

StsFetcher::StsFetcher(Resolver& resolver, StsFetchOptions options)
    : resolver_(resolver),
      options_(std::move(options)),
      pool_(static_cast<std::size_t>(std::max(1, options_.threads))) {
  curl_global();
}

StsFetcher::~StsFetcher() {
  stopping_ = true;
  pool_.join();
}

std::int64_t StsFetcher::now() const {
  if (options_.clock) {
    return options_.clock();
  }
  return unix_now();
}

asio::awaitable<std::vector<std::string>> StsFetcher::txt_records(const std::string& name,
                                                                  StsFailure& failure) {
  std::vector<std::string> records;
  Result<DnsAnswer> answer = co_await resolver_.query(name, DnsType::txt);
  failure = dns_failure(name, answer);
  if (!failure) {
    for (const TxtRecord& t : answer->txt) {
      records.push_back(t.joined());
    }
  }
  co_return records;
}

asio::awaitable<MtaStsReport> StsFetcher::fetch(std::string domain,
                                                std::optional<MtaStsReport> previous) {
  MtaStsReport r;
  const std::int64_t started = now();
  const MtaStsReport* prev = previous ? &*previous : nullptr;

  // 1. `_mta-sts` TXT (RFC 8461 §3.1).
  std::vector<std::string> records = co_await txt_records("_mta-sts." + domain, r.failure);
  if (r.failure) {
    co_return sts_keep_cached(prev, std::move(r), started);
  }
  StsTxtChoice choice = choose_sts_txt(records);
  r.txt = choice.record;
  r.id = choice.id;
  if (choice.failure) {
    r.failure = std::move(choice.failure);
    co_return sts_keep_cached(prev, std::move(r), started);
  }
  if (prev != nullptr && sts_may_reuse(*prev, r.id, started)) {
    ++reused_;
    MtaStsReport kept = *prev;
    kept.mx_match.clear();
    kept.failure = {};
    co_return kept;
  }

  // 2. The policy host's addresses, from our resolver and our address policy.
  const std::string host = "mta-sts." + domain;
  PolicyHost policy_host = co_await resolve_policy_host(resolver_, options_, host);
  if (policy_host.addresses.empty()) {
    r.failure = std::move(policy_host.failure);
    co_return sts_keep_cached(prev, std::move(r), started);
  }

  // 3. HTTPS GET (RFC 8461 §3.3).
  ++https_fetches_;
  auto job = std::make_shared<HttpsJob>();
  job->host = host;
  job->addresses = policy_host.addresses;
  job->options = options_;
  job->cancel = &stopping_;
  co_await run_on_pool(pool_, job);
  if (take_policy(job->result, r)) {
    r.fetched_at = now();
  }
  co_return sts_keep_cached(prev, std::move(r), started);
}

asio::awaitable<TlsRptReport> StsFetcher::fetch_tlsrpt(std::string domain) {
  StsFailure failure;
  std::vector<std::string> records = co_await txt_records("_smtp._tls." + domain, failure);
  if (failure) {
    TlsRptReport r;
    r.error = to_string(failure);
    co_return r;
  }
  co_return choose_tlsrpt_txt(records);
}

}  // namespace forcetls::checker
