// SPDX-License-Identifier: Apache-2.0
// Unit tests of the socketmap listener over a unix socket in a temporary
// directory (no TCP): persistent and pipelined requests, many clients at
// once, malformed and oversized netstrings, stale sockets, stop().
#include "milter/socketmap/socketmap_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

using namespace forcetls;
using namespace forcetls::milter;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/forcetls-socketmap-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::strncpy(sun.sun_path, path.c_str(), sizeof sun.sun_path - 1);
  return sun;
}

Fd connect_to(const std::string& path) {
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sun = unix_address(path);
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
  timeval tv{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

void send_bytes(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      return;  // the server may close first (malformed input)
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

/// The next reply, or nullopt when the server closed the connection.
std::optional<std::string> read_reply(int fd, NetstringDecoder& decoder) {
  for (;;) {
    auto next = decoder.next();
    REQUIRE(next);
    if (*next) {
      return **next;
    }
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) {
      return std::nullopt;
    }
    decoder.feed(std::string_view(buf, static_cast<std::size_t>(n)));
  }
}

// Released by the test: `forcetls hold` waits for it (a busy connection).
std::atomic<bool> g_release{true};
std::atomic<int> g_held{0};

// The budgets `forcetls budget` requests were answered with.
std::mutex g_budgets_mutex;
std::vector<const MissBudget*> g_budgets;

// Echoes the key back: `OK key`; `boom` throws; `hold` waits for g_release.
SocketmapReply echo(std::string_view request, MissBudget& budget) {
  if (request == "forcetls budget") {
    std::lock_guard lock(g_budgets_mutex);
    g_budgets.push_back(&budget);
  }
  if (request == "forcetls boom") {
    throw std::runtime_error("boom");
  }
  if (request == "forcetls hold") {
    ++g_held;
    while (!g_release) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    --g_held;
  }
  SocketmapReply r;
  r.answer = {AnswerKind::ok, std::string(request.substr(request.find(' ') + 1))};
  return r;
}

std::unique_ptr<SocketmapServer> start_server(const std::string& path,
                                              SocketmapServerOptions o = {}) {
  o.address = conf::SocketAddress{conf::SocketAddress::Kind::unix_path, 0, "", path};
  auto s = SocketmapServer::open(o);
  INFO((s ? std::string() : s.error().message));
  REQUIRE(s);
  (*s)->start(echo);
  return std::move(*s);
}

}  // namespace

TEST_CASE("SocketmapServer: persistent and pipelined requests", "[milter]") {
  TempDir dir;
  const std::string path = (dir.path / "sm.sock").string();
  auto server = start_server(path);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0660);

  Fd fd = connect_to(path);
  NetstringDecoder d;
  for (int i = 0; i < 50; ++i) {
    send_bytes(fd.get(), encode_netstring("forcetls d" + std::to_string(i) + ".example"));
    CHECK(read_reply(fd.get(), d) == "OK d" + std::to_string(i) + ".example");
  }
  // Three requests in one write, answered in order.
  send_bytes(fd.get(), encode_netstring("forcetls a") + encode_netstring("forcetls b") +
                           encode_netstring("forcetls c"));
  CHECK(read_reply(fd.get(), d) == "OK a");
  CHECK(read_reply(fd.get(), d) == "OK b");
  CHECK(read_reply(fd.get(), d) == "OK c");
  // A throwing handler fails closed and the connection lives on.
  send_bytes(fd.get(), encode_netstring("forcetls boom"));
  CHECK(read_reply(fd.get(), d) == "TEMP forcetls: internal error");
  send_bytes(fd.get(), encode_netstring("forcetls after"));
  CHECK(read_reply(fd.get(), d) == "OK after");
  CHECK(server->stats().requests == 55);
}

