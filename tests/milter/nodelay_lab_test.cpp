// SPDX-License-Identifier: Apache-2.0
// disable_nagle_on_listeners() (milter/callbacks/callbacks.hpp): TCP_NODELAY on a
// listening socket reaches the sockets it accepts; other sockets are left
// alone. TCP on 127.0.0.1 inside the lab's namespace only (a lab test).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/c_handle.hpp"
#include "milter/callbacks/callbacks.hpp"
#include "tests/lab/lab_env.hpp"

namespace {

int nodelay(int fd) {
  int v = -1;
  socklen_t len = sizeof v;
  REQUIRE(::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len) == 0);
  return v;
}

// A loopback listener on an ephemeral port.
forcetls::Fd listener(sockaddr_in& addr) {
  forcetls::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.get() >= 0);
  addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd.get(), 4) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  return fd;
}

}  // namespace

TEST_CASE("disable_nagle_on_listeners: accepted sockets inherit TCP_NODELAY", "[milter][lab]") {
  sockaddr_in addr{};
  forcetls::Fd lst = listener(addr);
  forcetls::Fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  forcetls::Fd before(::accept(lst.get(), nullptr, nullptr));
  REQUIRE(before.get() >= 0);
  CHECK(nodelay(before.get()) == 0);  // the default: Nagle on

  CHECK(forcetls::milter::callbacks::disable_nagle_on_listeners() >= 1);
  CHECK(nodelay(lst.get()) != 0);
  CHECK(nodelay(client.get()) == 0);  // not a listener: untouched

  forcetls::Fd client2(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(::connect(client2.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  forcetls::Fd after(::accept(lst.get(), nullptr, nullptr));
  REQUIRE(after.get() >= 0);
  CHECK(nodelay(after.get()) != 0);
}
