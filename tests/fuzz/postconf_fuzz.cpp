// SPDX-License-Identifier: Apache-2.0
// Fuzz target for forcetls-ctl doctor's readers of Postfix output: the
// input is split into postconf -n, -M and -P text and a transport table,
// every parser reads each part, and diagnose() judges the whole against a
// fixed configuration and policy. None may crash or throw; a parsed
// service key must be what postconf -P uses.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "milter/ctl/ctl_doctor.hpp"

using namespace forcetls;
using namespace forcetls::milter::doctor;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // Parts separated by a form feed: main.cf, master.cf, overrides, table.
  std::string_view parts[4];
  std::string_view rest = input;
  for (int i = 0; i < 4; ++i) {
    const std::size_t ff = i < 3 ? rest.find('\f') : std::string_view::npos;
    parts[i] = rest.substr(0, ff);
    rest = ff == std::string_view::npos ? std::string_view() : rest.substr(ff + 1);
  }
  for (const auto& [name, value] : parse_params(parts[0])) {
    parse_milters(value);
    split_list(value);
    parse_socketmap(value);
    parse_endpoint(value);
    parse_time(value);
    parse_inline_table(value);
    parse_route(value);
    if (name.empty()) {
      __builtin_trap();
    }
  }
  for (const Service& s : parse_master(parts[1])) {
    if (s.name.empty() || s.type.empty() || s.key() != s.name + "/" + s.type) {
      __builtin_trap();
    }
  }
  for (const auto& [key, params] : parse_overrides(parts[2])) {
    if (key.find('/') == std::string::npos || params.empty()) {
      __builtin_trap();
    }
  }
  for (const TableEntry& e : parse_table_source(parts[3])) {
    if (e.key.empty() || e.line < 1) {
      __builtin_trap();
    }
    parse_route(e.value);
  }

  static const conf::Config config = [] {
    conf::Config c;
    c.socketmap.postfix_dnssec = true;
    c.milter.socket = *conf::parse_socket_address("unix:/var/spool/postfix/forcetls/milter");
    return c;
  }();
  static const policy::Policy policy = policy::Policy::builtin_default();
  Inputs in;
  in.main_set = std::string(parts[0]);
  in.master = std::string(parts[1]);
  in.overrides = std::string(parts[2]);
  const std::string table(parts[3]);
  in.read_file = [&](const std::string&) { return std::optional<std::string>(table); };
  for (const Finding& f : diagnose(config, policy, in)) {
    if (f.item.empty() || f.line().empty()) {
      __builtin_trap();
    }
  }
  return 0;
}
