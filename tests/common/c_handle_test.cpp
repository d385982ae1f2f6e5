// SPDX-License-Identifier: Apache-2.0
// Tests for common/c_handle: free exactly once, never on null.
#include "common/c_handle.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace {
int g_freed = 0;
void count_free(int*) { ++g_freed; }
}  // namespace

TEST_CASE("CHandle frees once and skips null", "[common]") {
  g_freed = 0;
  int value = 0;
  {
    forcetls::CHandle<int, count_free> a{&value};
    forcetls::CHandle<int, count_free> b = std::move(a);
    forcetls::CHandle<int, count_free> empty;
  }
  CHECK(g_freed == 1);
}

TEST_CASE("Fd closes on destruction and on reset", "[common]") {
  int raw = ::open("/dev/null", O_RDONLY);
  REQUIRE(raw >= 0);
  {
    forcetls::Fd fd{raw};
    forcetls::Fd moved = std::move(fd);
    CHECK_FALSE(fd);
    CHECK(moved.get() == raw);
  }
  CHECK(::fcntl(raw, F_GETFD) == -1);
}
