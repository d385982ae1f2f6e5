// SPDX-License-Identifier: Apache-2.0
// forcetls-milter's libmilter callbacks (milter/callbacks/callbacks.hpp).
// Each callback body runs inside guarded(): nothing unwinds into libmilter,
// and an internal failure applies milter.on_error.
#include "milter/callbacks/callbacks.hpp"

#include <libmilter/mfapi.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "checker/report/domain_name.hpp"
#include "common/log.hpp"
#include "milter/callbacks/negotiation.hpp"
#include "milter/recipients/message_plan.hpp"

namespace forcetls::milter::callbacks {
namespace {

/// The one filter of this process (libmilter callbacks have no user pointer).
struct Filter {
  RuntimeSlot* runtime = nullptr;
  std::atomic<cache::Reports*> reports{nullptr};
  std::atomic<int> users{0};          ///< RCPT checks holding `reports`
  std::atomic<bool> stopping{false};  ///< set by withdraw_reports()
  std::atomic<int> sessions{0};       ///< connections counted in at connect
  conf::SocketAddress address;        ///< the milter socket, for poke_listener()
};
Filter g_filter;

/// The report source for one recipient check: counted in before the
/// pointer is read (both sequentially consistent), so withdraw_reports()
/// either sees this user or this user sees null.
class ReportsInUse {
 public:
  ReportsInUse() : reports_((g_filter.users.fetch_add(1), g_filter.reports.load())) {}
  ~ReportsInUse() { g_filter.users.fetch_sub(1); }
  ReportsInUse(const ReportsInUse&) = delete;
  ReportsInUse& operator=(const ReportsInUse&) = delete;
  cache::Reports* get() const { return reports_; }

