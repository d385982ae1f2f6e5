// SPDX-License-Identifier: Apache-2.0
// Netstring framing for the socketmap responder (socketmap_table(5)).
#include "milter/socketmap/netstring.hpp"

#include "common/enum_names.hpp"

namespace forcetls::milter {
namespace {

// Digits of the largest length we could ever accept plus slack for leading
// zeros; more than this is not a length any client sends.
constexpr std::size_t kMaxLengthDigits = 12;

}  // namespace

namespace {
constexpr NameTable<NetstringError, 4> kNetstringErrorNames{{
    {NetstringError::empty_length, "empty-length"},
    {NetstringError::bad_length, "bad-length"},
    {NetstringError::too_large, "too-large"},
    {NetstringError::no_comma, "no-comma"},
}};
}  // namespace

std::string_view to_string(NetstringError e) { return name_in(kNetstringErrorNames, e); }

std::string encode_netstring(std::string_view payload) {
  std::string out = std::to_string(payload.size());
  out.reserve(out.size() + payload.size() + 2);
  out += ':';
  out += payload;
  out += ',';
  return out;
}

void NetstringDecoder::feed(std::string_view bytes) {
  if (error_) {
    return;
  }
  // Drop what next() has consumed before growing the buffer, so a long
  // persistent connection holds only its unanswered bytes.
  if (pos_ > 0 && (pos_ == buffer_.size() || pos_ >= 4096)) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
  buffer_.append(bytes);
}

std::expected<std::optional<std::string>, NetstringError> NetstringDecoder::next() {
  if (error_) {
    return std::unexpected(*error_);
  }
  auto failed = [&](NetstringError e) {
    error_ = e;
    buffer_.clear();
    pos_ = 0;
    return std::unexpected(e);
  };
  const std::size_t end = buffer_.size();
  std::size_t i = pos_;
  std::size_t length = 0;
  std::size_t digits = 0;
  for (;; ++i) {
    if (i == end) {
      return std::nullopt;  // the length is not complete yet
    }
    const char c = buffer_[i];
    if (c == ':') {
      break;
    }
    if (c < '0' || c > '9') {
      return failed(NetstringError::bad_length);
    }
    if (++digits > kMaxLengthDigits) {
      return failed(NetstringError::too_large);
    }
    length = length * 10 + static_cast<std::size_t>(c - '0');
    // Checked per digit: a frame that cannot be accepted is refused before
    // its payload is buffered.
    if (length > max_payload_) {
      return failed(NetstringError::too_large);
    }
  }
  if (digits == 0) {
    return failed(NetstringError::empty_length);
  }
  const std::size_t payload = i + 1;
  if (end - payload < length + 1) {
    return std::nullopt;  // payload or comma still to come
  }
  if (buffer_[payload + length] != ',') {
    return failed(NetstringError::no_comma);
  }
  std::string out = buffer_.substr(payload, length);
  pos_ = payload + length + 1;
  return out;
}

}  // namespace forcetls::milter
