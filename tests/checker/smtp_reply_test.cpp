// SPDX-License-Identifier: Apache-2.0
// Tests for checker/smtp/smtp_reply: reply parsing at every split, limits, garbage,
// and EHLO keywords.
#include "checker/smtp/smtp_reply.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace forcetls;
using namespace forcetls::checker;

namespace {

struct Parsed {
  std::vector<SmtpReply> replies;
  std::string error;  // empty when no protocol error
};

// Feeds `input` in chunks of `chunk` bytes (0 = all at once), taking replies
// as they complete.
Parsed parse_all(const std::string& input, std::size_t chunk, ReplyLimits limits = {}) {
  SmtpReplyParser parser(limits);
  Parsed out;
  std::size_t step = chunk == 0 ? input.size() : chunk;
  for (std::size_t pos = 0; pos < input.size(); pos += step) {
    parser.feed(std::string_view(input).substr(pos, step));
    for (;;) {
      auto next = parser.next();
      if (!next) {
        out.error = next.error().message;
        return out;
      }
      if (!*next) {
        break;
      }
      out.replies.push_back(std::move(**next));
    }
  }
  return out;
}

std::string lines_of(const SmtpReply& r) {
  std::string out;
  for (const auto& l : r.lines) {
    out += "[" + l + "]";
  }
  return out;
}

}  // namespace

TEST_CASE("SMTP replies parse the same at every split", "[checker]") {
  struct Case {
    std::string label;
    std::string input;
    int code;
    std::string lines;
    std::string enhanced;  // "" = none
  };
  auto c = GENERATE(values<Case>({
      {"single line", "220 mx.example.test ESMTP\r\n", 220, "[mx.example.test ESMTP]", ""},
      {"bare LF", "220 mx ESMTP\n", 220, "[mx ESMTP]", ""},
      {"code only", "250\r\n", 250, "[]", ""},
      {"multi-line greeting", "220-mx.example.test ESMTP\r\n220-please wait\r\n220 ready\r\n", 220,
       "[mx.example.test ESMTP][please wait][ready]", ""},
      {"mixed endings", "250-a\n250-b\r\n250 c\n", 250, "[a][b][c]", ""},
      {"enhanced status", "421 4.7.0 Too many connections\r\n", 421, "[4.7.0 Too many connections]",
       "4.7.0"},
      {"enhanced three-digit parts", "550 5.123.456 no\r\n", 550, "[5.123.456 no]", "5.123.456"},
      {"enhanced class disagrees: ignored", "250 5.0.0 odd\r\n", 250, "[5.0.0 odd]", ""},
      {"not enhanced: four-digit part", "550 5.1234.1 x\r\n", 550, "[5.1234.1 x]", ""},
      {"enhanced at end of line", "250 2.0.0\r\n", 250, "[2.0.0]", "2.0.0"},
      {"empty continuation text", "250-\r\n250 x\r\n", 250, "[][x]", ""},
      {"CR inside text kept", "250 a\rb\r\n", 250, "[a\rb]", ""},
  }));
  CAPTURE(c.label);
  for (std::size_t chunk :
       {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}}) {
    CAPTURE(chunk);
    Parsed got = parse_all(c.input, chunk);
    REQUIRE(got.error.empty());
    REQUIRE(got.replies.size() == 1);
    const SmtpReply& r = got.replies[0];
    CHECK(r.code == c.code);
    CHECK(lines_of(r) == c.lines);
    CHECK(r.is_multiline() == (r.lines.size() > 1));
    CHECK((r.enhanced ? r.enhanced->to_string() : "") == c.enhanced);
  }
}

TEST_CASE("SMTP reply parser: incomplete input gives no reply yet", "[checker]") {
  struct Case {
    std::string label;
    std::string input;
    std::size_t buffered;
  };
  auto c = GENERATE(values<Case>({
      {"no line end", "220 mx", 6},
      {"continuation pending", "220-mx\r\n", 8},
      {"continuation then partial", "220-mx\r\n220 re", 14},
      {"nothing", "", 0},
  }));
  CAPTURE(c.label);
  SmtpReplyParser parser;
  parser.feed(c.input);
  auto next = parser.next();
  REQUIRE(next);
  CHECK_FALSE(next->has_value());
  CHECK(parser.buffered_bytes() == c.buffered);
}

TEST_CASE("SMTP reply parser: garbage and oversize input are protocol errors", "[checker]") {
  struct Case {
    std::string label;
    std::string input;
    ReplyLimits limits;
    std::string error_contains;
  };
  ReplyLimits tight{
      .max_line_bytes = 20, .max_lines = 3, .max_reply_bytes = 40, .max_buffered_bytes = 60};
  auto c = GENERATE_COPY(values<Case>({
      {"non-digit code", "2x0 hello\r\n", {}, "reply code"},
      {"letters", "HTTP/1.1 400 Bad Request\r\n", {}, "reply code"},
      {"short line", "22\r\n", {}, "reply code"},
      {"empty line", "\r\n", {}, "reply code"},
      {"code 1yz", "150 ok\r\n", {}, "reply code"},
      {"code 6yz", "650 ok\r\n", {}, "reply code"},
      {"bad separator", "220_mx\r\n", {}, "space or hyphen"},
      {"mismatched continuation", "250-a\r\n220 b\r\n", {}, "differs"},
      {"TLS bytes", std::string("\x16\x03\x01\x00\x05hello\n", 11), {}, "reply code"},
      {"line of exactly limit+1", "250 " + std::string(15, 'x') + "\r\n", tight, "longer than 20"},
      {"endless line without LF", "250 " + std::string(5000, 'x'), tight, "longer than 20"},
      {"too many lines", "250-a\r\n250-b\r\n250-c\r\n250 d\r\n", tight, "more than 3 lines"},
      {"reply too long", "250-aaaaaaaaaaaa\r\n250-bbbbbbbbbbbb\r\n250 c\r\n", tight,
       "reply longer than 40"},
      {"unread replies pile up",
       "250 aaaaaaaaaa\r\n250 bbbbbbbbbb\r\n250 cccccccccc\r\n250 dddddddddd\r\n", tight, "unread"},
  }));
  CAPTURE(c.label);
  // Fed whole, so nothing is taken in between (the pile-up case needs that).
  SmtpReplyParser parser(c.limits);
  parser.feed(c.input);
  auto next = parser.next();
  REQUIRE_FALSE(next);
  CHECK(next.error().code == Errc::protocol);
  CHECK_THAT(next.error().message, Catch::Contains(c.error_contains));
  CHECK(parser.failed());
  // Sticky, and buffering stops.
  parser.feed("250 ok\r\n");
  CHECK_FALSE(parser.next());
  CHECK(parser.buffered_bytes() == 0);
}

