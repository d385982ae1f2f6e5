// SPDX-License-Identifier: Apache-2.0
// SMTP client session up to STARTTLS: see smtp_session.hpp.
#include "checker/smtp/smtp_session.hpp"

#include "common/enum_names.hpp"

#include <unistd.h>

#include <array>
#include <asio/error.hpp>
#include <string>
#include <utility>

namespace forcetls::checker {
namespace {

// One SMTP dialogue on a socket: the parser and the running result.
class Dialogue {
 public:
  Dialogue(Socket& socket, const SmtpOptions& options, SmtpResult& result)
      : socket_(socket), options_(options), result_(result), parser_(options.limits) {}

  // Reads one whole reply before `deadline`. On failure fills result_
  // (status, detail) and returns nullopt.
  asio::awaitable<std::optional<SmtpReply>> read_reply(Deadline deadline,
                                                       std::chrono::milliseconds timeout) {
    std::array<std::uint8_t, 4096> buffer{};
    for (;;) {
      auto next = parser_.next();
      if (!next) {
        stop(SmtpStatus::protocol_error, next.error().message);
        co_return std::nullopt;
      }
      if (*next) {
        co_return std::move(**next);
      }
      IoResult io = co_await read_some_before(socket_, buffer, deadline);
      if (io.timed_out) {
        stop(SmtpStatus::timeout, describe_timeout(timeout));
        co_return std::nullopt;
      }
      if (io.error) {
        stop_on_io_error(io.error);
        co_return std::nullopt;
      }
      parser_.feed(std::span<const std::uint8_t>(buffer.data(), io.bytes));
    }
  }

  // Sends one command line (CR LF added) and reads its reply.
  asio::awaitable<std::optional<SmtpReply>> command(std::string_view line,
                                                    std::chrono::milliseconds timeout) {
    Deadline deadline = SteadyClock::now() + timeout;
    std::string wire = std::string(line) + "\r\n";
    IoResult io = co_await write_all_before(
        socket_,
        std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(wire.data()),
                                      wire.size()),
        deadline);
    if (io.timed_out) {
      stop(SmtpStatus::timeout, describe_timeout(timeout) + " (sending)");
      co_return std::nullopt;
    }
    if (io.error) {
      stop_on_io_error(io.error);
      co_return std::nullopt;
    }
    co_return co_await read_reply(deadline, timeout);
  }

  // QUIT without caring for the answer: the server may hang up instead.
  asio::awaitable<void> quit() {
    result_.quit_sent = true;
    SmtpResult scratch;
    Dialogue polite(socket_, options_, scratch);
    co_await polite.command("QUIT", options_.quit_timeout);
  }

  // A reply that ends the session where a 2yz was due. 4yz/5yz is a
  // rejection: QUIT follows, except after 421, which says the server is
  // closing the channel (RFC 5321 §4.2.2). Any other class means the dialogue
  // is out of step: nothing more is said.
  asio::awaitable<void> refuse(const SmtpReply& reply, std::string_view what) {
    if (!reply.transient() && !reply.permanent()) {
      stop(SmtpStatus::protocol_error,
           "unexpected reply to " + std::string(what) + ": " + reply.to_string());
      co_return;
    }
    stop(SmtpStatus::rejected, reply.to_string());
    if (reply.code != 421) {
      co_await quit();
    }
  }

  void stop(SmtpStatus status, std::string detail) {
    result_.status = status;
    result_.detail = std::move(detail);
  }

  void stop_on_io_error(const std::error_code& error) {
    switch (peer_end(error)) {
      case PeerEnd::eof:
        stop(SmtpStatus::closed, "connection closed by the server");
        return;
      case PeerEnd::reset:
        stop(SmtpStatus::closed, "connection reset by the server (" + error.message() + ")");
        return;
      case PeerEnd::none:
        break;
    }
    stop(SmtpStatus::closed, "connection failed: " + error.message());
  }

  // Bytes already received beyond the last reply (same packet, or queued in
  // the kernel by now): read and dropped without waiting.
  std::size_t discard_pending() {
    std::size_t dropped = parser_.buffered_bytes();
    parser_.reset();
    std::error_code ec;
    std::array<std::uint8_t, 4096> buffer{};
    while (socket_.available(ec) > 0 && !ec) {
      bool was_non_blocking = socket_.non_blocking();
      socket_.non_blocking(true, ec);
      std::size_t n = socket_.read_some(asio::buffer(buffer), ec);
      socket_.non_blocking(was_non_blocking, ec);
      if (ec || n == 0) {
        break;
      }
      dropped += n;
    }
    return dropped;
  }

