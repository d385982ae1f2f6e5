// SPDX-License-Identifier: Apache-2.0
// Fuzz target for milter/socketmap/netstring: arbitrary bytes fed in chunks the input
// chooses, with a small or the protocol's payload limit. Every decoded frame
// must re-encode to exactly the bytes it came from, and the decoder must
// never hold more than its bound.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "milter/socketmap/netstring.hpp"

using namespace forcetls::milter;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  const std::size_t chunk = (data[0] & 0x3f) + 1;
  const std::size_t max = (data[0] & 0x40) != 0 ? 16 : kMaxNetstringPayload;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  NetstringDecoder decoder(max);
  std::vector<std::string> frames;
  std::string encoded;  // the decoded frames, encoded again
  bool failed = false;
  for (std::size_t pos = 0; pos < input.size() && !failed; pos += chunk) {
    decoder.feed(input.substr(pos, std::min(chunk, input.size() - pos)));
    for (;;) {
      auto next = decoder.next();
      if (!next) {
        failed = true;  // final: the connection would close
        break;
      }
      if (!*next) {
        break;
      }
      if ((*next)->size() > max) {
        __builtin_trap();
      }
      encoded += encode_netstring(**next);
      frames.push_back(std::move(**next));
    }
    // An incomplete frame: at most its length digits, ':' and payload.
    if (!failed && decoder.buffered() > max + 16) {
      __builtin_trap();
    }
  }
  // Round trip: the encoding decodes, in one piece, to the same frames.
  NetstringDecoder again(max);
  again.feed(encoded);
  for (const std::string& want : frames) {
    auto got = again.next();
    if (!got || !*got || **got != want) {
      __builtin_trap();
    }
  }
  auto end = again.next();
  if (!end || *end || again.buffered() != 0) {
    __builtin_trap();
  }
  return 0;
}
