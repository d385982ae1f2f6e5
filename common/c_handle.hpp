// SPDX-License-Identifier: Apache-2.0
// RAII for C library handles: CHandle<SSL_CTX, SSL_CTX_free> owns one pointer
// and frees it exactly once. Not copyable; moving transfers ownership.
#pragma once

#include <memory>

namespace forcetls {

/// Deleter calling a C free function; a null pointer is never passed to it.
template <auto FreeFn>
struct Free {
  template <typename T>
  void operator()(T* p) const noexcept {
    if (p != nullptr) {
      FreeFn(p);
    }
  }
};

/// `CHandle<SSL, SSL_free> ssl{SSL_new(ctx)};`
template <typename T, auto FreeFn>
using CHandle = std::unique_ptr<T, Free<FreeFn>>;

/// An owned file descriptor, closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset(other.release());
    }
    return *this;
  }
  ~Fd() { reset(); }

  /// The descriptor, or -1.
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  /// Gives up ownership without closing.
  int release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  /// Closes the current descriptor (if any) and owns `fd`.
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

}  // namespace forcetls
