// SPDX-License-Identifier: Apache-2.0
// Tests for checker/smtp/smtp_session: the client against scripted fake servers
// over a socketpair, in one io_context.
#include "checker/smtp/smtp_session.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <catch2/catch.hpp>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/checker/fake_peer.hpp"

using namespace forcetls;
using namespace forcetls::checker;
using namespace forcetls::test;

namespace {

void rethrow(std::exception_ptr e) {
  if (e) {
    std::rethrow_exception(e);
  }
}

SmtpOptions fast_options() {
  return SmtpOptions{.ehlo_name = "client.example.test",
                     .connect_timeout = 500ms,
                     .greeting_timeout = 400ms,
                     .command_timeout = 400ms,
                     .quit_timeout = 300ms};
}

// For sessions that must not time out: budgets far above the scripted pauses,
// so a loaded machine cannot turn a pause into a timeout.
SmtpOptions patient_options() {
  return SmtpOptions{.ehlo_name = "client.example.test",
                     .connect_timeout = 20s,
                     .greeting_timeout = 20s,
                     .command_timeout = 20s,
                     .quit_timeout = 20s};
}

struct Run {
  SmtpResult result;
  ServerLog log;
};

Run run_session(std::vector<Step> script, SmtpOptions options) {
  asio::io_context io;
  auto [client, server] = make_socket_pair(io);
  Run run;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        run.result = co_await smtp_starttls(client, options);
        close_quietly(client);  // hand-over point: the test plays the TLS layer
      },
      rethrow);
  asio::co_spawn(io, run_script(server, std::move(script), run.log, nullptr, 1s), rethrow);
  io.run();
  return run;
}

const std::string kEhloTls =
    "250-mx.example.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n";

}  // namespace