 private:
  Socket& socket_;
  const SmtpOptions& options_;
  SmtpResult& result_;
  SmtpReplyParser parser_;
};

asio::awaitable<void> run_dialogue(Socket& socket, const SmtpOptions& options, SmtpResult& result) {
  Dialogue d(socket, options, result);

  // Greeting: read every line before saying anything (postscreen's pregreet
  // test drops clients that talk into a `220-` pause).
  result.step = SmtpStep::greeting;
  Deadline greeting_deadline = SteadyClock::now() + options.greeting_timeout;
  result.greeting = co_await d.read_reply(greeting_deadline, options.greeting_timeout);
  if (!result.greeting) {
    co_return;
  }
  if (!result.greeting->positive()) {
    // RFC 5321 §3.1: after a 554 greeting the client should QUIT.
    co_await d.refuse(*result.greeting, "greeting");
    co_return;
  }

  // EHLO only: STARTTLS is an ESMTP extension, so a server that refuses EHLO
  // cannot offer it and HELO would learn nothing more.
  result.step = SmtpStep::ehlo;
  result.ehlo = co_await d.command("EHLO " + options.ehlo_name, options.command_timeout);
  if (!result.ehlo) {
    co_return;
  }
  if (!result.ehlo->positive()) {
    co_await d.refuse(*result.ehlo, "EHLO");
    co_return;
  }
  result.capabilities = parse_ehlo(*result.ehlo);
  if (!result.capabilities.starttls()) {
    d.stop(SmtpStatus::no_starttls, "EHLO reply does not announce STARTTLS");
    co_await d.quit();
    co_return;
  }

  result.step = SmtpStep::starttls;
  result.starttls = co_await d.command("STARTTLS", options.command_timeout);
  if (!result.starttls) {
    co_return;
  }
  if (!result.starttls->positive()) {
    co_await d.refuse(*result.starttls, "STARTTLS");
    co_return;
  }
  // Anything after the 220 arrived in plaintext and must not be taken for
  // part of the TLS conversation.
  result.discarded_after_starttls = d.discard_pending();
  d.stop(SmtpStatus::starttls_ready, "");
}

}  // namespace

namespace {
constexpr NameTable<SmtpStep, 4> kSmtpStepNames{{
    {SmtpStep::connect, "connect"},
    {SmtpStep::greeting, "greeting"},
    {SmtpStep::ehlo, "ehlo"},
    {SmtpStep::starttls, "starttls"},
}};
}  // namespace

std::string_view to_string(SmtpStep step) { return name_in(kSmtpStepNames, step); }

namespace {
constexpr NameTable<SmtpStatus, 9> kSmtpStatusNames{{
    {SmtpStatus::starttls_ready, "starttls_ready"},
    {SmtpStatus::refused, "refused"},
    {SmtpStatus::unreachable, "unreachable"},
    {SmtpStatus::timeout, "timeout"},
    {SmtpStatus::closed, "closed"},
    {SmtpStatus::rejected, "rejected"},
    {SmtpStatus::no_starttls, "no_starttls"},
    {SmtpStatus::protocol_error, "protocol_error"},
    {SmtpStatus::local_error, "local_error"},
}};
}  // namespace

std::string_view to_string(SmtpStatus status) { return name_in(kSmtpStatusNames, status); }

const SmtpReply* SmtpResult::stop_reply() const {
  const std::optional<SmtpReply>* reply = nullptr;
  switch (step) {
    case SmtpStep::connect:
      return nullptr;
    case SmtpStep::greeting:
      reply = &greeting;
      break;
    case SmtpStep::ehlo:
      reply = &ehlo;
      break;
    case SmtpStep::starttls:
      reply = &starttls;
      break;
  }
  return (reply != nullptr && reply->has_value()) ? &**reply : nullptr;
}

std::string SmtpResult::summary() const {
  std::string out(to_string(status));
  if (status == SmtpStatus::starttls_ready) {
    return out;
  }
  out += " at ";
  out += to_string(step);
  if (!detail.empty()) {
    out += ": " + detail;
  }
  return out;
}

bool valid_ehlo_name(std::string_view name) {
  if (name.empty() || name.size() > 255) {
    return false;
  }
  for (char c : name) {
    if (c <= 0x20 || c >= 0x7f) {
      return false;
    }
  }
  return true;
}

asio::awaitable<SmtpResult> smtp_starttls(Socket& socket, SmtpOptions options) {
  SmtpResult result;
  auto start = SteadyClock::now();
  if (!valid_ehlo_name(options.ehlo_name)) {
    result.status = SmtpStatus::local_error;
    result.detail = "invalid EHLO name";
  } else {
    co_await run_dialogue(socket, options, result);
  }
  if (!result.ok()) {
    close_quietly(socket);
  }
  result.elapsed = elapsed_since(start);
  co_return result;
}

asio::awaitable<SmtpResult> smtp_connect_starttls(Socket& socket, Endpoint endpoint,
                                                  SmtpOptions options) {
  auto start = SteadyClock::now();
  IoResult io =
      co_await connect_before(socket, std::move(endpoint), start + options.connect_timeout);
  if (!io.ok()) {
    SmtpResult result;
    result.step = SmtpStep::connect;
    if (io.timed_out) {
      result.status = SmtpStatus::timeout;
      result.detail = describe_timeout(options.connect_timeout);
    } else if (io.error == asio::error::connection_refused) {
      result.status = SmtpStatus::refused;
      result.detail = io.error.message();
    } else if (io.error == asio::error::timed_out) {
      result.status = SmtpStatus::timeout;
      result.detail = io.error.message();
    } else {
      result.status = SmtpStatus::unreachable;
      result.detail = io.error.message();
    }
    close_quietly(socket);
    result.elapsed = elapsed_since(start);
    co_return result;
  }
  SmtpResult result = co_await smtp_starttls(socket, std::move(options));
  result.elapsed = elapsed_since(start);
  co_return result;
}

std::string this_host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') {
    return "localhost";
  }
  return buf;
}

}  // namespace forcetls::checker
