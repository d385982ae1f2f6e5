// SPDX-License-Identifier: Apache-2.0
// Lab tests of forcetls-milter under a local flood (issue-level attacks a
// user with a socket can mount): idle connections held on the policy map
// must not lock Postfix out; a flood of new `require` names on one map
// connection must neither grow memory without bound nor stop the real
// lookups being answered; sessions beyond milter.max_sessions are
// tempfailed at connect, not checked nor accepted. Structure is asserted,
// never wall-clock figures (tests/bench/attack_bench prints those).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "common/c_handle.hpp"
#include "milter/socketmap/netstring.hpp"
#include "tests/lab/lab_env.hpp"
#include "tests/milter/lab_milter_daemon.hpp"

using namespace forcetls;
using namespace forcetls::labtest;
using namespace std::chrono_literals;

namespace {

constexpr int kMapPort = 8896;
constexpr int kMilterPort = 8897;

Fd tcp_connect(int port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<std::uint16_t>(port));
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0) {
    return Fd();
  }
  return fd;
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

/// Reads until `want` netstrings arrived or `limit` passed; the replies.
std::vector<std::string> read_replies(int fd, std::size_t want, std::chrono::milliseconds limit) {
  milter::NetstringDecoder decoder;
  std::vector<std::string> out;
  const auto end = std::chrono::steady_clock::now() + limit;
  char buf[65536];
  while (out.size() < want && std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (::poll(&p, 1, static_cast<int>(std::max<long>(1, left.count()))) <= 0) {
      continue;
    }
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) {
      break;
    }
    decoder.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    for (;;) {
      auto next = decoder.next();
      if (!next || !*next) {
        break;
      }
      out.emplace_back(**next);
    }
  }
  return out;
}

/// The daemon's resident set, in KiB (VmRSS).
long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stol(line.substr(6));
    }
  }
  return -1;
}

constexpr const char* kPolicy = R"(default:
  mode: prefer
rules:
  - domains: [.partner.example]
    mode: require
  - domains: [good.test]
    mode: require
)";

std::string map_config(const std::string& extra = "") {
  return "socketmap:\n  socket: inet:" + std::to_string(kMapPort) + "@127.0.0.1\n" + extra;
}

}  // namespace

TEST_CASE("attack: 1,100 idle connections on the policy map, then Postfix's lookup is answered",
          "[milter][lab]") {
  LabMilterDaemon d(FORCETLS_MILTER_PATH, "inet:" + std::to_string(kMilterPort) + "@127.0.0.1",
                    kPolicy, false, map_config());
  d.start();
  std::vector<Fd> idle;
  for (int i = 0; i < 1100; ++i) {
    Fd fd = tcp_connect(kMapPort);
    REQUIRE(fd);
    idle.push_back(std::move(fd));
  }
  // The daemon has taken them all in (or closed the longest idle ones).
  std::this_thread::sleep_for(1s);
  Fd lookup = tcp_connect(kMapPort);
  REQUIRE(lookup);
  REQUIRE(send_all(lookup.get(), milter::encode_netstring("forcetls other.org")));
  const auto replies = read_replies(lookup.get(), 1, 10s);
  REQUIRE(replies.size() == 1);
  CHECK(replies[0] == "NOTFOUND ");  // `prefer`: Postfix's own policy applies
  // Postfix's own client as well.
  const RunResult pm =
      run("postmap -c " + shell_quote(env().get("SEND_CONF")) +
          " -q other.org socketmap:inet:127.0.0.1:" + std::to_string(kMapPort) + ":forcetls 2>&1");
  INFO(pm.out);
  CHECK(pm.status == 1);  // NOTFOUND, not a lookup error
  CHECK(pm.out.find("error") == std::string::npos);
  CHECK(pm.out.find("warning") == std::string::npos);
  // Room was made by closing idle connections: at least the ones beyond
  // the limit (1,024) saw an end of file.
  std::size_t closed = 0;
  for (const Fd& fd : idle) {
    pollfd p{fd.get(), POLLIN, 0};
    char c = 0;
    if (::poll(&p, 1, 0) == 1 && ::recv(fd.get(), &c, 1, MSG_DONTWAIT) == 0) {
      ++closed;
    }
  }
  CHECK(closed >= 1100 - 1024);
  CHECK(d.lines().find("too-many-connections") == std::string::npos);
  CHECK(::kill(d.pid(), 0) == 0);
}