TEST_CASE("SocketmapServer: malformed and oversized netstrings close the connection", "[milter]") {
  struct Case {
    const char* label;
    std::string bytes;
    std::vector<std::string> replies;  ///< before the close
  };
  auto c = GENERATE(values<Case>({
      {"garbage", "GET / HTTP/1.0\r\n\r\n", {}},
      {"no comma", "3:abcd", {}},
      {"answers before the bad frame still go out", "10:forcetls a,xx", {"OK a"}},
      {"over 100000 bytes", "100001:", {}},
  }));
  INFO(c.label);
  TempDir dir;
  const std::string path = (dir.path / "sm.sock").string();
  auto server = start_server(path);
  Fd fd = connect_to(path);
  send_bytes(fd.get(), c.bytes);
  NetstringDecoder d;
  for (const std::string& want : c.replies) {
    CHECK(read_reply(fd.get(), d) == want);
  }
  CHECK(read_reply(fd.get(), d) == std::nullopt);
  CHECK(server->stats().malformed == 1);
  // The server itself goes on.
  Fd next = connect_to(path);
  send_bytes(next.get(), encode_netstring("forcetls ok"));
  NetstringDecoder d2;
  CHECK(read_reply(next.get(), d2) == "OK ok");
}

TEST_CASE("SocketmapServer: many concurrent persistent clients", "[milter]") {
  TempDir dir;
  const std::string path = (dir.path / "sm.sock").string();
  auto server = start_server(path);
  constexpr int kClients = 64;
  constexpr int kRequests = 200;
  std::atomic<int> wrong{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
      sockaddr_un sun = unix_address(path);
      if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0) {
        wrong += kRequests;
        return;
      }
      NetstringDecoder d;
      std::string buf(4096, '\0');
      for (int i = 0; i < kRequests; ++i) {
        const std::string key = "c" + std::to_string(c) + "r" + std::to_string(i);
        const std::string req = encode_netstring("forcetls " + key);
        ::send(fd.get(), req.data(), req.size(), MSG_NOSIGNAL);
        std::optional<std::string> got;
        while (!got) {
          auto next = d.next();
          if (next && *next) {
            got = **next;
            break;
          }
          const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
          if (n <= 0) {
            break;
          }
          d.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
        }
        if (got != "OK " + key) {
          ++wrong;
        }
      }
    });
  }
  for (std::thread& t : clients) {
    t.join();
  }
  CHECK(wrong == 0);
  CHECK(server->stats().requests == kClients * kRequests);
  CHECK(server->stats().connections == kClients);
}