 private:
  cache::Reports* reports_;
};

/// Per-connection state, owned through smfi_setpriv.
struct Connection {
  Negotiated negotiated;
  /// Counted in g_filter.sessions (at connect, or at the first MAIL when
  /// the MTA skips connect); on_close counts it out.
  bool counted = false;
  /// Beyond milter.max_sessions: every step is tempfailed, nothing checked.
  bool over_limit = false;
  bool client_known = false;  ///< local_submission was set from the connect step
  bool local_submission = false;
  /// Fixed from MAIL to the end of the message; set only once MAIL was
  /// handled in full, so a failed MAIL leaves it empty and every RCPT of
  /// that transaction gets milter.on_error (MAIL itself is never refused).
  std::shared_ptr<const Runtime> runtime;
  policy::MessageContext context;
  std::string sender;
  std::string queue_id;
  std::vector<RecipientOutcome> recipients;
};

Connection* connection(SMFICTX* ctx) { return static_cast<Connection*>(smfi_getpriv(ctx)); }

std::string macro(SMFICTX* ctx, const char* name) {
  const char* v = smfi_getsymval(ctx, const_cast<char*>(name));
  return v != nullptr ? std::string(v) : std::string();
}

void note_queue_id(SMFICTX* ctx, Connection& c) {
  std::string id = macro(ctx, "i");
  if (!id.empty()) {
    c.queue_id = std::move(id);
  }
}

std::string prefix(const Connection& c) {
  return (c.queue_id.empty() ? std::string("NOQUEUE") : c.queue_id) + ": ";
}

// The recipients' lines wait for the queue id (Postfix sets `i` only at
// DATA/end of message); they are written when the message ends either way.
void flush_message(Connection& c, const MessagePlan* plan, std::string_view ending) {
  if (c.recipients.empty() && plan == nullptr) {
    return;
  }
  const std::string p = prefix(c);
  for (const RecipientOutcome& r : c.recipients) {
    log::info(p + r.log_fields());
  }
  MessagePlan none;
  std::string summary = summary_fields(c.sender, c.recipients, plan != nullptr ? *plan : none);
  if (!ending.empty()) {
    summary += " " + log::fields({{"ended", ending}});
  }
  log::info(p + summary);
  c.recipients.clear();
}

void reset_message(Connection& c) {
  c.recipients.clear();
  c.queue_id.clear();
  c.sender.clear();
  c.context = {};
}

policy::Action on_error_action(const Connection* c) {
  if (c != nullptr && c->runtime) {
    return c->runtime->config.milter.on_error;
  }
  const std::shared_ptr<const Runtime> rt = g_filter.runtime->load();
  return rt ? rt->config.milter.on_error : policy::Action::tempfail;
}

sfsistat failure_status(policy::Action a) {
  switch (a) {
    case policy::Action::reject:
      return SMFIS_REJECT;
    case policy::Action::tempfail:
      return SMFIS_TEMPFAIL;
    default:
      return SMFIS_CONTINUE;
  }
}

void log_failure(const char* where, std::string_view what) {
  log::error(log::fields({{"error", "internal"}, {"callback", where}, {"what", what}}));
}

// Every callback body runs inside this: nothing may unwind into libmilter.
template <typename Body>
sfsistat guarded(SMFICTX* ctx, const char* where, Body&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    log_failure(where, e.what());
  } catch (...) {
    log_failure(where, "unknown exception");
  }
  try {
    return failure_status(on_error_action(connection(ctx)));
  } catch (...) {
    return SMFIS_TEMPFAIL;
  }
}

// The SMFIF actions `needed` calls for.
unsigned long action_flags(const MessageChanges& needed) {
  return (needed.header ? SMFIF_ADDHDRS : 0UL) | (needed.quarantine ? SMFIF_QUARANTINE : 0UL) |
         (needed.delete_rcpt ? SMFIF_DELRCPT : 0UL) | (needed.add_rcpt ? SMFIF_ADDRCPT : 0UL);
}

std::string action_names(unsigned long flags) {
  std::string out;
  const std::pair<unsigned long, const char*> names[] = {{SMFIF_ADDHDRS, "add-header"},
                                                         {SMFIF_QUARANTINE, "quarantine"},
                                                         {SMFIF_DELRCPT, "delete-recipient"},
                                                         {SMFIF_ADDRCPT, "add-recipient"}};
  for (const auto& [flag, name] : names) {
    if ((flags & flag) != 0) {
      out += (out.empty() ? "" : ",") + std::string(name);
    }
  }
  return out;
}

sfsistat on_negotiate(SMFICTX* ctx, unsigned long f0, unsigned long f1, unsigned long /*f2*/,
                      unsigned long /*f3*/, unsigned long* pf0, unsigned long* pf1,
                      unsigned long* pf2, unsigned long* pf3) {
  // Not guarded(): on_error `accept` must not turn a failure here into a
  // session whose outputs were never set. Any failure refuses the session.
  try {
    const std::shared_ptr<const Runtime> rt = g_filter.runtime->load();
    const unsigned long required = action_flags(
        rt ? changes_needed(*rt->policy, rt->config.milter)
           : MessageChanges{
                 .header = true, .quarantine = true, .delete_rcpt = true, .add_rcpt = true});
    auto c = std::make_unique<Connection>();
    const sfsistat status = negotiate(ctx, f0, f1, required, pf0, pf1, pf2, pf3, &c->negotiated);
    if (status == SMFIS_CONTINUE) {
      if (log::enabled(log::Level::debug)) {
        log::write(log::Level::debug,
                   log::fields({{"event", "negotiated"},
                                {"connect", c->negotiated.no_connect ? "skipped" : "sent"},
                                {"mail-reply", c->negotiated.no_reply_mail ? "none" : "sent"}}));
      }
      delete connection(ctx);  // none: negotiation comes first, once
      smfi_setpriv(ctx, c.release());
    } else {
      log::error(
          log::fields({{"error", "mta-actions"},
                       {"missing", action_names(required & ~f0)},
                       {"what",
                        "the MTA does not offer every milter action the policy needs; session "
                        "refused (the MTA applies milter_default_action)"}}));
    }
    return status;
  } catch (const std::exception& e) {
    log_failure("negotiate", e.what());
  } catch (...) {
    log_failure("negotiate", "unknown exception");
  }
  return SMFIS_REJECT;
}

/// At most once a minute: sessions beyond milter.max_sessions.
void log_over_limit(int limit) {
  static log::Throttle throttle;
  std::uint64_t refused = 0;
  if (!throttle.due(&refused)) {
    return;
  }
  log::warning(log::fields({{"error", "too-many-sessions"},
                            {"limit", std::to_string(limit)},
                            {"refused", std::to_string(refused)},
                            {"action", "tempfail"},
                            {"what", "sessions beyond milter.max_sessions are tempfailed"}}));
}

/// The session's Connection, made here if negotiation did not (an MTA
/// that skips it), and counted in against milter.max_sessions once: at
/// connect, or at the first MAIL when the MTA skips connect. Never null
/// (throws when it cannot be made).
Connection* admitted(SMFICTX* ctx) {
  Connection* c = connection(ctx);
  if (c == nullptr) {
    c = new Connection();
    smfi_setpriv(ctx, c);
  }
  if (c->counted) {
    return c;
  }
  const std::shared_ptr<const Runtime> rt = g_filter.runtime->load();
  const int limit = rt ? rt->config.milter.max_sessions : conf::Config::Milter{}.max_sessions;
  c->counted = true;  // on_close counts every counted Connection out
  if (g_filter.sessions.fetch_add(1) >= limit) {
    c->over_limit = true;
    log_over_limit(limit);
  }
  return c;
}

sfsistat over_limit_reply(SMFICTX* ctx) {
  smfi_setreply(ctx, const_cast<char*>("421"), const_cast<char*>("4.3.2"),
                const_cast<char*>("forcetls: too many sessions, try again later"));
  return SMFIS_TEMPFAIL;
}

// Postfix's non-SMTP path (sendmail command, pickup) pretends a client
// localhost/127.0.0.1 with port 0; a real TCP client never has port 0.
// No address at all (family unknown) is a local submission too.
bool local_client(const sockaddr* a) {
  if (a == nullptr) {
    return true;
  }
  if (a->sa_family == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(a)->sin_port == 0;
  }
  if (a->sa_family == AF_INET6) {
    return reinterpret_cast<const sockaddr_in6*>(a)->sin6_port == 0;
  }
  return false;
}

// The same from the macros at MAIL (the MTA skipped connect): Postfix's
// non-SMTP path sends {client_addr} 127.0.0.1 and {client_port} 0; no
// address at all is a local submission too. A wrong "local" is safe: a
// refused recipient is then removed and the message held, never delivered.
bool local_client(std::string_view addr, std::string_view port) {
  return addr.empty() || port == "0";
}

sfsistat on_connect(SMFICTX* ctx, char* /*hostname*/, _SOCK_ADDR* hostaddr) {
  return guarded(ctx, "connect", [&] {
    Connection* c = admitted(ctx);
    if (c->over_limit) {
      return over_limit_reply(ctx);
    }
    c->local_submission = local_client(hostaddr);
    c->client_known = true;
    return SMFIS_CONTINUE;
  });
}

sfsistat envfrom(SMFICTX* ctx, Connection* c, char** argv) {
  if (c->over_limit) {
    return SMFIS_CONTINUE;  // refused at RCPT (421)
  }
  flush_message(*c, nullptr, "no-end-of-message");
  reset_message(*c);
  if (!c->client_known) {
    c->local_submission = local_client(macro(ctx, "{client_addr}"), macro(ctx, "{client_port}"));
  }
  c->sender = (argv != nullptr && argv[0] != nullptr) ? argv[0] : "";
  if (auto d = checker::recipient_domain(c->sender)) {
    c->context.sender_domain = *d;
  }
  c->context.auth_user = macro(ctx, "{auth_authen}");
  c->context.daemon_name = macro(ctx, "{daemon_name}");
  c->context.local_submission = c->local_submission;
  note_queue_id(ctx, *c);
  c->runtime = g_filter.runtime->load();
  if (!c->runtime) {
    throw std::runtime_error("no configuration loaded");
  }
  return SMFIS_CONTINUE;
}

// MAIL is never refused, with or without its reply (SMFIP_NR_MAIL): a
// refusal here would move libmilter's state machine back to before MAIL,
// and where the MTA does not read MAIL's reply it would send the RCPTs on
// to a milter that no longer answers them. RCPT acts on a failure here (no
// runtime, or over the limit) instead. A continue where no reply was
// agreed (the agreement lost with a Connection after SMFIC_QUIT_NC) is
// dropped by libmilter, and changes no state.
sfsistat on_envfrom(SMFICTX* ctx, char** argv) {
  (void)guarded(ctx, "envfrom", [&] {
    if (Connection* previous = connection(ctx)) {
      previous->runtime.reset();  // whatever fails below, RCPT gets on_error
    }
    return envfrom(ctx, admitted(ctx), argv);
  });
  const Connection* c = connection(ctx);
  return c != nullptr && c->negotiated.no_reply_mail ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

sfsistat on_envrcpt(SMFICTX* ctx, char** argv) {
  Connection* c = connection(ctx);
  const std::string rcpt = (argv != nullptr && argv[0] != nullptr) ? argv[0] : "";
  if (c != nullptr && c->over_limit) {
    return over_limit_reply(ctx);
  }
  if (c == nullptr) {  // logged and answered with milter.on_error
    return guarded(ctx, "envrcpt",
                   []() -> sfsistat { throw std::runtime_error("no session state"); });
  }
  RecipientOutcome out;
  try {
    note_queue_id(ctx, *c);
    const ReportsInUse in_use;
    cache::Reports* reports = in_use.get();
    if (reports == nullptr && g_filter.stopping.load()) {
      // Stopping (libmilter's sessions outlive smfi_main): whatever
      // milter.on_error says, never accepted unchecked nor refused for good.
      out = failure_outcome(rcpt, policy::Action::tempfail, "the milter is stopping",
                            c->local_submission);
    } else if (!c->runtime) {
      // MAIL failed (MAIL is never refused: see on_envfrom): every
      // recipient of this message gets milter.on_error.
      throw std::runtime_error("the MAIL step failed");
    } else if (reports == nullptr) {
      // Not wired yet: never accept unchecked.
      throw std::runtime_error("no report source");
    } else {
      const conf::Config::Milter& m = c->runtime->config.milter;
      CheckOptions options{.on_miss = m.on_miss,
                           .miss_deadline = m.miss_deadline,
                           .local_submission = c->local_submission,
                           .now = {}};
      out = check_recipient(*c->runtime->policy, c->context, rcpt, *reports, options);
    }
  } catch (const std::exception& e) {
    log_failure("envrcpt", e.what());
    out = failure_outcome(rcpt, on_error_action(c), e.what(), c->local_submission);
  } catch (...) {
    log_failure("envrcpt", "unknown exception");
    out = failure_outcome(rcpt, on_error_action(c), "unknown exception", c->local_submission);
  }
  sfsistat status = SMFIS_CONTINUE;
  if (out.reply != RcptReply::accept) {
    const policy::Reply& r = out.decision.reply;
    const std::string text = escape_percent(r.text);
    if (!r.empty() &&
        smfi_setreply(ctx, const_cast<char*>(r.code.c_str()), const_cast<char*>(r.enhanced.c_str()),
                      const_cast<char*>(text.c_str())) != MI_SUCCESS) {
      log::warning(prefix(*c) +
                   log::fields({{"rcpt", out.rcpt}, {"warning", "smfi_setreply failed"}}));
    }
    status = out.reply == RcptReply::reject ? SMFIS_REJECT : SMFIS_TEMPFAIL;
  }
  try {
    c->recipients.push_back(std::move(out));
  } catch (...) {
    // Not kept, so end of message could not remove it (a local
    // submission): tempfailed instead, never passed on unplanned.
    log_failure("envrcpt", "out of memory");
    return SMFIS_TEMPFAIL;
  }
  return status;
}

// MessageEditor over libmilter's end-of-message calls.
class LibmilterEditor final : public MessageEditor {
 public:
  explicit LibmilterEditor(SMFICTX* ctx) : ctx_(ctx) {}
  bool add_header(const std::string& name, const std::string& value) override {
    return smfi_addheader(ctx_, const_cast<char*>(name.c_str()),
                          const_cast<char*>(value.c_str())) == MI_SUCCESS;
  }
  bool delete_rcpt(const std::string& argument) override {
    return smfi_delrcpt(ctx_, const_cast<char*>(argument.c_str())) == MI_SUCCESS;
  }
  bool add_rcpt(const std::string& address) override {
    return smfi_addrcpt(ctx_, const_cast<char*>(address.c_str())) == MI_SUCCESS;
  }
  bool quarantine(const std::string& reason) override {
    return smfi_quarantine(ctx_, const_cast<char*>(reason.c_str())) == MI_SUCCESS;
  }

 private:
  SMFICTX* ctx_;
};

sfsistat on_eom(SMFICTX* ctx) {
  return guarded(ctx, "eom", [&] {
    Connection* c = connection(ctx);
    if (c != nullptr && c->over_limit) {
      return SMFIS_TEMPFAIL;  // never delivered unchecked
    }
    if (c == nullptr) {
      throw std::runtime_error("no session state");  // on_error
    }
    note_queue_id(ctx, *c);
    // After a failed MAIL the recipients carry on_error's outcome; a local
    // submission's must still be removed here, so the plan always runs.
    const std::shared_ptr<const Runtime> rt = c->runtime ? c->runtime : g_filter.runtime->load();
    if (!rt) {
      throw std::runtime_error("no configuration loaded");
    }
    const conf::Config::Milter& m = rt->config.milter;
    MessagePlan plan = plan_message(c->recipients, m.header);
    const std::string p = prefix(*c);
    LibmilterEditor editor(ctx);
    const PlanResult done = apply_plan(plan, m.header_name, editor);
    for (const std::string& w : done.warnings) {
      log::warning(p + log::fields({{"warning", w}}));
    }
    if (!done.failed.empty()) {
      // The MTA did not take a change a decision needs: passing the message
      // on without it could deliver it where the policy forbids. The
      // changes already made die with the message; the client retries.
      log::error(p + log::fields({{"error", "end-of-message-change"},
                                  {"failed", done.failed},
                                  {"rcpt", done.failed_rcpt},
                                  {"action", "tempfail"}}));
      smfi_setreply(ctx, const_cast<char*>("451"), const_cast<char*>("4.3.0"),
                    const_cast<char*>("forcetls could not apply its policy to this message; "
                                      "try again later"));
      flush_message(*c, &plan, "tempfailed");
      reset_message(*c);
      return SMFIS_TEMPFAIL;
    }
    flush_message(*c, &plan, "");
    reset_message(*c);
    return SMFIS_CONTINUE;
  });
}

sfsistat on_abort(SMFICTX* ctx) {
  return guarded(ctx, "abort", [&] {
    if (Connection* c = connection(ctx)) {
      note_queue_id(ctx, *c);
      flush_message(*c, nullptr, "aborted");
      reset_message(*c);
    }
    return SMFIS_CONTINUE;
  });
}

sfsistat on_close(SMFICTX* ctx) {
  return guarded(ctx, "close", [&] {
    std::unique_ptr<Connection> c(connection(ctx));
    smfi_setpriv(ctx, nullptr);
    if (c) {
      if (c->counted) {
        g_filter.sessions.fetch_sub(1);
      }
      flush_message(*c, nullptr, "connection-closed");
    }
    return SMFIS_CONTINUE;
  });
}

/// Connects to the milter socket and hangs up: wakes libmilter's listener.
/// A wildcard bind is reached on loopback. Best effort, never blocks long.
void poke_listener(const conf::SocketAddress& a) {
  using Kind = conf::SocketAddress::Kind;
  if (a.kind == Kind::unix_path) {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (a.path.size() >= sizeof(sun.sun_path)) {
      return;
    }
    std::memcpy(sun.sun_path, a.path.c_str(), a.path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd >= 0) {
      (void)::connect(fd, reinterpret_cast<const sockaddr*>(&sun), sizeof(sun));
      ::close(fd);
    }
    return;
  }
  if (a.kind != Kind::inet && a.kind != Kind::inet6) {
    return;
  }
  const bool v6 = a.kind == Kind::inet6;
  std::string host = a.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // inet6:PORT@[::1]
  }
  if (host.empty() || host == "0.0.0.0" || host == "::") {
    host = v6 ? "::1" : "127.0.0.1";
  }
  addrinfo hints{};
  hints.ai_family = v6 ? AF_INET6 : AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(a.port).c_str(), &hints, &found) != 0) {
    return;
  }
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      (void)::poll(&p, 1, 100);
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
}

}  // namespace