TEST_CASE("attack: a flood of new require names on one map connection stays bounded",
          "[milter][lab]") {
  LabMilterDaemon d(FORCETLS_MILTER_PATH, "inet:" + std::to_string(kMilterPort) + "@127.0.0.1",
                    kPolicy, false, map_config("  miss_rate: 10\n"));
  d.start();
  Fd flood = tcp_connect(kMapPort);
  REQUIRE(flood);
  // Warm up (allocator arenas, the first probes), then measure.
  std::mt19937_64 random(42);
  auto batch = [&](int n) {
    std::string out;
    for (int i = 0; i < n; ++i) {
      out += milter::encode_netstring("forcetls n" + std::to_string(random()) + ".partner.example");
    }
    REQUIRE(send_all(flood.get(), out));
    const auto replies = read_replies(flood.get(), static_cast<std::size_t>(n), 30s);
    REQUIRE(replies.size() == static_cast<std::size_t>(n));
    std::size_t temp = 0;
    for (const std::string& r : replies) {
      temp += r.rfind("TEMP ", 0) == 0 ? 1 : 0;
    }
    CHECK(temp == replies.size());  // never answered as if checked
  };
  batch(2000);
  const long before = rss_kib(d.pid());
  for (int round = 0; round < 20; ++round) {
    batch(1000);
  }
  const long after = rss_kib(d.pid());
  WARN("daemon RSS before " << before << " KiB, after 20,000 more names " << after << " KiB");
  CHECK(after - before < 16 * 1024);
  const std::string log = d.lines();
  // Said once a minute, not once per name: the mail log is not flooded.
  CHECK(count_of(log, "event=miss-rate-limited") == 1);
  CHECK(count_of(log, "answer=TEMP") < 1000);
  // A real lookup on another connection is still answered, and the probe
  // its miss queued still runs: good.test ends up OK (encrypt/secure).
  Fd real = tcp_connect(kMapPort);
  REQUIRE(real);
  std::string last;
  const bool settled = wait_until(
      [&] {
        if (!send_all(real.get(), milter::encode_netstring("forcetls good.test"))) {
          return false;
        }
        const auto r = read_replies(real.get(), 1, 10s);
        last = r.empty() ? "" : r[0];
        return last.rfind("OK ", 0) == 0;
      },
      90s);
  INFO(last);
  CHECK(settled);
  CHECK(::kill(d.pid(), 0) == 0);
}

namespace {

/// A milter session opened by hand (the MTA's side of the protocol, as far
/// as connect): negotiation offering every action, then SMFIC_CONNECT.
struct RawMilterSession {
  Fd fd;

