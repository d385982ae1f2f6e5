// SPDX-License-Identifier: Apache-2.0
// SMTP replies (RFC 5321 §4.2): an incremental parser that turns bytes, split
// anywhere, into complete replies, and the EHLO keyword list. Pure data, no I/O;
// one parser per connection, used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace forcetls::checker {

/// RFC 3463 enhanced status code ("4.7.0"), as RFC 2034 puts it after the reply code.
struct EnhancedStatus {
  int cls = 0;      ///< 2, 4 or 5
  int subject = 0;  ///< 0..999
  int detail = 0;   ///< 0..999
  std::string to_string() const;
  bool operator==(const EnhancedStatus&) const = default;
};

/// One complete reply: every line of a multi-line reply, in order.
struct SmtpReply {
  int code = 0;  ///< 200..599
  std::optional<EnhancedStatus>
      enhanced;                    ///< from the first line, if present and of the code's class
  std::vector<std::string> lines;  ///< each line's text after "NNN-" / "NNN " (CR LF stripped)

  bool is_multiline() const { return lines.size() > 1; }
  bool positive() const { return code / 100 == 2; }
  bool transient() const { return code / 100 == 4; }  ///< 4yz: try again later
  bool permanent() const { return code / 100 == 5; }  ///< 5yz
  /// "421 4.7.0 Too busy / try later": code, then the lines joined by " / ".
  std::string to_string() const;
};

/// Bounds on what a server may make us hold. Exceeding one is a protocol error,
/// never unbounded growth.
struct ReplyLimits {
  /// RFC 5321 §4.5.3.1.5 allows 512 octets per reply line, but real servers send
  /// longer banners; tolerate up to the text-line limit of §4.5.3.1.6 (1000 octets
  /// including CR LF).
  std::size_t max_line_bytes = 1000;
  std::size_t max_lines = 100;             ///< lines in one reply
  std::size_t max_reply_bytes = 32768;     ///< wire bytes of one reply
  std::size_t max_buffered_bytes = 65536;  ///< received but not yet taken with next()
};

/// Feed bytes as they arrive; take complete replies with next(). A line ends at
/// LF (CR LF or a bare LF). Once the input breaks a rule the parser stays failed.
class SmtpReplyParser {
 public:
  explicit SmtpReplyParser(ReplyLimits limits = {}) : limits_(limits) {}

  /// Appends received bytes (any split). Ignored once failed.
  void feed(std::span<const std::uint8_t> bytes);
  void feed(std::string_view bytes);

  /// The next complete reply, std::nullopt when more bytes are needed, or the
  /// protocol error (Errc::protocol) once the input broke a rule.
  Result<std::optional<SmtpReply>> next();

  /// Bytes received that are not part of a reply returned by next() yet.
  std::size_t buffered_bytes() const { return queued_bytes_ + current_bytes_ + line_.size(); }
  bool failed() const { return failed_; }
  /// Forgets everything buffered (and a failure), keeping the limits.
  void reset();

 private:
  void feed_byte(char c);
  void end_line();
  void set_failed(std::string message);

  ReplyLimits limits_;
  std::string line_;                  // current partial line, without LF
  std::optional<SmtpReply> current_;  // lines of the reply being assembled
  std::size_t current_bytes_ = 0;
  std::deque<SmtpReply> queued_;  // complete replies not yet taken
  std::deque<std::size_t> queued_sizes_;
  std::size_t queued_bytes_ = 0;
  bool failed_ = false;
  std::string error_;
};

/// One EHLO extension line: keyword (upper-cased) and its parameters.
struct EhloKeyword {
  std::string name;
  std::vector<std::string> params;
};

/// What a 250 reply to EHLO announces (RFC 5321 §4.1.1.1).
struct EhloCapabilities {
  std::string domain;                  ///< first word of the first line
  std::vector<EhloKeyword> keywords;   ///< in the server's order
  std::vector<std::string> malformed;  ///< lines that are not `keyword *(SP param)`

  /// Case-insensitive lookup.
  const EhloKeyword* find(std::string_view name) const;
  bool has(std::string_view name) const { return find(name) != nullptr; }
  bool starttls() const { return has("STARTTLS"); }
  bool pipelining() const { return has("PIPELINING"); }
  /// SIZE limit (RFC 1870); 0 means "no fixed limit"; nullopt when absent or unparsable.
  std::optional<std::uint64_t> size() const;
};

/// Extracts the keywords of a reply to EHLO (lines after the first).
EhloCapabilities parse_ehlo(const SmtpReply& reply);

}  // namespace forcetls::checker
