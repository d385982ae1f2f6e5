// SPDX-License-Identifier: Apache-2.0
// forcetls-milter: daemon manners (configuration, sockets opened as root,
// daemonising, the pid file, privileges, signals) and the wiring of the
// store, the prober, the refresh engine, the policy map and the callbacks.
//
// Signals: libmilter's own signal thread treats SIGHUP like SIGTERM (stop).
// To make SIGHUP a reload, smfi_main() runs on its own thread and the main
// thread is the only one that does not block SIGHUP/SIGTERM/SIGINT; Linux
// delivers a process-directed signal to the thread-group leader when it does
// not block it, so our handler (a self-pipe) sees every one of them.
#include "milter/daemon/daemon.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>
#include <utility>

#include "common/c_handle.hpp"
#include "common/log.hpp"
#include "conf/loader.hpp"
#include "milter/callbacks/callbacks.hpp"
#include "milter/service/probe_service.hpp"
#include "milter/service/runtime.hpp"
#include "milter/service/setup.hpp"
#include "milter/socketmap/socketmap_handler.hpp"
#include "milter/socketmap/socketmap_server.hpp"

namespace forcetls::milter {
namespace {

std::shared_ptr<const Runtime> make_runtime(const conf::Config& config,
                                            std::shared_ptr<const policy::Policy> policy) {
  return std::make_shared<const Runtime>(Runtime{config, std::move(policy)});
}

/// What the callbacks and the policy map read; reload() swaps it.
RuntimeSlot g_runtime;

int g_signal_pipe[2] = {-1, -1};

void on_signal(int sig) {
  const int saved = errno;
  const unsigned char b = static_cast<unsigned char>(sig);
  [[maybe_unused]] ssize_t n = ::write(g_signal_pipe[1], &b, 1);
  errno = saved;
}

/// The pid file (daemon.pid_file; empty: none), removed by every exit after
/// it was written.
class PidFile {
 public:
  static Result<PidFile> write(const std::string& path) {
    if (!path.empty()) {
      std::ofstream f(path, std::ios::trunc);
      f << ::getpid() << "\n";
      if (!f) {
        return fail(Errc::io, "cannot write the pid file " + path);
      }
    }
    return PidFile(path);
  }
  PidFile(PidFile&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  PidFile& operator=(PidFile&&) = delete;
  ~PidFile() {
    if (!path_.empty()) {
      ::unlink(path_.c_str());
    }
  }

 private:
  explicit PidFile(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

/// SIGHUP, SIGTERM and SIGINT through a self-pipe. Opening blocks them on
/// this thread, so every thread started afterwards inherits the block;
/// listen() installs the handler and unblocks them here only.
class Signals {
 public:
  static Result<Signals> open() {
    if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
      return fail(Errc::io, std::string("cannot create the signal pipe: ") + std::strerror(errno));
    }
    Signals s;
    sigemptyset(&s.handled_);
    sigaddset(&s.handled_, SIGHUP);
    sigaddset(&s.handled_, SIGTERM);
    sigaddset(&s.handled_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &s.handled_, nullptr);
    return s;
  }
  void listen() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    pthread_sigmask(SIG_UNBLOCK, &handled_, nullptr);
  }
  /// Waits up to a second; the signals that arrived (0: a wake-up).
  std::vector<int> wait() {
    std::vector<int> out;
    pollfd p{read_.get(), POLLIN, 0};
    if (::poll(&p, 1, 1000) > 0) {
      unsigned char sig = 0;
      while (::read(read_.get(), &sig, 1) == 1) {
        out.push_back(sig);
      }
    }
    return out;
  }

 private:
  Signals() : read_(g_signal_pipe[0]), write_(g_signal_pipe[1]) {}
  Fd read_;
  Fd write_;
  sigset_t handled_{};
};

Result<void> drop_privileges(const conf::Config& config) {
  if (::geteuid() != 0) {
    return {};
  }
  if (config.daemon.user.empty()) {
    log::warning("daemon.user is empty: staying root");
    return {};
  }
  auto ids = daemon_ids(config);
  if (!ids) {
    return std::unexpected(ids.error());
  }
  // The cache directory must belong to the user the daemon becomes.
  if (auto owned = own_cache(config.cache.path, *ids); !owned) {
    return owned;
  }
  const gid_t gid = ids->gid;
  if (::setgroups(1, &gid) != 0 || ::setgid(gid) != 0 || ::setuid(ids->uid) != 0) {
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
  auto old = g_runtime.load();
  const conf::Config& n = loaded.value.config;
  // The map's names and DNSSEC answers apply at once; the rest of its
  // section (socket and limits) is read when the listener opens.
  auto listener_part = [](conf::Config::Socketmap m) {
    m.name.clear();
    m.sts_name.clear();
    m.postfix_dnssec = false;
    return m;
  };
  if (n.milter.socket != old->config.milter.socket ||
      listener_part(n.socketmap) != listener_part(old->config.socketmap) ||
      n.cache != old->config.cache || n.checker != old->config.checker ||
      n.daemon != old->config.daemon) {
    log::warning(log::fields(
        {{"event", "reload"},
         {"note", "socket, socketmap limit, cache, checker and daemon changes need a restart"}}));
  }
  log::set_level(n.log.level);
  // The socketmap's map names and policy change with this swap too.
  g_runtime.store(make_runtime(n, loaded.value.policy));
  log::info(log::fields({{"event", "reloaded"},
                         {"config", loaded.value.config_source},
                         {"policy", loaded.value.policy_source}}));
}

log::Options log_options(const conf::Config& config, const DaemonOptions& options) {
  return {.ident = "forcetls",
          .target = options.foreground && !options.syslog ? log::Target::stderr_stream
                                                          : log::Target::syslog,
          .facility = conf::syslog_facility(config.log.facility),
          .level = config.log.level};
}

/// The policy map's listener, opened as root before daemonising; null when
/// socketmap.socket is none. A unix socket belongs to the daemon's user and
/// group, mode 0660: add the MTA's user (postfix) to that group, as for
/// OpenDKIM.
Result<std::unique_ptr<SocketmapServer>> open_socketmap(const conf::Config& config) {
  if (config.socketmap.socket.kind == conf::SocketAddress::Kind::none) {
    return std::unique_ptr<SocketmapServer>();
  }
  const conf::Config::Socketmap& c = config.socketmap;
  SocketmapServerOptions sm{
      .address = c.socket,
      .max_connections = static_cast<std::size_t>(c.max_connections),
      .idle_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(c.idle_timeout),
      .mta_uids = {},
      .miss_rate = static_cast<double>(c.miss_rate),
      .miss_burst = 10.0 * c.miss_rate,
  };
  if (!c.mta_user.empty()) {
    if (const passwd* pw = ::getpwnam(c.mta_user.c_str())) {
      sm.mta_uids.push_back(pw->pw_uid);
    } else if (c.socket.kind == conf::SocketAddress::Kind::unix_path) {
      log::warning(log::fields({{"warning", "no-mta-user"},
                                {"user", c.mta_user},
                                {"what",
                                 "socketmap.mta_user does not exist: only root gets "
                                 "the reserved map connections"}}));
    }
  }
  if (::geteuid() == 0 && !config.daemon.user.empty()) {
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
    return fail(opened.error().code, "cannot open the socketmap socket " +
                                         config.socketmap.socket.spec() + ": " +
                                         opened.error().message);
  }
  return std::move(*opened);
}

/// Descriptors the limits of the configuration may hold at once (a map
/// connection each, two per milter session, probes and LMDB besides): the
/// soft RLIMIT_NOFILE is raised towards the hard one to cover them, and a
/// limit still too low is said at startup rather than found at accept().
void raise_descriptor_limit(const conf::Config& config) {
  const rlim_t wanted = static_cast<rlim_t>(config.socketmap.max_connections) +
                        2 * static_cast<rlim_t>(config.milter.max_sessions) +
                        4 * static_cast<rlim_t>(config.checker.concurrency) + 256;
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= wanted) {
    return;
  }
  rlimit raised = lim;
  raised.rlim_cur = lim.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, lim.rlim_max);
  if (raised.rlim_cur > lim.rlim_cur) {
    ::setrlimit(RLIMIT_NOFILE, &raised);
  }
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < wanted) {
    log::warning(
        log::fields({{"warning", "descriptor-limit"},
                     {"limit", std::to_string(lim.rlim_cur)},
                     {"wanted", std::to_string(wanted)},
                     {"what",
                      "socketmap.max_connections and milter.max_sessions may not be reached; "
                      "raise LimitNOFILE"}}));
  }
}

/// Every policy-map request reads the current runtime: SIGHUP swaps policy
/// and map names. Each connection thread keeps its own copy and loads the
/// shared one only after a reload.
SocketmapHandlerFn socketmap_handler(cache::Reports& reports) {
  return [&reports](std::string_view request, MissBudget& budget) {
    thread_local std::shared_ptr<const Runtime> rt;
    thread_local SocketmapOptions maps;
    thread_local std::uint64_t seen = 0;
    const std::uint64_t now = g_runtime.generation();
    if (!rt || seen != now) {
      rt = g_runtime.load();
      maps = {rt->config.socketmap.name, rt->config.socketmap.sts_name,
              rt->config.socketmap.postfix_dnssec};
      seen = now;
    }
    return answer_request(*rt->policy, maps, reports, request, &budget);
  };
}

/// Until SIGTERM/SIGINT has stopped libmilter: SIGHUP reloads.
void handle_signals(Signals& signals, const std::atomic<bool>& milter_done,
                    const conf::SetupOptions& setup_options) {
  bool stopping = false;
  while (!milter_done) {
    for (int sig : signals.wait()) {
      if (sig == SIGHUP) {
        log::info(log::fields({{"event", "reload-requested"}}));
        reload(setup_options);
      } else if ((sig == SIGTERM || sig == SIGINT) && !stopping) {
        stopping = true;
        log::info(
            log::fields({{"event", "stopping"}, {"signal", sig == SIGTERM ? "TERM" : "INT"}}));
        callbacks::stop();
      }
    }
  }
}

/// After daemonising and dropping privileges: the store (opened after fork:
/// LMDB environments must not cross it), the prober, the refresh engine,
/// then the policy map and the milter, until a signal stops them.
int serve(const conf::Loaded<conf::Setup>& loaded, const conf::SetupOptions& setup_options,
          SocketmapServer* socketmap, Signals& signals) {
  const conf::Config& config = loaded.value.config;
  auto store = cache::Store::open(store_options(config));
  if (!store) {
    log::error(log::fields({{"error", "cache"}, {"why", store.error().message}}));
    return 1;
  }
  auto probes =
      ProbeService::start(resolver_options(config), prober_options(config, this_host_name()),
                          store->get(), config.checker.probe_deadline);
  if (!probes) {
    log::error(log::fields({{"error", "prober"}, {"why", probes.error().message}}));
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
  auto reports = std::make_unique<cache::EngineReports>(*engine, **store);
  callbacks::set_reports(reports.get());
  if (socketmap != nullptr) {
    socketmap->start(socketmap_handler(*reports));
  }

  std::atomic<bool> milter_done{false};
  int milter_status = 0;
  std::thread milter_thread([&] {
    milter_status = callbacks::run();
    milter_done = true;
    on_signal(0);  // wake the main thread
  });
  signals.listen();
  log::info(log::fields({{"event", "started"},
                         {"socket", config.milter.socket.spec()},
                         {"socketmap", socketmap != nullptr ? socketmap->spec() : "none"},
                         {"config", loaded.value.config_source},
                         {"policy", loaded.value.policy_source},
                         {"cache", config.cache.path}}));
  handle_signals(signals, milter_done, setup_options);
  milter_thread.join();
  if (socketmap != nullptr) {
    socketmap->stop();  // its connections use the engine
  }
  // libmilter does not wait for its (detached) session threads: a late RCPT
  // may still be checking. Stopping the engine ends every wait for a probe
  // (those recipients are decided as not checked: a tempfail under
  // require); new recipients get milter.on_error; the engine and the store
  // go only once no check uses them.
  engine->stop();
  if (!callbacks::withdraw_reports(std::chrono::seconds(2))) {
    log::warning(log::fields(
        {{"event", "stop"}, {"warning", "recipient checks still running: cache left open"}}));
    // Leaked on purpose: the process ends now, and a check still running
    // must not find them destroyed. Committed cache writes are on disk.
    (void)reports.release();
    (void)engine.release();
    (void)store->release();
    (void)probes->release();
  }
  return milter_status;
}

}  // namespace

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
  log::init(log_options(config, options));
  g_runtime.store(make_runtime(config, loaded.value.policy));
  raise_descriptor_limit(config);

