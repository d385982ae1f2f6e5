// SPDX-License-Identifier: Apache-2.0
// Fuzz target for checker/wire/server_hello: the incremental record / ServerHello /
// alert parser and the classification. The first input byte picks how the rest
// is split into reads; the parser must reach the same verdict as when fed the
// whole input at once, and nothing may crash, leak or read out of bounds.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "checker/wire/server_hello.hpp"

using namespace forcetls::checker;

namespace {

const ClientHelloOptions kOffers[] = {
    {.version = TlsVersion::ssl3, .suites = {0x0004, 0x0005, 0x000A, 0x002F}},
    {.version = TlsVersion::tls1_0, .suites = {0xC013, 0x002F, 0x0003}},
    {.version = TlsVersion::tls1_2, .suites = {0xC02F, 0xC030, 0x009E, 0x002F}},
    {.version = TlsVersion::tls1_3, .suites = {0x1301, 0x1302, 0x1303}},
    {.version = TlsVersion::tls1_3,
     .lowest_version = TlsVersion::tls1_2,
     .suites = {0x1301, 0xC02F}},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const unsigned max_chunk = 1 + data[0] % 64;
  std::span<const std::uint8_t> input(data + 1, size - 1);

  ServerHelloParser whole;
  whole.feed(input);
  ServerHelloParser split;
  std::uint32_t x = data[0] | 1u;
  for (std::size_t at = 0; at < input.size();) {
    x = x * 1103515245u + 12345u;
    std::size_t n = std::min<std::size_t>(1 + (x >> 16) % max_chunk, input.size() - at);
    split.feed(input.subspan(at, n));
    at += n;
  }
  if (whole.reply().index() != split.reply().index() || whole.done() != split.done()) {
    __builtin_trap();
  }
  if (const auto* a = std::get_if<ServerHello>(&whole.reply())) {
    const auto& b = std::get<ServerHello>(split.reply());
    if (a->cipher_suite != b.cipher_suite || a->selected_version() != b.selected_version() ||
        a->extensions.size() != b.extensions.size()) {
      __builtin_trap();
    }
  }
  for (const ClientHelloOptions& offer : kOffers) {
    ProbeResult r = classify(split.reply(), offer);
    if (r.acceptance == Acceptance::accepted &&
        (!r.version || !valid_at(r.suite, *r.version) ||
         std::find(offer.suites.begin(), offer.suites.end(), r.suite) == offer.suites.end())) {
      __builtin_trap();  // "accepted" must only ever mean: offered and valid
    }
    for (StreamEnd end : {StreamEnd::closed, StreamEnd::reset, StreamEnd::timeout}) {
      classify(split, offer, end);
    }
  }
  std::string why;
  parse_server_hello_body(input, &why);
  return 0;
}