  static std::string packet(char cmd, std::string_view data) {
    const std::uint32_t len = htonl(static_cast<std::uint32_t>(data.size() + 1));
    std::string out(reinterpret_cast<const char*>(&len), 4);
    out += cmd;
    out += data;
    return out;
  }
  /// The next reply packet: command and data; cmd 0 when none came.
  std::pair<char, std::string> reply(std::chrono::milliseconds wait = 10s) {
    std::string got;
    const auto end = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < end) {
      if (got.size() >= 5) {
        std::uint32_t len = 0;
        std::memcpy(&len, got.data(), 4);
        len = ntohl(len);
        if (got.size() >= 4 + len) {
          return {got[4], got.substr(5, len - 1)};
        }
      }
      pollfd p{fd.get(), POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) {
        continue;
      }
      char buf[4096];
      const ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n <= 0) {
        break;
      }
      got.append(buf, static_cast<std::size_t>(n));
    }
    return {0, ""};
  }
  /// Connects and negotiates protocol version 6, every action, and the
  /// protocol `steps` offered; the negotiation reply.
  std::pair<char, std::string> negotiate(std::uint32_t steps) {
    fd = tcp_connect(kMilterPort);
    REQUIRE(fd);
    std::string opt;
    for (std::uint32_t v : {6u, 0x1FFu, steps}) {
      const std::uint32_t n = htonl(v);
      opt.append(reinterpret_cast<const char*>(&n), 4);
    }
    REQUIRE(send_all(fd.get(), packet('O', opt)));
    return reply();
  }
  /// Negotiates and connects as 192.0.2.9 port 4000; the connect reply.
  std::pair<char, std::string> open() {
    REQUIRE(negotiate(0).first == 'O');
    std::string conn = std::string("client.example") + '\0' + '4';
    const std::uint16_t port = htons(4000);
    conn.append(reinterpret_cast<const char*>(&port), 2);
    conn += std::string("192.0.2.9") + '\0';
    REQUIRE(send_all(fd.get(), packet('C', conn)));
    return reply();
  }
  /// As an MTA that lets the milter skip connect and MAIL's reply
  /// (SMFIP_NOCONNECT | SMFIP_NR_MAIL): negotiation, the client macros
  /// and MAIL, then RCPT; the replies that came (MAIL's must not).
  std::vector<std::pair<char, std::string>> mail_rcpt_without_connect() {
    const auto negotiated = negotiate(0x4001u);
    REQUIRE(negotiated.first == 'O');
    REQUIRE(negotiated.second.size() >= 12);
    std::uint32_t steps = 0;
    std::memcpy(&steps, negotiated.second.data() + 8, 4);
    CHECK((ntohl(steps) & 0x4001u) == 0x4001u);  // both taken
    using namespace std::string_literals;
    REQUIRE(send_all(fd.get(), packet('D', "M{client_addr}\0192.0.2.9\0{client_port}\0004000\0"s)));
    REQUIRE(send_all(fd.get(), packet('M', "<sender@lab.test>\0"s)));
    REQUIRE(send_all(fd.get(), packet('R', "<alice@good.test>\0"s)));
    std::vector<std::pair<char, std::string>> got;
    for (auto r = reply(); r.first != 0 && got.size() < 2; r = reply(500ms)) {
      got.push_back(r);  // a second one within 0.5 s would be MAIL's
    }
    return got;
  }
  void quit() {
    send_all(fd.get(), packet('Q', ""));
    fd.reset();
  }
};

}  // namespace

TEST_CASE("attack: sessions beyond milter.max_sessions are tempfailed, at connect or at RCPT",
          "[milter][lab]") {
  LabMilterDaemon d(FORCETLS_MILTER_PATH, "inet:" + std::to_string(kMilterPort) + "@127.0.0.1",
                    kPolicy, false, "", "wait", "  max_sessions: 2\n");
  d.start();
  RawMilterSession a;
  RawMilterSession b;
  RawMilterSession c;
  CHECK(a.open().first == 'c');
  CHECK(b.open().first == 'c');
  // The third: a 421 reply (SMFIR_REPLYCODE), never `continue`.
  const auto third = c.open();
  CHECK(third.first == 'y');
  CHECK_THAT(third.second, Catch::StartsWith("421 4.3.2"));
  CHECK_THAT(d.lines(), Catch::Contains("error=too-many-sessions"));
  // Without connect (counted at MAIL) and without MAIL's reply (nobody
  // reads it): RCPT itself gets the 421, and it is the only reply.
  RawMilterSession quiet;
  const auto replies = quiet.mail_rcpt_without_connect();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].first == 'y');
  CHECK_THAT(replies[0].second, Catch::StartsWith("421 4.3.2"));
  quiet.quit();
  // A session that ends frees its place.
  c.quit();
  a.quit();
  RawMilterSession again;
  bool admitted = wait_until([&] { return again.open().first == 'c'; }, 10s);
  CHECK(admitted);
  again.quit();
  b.quit();
}
