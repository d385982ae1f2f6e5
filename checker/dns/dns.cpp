// SPDX-License-Identifier: Apache-2.0
// UnboundResolver: libunbound's async API on an Asio io_context; see dns.hpp.
//
// How an answer travels: ub_resolve_async() hands the question to
// libunbound's background thread; the answer comes back through a pipe
// (ub_fd), which the io_context watches; when it is readable, ub_process()
// runs the callbacks on the io_context thread. Each query waits on its own
// steady_timer, armed with the query's deadline: the callback cancels the
// timer (the answer is in), expiry means timeout (the query is cancelled
// with ub_cancel, after which libunbound never calls back).
#include "checker/dns/dns.hpp"

#include <unbound.h>
#include <unistd.h>

#include <algorithm>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/c_handle.hpp"
#include "common/duration_text.hpp"
#include "common/log.hpp"

namespace forcetls::checker {

namespace {

using UbCtx = CHandle<ub_ctx, ub_ctx_delete>;
using UbResult = CHandle<ub_result, ub_resolve_free>;

constexpr int kClassIn = 1;  // RFC 1035 §3.2.4

std::string ub_error(std::string_view what, int code) {
  return std::string(what) + ": " + ub_strerror(code);
}

/// libunbound names are presentation form, possibly with a trailing dot;
/// ours are lower case without it.
std::string plain_name(const char* name) {
  std::string out = name != nullptr ? name : "";
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  });
  if (out.size() > 1 && out.back() == '.') {
    out.pop_back();
  }
  return out;
}

/// libunbound's log, routed into forcetls's: a stdio stream whose writes
/// become log lines ("dns: libunbound: error: ..."), so its messages reach
/// syslog in the daemon instead of a possibly closed stderr. Process-wide
/// (libunbound's log target is global) and never closed. The FILE lock
/// serialises writers, so the pending partial line needs no other guard.
FILE* unbound_log_stream() {
  static FILE* stream = [] {
    cookie_io_functions_t io{};
    io.write = [](void*, const char* buf, size_t size) -> ssize_t {
      static std::string pending;
      pending.append(buf, size);
      std::size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        std::string_view line(pending.data(), nl);
        // Drop libunbound's "[time] libunbound[pid:thread] " prefix.
        if (const auto at = line.find("] ", line.find("libunbound[")); at != line.npos) {
          line.remove_prefix(at + 2);
        }
        auto level = log::Level::info;
        for (const auto& [word, lvl] : {std::pair{"error: ", log::Level::error},
                                        std::pair{"warning: ", log::Level::warning}}) {
          if (line.starts_with(word)) {
            level = lvl;
            line.remove_prefix(std::string_view(word).size());
          }
        }
        log::write(level, "dns: libunbound: " + std::string(line));
        pending.erase(0, nl + 1);
      }
      return static_cast<ssize_t>(size);
    };
    FILE* f = ::fopencookie(nullptr, "w", io);
    if (f != nullptr) {
      std::setvbuf(f, nullptr, _IOLBF, 0);
    }
    return f;
  }();
  return stream;
}

}  // namespace

struct UnboundResolver::Core {
  Core(UbCtx c, asio::any_io_executor executor, int fd) : ctx(std::move(c)), pipe(executor, fd) {}
  ~Core() {
    // The descriptor is libunbound's; ub_ctx_delete closes it.
    pipe.release();
  }
  UbCtx ctx;
  asio::posix::stream_descriptor pipe;
  std::size_t outstanding = 0;  ///< submitted, callback not yet run, not cancelled
  bool watching = false;        ///< an async_wait on `pipe` is pending
  bool broken = false;          ///< the result pipe failed; no further queries
  bool closing = false;         ///< the UnboundResolver is gone; never re-arm
};

