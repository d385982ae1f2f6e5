// SPDX-License-Identifier: Apache-2.0
// Fuzz target for checker/dns/dns_record: every rdata parser and the message
// parser (compression pointers) on hostile bytes. The first byte picks the
// rdata parser; the whole input is also parsed as a DNS message.
#include <cstddef>
#include <cstdint>
#include <span>

#include "checker/dns/dns_record.hpp"

using namespace forcetls::checker;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::uint8_t> all(data, size);
  if (size > 0) {
    const auto rdata = all.subspan(1);
    switch (data[0] % 7) {
      case 0:
        (void)parse_mx_rdata(rdata);
        break;
      case 1:
        (void)parse_a_rdata(rdata);
        break;
      case 2:
        (void)parse_aaaa_rdata(rdata);
        break;
      case 3:
        (void)parse_cname_rdata(rdata);
        break;
      case 4:
        if (auto txt = parse_txt_rdata(rdata)) {
          (void)txt->joined();
        }
        break;
      case 5:
        if (auto tlsa = parse_tlsa_rdata(rdata)) {
          (void)tlsa->usable_for_smtp();
        }
        break;
      default: {
        std::size_t offset = 0;
        (void)parse_wire_name(rdata, offset);
        break;
      }
    }
  }
  if (auto msg = parse_message(all)) {
    for (const auto& rr : msg->answers) {
      std::size_t at = rr.rdata_offset;
      (void)parse_message_name(all, at);
    }
  }
  (void)cname_chain(all, "a.example");
  return 0;
}