TEST_CASE("SocketmapServer: connection limit, stop, stale socket", "[milter]") {
  TempDir dir;
  const std::string path = (dir.path / "sm.sock").string();
  {
    // A socket file nobody listens on any more (a daemon that died).
    Fd stale(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un sun = unix_address(path);
    REQUIRE(::bind(stale.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
  }
  SocketmapServerOptions o;
  o.max_connections = 2;
  auto server = start_server(path, o);

  Fd a = connect_to(path);
  Fd b = connect_to(path);
  NetstringDecoder da;
  NetstringDecoder db;
  send_bytes(a.get(), encode_netstring("forcetls a"));
  CHECK(read_reply(a.get(), da) == "OK a");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  send_bytes(b.get(), encode_netstring("forcetls b"));
  CHECK(read_reply(b.get(), db) == "OK b");

  // At the limit a new connection evicts the one idle longest (a), not
  // the newcomer: idle sockets cannot lock the MTA out.
  Fd third = connect_to(path);
  NetstringDecoder dt;
  send_bytes(third.get(), encode_netstring("forcetls c"));
  CHECK(read_reply(third.get(), dt) == "OK c");
  CHECK(read_reply(a.get(), da) == std::nullopt);
  CHECK(server->stats().evicted == 1);
  CHECK(server->stats().refused == 0);

  // A connection in the middle of a request is never evicted: b is busy,
  // so the next newcomer evicts the idle `third`; with both busy, one more
  // is refused.
  g_release = false;
  send_bytes(b.get(), encode_netstring("forcetls hold"));
  while (g_held.load() < 1) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  Fd fourth = connect_to(path);
  NetstringDecoder d4;
  CHECK(read_reply(third.get(), dt) == std::nullopt);
  send_bytes(fourth.get(), encode_netstring("forcetls hold"));
  while (g_held.load() < 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  Fd fifth = connect_to(path);
  NetstringDecoder d5;
  CHECK(read_reply(fifth.get(), d5) == std::nullopt);
  CHECK(server->stats().refused == 1);
  g_release = true;
  CHECK(read_reply(b.get(), db) == "OK hold");
  CHECK(read_reply(fourth.get(), d4) == "OK hold");
  CHECK(server->stats().evicted == 2);

  // In use: a second server on the same path is refused.
  SocketmapServerOptions again;
  again.address = conf::SocketAddress{conf::SocketAddress::Kind::unix_path, 0, "", path};
  auto second = SocketmapServer::open(again);
  REQUIRE_FALSE(second);
  CHECK_THAT(second.error().message, Catch::Contains("in use"));

  // stop() closes the open connections and removes the socket file.
  server->stop();
  CHECK(read_reply(a.get(), da) == std::nullopt);
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("SocketmapServer: a path that is not a socket is refused", "[milter]") {
  TempDir dir;
  const std::string path = (dir.path / "file").string();
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::fclose(f);
  }
  SocketmapServerOptions o;
  o.address = conf::SocketAddress{conf::SocketAddress::Kind::unix_path, 0, "", path};
  auto s = SocketmapServer::open(o);
  REQUIRE_FALSE(s);
  CHECK_THAT(s.error().message, Catch::Contains("not a socket"));
}

namespace {

/// A connection held by another uid in a child process (SO_PEERCRED is
/// taken at connect): only system calls after fork. Closed by ~Foreign.
struct Foreign {
  pid_t pid = -1;
  int release[2] = {-1, -1};
  int status[2] = {-1, -1};

  Foreign(const std::string& path, uid_t uid, const std::string& request = "") {
    REQUIRE(::pipe(release) == 0);
    REQUIRE(::pipe(status) == 0);
    const sockaddr_un sun = unix_address(path);
    const std::string wire = request.empty() ? std::string() : encode_netstring(request);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      char ok = 'n';
      int fd = -1;
      if (::setgid(uid) == 0 && ::setuid(uid) == 0) {
        fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&sun), sizeof sun) == 0) {
          ok = 'y';
          if (!wire.empty() &&
              ::write(fd, wire.data(), wire.size()) != static_cast<ssize_t>(wire.size())) {
            ok = 'n';
          }
        }
      }
      [[maybe_unused]] ssize_t w = ::write(status[1], &ok, 1);
      char c = 0;
      [[maybe_unused]] ssize_t r = ::read(release[0], &c, 1);
      ::_exit(0);
    }
    char ok = 0;
    REQUIRE(::read(status[0], &ok, 1) == 1);
    REQUIRE(ok == 'y');
  }
  ~Foreign() {
    // A byte, not EOF: later children inherited this pipe's write end too.
    const char go = 'x';
    [[maybe_unused]] ssize_t w = ::write(release[1], &go, 1);
    ::close(release[1]);
    int st = 0;
    ::waitpid(pid, &st, 0);
    for (int fd : {release[0], status[0], status[1]}) {
      ::close(fd);
    }
  }
};

}  // namespace