namespace {

using Core = UnboundResolver::Core;

/// Keeps one async_wait on the result pipe pending while queries are out.
/// The handler holds the Core, so the context outlives a pending wait.
/// The wait is cancelled when the last query is abandoned, so an io_context
/// with nothing else to do returns from run() instead of waiting for answers
/// nobody wants.
void watch(const std::shared_ptr<Core>& core) {
  if (core->watching || core->outstanding == 0 || core->broken || core->closing) {
    return;
  }
  core->watching = true;
  core->pipe.async_wait(asio::posix::stream_descriptor::wait_read, [core](std::error_code ec) {
    core->watching = false;
    if (ec == asio::error::operation_aborted) {
      watch(core);  // a query submitted since the cancel needs the wait again
      return;
    }
    if (ec) {
      log::error("dns: waiting for libunbound results failed: " + ec.message());
      core->broken = true;
      return;
    }
    if (const int r = ub_process(core->ctx.get()); r != 0) {
      // A dead background thread: stop watching (the pipe would stay
      // readable forever); outstanding queries run into their timeouts.
      log::error(ub_error("dns: libunbound result processing failed", r));
      core->broken = true;
      return;
    }
    watch(core);
  });
}

/// One query in flight; lives in the asking coroutine's frame.
struct Pending {
  Pending(const asio::any_io_executor& executor, std::shared_ptr<Core> c)
      : timer(executor), core(std::move(c)) {}
  Pending(const Pending&) = delete;
  Pending& operator=(const Pending&) = delete;
  ~Pending() { abandon(); }

  /// Withdraws the query from libunbound unless it already answered.
  void abandon() {
    if (submitted && !done) {
      ub_cancel(core->ctx.get(), async_id);
      --core->outstanding;
      done = true;
      if (core->outstanding == 0 && core->watching) {
        std::error_code ignored;
        core->pipe.cancel(ignored);
      }
    }
  }

  asio::steady_timer timer;
  std::shared_ptr<Core> core;
  int async_id = 0;
  bool submitted = false;
  bool done = false;  ///< callback ran (or the query was abandoned)
  bool answered = false;
  int err = 0;
  UbResult result;
};

void on_answer(void* arg, int err, ub_result* result) {
  auto* p = static_cast<Pending*>(arg);
  p->result.reset(result);
  p->err = err;
  p->done = true;
  p->answered = true;
  --p->core->outstanding;
  p->timer.cancel();
}

// Appends a parsed record to `out`; false when the rdata did not parse.
template <typename T, typename Parsed>
bool append_parsed(std::vector<T>& out, Parsed parsed) {
  if (!parsed) {
    return false;
  }
  out.emplace_back(std::move(*parsed));
  return true;
}

// Adds one record of the asked type to `a`; false when it is malformed.
bool add_rdata(DnsAnswer& a, DnsType type, std::span<const std::uint8_t> rdata) {
  switch (type) {
    case DnsType::mx:
      return append_parsed(a.mx, parse_mx_rdata(rdata));
    case DnsType::a:
      return append_parsed(a.addresses, parse_a_rdata(rdata));
    case DnsType::aaaa:
      return append_parsed(a.addresses, parse_aaaa_rdata(rdata));
    case DnsType::tlsa:
      return append_parsed(a.tlsa, parse_tlsa_rdata(rdata));
    case DnsType::txt:
      return append_parsed(a.txt, parse_txt_rdata(rdata));
    case DnsType::cname:
      return append_parsed(a.cname, parse_cname_rdata(rdata));
  }
  return true;
}

// The DNSSEC state of an answer (with why it is bogus, when it is).
void set_dnssec(DnsAnswer& a, const ub_result& r, bool validate) {
  if (r.bogus != 0) {
    a.dnssec = DnssecStatus::bogus;
    a.why_bogus = r.why_bogus != nullptr ? r.why_bogus : "validation failed (no reason given)";
  } else if (r.secure != 0) {
    a.dnssec = DnssecStatus::secure;
  } else if (validate && (r.rcode == rcode::noerror || r.rcode == rcode::nxdomain)) {
    a.dnssec = DnssecStatus::insecure;
  } else {
    a.dnssec = DnssecStatus::indeterminate;
  }
}

DnsAnswer to_answer(const ub_result& r, const std::string& name, DnsType type, bool validate) {
  DnsAnswer a;
  a.qname = name;
  a.qtype = type;
  a.rcode = r.rcode;
  a.havedata = r.havedata != 0;
  a.nxdomain = r.nxdomain != 0;
  a.ttl = r.ttl > 0 ? static_cast<std::uint32_t>(r.ttl) : 0;
  set_dnssec(a, r, validate);
  a.canonname = r.canonname != nullptr ? plain_name(r.canonname) : plain_name(name.c_str());
  if (r.answer_packet != nullptr && r.answer_len > 0) {
    const std::span<const std::uint8_t> packet(static_cast<const std::uint8_t*>(r.answer_packet),
                                               static_cast<std::size_t>(r.answer_len));
    a.cname_chain = cname_chain(packet, plain_name(name.c_str()));
  }
  if (a.bogus()) {
    // libunbound hands bogus data over; forcetls drops it here so that no
    // caller can use it by mistake. The answer still says what happened.
    a.havedata = false;
    return a;
  }
  for (int i = 0; r.havedata != 0 && r.data != nullptr && r.data[i] != nullptr; ++i) {
    const std::span<const std::uint8_t> rdata(reinterpret_cast<const std::uint8_t*>(r.data[i]),
                                              static_cast<std::size_t>(std::max(r.len[i], 0)));
    if (!add_rdata(a, type, rdata)) {
      ++a.malformed;
    }
  }
  return a;
}

}  // namespace

