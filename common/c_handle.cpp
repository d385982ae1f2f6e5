// SPDX-License-Identifier: Apache-2.0
// Out-of-line part of the RAII helpers (keeps <unistd.h> out of the header).
#include "common/c_handle.hpp"

#include <unistd.h>

namespace forcetls {

void Fd::reset(int fd) noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
  }
  fd_ = fd;
}

}  // namespace forcetls