Result<void> open(const conf::SocketAddress& socket, RuntimeSlot& runtime) {
  g_filter.runtime = &runtime;
  g_filter.address = socket;
  smfiDesc desc{};
  desc.xxfi_name = const_cast<char*>("forcetls");
  desc.xxfi_version = SMFI_VERSION;
  desc.xxfi_flags = kFilterFlags;
  desc.xxfi_connect = on_connect;
  desc.xxfi_envfrom = on_envfrom;
  desc.xxfi_envrcpt = on_envrcpt;
  desc.xxfi_eom = on_eom;
  desc.xxfi_abort = on_abort;
  desc.xxfi_close = on_close;
  desc.xxfi_negotiate = on_negotiate;

  const std::string spec = socket.spec();
  if (smfi_setconn(const_cast<char*>(spec.c_str())) != MI_SUCCESS ||
      smfi_register(desc) != MI_SUCCESS) {
    return fail(Errc::config, "cannot set up the milter socket " + spec);
  }
  if (smfi_opensocket(1) != MI_SUCCESS) {
    return fail(Errc::io, "cannot open the milter socket " + spec);
  }
  if ((socket.kind == conf::SocketAddress::Kind::inet ||
       socket.kind == conf::SocketAddress::Kind::inet6) &&
      disable_nagle_on_listeners() == 0) {
    log::warning("could not set TCP_NODELAY on " + spec);
  }
  return {};
}