TEST_CASE("SMTP session outcomes against scripted servers", "[checker]") {
  struct Case {
    std::string label;
    std::vector<Step> script;
    SmtpStatus status;
    SmtpStep step;
    std::string detail_contains;        // empty: the detail must be empty
    std::vector<std::string> received;  // what the server must have seen, exactly
    bool quit_sent;
    std::size_t discarded;
  };
  const std::string ehlo = "EHLO client.example.test";
  auto c = GENERATE_COPY(values<Case>({
      {"postfix, STARTTLS accepted",
       postfix_until_starttls(),
       SmtpStatus::starttls_ready,
       SmtpStep::starttls,
       "",
       {ehlo, "STARTTLS"},
       false,
       0},
      {"postscreen: multi-line greeting with pauses, split mid-line",
       {say("220-mx.example.test ESMTP\r\n"), delay(150ms), assert_silent(), say("220-wait"),
        delay(100ms), assert_silent(), say(" for it\r\n220 mx.example.test ready\r\n"), read_line(),
        say(kEhloTls), read_line(), say("220 go ahead\r\n")},
       SmtpStatus::starttls_ready,
       SmtpStep::starttls,
       "",
       {ehlo, "STARTTLS"},
       false,
       0},
      {"EHLO reply split across writes",
       {say("220 mx\r\n"), read_line(), say("250-mx\r\n250-STA"), delay(50ms),
        say("RTTLS\r\n250 SIZE 1000\r\n"), read_line(), say("220 ok\r\n")},
       SmtpStatus::starttls_ready,
       SmtpStep::starttls,
       "",
       {ehlo, "STARTTLS"},
       false,
       0},
      {"421 greeting: no QUIT",
       {say("421 4.7.0 mx.example.test Too many connections\r\n"), hang_up()},
       SmtpStatus::rejected,
       SmtpStep::greeting,
       "421 4.7.0 mx.example.test Too many connections",
       {},
       false,
       0},
      {"554 greeting: QUIT",
       {say("554 5.7.1 no SMTP service here\r\n"), read_line(), say("221 bye\r\n"), hang_up()},
       SmtpStatus::rejected,
       SmtpStep::greeting,
       "554 5.7.1 no SMTP service here",
       {"QUIT"},
       true,
       0},
      {"no STARTTLS announced: QUIT",
       {say("220 mx\r\n"), read_line(), say("250-mx\r\n250-PIPELINING\r\n250 SIZE 10\r\n"),
        read_line(), say("221 bye\r\n"), hang_up()},
       SmtpStatus::no_starttls,
       SmtpStep::ehlo,
       "STARTTLS",
       {ehlo, "QUIT"},
       true,
       0},
      {"STARTTLS 454: QUIT",
       {say("220 mx\r\n"), read_line(), say(kEhloTls), read_line(),
        say("454 4.7.0 TLS not available due to local problem\r\n"), read_line(),
        say("221 bye\r\n")},
       SmtpStatus::rejected,
       SmtpStep::starttls,
       "454 4.7.0 TLS not available",
       {ehlo, "STARTTLS", "QUIT"},
       true,
       0},
      {"STARTTLS 421: no QUIT",
       {say("220 mx\r\n"), read_line(), say(kEhloTls), read_line(),
        say("421 4.3.2 shutting down\r\n"), hang_up()},
       SmtpStatus::rejected,
       SmtpStep::starttls,
       "421",
       {ehlo, "STARTTLS"},
       false,
       0},
      {"EHLO refused: QUIT, no HELO",
       {say("220 mx\r\n"), read_line(), say("502 5.5.1 command not implemented\r\n"), read_line(),
        say("221 bye\r\n")},
       SmtpStatus::rejected,
       SmtpStep::ehlo,
       "502",
       {ehlo, "QUIT"},
       true,
       0},
      {"silent server: greeting timeout",
       {delay(1s)},
       SmtpStatus::timeout,
       SmtpStep::greeting,
       "400 ms",
       {},
       false,
       0},
      {"greeting never finishes: timeout covers the whole greeting",
       {say("220-mx\r\n"), delay(150ms), say("220-still\r\n"), delay(150ms), say("220-and\r\n"),
        delay(600ms)},
       SmtpStatus::timeout,
       SmtpStep::greeting,
       "no answer within 400 ms",
       {},
       false,
       0},
      {"silent after EHLO: command timeout",
       {say("220 mx\r\n"), read_line(), delay(1s)},
       SmtpStatus::timeout,
       SmtpStep::ehlo,
       "no answer within 400 ms",
       {ehlo},
       false,
       0},
      {"overlong greeting line",
       {say("220 " + std::string(2000, 'x') + "\r\n"), hang_up()},
       SmtpStatus::protocol_error,
       SmtpStep::greeting,
       "longer than 1000",
       {},
       false,
       0},
      {"garbage greeting",
       {say("SSH-2.0-OpenSSH_9.2\r\n"), delay(300ms)},
       SmtpStatus::protocol_error,
       SmtpStep::greeting,
       "reply code",
       {},
       false,
       0},
      {"mismatched continuation",
       {say("220-mx\r\n250 ok\r\n"), delay(300ms)},
       SmtpStatus::protocol_error,
       SmtpStep::greeting,
       "differs",
       {},
       false,
       0},
      {"354 to EHLO is a protocol error",
       {say("220 mx\r\n"), read_line(), say("354 go on\r\n"), delay(300ms)},
       SmtpStatus::protocol_error,
       SmtpStep::ehlo,
       "354",
       {ehlo},
       false,
       0},
      {"server hangs up after greeting",
       {say("220 mx\r\n"), read_line(), hang_up()},
       SmtpStatus::closed,
       SmtpStep::ehlo,
       "closed",
       {ehlo},
       false,
       0},
      {"server hangs up mid-greeting",
       {say("220-mx\r\n"), hang_up()},
       SmtpStatus::closed,
       SmtpStep::greeting,
       "closed",
       {},
       false,
       0},
      {"bytes after the 220 to STARTTLS are discarded",
       postfix_until_starttls("250 injected\r\n"),
       SmtpStatus::starttls_ready,
       SmtpStep::starttls,
       "",
       {ehlo, "STARTTLS"},
       false,
       14},
  }));
  CAPTURE(c.label);
  // Cases that end in a timeout keep the short budgets (the scripts pause far
  // longer); the others get budgets no scripted pause comes near.
  bool want_timeout = c.status == SmtpStatus::timeout;
  Run run = run_session(c.script, want_timeout ? fast_options() : patient_options());
  CAPTURE(run.result.summary());
  CHECK(run.result.status == c.status);
  CHECK(run.result.step == c.step);
  if (c.detail_contains.empty()) {
    CHECK(run.result.detail.empty());
  } else {
    CHECK_THAT(run.result.detail, Catch::Contains(c.detail_contains));
  }
  CHECK(run.log.received == c.received);
  CHECK(run.log.problems.empty());
  CHECK(run.result.quit_sent == c.quit_sent);
  CHECK(run.result.discarded_after_starttls == c.discarded);
}

