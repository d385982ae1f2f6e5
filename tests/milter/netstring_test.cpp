// SPDX-License-Identifier: Apache-2.0
// Unit tests of the socketmap netstring codec: whole streams fed in every
// chunking, the frames they decode to and the error that ends them.
#include "milter/socketmap/netstring.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

using namespace forcetls::milter;

namespace {

struct Decoded {
  std::vector<std::string> frames;
  std::optional<NetstringError> error;
  std::size_t left = 0;  ///< bytes held after the last frame
};

Decoded decode(const std::string& stream, std::size_t chunk, std::size_t max) {
  NetstringDecoder d(max);
  Decoded out;
  for (std::size_t pos = 0; pos < stream.size() && !out.error; pos += chunk) {
    d.feed(std::string_view(stream).substr(pos, chunk));
    for (;;) {
      auto next = d.next();
      if (!next) {
        out.error = next.error();
        break;
      }
      if (!*next) {
        break;
      }
      out.frames.push_back(**next);
    }
  }
  out.left = d.buffered();
  return out;
}

}  // namespace

TEST_CASE("encode_netstring", "[milter]") {
  struct Case {
    const char* label;
    std::string payload;
    std::string want;
  };
  auto c = GENERATE(values<Case>({
      {"empty", "", "0:,"},
      {"request", "forcetls example.com", "20:forcetls example.com,"},
      {"notfound has its space", "NOTFOUND ", "9:NOTFOUND ,"},
      {"binary", std::string("a\0,b", 4), std::string("4:a\0,b,", 7)},
  }));
  INFO(c.label);
  CHECK(encode_netstring(c.payload) == c.want);
}

TEST_CASE("NetstringDecoder: streams in every chunking", "[milter]") {
  struct Case {
    const char* label;
    std::string stream;
    std::size_t max;
    std::vector<std::string> want;
    std::optional<NetstringError> error;
    std::size_t left;
  };
  const std::string big(100000, 'x');
  auto c = GENERATE_COPY(values<Case>({
      {"one request", "20:forcetls example.com,", 100000, {"forcetls example.com"}, {}, 0},
      {"persistent: three requests",
       "12:forcetls a.b,12:forcetls c.d,0:,",
       100000,
       {"forcetls a.b", "forcetls c.d", ""},
       {},
       0},
      {"incomplete payload is held", "12:forcetls a", 100000, {}, {}, 13},
      {"incomplete length is held", "12", 100000, {}, {}, 2},
      {"frame then partial", "3:abc,5:ab", 100000, {"abc"}, {}, 4},
      {"payload may hold ':' and ','", "5:a:b,c,", 100000, {"a:b,c"}, {}, 0},
      {"leading zeros accepted", "003:abc,", 100000, {"abc"}, {}, 0},
      {"at the limit", "100000:" + big + ",", 100000, {big}, {}, 0},
      {"over the limit", "100001:" + big, 100000, {}, NetstringError::too_large, 0},
      {"over a small limit before the payload", "11:", 10, {}, NetstringError::too_large, 0},
      {"absurd length digits", "0000000000000:", 100000, {}, NetstringError::too_large, 0},
      {"empty length", ":abc,", 100000, {}, NetstringError::empty_length, 0},
      {"letter in length", "1a:x,", 100000, {}, NetstringError::bad_length, 0},
      {"space before length", " 3:abc,", 100000, {}, NetstringError::bad_length, 0},
      {"negative", "-1:,", 100000, {}, NetstringError::bad_length, 0},
      {"missing comma", "3:abcd", 100000, {}, NetstringError::no_comma, 0},
      {"length too short", "2:abc,", 100000, {}, NetstringError::no_comma, 0},
      {"good frame then garbage",
       "3:abc,GET / HTTP/1.0\r\n",
       100000,
       {"abc"},
       NetstringError::bad_length,
       0},
      {"CRLF between frames is not allowed",
       "1:a,\r\n1:b,",
       100000,
       {"a"},
       NetstringError::bad_length,
       0},
  }));
  const std::size_t chunk = GENERATE(1, 2, 7, 1 << 20);
  INFO(c.label << " chunk=" << chunk);
  Decoded got = decode(c.stream, chunk, c.max);
  CHECK(got.frames == c.want);
  CHECK(got.error == c.error);
  CHECK(got.left == c.left);
}

TEST_CASE("NetstringDecoder: an error is final", "[milter]") {
  NetstringDecoder d;
  d.feed("x:");
  auto first = d.next();
  REQUIRE_FALSE(first);
  CHECK(first.error() == NetstringError::bad_length);
  d.feed("3:abc,");
  auto again = d.next();
  REQUIRE_FALSE(again);
  CHECK(again.error() == NetstringError::bad_length);
  CHECK(d.buffered() == 0);
}

TEST_CASE("NetstringDecoder: a long connection keeps only unanswered bytes", "[milter]") {
  NetstringDecoder d;
  const std::string frame = encode_netstring("forcetls example.com");
  for (int i = 0; i < 10000; ++i) {
    d.feed(frame);
    auto next = d.next();
    REQUIRE(next);
    REQUIRE(*next);
    REQUIRE(**next == "forcetls example.com");
    // Consumed frames are dropped as the connection goes on.
    REQUIRE(d.held() < 4096 + 2 * frame.size());
  }
  CHECK(d.buffered() == 0);
}

TEST_CASE("NetstringDecoder: error names", "[milter]") {
  CHECK(to_string(NetstringError::empty_length) == "empty-length");
  CHECK(to_string(NetstringError::bad_length) == "bad-length");
  CHECK(to_string(NetstringError::too_large) == "too-large");
  CHECK(to_string(NetstringError::no_comma) == "no-comma");
}
