// SPDX-License-Identifier: Apache-2.0
// Error: the value fallible operations return through std::expected.
// Plain data; any thread. What a prober *observes* (timeouts, alerts,
// refusals) is report data, not an Error: Error is for operations that fail.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace forcetls {

/// Broad class of a failure, so callers can decide without parsing text.
enum class Errc {
  invalid_argument,  ///< caller gave something malformed
  io,                ///< a system call failed (errno in the message)
  timeout,           ///< a deadline passed
  protocol,          ///< the peer said something we cannot accept
  not_found,         ///< the thing asked for does not exist
  config,            ///< configuration is invalid (message carries file:line:column)
  internal,          ///< a bug or an unexpected library failure
};

/// A failure with a human-readable message (one line, no trailing period).
struct Error {
  Errc code = Errc::internal;
  std::string message;
};

template <typename T>
using Result = std::expected<T, Error>;

/// Shorthand: `return fail(Errc::io, "connect: " + why);`
inline std::unexpected<Error> fail(Errc code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace forcetls
