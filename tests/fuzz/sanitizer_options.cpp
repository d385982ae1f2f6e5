// SPDX-License-Identifier: Apache-2.0
// Sanitizer defaults linked into every libFuzzer target (FORCETLS_FUZZ=ON),
// so a run by hand reports like a run under CTest. Environment variables
// (UBSAN_OPTIONS, ASAN_OPTIONS) still override them.

// UBSan prints only the offending line unless asked for the call stack.
extern "C" const char* __ubsan_default_options() { return "print_stacktrace=1"; }
