// SPDX-License-Identifier: Apache-2.0
// SocketmapServer: the socketmap_table(5) listener of forcetls-milter — a
// listening socket (inet, inet6 or unix), an acceptor thread and one thread
// per persistent client connection (Postfix's smtp processes each keep one
// open and send one request at a time). Requests are netstrings; each is
// answered by the handler given to start(). open() runs before privileges
// are dropped (low ports, socket directories); start() after fork. start(),
// stop() and the destructor belong to the owning thread; the handler is
// called concurrently from the connection threads.
//
// Limits: at most max_connections are open. At the limit a new connection
// evicts the one idle longest (never one in the middle of a request), so
// idle sockets cannot lock the MTA out; Postfix reconnects transparently.
// On a unix socket a quarter of the slots is kept for the MTA (peers whose
// uid, from SO_PEERCRED, is root or one of mta_uids): other local users can
// neither hold nor evict them. Each connection queues probes within its own
// MissBudget.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/c_handle.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "conf/socket_address.hpp"
#include "milter/socketmap/netstring.hpp"
#include "milter/socketmap/socketmap_handler.hpp"

namespace forcetls::milter {

struct SocketmapServerOptions {
  conf::SocketAddress address;
  /// Open connections at most (each Postfix smtp process holds one;
  /// default_process_limit is 100); at the limit the longest idle goes.
  std::size_t max_connections = 1024;
  /// A connection silent this long is closed (Postfix reconnects).
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  /// unix sockets: the MTA's uids (root always counts), for which a quarter
  /// of max_connections is reserved.
  std::vector<uid_t> mta_uids;
  /// Probes a connection may queue: per second, and at once.
  double miss_rate = 10;
  double miss_burst = 100;
  /// A reply not taken by the client in this time closes the connection.
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  std::size_t max_request = kMaxNetstringPayload;
  /// unix sockets: mode, and owner set when opened as root (-1: unchanged).
  mode_t unix_mode = 0660;
  uid_t unix_owner = static_cast<uid_t>(-1);
  gid_t unix_group = static_cast<gid_t>(-1);
};

/// Answers one request payload; must not throw (the server turns an
/// exception into TEMP and a log line anyway).
using SocketmapHandlerFn =
    std::function<SocketmapReply(std::string_view request, MissBudget& budget)>;

struct SocketmapServerStats {
  std::uint64_t connections = 0;  ///< accepted since start
  std::uint64_t refused = 0;      ///< closed at once: too many connections, none idle
  std::uint64_t evicted = 0;      ///< idle connections closed to admit a new one
  std::uint64_t requests = 0;
  std::uint64_t malformed = 0;  ///< connections closed for a bad netstring
  std::size_t open = 0;         ///< connections open now (evicted ones still closing not counted)
};

class SocketmapServer {
 public:
  /// Binds and listens. A unix socket path that holds a stale socket (no
  /// one accepts on it) is replaced; one in use, or a non-socket, is an error.
  static Result<std::unique_ptr<SocketmapServer>> open(SocketmapServerOptions options);
  ~SocketmapServer();
  SocketmapServer(const SocketmapServer&) = delete;
  SocketmapServer& operator=(const SocketmapServer&) = delete;

  /// Starts accepting; the handler answers every request until stop().
  void start(SocketmapHandlerFn handler);
  /// Stops accepting, closes every connection, waits for their threads;
  /// a unix socket file is removed. Idempotent.
  void stop();

  /// The bound address: `inet:8892@127.0.0.1` (the real port when 0 was asked).
  std::string spec() const;
  SocketmapServerStats stats() const;

 private:
  explicit SocketmapServer(SocketmapServerOptions options) : options_(std::move(options)) {}
  /// One open connection (mutex_).
  /// One open connection. `busy` and `last_active` are written by its own
  /// thread without mutex_ (once per request) and read by make_room().
  struct Conn {
    Conn(bool mta_peer, uid_t peer) : mta(mta_peer), uid(peer) { touch(); }
    void touch() { last_active.store(std::chrono::steady_clock::now().time_since_epoch().count()); }
    const bool mta;                         ///< a reserved-slot peer (unix socket, MTA uid)
    const uid_t uid;                        ///< the peer's on a unix socket, else -1
    bool evicted = false;                   ///< mutex_
    std::atomic<bool> busy{false};          ///< inside the handler
    std::atomic<std::int64_t> last_active;  ///< steady clock ticks
  };
  void accept_loop();
  void admit(int fd);
  bool make_room(bool mta);
  /// Connections admitted and not evicted (mutex_ held).
  std::size_t live() const;
  void serve(int fd);
  std::shared_ptr<MissBudget> budget_for(const Conn& conn);
  bool send_all(int fd, std::string_view bytes);

  SocketmapServerOptions options_;
  std::uint16_t bound_port_ = 0;
  Fd listener_;
  Fd wake_read_;
  Fd wake_write_;
  SocketmapHandlerFn handler_;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;

  mutable std::mutex mutex_;
  std::condition_variable idle_;  ///< signalled when a connection thread ends
  std::map<int, Conn> open_;      ///< by descriptor; shut down by stop() or eviction
  std::size_t open_mta_ = 0;
  /// Other local users' budgets on a unix socket, one per uid (mutex_).
  std::map<uid_t, std::shared_ptr<MissBudget>> user_budgets_;
  log::Throttle refused_log_;
  std::size_t threads_ = 0;  ///< connection threads still running
  std::atomic<std::uint64_t> connections_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> evicted_{0};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> malformed_{0};
};

}  // namespace forcetls::milter
