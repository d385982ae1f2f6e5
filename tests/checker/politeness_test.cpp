// SPDX-License-Identifier: Apache-2.0
// Tests for checker/probe/politeness: what counts as rate-limited, and a
// simulated rate-limiting server (every attempt counts over a sliding window,
// as Postfix's anvil and the lab's emulator count) probed on a simulated
// clock: how many connections one address costs, how long the waits add up
// to, and when the prober stops asking.
#include "checker/probe/politeness.hpp"

#include <catch2/catch.hpp>
#include <deque>
#include <string>

using namespace forcetls;
using namespace forcetls::checker;
using namespace std::chrono_literals;

namespace {

SmtpResult ok_result() {
  SmtpResult r;
  r.status = SmtpStatus::starttls_ready;
  r.step = SmtpStep::starttls;
  return r;
}

SmtpResult greeting_reply(int code) {
  SmtpResult r;
  r.status = SmtpStatus::rejected;
  r.step = SmtpStep::greeting;
  r.greeting = SmtpReply{.code = code, .enhanced = {}, .lines = {"4.7.0 too many connections"}};
  return r;
}

SmtpResult closed_at(SmtpStep step) {
  SmtpResult r;
  r.status = SmtpStatus::closed;
  r.step = step;
  return r;
}

SmtpResult timeout_at(SmtpStep step) {
  SmtpResult r;
  r.status = SmtpStatus::timeout;
  r.step = step;
  return r;
}

// Answers 421 once more than `allowed` attempts arrived within `window`.
struct LimitingServer {
  int allowed;
  std::chrono::milliseconds window;
  std::deque<std::chrono::milliseconds> attempts;

  SmtpResult connect(std::chrono::milliseconds now) {
    while (!attempts.empty() && now - attempts.front() >= window) {
      attempts.pop_front();
    }
    attempts.push_back(now);
    return static_cast<int>(attempts.size()) > allowed ? greeting_reply(421) : ok_result();
  }
};

struct Run {
  int connections = 0;
  int refused = 0;  // 421s
  std::chrono::milliseconds waited{0};
  std::chrono::milliseconds elapsed{0};
  std::string stop_reason;
};

// One address probed until `budget` connections are spent or politeness
// stops: each connection takes `cost`, then the wait politeness asks for.
Run probe(LimitingServer server, PolitenessOptions options, int budget,
          std::chrono::milliseconds cost = 100ms) {
  AddressPoliteness politeness(options);
  Run run;
  while (run.connections < budget && !politeness.stopped()) {
    SmtpResult r = server.connect(run.elapsed);
    ++run.connections;
    run.refused += rate_limited(r) ? 1 : 0;
    run.elapsed += cost;
    std::chrono::milliseconds wait = politeness.after(r);
    run.waited += wait;
    run.elapsed += wait;
  }
  run.stop_reason = politeness.stop_reason();
  return run;
}

}  // namespace

TEST_CASE("rate_limited: a 421 anywhere, or a close before the greeting", "[checker]") {
  CHECK(rate_limited(greeting_reply(421)));
  SmtpResult at_ehlo = greeting_reply(421);
  at_ehlo.step = SmtpStep::ehlo;
  at_ehlo.ehlo = at_ehlo.greeting;
  CHECK(rate_limited(at_ehlo));
  CHECK(rate_limited(closed_at(SmtpStep::greeting)));
  CHECK_FALSE(rate_limited(greeting_reply(554)));
  CHECK_FALSE(rate_limited(greeting_reply(450)));
  CHECK_FALSE(rate_limited(closed_at(SmtpStep::ehlo)));
  CHECK_FALSE(rate_limited(timeout_at(SmtpStep::greeting)));
  CHECK_FALSE(rate_limited(ok_result()));
}

