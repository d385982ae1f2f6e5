# SPDX-License-Identifier: Apache-2.0
# Asio::asio: standalone Asio (Debian libasio-dev, header-only) with C++20
# coroutines. Every component that includes Asio links this target, so every
# translation unit that sees Asio sees the same configuration.
add_library(forcetls_asio INTERFACE)
add_library(Asio::asio ALIAS forcetls_asio)
target_compile_definitions(forcetls_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED)
# Asio 1.22 picks aligned_alloc/free or operator new/delete for its recycled
# memory (coroutine frames) by a libstdc++ macro that exists only once a
# standard header was included, so translation units that include Asio first
# got the other pair: two definitions of the inline aligned_new/aligned_delete,
# and frames from operator new went to free (AddressSanitizer:
# alloc-dealloc-mismatch). Decide once, for every unit, as Asio does for glibc.
target_compile_definitions(forcetls_asio INTERFACE ASIO_HAS_STD_ALIGNED_ALLOC=1)
# GCC 12 warns falsely about Asio's coroutine frame operator delete at -O2;
# everything that writes coroutines links this target.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(forcetls_asio INTERFACE -Wno-mismatched-new-delete)
endif()
# Asio 1.22 detects co_await on clang only through the Coroutines TS macro,
# which clang >= 16 no longer sets in C++20 mode; it has the standard ones
# (the fuzzing build, cmake/fuzzing.cmake, uses clang).
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  target_compile_definitions(forcetls_asio INTERFACE ASIO_HAS_CO_AWAIT=1)
endif()
target_link_libraries(forcetls_asio INTERFACE Threads::Threads)
