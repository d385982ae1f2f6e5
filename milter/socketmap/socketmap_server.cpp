// SPDX-License-Identifier: Apache-2.0
// The socketmap listener and its connection threads (socketmap_server.hpp).
#include "milter/socketmap/socketmap_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <tuple>

#include "common/log.hpp"

namespace forcetls::milter {
namespace {

std::string errno_text(std::string_view what) {
  return std::string(what) + ": " + std::strerror(errno);
}

Result<Fd> listen_inet(const conf::SocketAddress& a, std::uint16_t& bound_port) {
  addrinfo hints{};
  hints.ai_family = a.kind == conf::SocketAddress::Kind::inet6 ? AF_INET6 : AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(a.port);
  const int rc =
      ::getaddrinfo(a.host.empty() ? nullptr : a.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    return fail(Errc::config, "socketmap.socket " + a.spec() + ": " + ::gai_strerror(rc));
  }
  CHandle<addrinfo, ::freeaddrinfo> list(found);
  Fd fd(::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) {
    return fail(Errc::io, errno_text("socket"));
  }
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (found->ai_family == AF_INET6) {
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  if (::bind(fd.get(), found->ai_addr, found->ai_addrlen) != 0) {
    return fail(Errc::io, errno_text("bind " + a.spec()));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len) == 0) {
    bound_port =
        ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port
                                          : reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
  }
  return fd;
}

Result<Fd> listen_unix(const SocketmapServerOptions& o) {
  const std::string& path = o.address.path;
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path.size() >= sizeof sun.sun_path) {
    return fail(Errc::config, "socketmap.socket: path too long: " + path);
  }
  std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return fail(Errc::config, "socketmap.socket: " + path + " exists and is not a socket");
    }
    // A socket file left by a daemon that died: nobody accepts on it.
    Fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (probe && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0) {
      return fail(Errc::config, "socketmap.socket: " + path + " is in use by another process");
    }
    if (::unlink(path.c_str()) != 0) {
      return fail(Errc::io, errno_text("unlink stale socket " + path));
    }
  }
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) {
    return fail(Errc::io, errno_text("socket"));
  }
  // Created private, then opened up to the mode asked for: no window in
  // which anyone else could connect.
  const mode_t old = ::umask(0177);
  const int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun);
  ::umask(old);
  if (rc != 0) {
    return fail(Errc::io, errno_text("bind " + path));
  }
  if ((o.unix_owner != static_cast<uid_t>(-1) || o.unix_group != static_cast<gid_t>(-1)) &&
      ::chown(path.c_str(), o.unix_owner, o.unix_group) != 0) {
    return fail(Errc::io, errno_text("chown " + path));
  }
  if (::chmod(path.c_str(), o.unix_mode) != 0) {
    return fail(Errc::io, errno_text("chmod " + path));
  }
  return fd;
}

timeval to_timeval(std::chrono::milliseconds d) {
  return timeval{.tv_sec = static_cast<time_t>(d.count() / 1000),
                 .tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000)};
}

std::string peer_of(int fd) {
  sockaddr_storage peer{};
  socklen_t len = sizeof peer;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) {
    return "?";
  }
  char text[INET6_ADDRSTRLEN] = "";
  if (peer.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&peer);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (peer.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&peer);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "unix";
}

}  // namespace

Result<std::unique_ptr<SocketmapServer>> SocketmapServer::open(SocketmapServerOptions options) {
  std::unique_ptr<SocketmapServer> s(new SocketmapServer(std::move(options)));
  Result<Fd> fd = fail(Errc::config, "socketmap.socket: none");
  switch (s->options_.address.kind) {
    case conf::SocketAddress::Kind::inet:
    case conf::SocketAddress::Kind::inet6:
      fd = listen_inet(s->options_.address, s->bound_port_);
      break;
    case conf::SocketAddress::Kind::unix_path:
      fd = listen_unix(s->options_);
      break;
    case conf::SocketAddress::Kind::none:
      break;
  }
  if (!fd) {
    return std::unexpected(fd.error());
  }
  if (::listen(fd->get(), 256) != 0) {
    return fail(Errc::io, errno_text("listen " + s->options_.address.spec()));
  }
  s->listener_ = std::move(*fd);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return fail(Errc::io, errno_text("pipe"));
  }
  s->wake_read_.reset(pipe_fds[0]);
  s->wake_write_.reset(pipe_fds[1]);
  return s;
}

SocketmapServer::~SocketmapServer() {
  stop();
  if (options_.address.kind == conf::SocketAddress::Kind::unix_path && listener_) {
    ::unlink(options_.address.path.c_str());
  }
}

