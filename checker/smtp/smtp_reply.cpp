// SPDX-License-Identifier: Apache-2.0
// SMTP reply parsing: see smtp_reply.hpp.
#include "checker/smtp/smtp_reply.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

namespace forcetls::checker {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return upper(x) == upper(y); });
}

// A short printable excerpt of hostile input for an error message.
std::string excerpt(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 40)) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out.push_back(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  if (text.size() > 40) {
    out += "...";
  }
  return out;
}

// Reads 1-3 digits at `pos`; RFC 3463 §2: subject and detail are 1*3digit.
std::optional<int> digits_1_3(std::string_view text, std::size_t& pos) {
  std::size_t start = pos;
  while (pos < text.size() && pos - start < 4 && is_digit(text[pos])) {
    ++pos;
  }
  std::size_t n = pos - start;
  if (n == 0 || n > 3) {
    return std::nullopt;
  }
  int value = 0;
  std::from_chars(text.data() + start, text.data() + pos, value);
  return value;
}

// "4.7.0 text" -> 4.7.0 when the class agrees with the reply code (RFC 3463 §2,
// RFC 2034 §4: the enhanced code's class matches the reply's first digit).
std::optional<EnhancedStatus> parse_enhanced(int code, std::string_view text) {
  if (text.size() < 5 || !is_digit(text[0]) || text[1] != '.') {
    return std::nullopt;
  }
  EnhancedStatus status;
  status.cls = text[0] - '0';
  if (status.cls != code / 100 || (status.cls != 2 && status.cls != 4 && status.cls != 5)) {
    return std::nullopt;
  }
  std::size_t pos = 2;
  auto subject = digits_1_3(text, pos);
  if (!subject || pos >= text.size() || text[pos] != '.') {
    return std::nullopt;
  }
  ++pos;
  auto detail = digits_1_3(text, pos);
  if (!detail || (pos < text.size() && text[pos] != ' ')) {
    return std::nullopt;
  }
  status.subject = *subject;
  status.detail = *detail;
  return status;
}

// ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")  (RFC 5321 §4.1.1.1)
bool is_keyword(std::string_view word) {
  if (word.empty()) {
    return false;
  }
  auto alnum = [](char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  };
  if (!alnum(word[0])) {
    return false;
  }
  return std::all_of(word.begin(), word.end(), [&](char c) { return alnum(c) || c == '-'; });
}

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) {
      ++pos;
    }
    std::size_t start = pos;
    while (pos < text.size() && text[pos] != ' ' && text[pos] != '\t') {
      ++pos;
    }
    if (pos > start) {
      words.push_back(text.substr(start, pos - start));
    }
  }
  return words;
}

}  // namespace

std::string EnhancedStatus::to_string() const {
  return std::to_string(cls) + "." + std::to_string(subject) + "." + std::to_string(detail);
}

std::string SmtpReply::to_string() const {
  std::string out = std::to_string(code);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += i == 0 ? " " : " / ";
    out += lines[i];
  }
  return out;
}

void SmtpReplyParser::feed(std::span<const std::uint8_t> bytes) {
  for (std::uint8_t b : bytes) {
    if (failed_) {
      return;
    }
    feed_byte(static_cast<char>(b));
  }
}

void SmtpReplyParser::feed(std::string_view bytes) {
  for (char c : bytes) {
    if (failed_) {
      return;
    }
    feed_byte(c);
  }
}

void SmtpReplyParser::feed_byte(char c) {
  if (c == '\n') {
    end_line();
    return;
  }
  // The limit counts the line's wire bytes including its terminator (RFC 5321
  // §4.5.3.1.6 counts CR LF). Checked before storing, with the LF still to
  // come, so an endless line costs at most max_line_bytes.
  if (line_.size() + 2 > limits_.max_line_bytes) {
    set_failed("reply line longer than " + std::to_string(limits_.max_line_bytes) + " bytes");
    return;
  }
  line_.push_back(c);
  if (buffered_bytes() > limits_.max_buffered_bytes) {
    set_failed("more than " + std::to_string(limits_.max_buffered_bytes) +
               " bytes of unread replies");
  }
}

