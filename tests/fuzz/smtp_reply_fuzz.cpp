// SPDX-License-Identifier: Apache-2.0
// Fuzz target for checker/smtp/smtp_reply: arbitrary bytes, split at positions the
// input chooses, through the reply parser (with small limits so they are hit)
// and every complete reply through the EHLO keyword parser.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "checker/smtp/smtp_reply.hpp"

using namespace forcetls::checker;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  // First byte: chunk size for feeding (1..64) and whether limits are tight.
  std::size_t chunk = (data[0] & 0x3f) + 1;
  ReplyLimits limits;
  if ((data[0] & 0x40) != 0) {
    limits = ReplyLimits{
        .max_line_bytes = 64, .max_lines = 4, .max_reply_bytes = 128, .max_buffered_bytes = 256};
  }
  std::span<const uint8_t> input(data + 1, size - 1);
  SmtpReplyParser parser(limits);
  for (std::size_t pos = 0; pos < input.size(); pos += chunk) {
    parser.feed(input.subspan(pos, std::min(chunk, input.size() - pos)));
    if (parser.buffered_bytes() > limits.max_buffered_bytes) {
      __builtin_trap();  // the bound the parser promises
    }
    for (;;) {
      auto next = parser.next();
      if (!next || !*next) {
        break;
      }
      const SmtpReply& reply = **next;
      if (reply.code < 200 || reply.code > 599 || reply.lines.empty() ||
          reply.lines.size() > limits.max_lines) {
        __builtin_trap();
      }
      EhloCapabilities caps = parse_ehlo(reply);
      (void)caps.starttls();
      (void)caps.size();
      (void)reply.to_string();
    }
  }
  return 0;
}