std::string SocketmapServer::spec() const {
  conf::SocketAddress a = options_.address;
  if (a.kind == conf::SocketAddress::Kind::inet || a.kind == conf::SocketAddress::Kind::inet6) {
    a.port = bound_port_;
  }
  return a.spec();
}

SocketmapServerStats SocketmapServer::stats() const {
  SocketmapServerStats s;
  s.connections = connections_;
  s.refused = refused_;
  s.evicted = evicted_;
  s.requests = requests_;
  s.malformed = malformed_;
  std::lock_guard lock(mutex_);
  s.open = live();
  return s;
}

void SocketmapServer::start(SocketmapHandlerFn handler) {
  if (started_) {
    return;
  }
  started_ = true;
  handler_ = std::move(handler);
  acceptor_ = std::thread([this] { accept_loop(); });
}

void SocketmapServer::stop() {
  if (!started_ || stopping_.exchange(true)) {
    return;
  }
  const char b = 0;
  [[maybe_unused]] ssize_t n = ::write(wake_write_.get(), &b, 1);
  if (acceptor_.joinable()) {
    acceptor_.join();
  }
  std::unique_lock lock(mutex_);
  // A shut-down socket wakes its thread out of poll()/read() at once.
  for (const auto& [fd, c] : open_) {
    ::shutdown(fd, SHUT_RDWR);
  }
  idle_.wait(lock, [this] { return threads_ == 0; });
  lock.unlock();
  if (options_.address.kind == conf::SocketAddress::Kind::unix_path) {
    ::unlink(options_.address.path.c_str());
  }
  listener_.reset();
}

void SocketmapServer::accept_loop() {
  std::array<pollfd, 2> fds{pollfd{listener_.get(), POLLIN, 0},
                            pollfd{wake_read_.get(), POLLIN, 0}};
  while (!stopping_) {
    const int n = ::poll(fds.data(), fds.size(), -1);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      log::error("socketmap " + log::fields({{"error", "poll"}, {"why", std::strerror(errno)}}));
      return;
    }
    if (stopping_ || (fds[1].revents & POLLIN) != 0) {
      return;
    }
    for (;;) {
      const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
          // EMFILE and friends: log, and let poll() retry after a pause.
          log::warning("socketmap " +
                       log::fields({{"error", "accept"}, {"why", std::strerror(errno)}}));
          ::poll(nullptr, 0, 100);
        }
        break;
      }
      admit(fd);
    }
  }
}

namespace {

/// The peer's uid on a unix socket; -1 when unknown.
uid_t peer_uid(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return static_cast<uid_t>(-1);
  }
  return cred.uid;
}

}  // namespace

// Closes the connection idle longest to make room for a new one (mutex_
// held): for a peer of the MTA any idle one, other peers first; for anyone
// else only another non-MTA one. False when every candidate is busy.
bool SocketmapServer::make_room(bool mta) {
  auto victim = open_.end();
  for (auto it = open_.begin(); it != open_.end(); ++it) {
    const Conn& c = it->second;
    if (c.busy.load() || c.evicted || (c.mta && !mta)) {
      continue;
    }
    if (victim == open_.end() || (victim->second.mta && !c.mta) ||
        (victim->second.mta == c.mta && c.last_active.load() < victim->second.last_active.load())) {
      victim = it;
    }
  }
  if (victim == open_.end()) {
    return false;
  }
  victim->second.evicted = true;
  if (victim->second.mta) {
    --open_mta_;
  }
  ::shutdown(victim->first, SHUT_RDWR);  // its thread closes it
  ++evicted_;
  return true;
}

std::size_t SocketmapServer::live() const {
  std::size_t n = 0;
  for (const auto& [fd, c] : open_) {
    n += c.evicted ? 0 : 1;  // an evicted one is only closing
  }
  return n;
}

// Takes a new connection in, evicting the longest idle one at the limit.
void SocketmapServer::admit(int fd) {
  const bool on_unix = options_.address.kind == conf::SocketAddress::Kind::unix_path;
  bool mta = false;
  uid_t uid = static_cast<uid_t>(-1);
  if (on_unix) {
    uid = peer_uid(fd);
    mta = uid == 0 || std::find(options_.mta_uids.begin(), options_.mta_uids.end(), uid) !=
                          options_.mta_uids.end();
  }
  const std::size_t limit = std::max<std::size_t>(1, options_.max_connections);
  const std::size_t reserved = on_unix ? limit / 4 : 0;
  std::unique_lock lock(mutex_);
  const std::size_t live = this->live();
  const std::size_t others = live - open_mta_;
  const bool full = live >= limit || (!mta && others >= limit - reserved);
  if (full && !make_room(mta)) {
    lock.unlock();
    ++refused_;
    if (refused_log_.due()) {
      log::warning("socketmap " + log::fields({{"error", "too-many-connections"},
                                               {"limit", std::to_string(limit)},
                                               {"refused", std::to_string(refused_.load())},
                                               {"what", "every connection is in a request"}}));
    }
    ::close(fd);
    return;
  }
  const timeval send_limit = to_timeval(options_.write_timeout);
  const timeval idle_limit = to_timeval(options_.idle_timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_limit, sizeof send_limit);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle_limit, sizeof idle_limit);
  open_.emplace(std::piecewise_construct, std::forward_as_tuple(fd),
                std::forward_as_tuple(mta, uid));
  open_mta_ += mta ? 1 : 0;
  ++threads_;
  ++connections_;
  try {
    std::thread([this, fd] { serve(fd); }).detach();
  } catch (const std::system_error& e) {
    open_.erase(fd);
    open_mta_ -= mta ? 1 : 0;
    --threads_;
    ::close(fd);
    log::error("socketmap " + log::fields({{"error", "thread"}, {"why", e.what()}}));
  }
}