TEST_CASE("SocketmapServer: other local users cannot take the MTA's reserved slots", "[milter]") {
  if (::geteuid() != 0) {
    WARN("needs root to connect as another uid");
    return;
  }
  TempDir dir;
  ::chmod(dir.path.c_str(), 0755);
  const std::string path = (dir.path / "sm.sock").string();
  SocketmapServerOptions o;
  o.max_connections = 4;  // one slot reserved for the MTA (root here)
  o.unix_mode = 0666;
  auto server = start_server(path, o);
  auto open_now = [&] { return server->stats().open; };

  // The MTA's connection, idle longest of all.
  Fd mta = connect_to(path);
  NetstringDecoder dm;
  send_bytes(mta.get(), encode_netstring("forcetls m"));
  CHECK(read_reply(mta.get(), dm) == "OK m");

  std::vector<std::unique_ptr<Foreign>> others;
  for (int i = 0; i < 4; ++i) {
    others.push_back(std::make_unique<Foreign>(path, 65534));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Three others fit beside the MTA; the fourth evicted the oldest other,
  // never the MTA's idle connection.
  for (int i = 0; i < 200 && server->stats().evicted < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(server->stats().evicted == 1);
  CHECK(server->stats().refused == 0);
  send_bytes(mta.get(), encode_netstring("forcetls still"));
  CHECK(read_reply(mta.get(), dm) == "OK still");

  // The MTA at the full limit evicts another user's connection first.
  Fd mta2 = connect_to(path);
  NetstringDecoder dm2;
  send_bytes(mta2.get(), encode_netstring("forcetls m2"));
  CHECK(read_reply(mta2.get(), dm2) == "OK m2");
  CHECK(server->stats().evicted == 2);
  send_bytes(mta.get(), encode_netstring("forcetls again"));
  CHECK(read_reply(mta.get(), dm) == "OK again");
  CHECK(open_now() <= 4);
}

TEST_CASE("SocketmapServer: clients that never read their answers cannot hold every slot",
          "[milter]") {
  TempDir dir;
  const std::string path = (dir.path / "sm.sock").string();
  SocketmapServerOptions o;
  o.max_connections = 2;
  auto server = start_server(path, o);
  // Two clients pipeline far more than the socket buffers hold and read
  // nothing: their threads end up blocked sending answers.
  std::string burst;
  for (int i = 0; i < 200000; ++i) {
    burst += encode_netstring("forcetls stuck" + std::to_string(i));
  }
  std::vector<Fd> stuck;
  for (int i = 0; i < 2; ++i) {
    stuck.push_back(connect_to(path));
    std::string_view rest = burst;
    while (!rest.empty()) {
      const ssize_t n =
          ::send(stuck.back().get(), rest.data(), rest.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n <= 0) {
        break;  // the server stopped reading: its send is blocked
      }
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // A newcomer is answered at once: it evicted one of them.
  Fd fresh = connect_to(path);
  NetstringDecoder d;
  send_bytes(fresh.get(), encode_netstring("forcetls fresh"));
  CHECK(read_reply(fresh.get(), d) == "OK fresh");
  CHECK(server->stats().evicted >= 1);
  CHECK(server->stats().refused == 0);
}

TEST_CASE("SocketmapServer: another local user's connections share one miss budget", "[milter]") {
  if (::geteuid() != 0) {
    WARN("needs root to connect as another uid");
    return;
  }
  TempDir dir;
  ::chmod(dir.path.c_str(), 0755);
  const std::string path = (dir.path / "sm.sock").string();
  SocketmapServerOptions o;
  o.unix_mode = 0666;
  auto server = start_server(path, o);
  {
    std::lock_guard lock(g_budgets_mutex);
    g_budgets.clear();
  }
  Foreign one(path, 65534, "forcetls budget");
  Foreign two(path, 65534, "forcetls budget");
  Fd root_a = connect_to(path);
  Fd root_b = connect_to(path);
  NetstringDecoder da;
  NetstringDecoder db;
  send_bytes(root_a.get(), encode_netstring("forcetls budget"));
  CHECK(read_reply(root_a.get(), da) == "OK budget");
  send_bytes(root_b.get(), encode_netstring("forcetls budget"));
  CHECK(read_reply(root_b.get(), db) == "OK budget");
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard lock(g_budgets_mutex);
      if (g_budgets.size() >= 4) {
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::lock_guard lock(g_budgets_mutex);
  REQUIRE(g_budgets.size() == 4);
  // Order: the two root answers were awaited; the others came before or after.
  std::vector<const MissBudget*> all = g_budgets;
  std::sort(all.begin(), all.end());
  const auto distinct = std::unique(all.begin(), all.end()) - all.begin();
  CHECK(distinct == 3);  // nobody's two connections share one; root's have one each
}