  // Both listeners: as root, before daemonising (errors reach the terminal).
  if (auto opened = callbacks::open(config.milter.socket, g_runtime); !opened) {
    std::cerr << "forcetls-milter: " << opened.error().message << "\n";
    return 1;
  }
  auto socketmap = open_socketmap(config);
  if (!socketmap) {
    std::cerr << "forcetls-milter: " << socketmap.error().message << "\n";
    return 1;
  }
  if (!options.foreground && ::daemon(0, 0) != 0) {
    std::cerr << "forcetls-milter: daemon: " << std::strerror(errno) << "\n";
    return 1;
  }
  auto pid_file = PidFile::write(config.daemon.pid_file);
  if (!pid_file) {
    log::error(log::fields({{"error", "pid-file"}, {"why", pid_file.error().message}}));
    return 1;
  }
  if (auto dropped = drop_privileges(config); !dropped) {
    log::error(log::fields({{"error", "privileges"}, {"why", dropped.error().message}}));
    if (options.foreground) {
      std::cerr << "forcetls-milter: " << dropped.error().message << "\n";
    }
    return 1;
  }
  // Threads start after this: every one but the main thread blocks the signals.
  auto signals = Signals::open();
  if (!signals) {
    log::error(log::fields({{"error", "signals"}, {"why", signals.error().message}}));
    return 1;
  }
  const int status = serve(loaded, setup_options, socketmap->get(), *signals);
  log::info(log::fields({{"event", "stopped"}}));
  return status;
}

}  // namespace forcetls::milter
