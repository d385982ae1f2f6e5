// SPDX-License-Identifier: Apache-2.0
// forcetls-milter: daemon manners and the libmilter callbacks.
//
// Signals: libmilter's own signal thread treats SIGHUP like SIGTERM (stop).
// To make SIGHUP a reload, smfi_main() runs on its own thread and the main
// thread is the only one that does not block SIGHUP/SIGTERM/SIGINT; Linux
// delivers a process-directed signal to the thread-group leader when it does
// not block it, so our handler (a self-pipe) sees every one of them.
#include "milter/milter_daemon.hpp"

#include <fcntl.h>
#include <grp.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "checker/report/domain_name.hpp"
#include "common/c_handle.hpp"
#include "common/log.hpp"
#include "conf/loader.hpp"
#include "milter/message_plan.hpp"
#include "milter/negotiation.hpp"
#include "milter/probe_service.hpp"
#include "milter/recipient_check.hpp"
#include "milter/setup.hpp"
#include "milter/socketmap_handler.hpp"
#include "milter/socketmap_server.hpp"

namespace forcetls::milter {
namespace {

/// What the callbacks read: swapped whole on SIGHUP.
struct Runtime {
  conf::Config config;
  std::shared_ptr<const policy::Policy> policy;
  SocketmapMaps maps;  ///< from config.socketmap, read by every socketmap request
};

std::shared_ptr<const Runtime> make_runtime(const conf::Config& config,
                                            std::shared_ptr<const policy::Policy> policy) {
  return std::make_shared<const Runtime>(
      Runtime{config, std::move(policy), {config.socketmap.name, config.socketmap.sts_name}});
}

/// The one daemon of this process (libmilter callbacks have no user pointer).
struct Daemon {
  std::atomic<std::shared_ptr<const Runtime>> runtime;
  std::atomic<std::uint64_t> generation{1};  ///< bumped after each runtime swap
  ReportLookup* reports = nullptr;
};
Daemon g_daemon;

/// Per-connection state, owned through smfi_setpriv.
struct Connection {
  bool local_submission = false;
  std::shared_ptr<const Runtime> runtime;  ///< fixed from MAIL to the end of the message
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
  return g_daemon.runtime.load()->config.milter.on_error;
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

sfsistat on_negotiate(SMFICTX* ctx, unsigned long f0, unsigned long f1, unsigned long /*f2*/,
                      unsigned long /*f3*/, unsigned long* pf0, unsigned long* pf1,
                      unsigned long* pf2, unsigned long* pf3) {
  return negotiate(ctx, f0, f1, pf0, pf1, pf2, pf3);
}

sfsistat on_connect(SMFICTX* ctx, char* /*hostname*/, _SOCK_ADDR* hostaddr) {
  return guarded(ctx, "connect", [&] {
    auto c = std::make_unique<Connection>();
    // Postfix's non-SMTP path (sendmail command, pickup) pretends a client
    // localhost/127.0.0.1 with port 0; a real TCP client never has port 0.
    // No address at all (family unknown) is a local submission too.
    if (hostaddr == nullptr) {
      c->local_submission = true;
    } else if (hostaddr->sa_family == AF_INET) {
      c->local_submission = reinterpret_cast<const sockaddr_in*>(hostaddr)->sin_port == 0;
    } else if (hostaddr->sa_family == AF_INET6) {
      c->local_submission = reinterpret_cast<const sockaddr_in6*>(hostaddr)->sin6_port == 0;
    }
    smfi_setpriv(ctx, c.release());
    return SMFIS_CONTINUE;
  });
}

sfsistat on_envfrom(SMFICTX* ctx, char** argv) {
  return guarded(ctx, "envfrom", [&] {
    Connection* c = connection(ctx);
    if (c == nullptr) {
      return SMFIS_CONTINUE;
    }
    flush_message(*c, nullptr, "no-end-of-message");
    reset_message(*c);
    c->runtime = g_daemon.runtime.load();
    c->sender = (argv != nullptr && argv[0] != nullptr) ? argv[0] : "";
    if (auto d = checker::recipient_domain(c->sender)) {
      c->context.sender_domain = *d;
    }
    c->context.auth_user = macro(ctx, "{auth_authen}");
    c->context.daemon_name = macro(ctx, "{daemon_name}");
    c->context.local_submission = c->local_submission;
    note_queue_id(ctx, *c);
    return SMFIS_CONTINUE;
  });
}

sfsistat on_envrcpt(SMFICTX* ctx, char** argv) {
  Connection* c = connection(ctx);
  const std::string rcpt = (argv != nullptr && argv[0] != nullptr) ? argv[0] : "";
  if (c == nullptr || !c->runtime) {
    return SMFIS_CONTINUE;
  }
  RecipientOutcome out;
  try {
    note_queue_id(ctx, *c);
    const conf::Config::Milter& m = c->runtime->config.milter;
    CheckOptions options{.on_miss = m.on_miss,
                         .miss_deadline = m.miss_deadline,
                         .local_submission = c->local_submission,
                         .now = {}};
    out = check_recipient(*c->runtime->policy, c->context, rcpt, *g_daemon.reports, options);
  } catch (const std::exception& e) {
    log_failure("envrcpt", e.what());
    out = failure_outcome(rcpt, c->runtime->config.milter.on_error, e.what(), c->local_submission);
  } catch (...) {
    log_failure("envrcpt", "unknown exception");
    out = failure_outcome(rcpt, c->runtime->config.milter.on_error, "unknown exception",
                          c->local_submission);
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
    log_failure("envrcpt", "out of memory");
  }
  return status;
}

sfsistat on_eom(SMFICTX* ctx) {
  return guarded(ctx, "eom", [&] {
    Connection* c = connection(ctx);
    if (c == nullptr || !c->runtime) {
      return SMFIS_CONTINUE;
    }
    note_queue_id(ctx, *c);
    const conf::Config::Milter& m = c->runtime->config.milter;
    MessagePlan plan = plan_message(c->recipients, m.header);
    const std::string p = prefix(*c);
    auto failed = [&](const char* what) { log::warning(p + log::fields({{"warning", what}})); };
    if (!plan.header_value.empty() &&
        smfi_addheader(ctx, const_cast<char*>(m.header_name.c_str()),
                       const_cast<char*>(plan.header_value.c_str())) != MI_SUCCESS) {
      failed("smfi_addheader failed");
    }
    for (const std::string& r : plan.delete_rcpts) {
      if (smfi_delrcpt(ctx, const_cast<char*>(r.c_str())) != MI_SUCCESS) {
        failed("smfi_delrcpt failed");
      }
    }
    for (const std::string& r : plan.add_rcpts) {
      if (smfi_addrcpt(ctx, const_cast<char*>(r.c_str())) != MI_SUCCESS) {
        failed("smfi_addrcpt failed");
      }
    }
    if (!plan.quarantine_reason.empty() &&
        smfi_quarantine(ctx, const_cast<char*>(plan.quarantine_reason.c_str())) != MI_SUCCESS) {
      failed("smfi_quarantine failed");
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
      flush_message(*c, nullptr, "connection-closed");
    }
    return SMFIS_CONTINUE;
  });
}

// ---- daemon manners ----

int g_signal_pipe[2] = {-1, -1};

void on_signal(int sig) {
  const int saved = errno;
  const unsigned char b = static_cast<unsigned char>(sig);
  [[maybe_unused]] ssize_t n = ::write(g_signal_pipe[1], &b, 1);
  errno = saved;
}

bool write_pid_file(const std::string& path) {
  std::ofstream f(path, std::ios::trunc);
  f << ::getpid() << "\n";
  return static_cast<bool>(f);
}

Result<void> drop_privileges(const conf::Config& config) {
  if (::geteuid() != 0) {
    return {};
  }
  if (config.daemon.user.empty()) {
    log::warning("daemon.user is empty: staying root");
    return {};
  }
  const passwd* pw = ::getpwnam(config.daemon.user.c_str());
  if (pw == nullptr) {
    return fail(Errc::config, "daemon.user '" + config.daemon.user +
                                  "' does not exist (create it, or set daemon.user)");
  }
  gid_t gid = pw->pw_gid;
  if (!config.daemon.group.empty()) {
    const group* gr = ::getgrnam(config.daemon.group.c_str());
    if (gr == nullptr) {
      return fail(Errc::config, "daemon.group '" + config.daemon.group + "' does not exist");
    }
    gid = gr->gr_gid;
  }
  // The cache directory must belong to the user the daemon becomes.
  const std::string& dir = config.cache.path;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return fail(Errc::io, "mkdir " + dir + ": " + std::strerror(errno));
  }
  if (::chown(dir.c_str(), pw->pw_uid, gid) != 0) {
    return fail(Errc::io, "chown " + dir + ": " + std::strerror(errno));
  }
  if (::setgroups(1, &gid) != 0 || ::setgid(gid) != 0 || ::setuid(pw->pw_uid) != 0) {
    return fail(Errc::io, std::string("dropping privileges: ") + std::strerror(errno));
  }
  log::info(log::fields({{"event", "privileges-dropped"}, {"user", config.daemon.user}}));
  return {};
}

void print_problems(const std::vector<conf::Problem>& problems) {
  for (const conf::Problem& p : problems) {
    std::cerr << "forcetls-milter: " << p.text() << "\n";
  }
}

void reload(const conf::SetupOptions& setup_options) {
  auto loaded = conf::load_setup(setup_options);
  if (!loaded.ok()) {
    for (const conf::Problem& p : loaded.problems) {
      log::error(log::fields({{"event", "reload-problem"}, {"problem", p.text()}}));
    }
    log::error(log::fields(
        {{"event", "reload-refused"}, {"why", "invalid configuration; keeping the running one"}}));
    return;
  }
  auto old = g_daemon.runtime.load();
  const conf::Config& n = loaded.value.config;
  if (n.milter.socket != old->config.milter.socket ||
      n.socketmap.socket != old->config.socketmap.socket || n.cache != old->config.cache ||
      n.checker != old->config.checker || n.daemon != old->config.daemon) {
    log::warning(
        log::fields({{"event", "reload"},
                     {"note", "socket, cache, checker and daemon changes need a restart"}}));
  }
  log::set_level(n.log.level);
  // The socketmap's map names and policy change with this swap too.
  g_daemon.runtime.store(make_runtime(n, loaded.value.policy));
  g_daemon.generation.fetch_add(1, std::memory_order_release);
  log::info(log::fields({{"event", "reloaded"},
                         {"config", loaded.value.config_source},
                         {"policy", loaded.value.policy_source}}));
}

}  // namespace

// libmilter writes every modification (smfi_addheader, smfi_delrcpt, ...)
// as its own packet, then the final reply as another. With Nagle's
// algorithm on, that reply waits for the MTA's ACK of the first packet,
// which the MTA delays (it sends nothing while it reads replies): about
// 40 ms per modified message on Linux, which capped Postfix at ~160 msg/s
// in tests/bench/milter_load.py. libmilter does not expose its sockets;
// Linux copies TCP_NODELAY from a listening socket to the sockets it
// accepts, so it is set on the listener(s) libmilter opened. Returns how
// many listeners were set.
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

int run_daemon(const DaemonOptions& options) {
  conf::SetupOptions setup_options;
  setup_options.config_file = options.config_file;
  auto loaded = conf::load_setup(setup_options);
  print_problems(loaded.problems);
  if (!loaded.ok()) {
    std::cerr << "forcetls-milter: invalid configuration, not starting\n";
    return 2;
  }
  const conf::Config& config = loaded.value.config;
  if (options.check_only) {
    std::cout << "forcetls-milter: configuration OK (" << loaded.value.config_source << ", policy "
              << loaded.value.policy_source << ")\n";
    return 0;
  }

  log::Options log_options{.ident = "forcetls",
                           .target = options.foreground && !options.syslog
                                         ? log::Target::stderr_stream
                                         : log::Target::syslog,
                           .facility = conf::syslog_facility(config.log.facility),
                           .level = config.log.level};
  log::init(log_options);
  g_daemon.runtime.store(make_runtime(config, loaded.value.policy));

  smfiDesc desc{};
  desc.xxfi_name = const_cast<char*>("forcetls");
  desc.xxfi_version = SMFI_VERSION;
  desc.xxfi_flags =
      SMFIF_ADDHDRS | SMFIF_QUARANTINE | SMFIF_DELRCPT | SMFIF_ADDRCPT | SMFIF_SETSYMLIST;
  desc.xxfi_connect = on_connect;
  desc.xxfi_envfrom = on_envfrom;
  desc.xxfi_envrcpt = on_envrcpt;
  desc.xxfi_eom = on_eom;
  desc.xxfi_abort = on_abort;
  desc.xxfi_close = on_close;
  desc.xxfi_negotiate = on_negotiate;

  const std::string spec = config.milter.socket.spec();
  if (smfi_setconn(const_cast<char*>(spec.c_str())) != MI_SUCCESS ||
      smfi_register(desc) != MI_SUCCESS) {
    std::cerr << "forcetls-milter: cannot set up the milter socket " << spec << "\n";
    return 1;
  }
  // Opened before daemonising (errors reach the terminal) and before
  // dropping root (privileged paths); a stale unix socket is removed.
  if (smfi_opensocket(1) != MI_SUCCESS) {
    std::cerr << "forcetls-milter: cannot open the milter socket " << spec << "\n";
    return 1;
  }
  const auto kind = config.milter.socket.kind;
  if ((kind == conf::SocketAddress::Kind::inet || kind == conf::SocketAddress::Kind::inet6) &&
      disable_nagle_on_listeners() == 0) {
    std::cerr << "forcetls-milter: warning: could not set TCP_NODELAY on " << spec << "\n";
  }
  // The socketmap listener likewise: opened as root, before daemonising.
  std::unique_ptr<SocketmapServer> socketmap;
  if (config.socketmap.socket.kind != conf::SocketAddress::Kind::none) {
    SocketmapServerOptions sm{.address = config.socketmap.socket};
    if (::geteuid() == 0 && !config.daemon.user.empty()) {
      // A unix socket belongs to the daemon's user and group, mode 0660:
      // add the MTA's user (postfix) to that group, as for OpenDKIM.
      if (const passwd* pw = ::getpwnam(config.daemon.user.c_str())) {
        sm.unix_owner = pw->pw_uid;
        sm.unix_group = pw->pw_gid;
      }
      if (!config.daemon.group.empty()) {
        if (const group* gr = ::getgrnam(config.daemon.group.c_str())) {
          sm.unix_group = gr->gr_gid;
        }
      }
    }
    auto opened = SocketmapServer::open(std::move(sm));
    if (!opened) {
      std::cerr << "forcetls-milter: cannot open the socketmap socket "
                << config.socketmap.socket.spec() << ": " << opened.error().message << "\n";
      return 1;
    }
    socketmap = std::move(*opened);
  }
  if (!options.foreground && ::daemon(0, 0) != 0) {
    std::cerr << "forcetls-milter: daemon: " << std::strerror(errno) << "\n";
    return 1;
  }
  const std::string& pid_file = config.daemon.pid_file;
  if (!pid_file.empty() && !write_pid_file(pid_file)) {
    log::error(log::fields({{"error", "cannot write pid file"}, {"path", pid_file}}));
    return 1;
  }
  auto remove_pid_file = [&] {
    if (!pid_file.empty()) {
      ::unlink(pid_file.c_str());
    }
  };
  if (auto dropped = drop_privileges(config); !dropped) {
    log::error(log::fields({{"error", "privileges"}, {"why", dropped.error().message}}));
    if (options.foreground) {
      std::cerr << "forcetls-milter: " << dropped.error().message << "\n";
    }
    remove_pid_file();
    return 1;
  }

  // Threads start here: every one but this main thread blocks the signals.
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGHUP);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGINT);
  pthread_sigmask(SIG_BLOCK, &handled, nullptr);

  // The store is opened after fork (LMDB environments must not cross it).
  auto store = cache::Store::open(store_options(config));
  if (!store) {
    log::error(log::fields({{"error", "cache"}, {"why", store.error().message}}));
    remove_pid_file();
    return 1;
  }
  auto probes =
      ProbeService::start(resolver_options(config), prober_options(config, this_host_name()),
                          store->get(), config.checker.probe_deadline);
  if (!probes) {
    log::error(log::fields({{"error", "prober"}, {"why", probes.error().message}}));
    remove_pid_file();
    return 1;
  }
  ProbeService* service = probes->get();
  auto engine = std::make_unique<cache::RefreshEngine>(
      **store,
      [service](const std::string& domain, cache::ProbeDone done) {
        service->probe(domain, std::move(done));
      },
      refresh_options(config));
  engine->start();
  EngineReports reports(*engine);
  g_daemon.reports = &reports;
  EngineDeliveryReports delivery(*engine, **store);

  if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    log::error("cannot create the signal pipe");
    return 1;
  }
  Fd pipe_read(g_signal_pipe[0]);
  Fd pipe_write(g_signal_pipe[1]);
  // Started last, so no early return leaves its threads using the engine.
  struct SocketmapStop {
    SocketmapServer* server;
    ~SocketmapStop() {
      if (server != nullptr) {
        server->stop();
      }
    }
  } socketmap_stop{socketmap.get()};
  if (socketmap) {
    // Every request reads the current runtime: SIGHUP swaps policy and names.
    socketmap->start([&delivery](std::string_view request) {
      // Each connection thread keeps its own copy of the runtime and loads
      // the shared one only after a reload: an atomic shared_ptr load per
      // request is a contended lock with many clients.
      thread_local std::shared_ptr<const Runtime> rt;
      thread_local std::uint64_t seen = 0;
      const std::uint64_t now = g_daemon.generation.load(std::memory_order_acquire);
      if (!rt || seen != now) {
        rt = g_daemon.runtime.load();
        seen = now;
      }
      return answer_request(*rt->policy, rt->maps, delivery, request);
    });
  }

  std::atomic<bool> milter_done{false};
  int milter_status = MI_SUCCESS;
  std::thread milter_thread([&] {
    milter_status = smfi_main();
    milter_done = true;
    on_signal(0);  // wake the main thread
  });

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGHUP, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  pthread_sigmask(SIG_UNBLOCK, &handled, nullptr);

  log::info(log::fields({{"event", "started"},
                         {"socket", spec},
                         {"socketmap", socketmap ? socketmap->spec() : std::string("none")},
                         {"config", loaded.value.config_source},
                         {"policy", loaded.value.policy_source},
                         {"cache", config.cache.path}}));

  bool stopping = false;
  while (!milter_done) {
    pollfd p{pipe_read.get(), POLLIN, 0};
    int n = ::poll(&p, 1, 1000);
    if (n <= 0) {
      continue;
    }
    unsigned char sig = 0;
    while (::read(pipe_read.get(), &sig, 1) == 1) {
      if (sig == SIGHUP) {
        log::info(log::fields({{"event", "reload-requested"}}));
        reload(setup_options);
      } else if ((sig == SIGTERM || sig == SIGINT) && !stopping) {
        stopping = true;
        log::info(
            log::fields({{"event", "stopping"}, {"signal", sig == SIGTERM ? "TERM" : "INT"}}));
        smfi_stop();
      }
    }
  }
  milter_thread.join();
  if (socketmap) {
    socketmap->stop();  // its connections use the engine
  }
  // Callbacks are over: stop the engine before the store goes.
  engine->stop();
  g_daemon.reports = nullptr;
  engine.reset();
  probes->reset();
  store->reset();
  remove_pid_file();
  log::info(log::fields({{"event", "stopped"}}));
  return milter_status == MI_SUCCESS ? 0 : 1;
}

}  // namespace forcetls::milter