TEST_CASE("politeness against rate-limiting servers", "[checker]") {
  const PolitenessOptions defaults{};  // pause 200 ms, 5 s back-off, 20 s cap, stop after 2
  PolitenessOptions never_stop = defaults;
  never_stop.rate_limit_stop = 0;
  struct Case {
    const char* label;
    LimitingServer server;
    PolitenessOptions options;
    int budget;
    int want_connections;
    std::chrono::milliseconds want_waited;
    bool want_stopped;
  };
  auto c = GENERATE_COPY(values<Case>({
      // The server that made one address cost minutes: after its second
      // connection every further one is refused, and every attempt keeps
      // its ten-minute window full.
      {"421 after 2 per 10 min, defaults",
       {2, 10min, {}},
       defaults,
       10,
       4,
       200ms + 200ms + 5s,
       true},
      {"421 after 2 per 10 min, never stopping: the budget ends it",
       {2, 10min, {}},
       never_stop,
       10,
       10,
       200ms + 200ms + 5s + 7 * 20s,
       false},
      {"421 from the first connection", {0, 10min, {}}, defaults, 10, 2, 5s, true},
      // The lab's flaky.test: 3 per 5 s. The back-off empties the window, so
      // the 421s never come twice in a row and every question is asked.
      {"421 after 3 per 5 s", {3, 5s, {}}, defaults, 20, 20, 0ms, false},
      {"no limit", {1000, 1s, {}}, defaults, 10, 10, 10 * 200ms, false},
  }));
  INFO(c.label);
  Run run = probe(c.server, c.options, c.budget);
  CAPTURE(run.connections, run.refused, run.waited.count(), run.elapsed.count(), run.stop_reason);
  CHECK(run.connections == c.want_connections);
  if (c.want_waited > 0ms) {
    CHECK(run.waited == c.want_waited);
  }
  CHECK(!run.stop_reason.empty() == c.want_stopped);
  if (c.want_stopped) {
    CHECK(run.stop_reason == "rate-limited: stopped after 2 consecutive 421 replies");
    // doc/design.md: with the defaults one such address costs seconds, not minutes.
    CHECK(run.elapsed <= 30s);
  }
}

TEST_CASE("politeness: the flaky server is slowed down, and gets every connection", "[checker]") {
  Run run = probe({3, 5s, {}}, PolitenessOptions{}, 20);
  CHECK(run.connections == 20);
  CHECK(run.stop_reason.empty());
  CHECK(run.refused >= 1);  // the limit did bite
  CHECK(run.waited >= 5s);
}

TEST_CASE("politeness: only rate-limited answers in a row stop the address", "[checker]") {
  AddressPoliteness p(PolitenessOptions{});
  CHECK(p.after(greeting_reply(421)) == 5s);
  CHECK_FALSE(p.stopped());
  // Any other outcome in between starts the count again: a timeout is no
  // rate limit, and a success says the server takes connections.
  CHECK(p.after(timeout_at(SmtpStep::greeting)) == 5s);
  CHECK(p.after(greeting_reply(421)) == 20s);
  CHECK_FALSE(p.stopped());
  CHECK(p.after(ok_result()) == 15s);
  CHECK(p.after(greeting_reply(421)) == 20s);
  CHECK_FALSE(p.stopped());
  CHECK(p.after(closed_at(SmtpStep::greeting)) == 0ms);
  CHECK(p.stopped());
  CHECK(p.stop_reason() ==
        "rate-limited: stopped after 2 consecutive refusals (421 or closed before the greeting)");
  // Stopped: nothing more is waited for, whatever happens.
  CHECK(p.after(ok_result()) == 0ms);
  CHECK(p.stopped());
  // A new probe (the daemon's next refresh) asks again, still slowly.
  p.restart();
  CHECK_FALSE(p.stopped());
  CHECK(p.stop_reason().empty());
  CHECK(p.pause() == 20s);
  CHECK(p.after(greeting_reply(421)) == 20s);
  CHECK_FALSE(p.stopped());
}

TEST_CASE("politeness: rate_limit_stop sets how many in a row", "[checker]") {
  PolitenessOptions o;
  o.rate_limit_stop = 3;
  AddressPoliteness p(o);
  CHECK(p.after(greeting_reply(421)) == 5s);
  CHECK(p.after(greeting_reply(421)) == 20s);
  CHECK_FALSE(p.stopped());
  CHECK(p.after(greeting_reply(421)) == 0ms);
  CHECK(p.stop_reason() == "rate-limited: stopped after 3 consecutive 421 replies");
}
