# SPDX-License-Identifier: Apache-2.0
# Compiler setup of a fuzzing build (FORCETLS_FUZZ=ON), included by the top
# CMakeLists.txt before the components. Every library is instrumented for
# libFuzzer's coverage feedback and checked by ASan and UBSan, so the fuzzer
# both sees and checks the parsers, not only the harness around them; the
# targets themselves link libFuzzer (tests/fuzz/CMakeLists.txt).
#
# Toolchain: Debian 12's clang-16 with its libclang-rt-16-dev and the system
# libstdc++ 12 (yaml-cpp, Catch2 and friends are built against libstdc++, so
# libc++ is not an option); sanitizer reports name functions and lines when
# llvm-16 is installed (the runtime calls /usr/bin/llvm-symbolizer-16):
#   cmake -S . -B build-fuzz -G Ninja -DFORCETLS_FUZZ=ON \
#         -DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16
include(CheckCXXSourceCompiles)

if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "FORCETLS_FUZZ needs clang for libFuzzer "
                      "(e.g. -DCMAKE_CXX_COMPILER=clang++-16), not ${CMAKE_CXX_COMPILER_ID}")
endif()

# libstdc++ 12 declares std::expected only if __cpp_concepts >= 202002L.
# Clang implements the conditionally trivial special members <expected>
# relies on (P0848) since 16, but announces 202002L only from 19 on, once the
# rest of its concepts support was judged complete (LLVM pull request 87998:
# "the forcing function is that libstdc++'s <expected> header is guarded by
# this macro"). Before 19, announce it ourselves: the check below makes sure
# the header then compiles and keeps its triviality with this compiler
# (clang 14 fails it), and ASan/UBSan/LSan watch every expected the fuzzers
# create. GCC builds are untouched and use the header as shipped.
if(CMAKE_CXX_COMPILER_VERSION VERSION_LESS 19)
  set(forcetls_concepts_flags -U__cpp_concepts -D__cpp_concepts=202002L)
  add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:${forcetls_concepts_flags}>")
endif()

set(forcetls_sanitizers -fsanitize=address,undefined -fno-sanitize-recover=all)
add_compile_options(-fsanitize=fuzzer-no-link ${forcetls_sanitizers} -fno-omit-frame-pointer)
add_link_options(${forcetls_sanitizers})

# One probe for the whole toolchain: std::expected (value and void, as
# common/error.hpp and its callers use it) compiles, and a libFuzzer target
# links (libclang-rt-NN-dev installed).
list(JOIN forcetls_concepts_flags " " CMAKE_REQUIRED_FLAGS)
set(CMAKE_REQUIRED_LINK_OPTIONS -fsanitize=fuzzer)
check_cxx_source_compiles([[
#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <type_traits>
struct E { std::string message; };
static_assert(std::is_trivially_destructible_v<std::expected<int, int>>);
static_assert(!std::is_trivially_destructible_v<std::expected<std::string, E>>);
std::expected<std::string, E> text(bool ok) {
  if (!ok) { return std::unexpected(E{"no"}); }
  return "yes";
}
std::expected<void, E> check(bool ok) {
  if (!ok) { return std::unexpected<E>(E{"no"}); }
  return {};
}
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bool ok = size > 0 && data[0] != 0;
  auto t = text(ok);
  return t.has_value() && check(ok) && !t->empty() ? 0 : static_cast<int>(t.error().message.size()) - 2;
}
]] FORCETLS_FUZZ_TOOLCHAIN_WORKS)
unset(CMAKE_REQUIRED_FLAGS)
unset(CMAKE_REQUIRED_LINK_OPTIONS)
if(NOT FORCETLS_FUZZ_TOOLCHAIN_WORKS)
  message(FATAL_ERROR "FORCETLS_FUZZ: ${CMAKE_CXX_COMPILER} cannot build a libFuzzer target "
                      "using std::expected; use clang++-16 with libclang-rt-16-dev installed")
endif()

# Seconds each libFuzzer target runs in CTest (label `fuzz`).
set(FORCETLS_FUZZ_SECONDS 10 CACHE STRING "Seconds each libFuzzer target runs in CTest")