Result<std::pair<std::string, std::string>> parse_unbound_option(std::string_view text) {
  auto trim = [](std::string_view s) {
    const auto first = s.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
      return std::string_view();
    }
    return s.substr(first, s.find_last_not_of(" \t") - first + 1);
  };
  const std::size_t colon = text.find(':');
  const std::string_view name = colon == std::string_view::npos ? "" : trim(text.substr(0, colon));
  const std::string_view value =
      colon == std::string_view::npos ? "" : trim(text.substr(colon + 1));
  if (name.empty() || name.find_first_of(" \t") != std::string_view::npos || value.empty()) {
    return fail(Errc::invalid_argument,
                "resolver option \"" + std::string(text) +
                    "\" is not \"name: value\" (e.g. \"local-zone: test. transparent\")");
  }
  return std::pair{std::string(name), std::string(value)};
}

UnboundResolver::UnboundResolver(std::shared_ptr<Core> core, ResolverOptions options)
    : core_(std::move(core)), options_(std::move(options)) {}

UnboundResolver::~UnboundResolver() {
  core_->closing = true;
  if (core_->watching) {
    // The pending wait's handler holds the Core; it runs with
    // operation_aborted and then lets the context go.
    std::error_code ignored;
    core_->pipe.cancel(ignored);
  }
}

