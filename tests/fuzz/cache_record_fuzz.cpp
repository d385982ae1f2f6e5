// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the cache's record decoders (what the store reads back from
// LMDB, whatever wrote it). Whatever decodes must encode again, and the
// re-encoded record must decode to the same bytes (no lossy field).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cache/record.hpp"

namespace {

template <typename Decode>
void round_trip(std::string_view in, Decode decode) {
  auto first = decode(in);
  if (!first) {
    return;
  }
  auto bytes = forcetls::cache::encode(*first);
  if (!bytes) {
    std::abort();  // the decoder accepted what the encoder refuses
  }
  auto second = decode(*bytes);
  if (!second) {
    std::abort();
  }
  auto again = forcetls::cache::encode(*second);
  if (!again || *again != *bytes) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)forcetls::cache::record_kind(in);
  round_trip(in, forcetls::cache::decode_domain);
  round_trip(in, forcetls::cache::decode_address);
  return 0;
}
