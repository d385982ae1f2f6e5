// SPDX-License-Identifier: Apache-2.0
// Socket specification parsing. Forms from libmilter's smfi_setconn(3) (as
// documented by Sendmail's libmilter/docs/smfi_setconn.html and OpenDKIM's
// `Socket` setting); sun_path length from <sys/un.h>.
#include "conf/socket_address.hpp"

#include <arpa/inet.h>
#include <sys/un.h>

#include <charconv>

namespace forcetls::conf {
namespace {

constexpr std::string_view kForms =
    "expected inet:PORT@HOST, inet6:PORT@HOST, unix:PATH or none (e.g. inet:8891@127.0.0.1)";

Result<std::uint16_t> parse_port(std::string_view text, std::string_view whole) {
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size()) {
    return fail(Errc::config, "bad socket '" + std::string(whole) + "': port '" +
                                  std::string(text) + "' is not a number; " + std::string(kForms));
  }
  if (value < 1 || value > 65535) {
    return fail(Errc::config, "bad socket '" + std::string(whole) + "': port " + std::string(text) +
                                  " is outside 1-65535");
  }
  return static_cast<std::uint16_t>(value);
}

bool valid_host_name(std::string_view h) {
  if (h.empty() || h.size() > 253) {
    return false;
  }
  for (char c : h) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '.' || c == '_')) {
      return false;
    }
  }
  return true;
}

bool is_ipv4(const std::string& s) {
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& s) {
  in6_addr a{};
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

}  // namespace

std::string SocketAddress::spec() const {
  switch (kind) {
    case Kind::none:
      return "none";
    case Kind::inet:
    case Kind::inet6: {
      std::string s = (kind == Kind::inet ? "inet:" : "inet6:") + std::to_string(port);
      if (!host.empty()) {
        s += "@" + host;
      }
      return s;
    }
    case Kind::unix_path:
      return "unix:" + path;
  }
  return "none";
}

bool SocketAddress::is_local() const {
  switch (kind) {
    case Kind::none:
    case Kind::unix_path:
      return true;
    case Kind::inet:
      return host == "localhost" || host.starts_with("127.");
    case Kind::inet6:
      return host == "localhost" || host == "::1" || host == "[::1]";
  }
  return false;
}

Result<SocketAddress> parse_socket_address(std::string_view text) {
  SocketAddress out;
  if (text == "none") {
    return out;
  }
  const std::string whole(text);
  std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return fail(Errc::config, "bad socket '" + whole + "': " + std::string(kForms));
  }
  std::string_view proto = text.substr(0, colon);
  std::string_view rest = text.substr(colon + 1);
  if (proto == "unix" || proto == "local") {
    out.kind = SocketAddress::Kind::unix_path;
    if (rest.empty() || rest.front() != '/') {
      return fail(Errc::config, "bad socket '" + whole + "': the path must be absolute");
    }
    if (rest.size() >= sizeof(sockaddr_un{}.sun_path)) {
      return fail(Errc::config, "bad socket '" + whole + "': the path is longer than " +
                                    std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes");
    }
    out.path = std::string(rest);
    return out;
  }
  if (proto != "inet" && proto != "inet6") {
    return fail(Errc::config, "bad socket '" + whole + "': unknown protocol '" +
                                  std::string(proto) + "'; " + std::string(kForms));
  }
  out.kind = proto == "inet" ? SocketAddress::Kind::inet : SocketAddress::Kind::inet6;
  std::size_t at = rest.find('@');
  std::string_view port = rest.substr(0, at);
  auto p = parse_port(port, text);
  if (!p) {
    return std::unexpected(p.error());
  }
  out.port = *p;
  if (at == std::string_view::npos) {
    return out;  // every address of the family, as libmilter does
  }
  std::string host(rest.substr(at + 1));
  // libmilter accepts "[::1]" for inet6 literals; keep what the admin wrote.
  std::string bare = host;
  if (bare.size() >= 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  if (host.empty()) {
    return fail(Errc::config, "bad socket '" + whole + "': empty host after '@'");
  }
  if (out.kind == SocketAddress::Kind::inet6) {
    if (!is_ipv6(bare) && !valid_host_name(bare)) {
      return fail(Errc::config,
                  "bad socket '" + whole + "': '" + host + "' is not an IPv6 address or host name");
    }
  } else if (is_ipv6(bare)) {
    return fail(Errc::config, "bad socket '" + whole + "': use inet6: for an IPv6 address");
  } else if (!is_ipv4(host) && !valid_host_name(host)) {
    return fail(Errc::config,
                "bad socket '" + whole + "': '" + host + "' is not an IPv4 address or host name");
  }
  out.host = host;
  return out;
}

Result<std::string> parse_resolver_address(std::string_view text) {
  const std::string whole(text);
  std::size_t at = text.rfind('@');
  std::string ip(text.substr(0, at));
  std::uint16_t port = 53;
  if (at != std::string_view::npos) {
    auto p = parse_port(text.substr(at + 1), text);
    if (!p) {
      return fail(Errc::config, "bad resolver '" + whole + "': expected IP or IP@PORT");
    }
    port = *p;
  }
  if (!is_ipv4(ip) && !is_ipv6(ip)) {
    return fail(Errc::config, "bad resolver '" + whole +
                                  "': expected an IPv4 or IPv6 address, optionally @PORT "
                                  "(e.g. 127.0.0.1@5353)");
  }
  return ip + "@" + std::to_string(port);
}

}  // namespace forcetls::conf
