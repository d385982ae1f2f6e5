// SPDX-License-Identifier: Apache-2.0
// The SMTP client half of a probe: greeting, EHLO, STARTTLS on one connection,
// up to the point where TLS starts. Outcomes are data (SmtpResult), never
// exceptions. The caller owns the socket; coroutines run on its executor.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "checker/smtp/smtp_reply.hpp"
#include "checker/smtp/socket_io.hpp"

namespace forcetls::checker {

using namespace std::chrono_literals;

struct SmtpOptions {
  std::string ehlo_name = "localhost";  ///< sent as EHLO <name>; set it to this host's FQDN
  std::chrono::milliseconds connect_timeout = 10s;
  /// The whole greeting, every line: generous because postscreen (and
  /// tarpitting servers) pause before or inside a multi-line `220-` greeting.
  std::chrono::milliseconds greeting_timeout = 30s;
  std::chrono::milliseconds command_timeout = 30s;  ///< sending a command and reading its reply
  std::chrono::milliseconds quit_timeout = 2s;      ///< the polite QUIT when stopping early
  ReplyLimits limits = {};
};

/// The steps of a session, in order.
enum class SmtpStep { connect, greeting, ehlo, starttls };
std::string_view to_string(SmtpStep step);

/// Why a session stopped.
enum class SmtpStatus {
  starttls_ready,  ///< the server said 2xx to STARTTLS: the socket is ready for a ClientHello
  refused,         ///< TCP connect refused
  unreachable,     ///< other connect failure (no route, host unreachable, ...)
  timeout,         ///< the step's deadline passed
  closed,          ///< the server closed or reset the connection (detail says which)
  rejected,        ///< 4yz/5yz reply at `step` (421, 554 greeting, EHLO 5yz, STARTTLS 454, ...)
  no_starttls,     ///< EHLO succeeded but did not announce STARTTLS
  protocol_error,  ///< garbage, oversize or unexpected reply (detail says what)
  local_error,     ///< our side: invalid options, a socket error that is not the peer's doing
};
std::string_view to_string(SmtpStatus status);

/// How far a session got and why it stopped.
struct SmtpResult {
  SmtpStatus status = SmtpStatus::local_error;
  SmtpStep step = SmtpStep::connect;  ///< the step that ended the session (starttls on success)
  std::string detail;                 ///< one line for people: errno text, rule broken, timeout
  std::optional<SmtpReply> greeting;
  std::optional<SmtpReply> ehlo;
  EhloCapabilities capabilities;  ///< parsed from `ehlo` when it was 2yz
  std::optional<SmtpReply> starttls;
  /// Bytes the server sent after its reply to STARTTLS, before our ClientHello.
  /// They are discarded, never fed to TLS (a plaintext injection, RFC 3207 §5 /
  /// CVE-2011-0411 class); non-zero is worth reporting.
  std::size_t discarded_after_starttls = 0;
  bool quit_sent = false;  ///< QUIT was sent while stopping early
  std::chrono::milliseconds elapsed{};

  bool ok() const { return status == SmtpStatus::starttls_ready; }
  /// The reply that stopped the session at `step`, if any.
  const SmtpReply* stop_reply() const;
  /// "rejected at greeting: 421 4.7.0 too busy" — one line for logs and reports.
  std::string summary() const;
};

/// Speaks SMTP on a connected socket: reads the whole greeting (never writing
/// before its last line), EHLO, STARTTLS. On success the socket is positioned
/// right after the server's reply to STARTTLS. On any other outcome QUIT is
/// sent where the dialogue allows it and the socket is closed.
asio::awaitable<SmtpResult> smtp_starttls(Socket& socket, SmtpOptions options);

/// Connects `socket` to `endpoint` (connect_timeout), then smtp_starttls().
/// This is the first half of every probe: a raw ClientHello probe writes its
/// record to the socket afterwards (see raw_exchange.hpp).
asio::awaitable<SmtpResult> smtp_connect_starttls(Socket& socket, Endpoint endpoint,
                                                  SmtpOptions options);

/// This host's name (gethostname), "localhost" if it has none: the default
/// EHLO name of forcetls-check and the daemon.
std::string this_host_name();

/// True when `name` can be sent after EHLO: 1..255 printable ASCII, no space.
bool valid_ehlo_name(std::string_view name);

}  // namespace forcetls::checker