TEST_CASE("SMTP reply parser: line limit counts the line with its CR LF", "[checker]") {
  ReplyLimits limits{.max_line_bytes = 10};
  // "250 abcd\r\n" is exactly 10 bytes: allowed; one more byte is not.
  CHECK(parse_all("250 abcd\r\n", 1, limits).error.empty());
  CHECK(parse_all("250 abcde\n", 1, limits).error.empty());
  CHECK_FALSE(parse_all("250 abcde\r\n", 1, limits).error.empty());
  CHECK_FALSE(parse_all("250 abcdef\n", 1, limits).error.empty());
}

TEST_CASE("SMTP reply parser: several replies in one read come out in order", "[checker]") {
  Parsed got = parse_all("220 hi\r\n250-mx\r\n250 STARTTLS\r\n220 go ahead\r\n", 0);
  REQUIRE(got.error.empty());
  REQUIRE(got.replies.size() == 3);
  CHECK(got.replies[0].code == 220);
  CHECK(got.replies[1].lines.size() == 2);
  CHECK(got.replies[2].to_string() == "220 go ahead");
}

TEST_CASE("SMTP reply parser: bytes after the last reply stay buffered", "[checker]") {
  SmtpReplyParser parser;
  parser.feed("220 go ahead\r\n\x16\x03\x01garbage");
  auto next = parser.next();
  REQUIRE(next);
  REQUIRE(next->has_value());
  CHECK(parser.buffered_bytes() == 10);
  parser.reset();
  CHECK(parser.buffered_bytes() == 0);
}

TEST_CASE("SmtpReply::to_string joins lines", "[checker]") {
  SmtpReply r{.code = 421, .enhanced = {}, .lines = {"4.7.0 busy", "try later"}};
  CHECK(r.to_string() == "421 4.7.0 busy / try later");
  CHECK(r.transient());
  CHECK_FALSE(r.positive());
}

TEST_CASE("EHLO keywords", "[checker]") {
  struct Case {
    std::string label;
    std::string input;
    std::string domain;
    std::vector<std::string> names;
    bool starttls;
    std::optional<std::uint64_t> size;
    std::size_t malformed;
  };
  auto c = GENERATE(values<Case>({
      {"postfix",
       "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
       "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n"
       "250 CHUNKING\r\n",
       "mx.example.test",
       {"PIPELINING", "SIZE", "VRFY", "ETRN", "STARTTLS", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN",
        "SMTPUTF8", "CHUNKING"},
       true,
       10240000,
       0},
      {"no extensions", "250 mx.example.test\r\n", "mx.example.test", {}, false, {}, 0},
      {"lower case, SIZE without number",
       "250-mx hello\r\n250-starttls\r\n250 size\r\n",
       "mx",
       {"STARTTLS", "SIZE"},
       true,
       0,
       0},
      {"STARTTLS only as a parameter does not count",
       "250-mx\r\n250-X-FOO STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n",
       "mx",
       {"X-FOO", "AUTH"},
       false,
       {},
       0},
      {"malformed lines kept aside",
       "250-mx\r\n250-\r\n250--BAD\r\n250 AUTH=LOGIN\r\n",
       "mx",
       {},
       false,
       {},
       3},
      {"bad SIZE value", "250-mx\r\n250 SIZE 12x\r\n", "mx", {"SIZE"}, false, {}, 0},
  }));
  CAPTURE(c.label);
  Parsed got = parse_all(c.input, 0);
  REQUIRE(got.error.empty());
  REQUIRE(got.replies.size() == 1);
  EhloCapabilities caps = parse_ehlo(got.replies[0]);
  CHECK(caps.domain == c.domain);
  std::vector<std::string> names;
  for (const auto& k : caps.keywords) {
    names.push_back(k.name);
  }
  CHECK(names == c.names);
  CHECK(caps.starttls() == c.starttls);
  CHECK(caps.size() == c.size);
  CHECK(caps.malformed.size() == c.malformed);
}

TEST_CASE("EHLO keyword parameters", "[checker]") {
  Parsed got = parse_all("250-mx\r\n250-AUTH PLAIN  LOGIN\r\n250 PIPELINING\r\n", 0);
  REQUIRE(got.replies.size() == 1);
  EhloCapabilities caps = parse_ehlo(got.replies[0]);
  const EhloKeyword* auth = caps.find("auth");
  REQUIRE(auth != nullptr);
  CHECK(auth->params == std::vector<std::string>{"PLAIN", "LOGIN"});
  CHECK(caps.pipelining());
}
