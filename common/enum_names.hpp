// SPDX-License-Identifier: Apache-2.0
// Name tables for enumerations: `{value, "name"}` arrays and the two
// look-ups over them, so every enum's string form (report JSON, policy file
// vocabulary, log lines) is one constexpr table. Pure; any thread.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>

namespace forcetls {

template <typename E, std::size_t N>
using NameTable = std::array<std::pair<E, std::string_view>, N>;

/// The name of `value`, "?" when the table lacks it.
template <typename E, std::size_t N>
std::string_view name_in(const NameTable<E, N>& table, E value) {
  for (const auto& [e, name] : table) {
    if (e == value) {
      return name;
    }
  }
  return "?";
}

/// The value named `text`, nullopt when no entry has that name.
template <typename E, std::size_t N>
std::optional<E> value_in(const NameTable<E, N>& table, std::string_view text) {
  for (const auto& [e, name] : table) {
    if (name == text) {
      return e;
    }
  }
  return std::nullopt;
}

}  // namespace forcetls