TEST_CASE("SMTP session keeps the replies it saw", "[checker]") {
  Run run = run_session(postfix_until_starttls(), fast_options());
  REQUIRE(run.result.ok());
  REQUIRE(run.result.greeting);
  CHECK(run.result.greeting->to_string() == "220 mx.example.test ESMTP Postfix");
  REQUIRE(run.result.ehlo);
  CHECK(run.result.capabilities.starttls());
  CHECK(run.result.capabilities.size() == 10240000u);
  REQUIRE(run.result.starttls);
  CHECK(run.result.starttls->enhanced == EnhancedStatus{2, 0, 0});
  CHECK(run.result.stop_reply() == &*run.result.starttls);
  CHECK(run.result.summary() == "starttls_ready");
}

TEST_CASE("SMTP session rejects an EHLO name that would inject a command", "[checker]") {
  for (const std::string& name :
       std::vector<std::string>{"", "two words", "x\r\nRCPT TO:<a@b>", std::string(256, 'a')}) {
    CAPTURE(name);
    SmtpOptions options = fast_options();
    options.ehlo_name = name;
    Run run = run_session({delay(50ms)}, options);
    CHECK(run.result.status == SmtpStatus::local_error);
    CHECK(run.log.received.empty());
  }
}

TEST_CASE("SMTP connect over a real connect(): accepted and refused", "[checker]") {
  // An AF_UNIX path stands in for address:port; the connect code path is the
  // same generic one TCP uses.
  auto dir =
      std::filesystem::temp_directory_path() / ("forcetls-smtp-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "mx.sock").string();
  std::filesystem::remove(path);

  asio::io_context io;
  asio::local::stream_protocol::acceptor acceptor(io, asio::local::stream_protocol::endpoint(path));
  Socket accepted(io);
  ServerLog log;
  SmtpResult result;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto s = co_await acceptor.async_accept(asio::use_awaitable);
        accepted = Socket(io, asio::generic::stream_protocol(AF_UNIX, 0), s.release());
        co_await run_script(accepted, postfix_until_starttls(), log, nullptr, 1s);
      },
      rethrow);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        Socket client(io);
        result = co_await smtp_connect_starttls(
            client, Endpoint(asio::local::stream_protocol::endpoint(path)), fast_options());
        close_quietly(client);
      },
      rethrow);
  io.run();
  CHECK(result.status == SmtpStatus::starttls_ready);
  CHECK(log.received == std::vector<std::string>{"EHLO client.example.test", "STARTTLS"});

  // The path still exists but nobody listens: connection refused.
  acceptor.close();
  io.restart();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        Socket client(io);
        result = co_await smtp_connect_starttls(
            client, Endpoint(asio::local::stream_protocol::endpoint(path)), fast_options());
      },
      rethrow);
  io.run();
  CHECK(result.status == SmtpStatus::refused);
  CHECK(result.step == SmtpStep::connect);
  std::filesystem::remove_all(dir);
}

TEST_CASE("SMTP status names", "[checker]") {
  CHECK(to_string(SmtpStatus::no_starttls) == "no_starttls");
  CHECK(to_string(SmtpStep::greeting) == "greeting");
}
