// SPDX-License-Identifier: Apache-2.0
// socketmap_bench: N concurrent persistent socketmap clients against a
// running forcetls-milter (Postfix's smtp_tls_policy_maps traffic pattern:
// one request, wait for the reply, next). Warms up until every key has a
// non-TEMP answer (the cache is warm), then measures for a fixed time and
// prints answers/s and latency percentiles. Loopback addresses and unix
// sockets only.
//
//   socketmap_bench [--socket inet:127.0.0.1:8892|unix:/path] [--map forcetls]
//                   [--clients 16] [--seconds 10] [--warm-timeout 120] KEY...
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/c_handle.hpp"
#include "milter/socketmap/netstring.hpp"

using namespace forcetls;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string socket = "inet:127.0.0.1:8892";
  std::string map = "forcetls";
  int clients = 16;
  int seconds = 10;
  int warm_timeout = 120;
  std::vector<std::string> keys;
};

[[noreturn]] void die(const std::string& why) {
  std::cerr << "socketmap_bench: " << why << "\n";
  std::exit(2);
}

// Postfix's spelling (inet:HOST:PORT); the host must be a loopback literal.
Fd connect_socket(const std::string& spec) {
  if (spec.starts_with("unix:")) {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    const std::string path = spec.substr(5);
    if (path.size() >= sizeof sun.sun_path) {
      die("unix path too long");
    }
    std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0) {
      die("connect " + spec + ": " + std::strerror(errno));
    }
    return fd;
  }
  if (!spec.starts_with("inet:")) {
    die("--socket must be inet:HOST:PORT or unix:PATH");
  }
  const std::string rest = spec.substr(5);
  const std::size_t colon = rest.rfind(':');
  if (colon == std::string::npos) {
    die("--socket inet:HOST:PORT");
  }
  std::string host = rest.substr(0, colon);
  const int port = std::stoi(rest.substr(colon + 1));
  if (host.starts_with('[') && host.ends_with(']')) {
    host = host.substr(1, host.size() - 2);
  }
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* in = reinterpret_cast<sockaddr_in*>(&ss);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, host.c_str(), &in->sin_addr) == 1) {
    // Network safety: loopback (127.0.0.0/8) only.
    if ((ntohl(in->sin_addr.s_addr) >> 24) != 127) {
      die("only loopback addresses: " + host);
    }
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<std::uint16_t>(port));
    len = sizeof *in;
  } else if (::inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1) {
    if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) {
      die("only loopback addresses: " + host);
    }
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<std::uint16_t>(port));
    len = sizeof *in6;
  } else {
    die("not an address literal: " + host);
  }
  Fd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    die("connect " + spec + ": " + std::strerror(errno));
  }
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

struct Client {
  Fd fd;
  milter::NetstringDecoder decoder;
  std::string buffer = std::string(65536, '\0');

  explicit Client(const std::string& spec) : fd(connect_socket(spec)) {}

  std::optional<std::string> ask(const std::string& request) {
    const std::string frame = milter::encode_netstring(request);
    std::string_view left = frame;
    while (!left.empty()) {
      const ssize_t n = ::send(fd.get(), left.data(), left.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return std::nullopt;
      }
      left.remove_prefix(static_cast<std::size_t>(n));
    }
    for (;;) {
      auto next = decoder.next();
      if (!next) {
        return std::nullopt;
      }
      if (*next) {
        return std::move(**next);
      }
      const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
      if (n <= 0) {
        return std::nullopt;
      }
      decoder.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    }
  }
};

std::string kind_of(const std::string& reply) { return reply.substr(0, reply.find(' ')); }

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        die(a + " needs a value");
      }
      return argv[++i];
    };
    if (a == "--socket") {
      o.socket = value();
    } else if (a == "--map") {
      o.map = value();
    } else if (a == "--clients") {
      o.clients = std::stoi(value());
    } else if (a == "--seconds") {
      o.seconds = std::stoi(value());
    } else if (a == "--warm-timeout") {
      o.warm_timeout = std::stoi(value());
    } else if (a.starts_with("-")) {
      die("unknown option " + a);
    } else {
      o.keys.push_back(a);
    }
  }
  if (o.keys.empty()) {
    die("give at least one KEY (a next-hop domain)");
  }

  // Warm-up: a TEMP answer means the daemon is still probing the domain.
  {
    Client c(o.socket);
    const auto give_up = Clock::now() + std::chrono::seconds(o.warm_timeout);
    for (const std::string& key : o.keys) {
      for (;;) {
        auto reply = c.ask(o.map + " " + key);
        if (!reply) {
          die("the daemon closed the connection during warm-up");
        }
        if (kind_of(*reply) != "TEMP") {
          std::cout << "warm: " << key << " -> " << *reply << "\n";
          break;
        }
        if (Clock::now() > give_up) {
          die("still TEMP after the warm-up timeout: " + key + " -> " + *reply);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
  }

  std::atomic<bool> go{false};
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::vector<std::vector<std::uint32_t>> latencies(static_cast<std::size_t>(o.clients));
  std::vector<std::map<std::string, std::uint64_t>> kinds(static_cast<std::size_t>(o.clients));
  std::vector<std::thread> threads;
  for (int t = 0; t < o.clients; ++t) {
    threads.emplace_back([&, t] {
      Client c(o.socket);
      auto& lat = latencies[static_cast<std::size_t>(t)];
      auto& k = kinds[static_cast<std::size_t>(t)];
      lat.reserve(2'000'000);
      while (!go) {
        std::this_thread::yield();
      }
      std::size_t i = static_cast<std::size_t>(t);
      while (!done) {
        const std::string request = o.map + " " + o.keys[i++ % o.keys.size()];
        const auto start = Clock::now();
        auto reply = c.ask(request);
        const auto took = Clock::now() - start;
        if (!reply) {
          ++failures;
          return;
        }
        lat.push_back(static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(took).count()));
        ++k[kind_of(*reply)];
      }
    });
  }
  const auto start = Clock::now();
  go = true;
  std::this_thread::sleep_for(std::chrono::seconds(o.seconds));
  done = true;
  for (std::thread& t : threads) {
    t.join();
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<std::uint32_t> all;
  std::map<std::string, std::uint64_t> total_kinds;
  for (std::size_t t = 0; t < latencies.size(); ++t) {
    all.insert(all.end(), latencies[t].begin(), latencies[t].end());
    for (const auto& [kind, n] : kinds[t]) {
      total_kinds[kind] += n;
    }
  }
  if (all.empty()) {
    die("no answers");
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    const auto idx = static_cast<std::size_t>(p * static_cast<double>(all.size() - 1));
    return static_cast<double>(all[idx]) / 1000.0;
  };
  std::printf("clients=%d seconds=%.2f answers=%zu failures=%d\n", o.clients, elapsed, all.size(),
              failures.load());
  std::printf("answers/s=%.0f\n", static_cast<double>(all.size()) / elapsed);
  std::printf("latency_us p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f max=%.1f\n", pct(0.5), pct(0.9),
              pct(0.99), pct(0.999), pct(1.0));
  for (const auto& [kind, n] : total_kinds) {
    std::printf("answer %s=%llu\n", kind.c_str(), static_cast<unsigned long long>(n));
  }
  return failures == 0 ? 0 : 1;
}
