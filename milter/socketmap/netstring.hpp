// SPDX-License-Identifier: Apache-2.0
// Netstrings as socketmap_table(5) frames them: `<len>:<bytes>,` with len in
// decimal ASCII. encode_netstring() and NetstringDecoder, an incremental
// decoder for a byte stream (a persistent socketmap connection). A decoder
// belongs to one connection and one thread at a time; encoding is pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace forcetls::milter {

/// socketmap_table(5): "The maximal length of a request or reply is 100000 bytes."
inline constexpr std::size_t kMaxNetstringPayload = 100000;

/// Why a byte stream is not a sequence of netstrings.
enum class NetstringError : std::uint8_t {
  empty_length,  ///< ':' with no digits before it
  bad_length,    ///< a byte other than a digit or ':' in the length
  too_large,     ///< the length exceeds the decoder's maximum
  no_comma,      ///< the byte after the payload is not ','
};
/// "empty-length", "bad-length", "too-large", "no-comma" (log field values).
std::string_view to_string(NetstringError e);

/// `<len>:<payload>,`.
std::string encode_netstring(std::string_view payload);

class NetstringDecoder {
 public:
  explicit NetstringDecoder(std::size_t max_payload = kMaxNetstringPayload)
      : max_payload_(max_payload) {}

  /// Appends bytes from the stream. After an error, input is ignored.
  void feed(std::string_view bytes);

  /// The next complete payload; nullopt when more bytes are needed. An
  /// error is final: every later call returns it (the stream cannot be
  /// resynchronised, the connection must close). Leading zeros in the
  /// length are accepted (Postfix's own reader accepts them); at most
  /// max_payload bytes are ever held for an incomplete frame, plus its
  /// length prefix.
  std::expected<std::optional<std::string>, NetstringError> next();

  /// Bytes not yet decoded: an incomplete frame and frames not yet taken by next().
  std::size_t buffered() const { return buffer_.size() - pos_; }
  /// Memory held: buffered() plus consumed bytes not yet dropped.
  std::size_t held() const { return buffer_.size(); }

 private:
  std::size_t max_payload_;
  std::string buffer_;
  std::size_t pos_ = 0;  ///< start of the first byte not yet decoded
  std::optional<NetstringError> error_;
};

}  // namespace forcetls::milter