// The MTA's connections (and every inet one) get a budget each; another
// local user's connections on a unix socket share that user's.
// (mutex_ held)
std::shared_ptr<MissBudget> SocketmapServer::budget_for(const Conn& conn) {
  if (conn.mta || options_.address.kind != conf::SocketAddress::Kind::unix_path ||
      conn.uid == static_cast<uid_t>(-1)) {
    return std::make_shared<MissBudget>(options_.miss_rate, options_.miss_burst);
  }
  auto& shared = user_budgets_[conn.uid];
  if (!shared) {
    shared = std::make_shared<MissBudget>(options_.miss_rate, options_.miss_burst);
  }
  return shared;
}

bool SocketmapServer::send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;  // EAGAIN here is SO_SNDTIMEO: the client does not read
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void SocketmapServer::serve(int fd) {
  NetstringDecoder decoder(options_.max_request);
  // The connection's entry stays in open_ (a map: stable) until this
  // thread erases it at the end.
  Conn* conn = nullptr;
  std::shared_ptr<MissBudget> budget;
  {
    std::lock_guard lock(mutex_);
    conn = &open_.at(fd);
    budget = budget_for(*conn);
  }
  std::array<char, 16384> buffer;
  std::string out;
  for (;;) {
    // A blocking read (SO_RCVTIMEO is the idle timeout): one system call
    // per request on the hot path; stop() wakes it with shutdown().
    const ssize_t got = ::read(fd, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      log::write(log::Level::debug,
                 "socketmap " + log::fields({{"event", "idle-close"}, {"client", peer_of(fd)}}));
      break;
    }
    if (got <= 0 || stopping_) {
      break;  // closed by the client (Postfix does when idle), stop() or eviction
    }
    conn->busy.store(true);
    conn->touch();
    decoder.feed(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
    out.clear();
    bool bad = false;
    for (;;) {
      auto next = decoder.next();
      if (!next) {
        ++malformed_;
        log::warning("socketmap " + log::fields({{"error", "malformed-netstring"},
                                                 {"why", to_string(next.error())},
                                                 {"client", peer_of(fd)},
                                                 {"action", "close"}}));
        bad = true;
        break;
      }
      if (!*next) {
        break;
      }
      ++requests_;
      SocketmapReply reply;
      try {
        reply = handler_(**next, *budget);
      } catch (const std::exception& e) {
        // Fail closed: Postfix defers the delivery (4.7.5) instead of
        // sending in clear.
        reply.answer = {AnswerKind::temp, "forcetls: internal error"};
        log::error("socketmap " + log::fields({{"error", "internal"}, {"what", e.what()}}));
      } catch (...) {
        reply.answer = {AnswerKind::temp, "forcetls: internal error"};
        log::error("socketmap " + log::fields({{"error", "internal"}}));
      }
      if (!reply.log_line.empty()) {
        log::write(reply.level, reply.log_line);
      }
      out += encode_netstring(reply.answer.payload());
    }
    // Answers to the frames before a bad one still go out: the client may
    // be waiting for them.
    // Busy means in the handler only: a client that does not read its
    // answers is as evictable as an idle one (shutdown() ends the send).
    conn->touch();
    conn->busy.store(false);
    if ((!out.empty() && !send_all(fd, out)) || bad) {
      break;
    }
  }
  std::lock_guard lock(mutex_);
  if (auto it = open_.find(fd); it != open_.end()) {  // `conn`
    if (it->second.evicted) {
      log::write(log::Level::debug,
                 "socketmap " + log::fields({{"event", "evicted-idle"}, {"client", peer_of(fd)}}));
    } else if (it->second.mta) {
      --open_mta_;
    }
    open_.erase(it);
  }
  ::close(fd);
  --threads_;
  idle_.notify_all();
}

}  // namespace forcetls::milter