void set_reports(cache::Reports* reports) { g_filter.reports.store(reports); }

bool withdraw_reports(std::chrono::milliseconds grace) {
  g_filter.stopping.store(true);
  g_filter.reports.store(nullptr);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (g_filter.users.load() != 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

int run() { return smfi_main() == MI_SUCCESS ? 0 : 1; }

void stop() {
  // smfi_stop() waits for a lock libmilter's listener holds across its
  // select(), which times out only every 5 s: a connection to the socket
  // ends the select at once. Poked until smfi_stop() has returned.
  std::atomic<bool> stopped{false};
  std::thread stopper([&stopped] {
    smfi_stop();
    stopped = true;
  });
  while (!stopped) {
    poke_listener(g_filter.address);
    for (int i = 0; i < 20 && !stopped; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  stopper.join();
}

int disable_nagle_on_listeners() {
  int set = 0;
  const int max_fd = static_cast<int>(::sysconf(_SC_OPEN_MAX));
  for (int fd = 3; fd < max_fd && fd < 4096; ++fd) {
    int listening = 0;
    int type = 0;
    socklen_t len = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening == 0) {
      continue;
    }
    len = sizeof type;
    sockaddr_storage addr{};
    socklen_t addr_len = sizeof addr;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &addr_len) != 0 ||
        (addr.ss_family != AF_INET && addr.ss_family != AF_INET6)) {
      continue;
    }
    const int one = 1;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0) {
      ++set;
    }
  }
  return set;
}

}  // namespace forcetls::milter::callbacks
