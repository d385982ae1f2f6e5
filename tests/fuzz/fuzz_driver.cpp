// SPDX-License-Identifier: Apache-2.0
// Stand-alone driver for fuzz targets when libFuzzer is not in use: replays
// every file of the corpus directories given on the command line, then feeds
// `--iterations=N` deterministic mutations of them (bit flips, truncations,
// splices, random bytes). A crash, a sanitizer report or an exception that
// escapes the target fails the run, and so does a corpus argument that is
// missing, unreadable or empty: mutating nothing would pass without testing.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using Bytes = std::vector<uint8_t>;

Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void run(const Bytes& input) { LLVMFuzzerTestOneInput(input.data(), input.size()); }

Bytes mutate(const std::vector<Bytes>& corpus, std::mt19937_64& rng) {
  std::uniform_int_distribution<size_t> pick(0, corpus.empty() ? 0 : corpus.size() - 1);
  Bytes out = corpus.empty() ? Bytes{} : corpus[pick(rng)];
  const int rounds = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < rounds; ++i) {
    switch (rng() % 6) {
      case 0:  // flip a bit
        if (!out.empty()) {
          out[rng() % out.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        }
        break;
      case 1:  // truncate
        if (!out.empty()) {
          out.resize(rng() % out.size());
        }
        break;
      case 2:  // random byte
        if (!out.empty()) {
          out[rng() % out.size()] = static_cast<uint8_t>(rng());
        }
        break;
      case 3: {  // insert random bytes
        size_t n = rng() % 16;
        size_t at = out.empty() ? 0 : rng() % out.size();
        for (size_t k = 0; k < n; ++k) {
          out.insert(out.begin() + static_cast<long>(at), static_cast<uint8_t>(rng()));
        }
        break;
      }
      case 4:  // splice with another corpus entry
        if (!corpus.empty()) {
          const Bytes& other = corpus[pick(rng)];
          size_t at = out.empty() ? 0 : rng() % out.size();
          out.resize(at);
          size_t from = other.empty() ? 0 : rng() % other.size();
          out.insert(out.end(), other.begin() + static_cast<long>(from), other.end());
        }
        break;
      default:  // interesting values: 0x00, 0xff, length-like bytes
        if (!out.empty()) {
          static constexpr uint8_t kSpecial[] = {0x00, 0xff, 0x7f, 0x80, 0x01, 0x0d, 0x0a};
          out[rng() % out.size()] = kSpecial[rng() % sizeof(kSpecial)];
        }
        break;
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  long iterations = 10000;
  std::vector<Bytes> corpus;
  int corpus_args = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--iterations=", 13) == 0) {
      iterations = std::strtol(argv[i] + 13, nullptr, 10);
      continue;
    }
    ++corpus_args;
    std::filesystem::path p(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::size_t before = corpus.size();
      for (const auto& entry : std::filesystem::directory_iterator(p, ec)) {
        if (entry.is_regular_file()) {
          corpus.push_back(read_file(entry.path()));
        }
      }
      if (ec) {
        std::fprintf(stderr, "fuzz driver: cannot read corpus directory %s: %s\n", argv[i],
                     ec.message().c_str());
        return 1;
      }
      if (corpus.size() == before) {
        std::fprintf(stderr, "fuzz driver: corpus directory %s holds no files\n", argv[i]);
        return 1;
      }
    } else if (std::filesystem::is_regular_file(p, ec)) {
      corpus.push_back(read_file(p));
    } else {
      std::fprintf(stderr, "fuzz driver: corpus %s does not exist (a directory or file)\n",
                   argv[i]);
      return 1;
    }
  }
  if (corpus_args == 0) {
    std::fprintf(stderr, "fuzz driver: no corpus given (usage: %s [--iterations=N] DIR...)\n",
                 argv[0]);
    return 1;
  }
  for (const Bytes& input : corpus) {
    run(input);
  }
  std::mt19937_64 rng(0x666f72636574ULL);  // fixed seed: failures reproduce
  for (long i = 0; i < iterations; ++i) {
    run(mutate(corpus, rng));
  }
  std::printf("fuzz driver: %zu corpus inputs, %ld mutations, no failure\n", corpus.size(),
              iterations);
  return 0;
}
