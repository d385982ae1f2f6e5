// SPDX-License-Identifier: Apache-2.0
// The store's key and value encodings (cache/keys.hpp), the TTL classes and
// address normalisation that store.hpp makes public.
#include "cache/keys.hpp"

#include <arpa/inet.h>

#include <cstring>

#include "common/log.hpp"

namespace forcetls::cache {
namespace detail {

std::string address_key(std::string_view host, std::string_view address, std::uint16_t port) {
  std::string k;
  k.reserve(host.size() + address.size() + 4);
  k.append(host);
  k.push_back('\0');
  k.append(address);
  k.push_back('\0');
  k.push_back(static_cast<char>(port >> 8));
  k.push_back(static_cast<char>(port & 0xFF));
  return k;
}

std::string expiry_key(std::int64_t when, std::string_view domain) {
  auto u = static_cast<std::uint64_t>(when) ^ (1ull << 63);
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i) {
    k[static_cast<std::size_t>(i)] = static_cast<char>(u & 0xFF);
    u >>= 8;
  }
  k.append(domain);
  return k;
}

std::int64_t expiry_of_key(std::string_view k) {
  std::uint64_t u = 0;
  for (std::size_t i = 0; i < 8 && i < k.size(); ++i) {
    u = (u << 8) | static_cast<std::uint8_t>(k[i]);
  }
  return static_cast<std::int64_t>(u ^ (1ull << 63));
}

std::string encode_i64(std::int64_t v) {
  std::string s(8, '\0');
  std::memcpy(s.data(), &v, 8);
  return s;
}

std::int64_t decode_i64(std::string_view s) {
  std::int64_t v = 0;
  if (s.size() == 8) {
    std::memcpy(&v, s.data(), 8);
  }
  return v;
}

std::int64_t ttl_for(const Ttls& t, TtlClass c) {
  switch (c) {
    case TtlClass::good:
      return t.good;
    case TtlClass::ineligible:
      return t.ineligible;
    case TtlClass::unknown:
      return t.unknown;
  }
  return t.unknown;
}

}  // namespace detail

TtlClass ttl_class_of(checker::Eligibility e) {
  switch (e) {
    case checker::Eligibility::eligible:
      return TtlClass::good;
    case checker::Eligibility::ineligible:
      return TtlClass::ineligible;
    case checker::Eligibility::unknown:
      return TtlClass::unknown;
  }
  return TtlClass::unknown;
}

}  // namespace forcetls::cache