void SmtpReplyParser::end_line() {
  std::size_t wire_bytes = line_.size() + 1;
  std::string_view line = line_;
  if (line.ends_with('\r')) {
    line.remove_suffix(1);
  }
  // Reply-line = *( Reply-code "-" [ textstring ] CRLF )
  //              Reply-code [ SP textstring ] CRLF          (RFC 5321 §4.2)
  // with Reply-code = %x32-35 %x30-35 %x30-39; the second digit is accepted
  // up to 9 because nothing is gained by refusing an odd but well-formed code.
  if (line.size() < 3 || line[0] < '2' || line[0] > '5' || !is_digit(line[1]) ||
      !is_digit(line[2])) {
    set_failed("reply line does not start with a reply code: \"" + excerpt(line) + "\"");
    return;
  }
  bool last = true;
  if (line.size() > 3) {
    if (line[3] == '-') {
      last = false;
    } else if (line[3] != ' ') {
      set_failed("reply code not followed by space or hyphen: \"" + excerpt(line) + "\"");
      return;
    }
  }
  int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view{};

  if (!current_) {
    current_.emplace();
    current_->code = code;
    current_->enhanced = parse_enhanced(code, text);
  } else if (current_->code != code) {
    set_failed("continuation line code " + std::to_string(code) + " differs from " +
               std::to_string(current_->code));
    return;
  }
  current_->lines.emplace_back(text);
  current_bytes_ += wire_bytes;
  line_.clear();
  if (current_->lines.size() > limits_.max_lines) {
    set_failed("reply has more than " + std::to_string(limits_.max_lines) + " lines");
    return;
  }
  if (current_bytes_ > limits_.max_reply_bytes) {
    set_failed("reply longer than " + std::to_string(limits_.max_reply_bytes) + " bytes");
    return;
  }
  if (last) {
    queued_.push_back(std::move(*current_));
    queued_sizes_.push_back(current_bytes_);
    queued_bytes_ += current_bytes_;
    current_.reset();
    current_bytes_ = 0;
  }
  if (buffered_bytes() > limits_.max_buffered_bytes) {
    set_failed("more than " + std::to_string(limits_.max_buffered_bytes) +
               " bytes of unread replies");
  }
}

void SmtpReplyParser::set_failed(std::string message) {
  failed_ = true;
  error_ = std::move(message);
  // Nothing buffered is trustworthy any more; free it.
  line_.clear();
  line_.shrink_to_fit();
  current_.reset();
  current_bytes_ = 0;
  queued_.clear();
  queued_sizes_.clear();
  queued_bytes_ = 0;
}

Result<std::optional<SmtpReply>> SmtpReplyParser::next() {
  if (failed_) {
    return fail(Errc::protocol, error_);
  }
  if (queued_.empty()) {
    return std::optional<SmtpReply>{};
  }
  SmtpReply reply = std::move(queued_.front());
  queued_.pop_front();
  queued_bytes_ -= queued_sizes_.front();
  queued_sizes_.pop_front();
  return std::optional<SmtpReply>(std::move(reply));
}

void SmtpReplyParser::reset() { *this = SmtpReplyParser(limits_); }

const EhloKeyword* EhloCapabilities::find(std::string_view name) const {
  for (const EhloKeyword& k : keywords) {
    if (iequals(k.name, name)) {
      return &k;
    }
  }
  return nullptr;
}

std::optional<std::uint64_t> EhloCapabilities::size() const {
  const EhloKeyword* k = find("SIZE");
  if (k == nullptr) {
    return std::nullopt;
  }
  if (k->params.empty()) {
    return 0;  // RFC 1870 §4: SIZE without a number announces no fixed limit
  }
  const std::string& p = k->params[0];
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc{} || end != p.data() + p.size()) {
    return std::nullopt;
  }
  return value;
}

EhloCapabilities parse_ehlo(const SmtpReply& reply) {
  EhloCapabilities caps;
  if (reply.lines.empty()) {
    return caps;
  }
  auto first = split_words(reply.lines[0]);
  if (!first.empty()) {
    caps.domain = std::string(first[0]);
  }
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    auto words = split_words(reply.lines[i]);
    if (words.empty() || !is_keyword(words[0])) {
      caps.malformed.push_back(reply.lines[i]);
      continue;
    }
    EhloKeyword keyword;
    for (char c : words[0]) {
      keyword.name.push_back(upper(c));
    }
    for (std::size_t w = 1; w < words.size(); ++w) {
      keyword.params.emplace_back(words[w]);
    }
    caps.keywords.push_back(std::move(keyword));
  }
  return caps;
}

}  // namespace forcetls::checker
