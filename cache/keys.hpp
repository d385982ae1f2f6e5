// SPDX-License-Identifier: Apache-2.0
// Internal to cache/: how the store spells its LMDB keys and small values
// (address record keys, the expiry index, little-endian times) and the TTL
// each class of result earns. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cache/record.hpp"
#include "cache/store.hpp"

namespace forcetls::cache::detail {

/// Key of an address record: host NUL address NUL port (2 bytes, big endian).
std::string address_key(std::string_view host, std::string_view address, std::uint16_t port);

/// Key of an expiry index entry: expires_at (8 bytes) followed by the domain.
/// Big-endian with the sign bit flipped: byte order is numeric order, also
/// for negative times (tests use small clocks).
std::string expiry_key(std::int64_t when, std::string_view domain);
/// The time an expiry index key starts with.
std::int64_t expiry_of_key(std::string_view k);

/// A time in the "used" database: the int64's 8 bytes in host order.
std::string encode_i64(std::int64_t v);
/// 0 unless the value is exactly 8 bytes.
std::int64_t decode_i64(std::string_view s);

/// The lifetime a TTL class earns under the configured TTLs.
std::int64_t ttl_for(const Ttls& t, TtlClass c);

}  // namespace forcetls::cache::detail
