// SPDX-License-Identifier: Apache-2.0
// Catch2 main of every lab test executable. With FORCETLS_LAB_DIR set (ctest
// sets it) and FORCETLS_IN_LAB unset, it re-executes itself inside the lab's
// network namespace through `tests/lab/lab exec DIR --`, so the test sees the
// lab's 127.0.0.x servers and resolv.conf; otherwise it just runs Catch2
// (build-time test discovery runs it that way, without a lab).
#define CATCH_CONFIG_RUNNER
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

bool wants_reexec(int argc, char** argv) {
  const char* dir = std::getenv("FORCETLS_LAB_DIR");
  const char* inside = std::getenv("FORCETLS_IN_LAB");
  if (dir == nullptr || *dir == '\0' || (inside != nullptr && *inside != '\0')) {
    return false;
  }
  // Listing tests needs no lab (and must work while none is up).
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--list", 6) == 0 || std::strcmp(argv[i], "-l") == 0) {
      return false;
    }
  }
  return true;
}

int reexec_in_lab(int argc, char** argv) {
  std::vector<char> self(4096);
  ssize_t n = ::readlink("/proc/self/exe", self.data(), self.size() - 1);
  if (n <= 0) {
    std::perror("lab_main: readlink /proc/self/exe");
    return 2;
  }
  self[static_cast<size_t>(n)] = '\0';
  std::string script = FORCETLS_LAB_SCRIPT;
  std::string exec = "exec";
  std::string dashes = "--";
  std::vector<char*> args = {script.data(), exec.data(), std::getenv("FORCETLS_LAB_DIR"),
                             dashes.data(), self.data()};
  for (int i = 1; i < argc; ++i) {
    args.push_back(argv[i]);
  }
  args.push_back(nullptr);
  ::execv(script.c_str(), args.data());
  std::fprintf(stderr, "lab_main: exec %s: %s\n", script.c_str(), std::strerror(errno));
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (wants_reexec(argc, argv)) {
    return reexec_in_lab(argc, argv);
  }
  return Catch::Session().run(argc, argv);
}