Result<std::unique_ptr<UnboundResolver>> UnboundResolver::create(asio::any_io_executor executor,
                                                                 const ResolverOptions& options) {
  UbCtx ctx{ub_ctx_create()};
  if (!ctx) {
    return fail(Errc::internal, "libunbound: cannot create a context");
  }
  if (FILE* log_stream = unbound_log_stream(); log_stream != nullptr) {
    ub_ctx_debugout(ctx.get(), log_stream);
  }
  // Thread mode: a fork()ed resolver process would be inherited oddly by a
  // daemon that forks itself, and threads share the cache and need no IPC.
  if (const int r = ub_ctx_async(ctx.get(), 1); r != 0) {
    return fail(Errc::internal, ub_error("libunbound: async mode", r));
  }
  if (!options.forwarder.empty()) {
    if (const int r = ub_ctx_set_fwd(ctx.get(), options.forwarder.c_str()); r != 0) {
      return fail(Errc::invalid_argument,
                  "invalid resolver address \"" + options.forwarder + "\" (want IP or IP@PORT)");
    }
  }
  if (options.validate) {
    if (options.trust_anchor_file.empty()) {
      return fail(Errc::config, "DNSSEC validation needs a trust anchor file");
    }
    if (::access(options.trust_anchor_file.c_str(), R_OK) != 0) {
      return fail(Errc::config, "cannot read trust anchor file " + options.trust_anchor_file +
                                    ": " + std::strerror(errno));
    }
    if (const int r = ub_ctx_add_ta_file(ctx.get(), options.trust_anchor_file.c_str()); r != 0) {
      return fail(Errc::config, ub_error("trust anchor file " + options.trust_anchor_file, r));
    }
  } else {
    if (const int r = ub_ctx_set_option(ctx.get(), "module-config:", "iterator"); r != 0) {
      return fail(Errc::internal, ub_error("libunbound: module-config", r));
    }
  }
  for (const auto& [name, value] : options.unbound_options) {
    if (!unbound_option_allowed(name)) {
      return fail(Errc::config, "resolver option \"" + name + "\" is not one forcetls lets set (" +
                                    std::string(kUnboundOptionsAllowed) + ")");
    }
    const std::string option = name.ends_with(':') ? name : name + ":";
    if (const int r = ub_ctx_set_option(ctx.get(), option.c_str(), value.c_str()); r != 0) {
      return fail(Errc::config, ub_error("libunbound option \"" + option + " " + value + "\"", r));
    }
  }
  // The context is finalised (options applied, trust anchors read) by the
  // first call that needs it; ub_ctx_zone_remove is documented to finalise
  // it and to do nothing for a zone that does not exist. Removing a name no
  // one configures finalises now, so a broken anchor file or a bad option
  // value is a startup error, not the first query's.
  if (const int r = ub_ctx_zone_remove(ctx.get(), "finalise.forcetls.invalid."); r != 0) {
    // libunbound may crash deleting a context whose modules failed to
    // start: it is left to the process's exit instead.
    [[maybe_unused]] ub_ctx* failed = ctx.release();
    return fail(
        Errc::config,
        ub_error("libunbound initialisation failed (check the trust anchor file " +
                     options.trust_anchor_file +
                     (options.unbound_options.empty() ? "" : " and the resolver options") + ")",
                 r));
  }
  const int fd = ub_fd(ctx.get());
  if (fd < 0) {
    return fail(Errc::internal, "libunbound: no result descriptor");
  }
  auto core = std::make_shared<Core>(std::move(ctx), std::move(executor), fd);
  return std::unique_ptr<UnboundResolver>(new UnboundResolver(std::move(core), options));
}

std::size_t UnboundResolver::in_flight() const { return core_->outstanding; }

asio::awaitable<Result<DnsAnswer>> UnboundResolver::query(std::string name, DnsType type) {
  const std::string what = name + "/" + type_name(type);
  if (core_->broken) {
    co_return fail(Errc::io, "DNS query " + what + ": the libunbound result pipe failed");
  }
  auto executor = co_await asio::this_coro::executor;
  Pending pending(executor, core_);
  pending.timer.expires_after(options_.timeout);
  const int r = ub_resolve_async(core_->ctx.get(), name.c_str(), static_cast<int>(type), kClassIn,
                                 &pending, on_answer, &pending.async_id);
  if (r != 0) {
    co_return fail(Errc::io, ub_error("DNS query " + what, r));
  }
  pending.submitted = true;
  ++core_->outstanding;
  watch(core_);

  std::error_code ec;
  co_await pending.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (!pending.answered) {
    pending.abandon();
    if (ec == asio::error::operation_aborted) {
      co_return fail(Errc::internal, "DNS query " + what + " cancelled");
    }
    co_return fail(Errc::timeout,
                   "DNS query " + what + " timed out after " + duration_text(options_.timeout));
  }
  if (pending.err != 0) {
    co_return fail(Errc::io, ub_error("DNS query " + what, pending.err));
  }
  co_return to_answer(*pending.result, name, type, options_.validate);
}

}  // namespace forcetls::checker
