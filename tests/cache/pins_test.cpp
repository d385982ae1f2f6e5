// SPDX-License-Identifier: Apache-2.0
// Tests for cache/pins (eligibility pinning): every transition of
// next_pin(), the stored value, and the store applying pins to probe
// results on a real LMDB environment with a fake clock.
#include "cache/pins.hpp"

#include <catch2/catch.hpp>

#include "cache/store.hpp"
#include "cache_fixtures.hpp"

using namespace forcetls;
using namespace forcetls::cache;
using namespace forcetls::cache::test;
using checker::Eligibility;

namespace {

constexpr std::int64_t kDay = 86400;
const PinOptions kOptions{};  // 7 days, 24 h, 3 probes

}  // namespace

TEST_CASE("next_pin: every transition", "[cache]") {
  const std::int64_t t = 1'000'000;
  const Pin live{.pinned_at = t - kDay, .until = t + 6 * kDay, .first_suspect = 0, .suspects = 0};
  const Pin suspect2{.pinned_at = t - 3 * kDay,
                     .until = t + 5 * kDay,
                     .first_suspect = t - 2 * kDay,
                     .suspects = 2};
  const Pin suspect2_recent{
      .pinned_at = t - kDay, .until = t + 6 * kDay, .first_suspect = t - 3600, .suspects = 2};
  const Pin ran_out{.pinned_at = t - 8 * kDay, .until = t - 1, .first_suspect = 0, .suspects = 0};
  struct Case {
    std::string label;
    std::optional<Pin> pin;
    Eligibility verdict;
    PinEvent event;
    std::optional<Pin> want;
  };
  auto c = GENERATE_COPY(values<Case>({
      {"no pin, eligible: pinned", std::nullopt, Eligibility::eligible, PinEvent::pinned,
       Pin{t, t + 7 * kDay, 0, 0}},
      {"no pin, ineligible: nothing", std::nullopt, Eligibility::ineligible, PinEvent::none,
       std::nullopt},
      {"no pin, unknown: nothing", std::nullopt, Eligibility::unknown, PinEvent::none,
       std::nullopt},
      {"pinned, eligible: renewed from now", live, Eligibility::eligible, PinEvent::renewed,
       Pin{t - kDay, t + 7 * kDay, 0, 0}},
      {"pinned, ineligible: suspected, first suspect now", live, Eligibility::ineligible,
       PinEvent::suspected, Pin{t - kDay, t + 6 * kDay, t, 1}},
      {"pinned, unknown: unchanged", live, Eligibility::unknown, PinEvent::none, live},
      {"third suspect over 2 days: confirmed, pin dropped", suspect2, Eligibility::ineligible,
       PinEvent::confirmed, std::nullopt},
      {"third suspect within an hour: still suspected", suspect2_recent, Eligibility::ineligible,
       PinEvent::suspected, Pin{t - kDay, t + 6 * kDay, t - 3600, 3}},
      {"suspected, eligible again: suspicion cleared", suspect2, Eligibility::eligible,
       PinEvent::renewed, Pin{t - 3 * kDay, t + 7 * kDay, 0, 0}},
      {"ran out, ineligible: expired, nothing kept", ran_out, Eligibility::ineligible,
       PinEvent::expired, std::nullopt},
      {"ran out, eligible: a new pin", ran_out, Eligibility::eligible, PinEvent::pinned,
       Pin{t, t + 7 * kDay, 0, 0}},
  }));
  INFO(c.label);
  PinStep step = next_pin(c.pin, c.verdict, t, kOptions);
  CHECK(step.event == c.event);
  CHECK(step.pin == c.want);
}

TEST_CASE("pins: the stored value round-trips and garbage is refused", "[cache]") {
  const Pin p{
      .pinned_at = 1700000000, .until = 1700604800, .first_suspect = 1700100000, .suspects = 2};
  CHECK(decode_pin(encode_pin(p)) == p);
  CHECK_FALSE(decode_pin(""));
  CHECK_FALSE(decode_pin(encode_pin(p).substr(1)));
  std::string wrong_version = encode_pin(p);
  wrong_version[0] = 9;
  CHECK_FALSE(decode_pin(wrong_version));
  const Pin backwards{.pinned_at = 10, .until = 5, .first_suspect = 0, .suspects = 0};
  CHECK_FALSE(decode_pin(encode_pin(backwards)));
}

TEST_CASE("store: a pinned domain stripped of STARTTLS reads downgrade-suspected until confirmed",
          "[cache]") {
  TempDir dir;
  FakeClock clock;
  auto opened = Store::open(options_for(dir.sub("c"), clock));
  REQUIRE(opened.has_value());
  Store& store = **opened;
  const PutOptions probe{.probed = true};
  auto probed = [&](AddressReport a) {
    REQUIRE(store.put(simple("pinned.test", std::move(a), "mx.pinned.test", clock.now()), probe));
  };

  probed(good_address("192.0.2.1"));
  REQUIRE(store.pin("pinned.test").has_value());
  CHECK(store.lookup("pinned.test").report->eligible == Eligibility::eligible);

  // 1. Stripped: unknown, downgrade-suspected, kept only for the unknown TTL.
  clock.advance(3600);
  probed(plain_address("192.0.2.1"));
  Lookup l = store.lookup("pinned.test");
  CHECK(l.report->eligible == Eligibility::unknown);
  CHECK(l.report->unknown_cause == checker::UnknownCause::downgrade_suspected);
  REQUIRE_FALSE(l.report->reasons.empty());
  CHECK(checker::format_reason(l.report->reasons.front()) ==
        "downgrade-suspected(no-starttls(mx.pinned.test))");
  // A rule with tls13_counts reads the other verdict: held the same way.
  CHECK(l.report->tls13_counted.eligible == Eligibility::unknown);
  CHECK(l.report->tls13_counted.unknown_cause == checker::UnknownCause::downgrade_suspected);
  CHECK(l.expires_at - clock.now() == store.options().ttls.unknown);

  // 2. Pins outlive purge: purged and probed stripped again, still suspected.
  REQUIRE(store.purge("pinned.test").value());
  CHECK(store.pin("pinned.test").has_value());
  clock.advance(3600);
  probed(plain_address("192.0.2.1"));
  CHECK(store.lookup("pinned.test").report->unknown_cause ==
        checker::UnknownCause::downgrade_suspected);

  // 3. A third ineligible probe, but within the day: still suspected; one
  //    a day after the first: confirmed ineligible, the pin gone.
  clock.advance(3600);
  probed(plain_address("192.0.2.1"));
  CHECK(store.pin("pinned.test")->suspects == 3);
  CHECK(store.lookup("pinned.test").report->eligible == Eligibility::unknown);
  clock.advance(kDay);
  probed(plain_address("192.0.2.1"));
  CHECK_FALSE(store.pin("pinned.test").has_value());
  l = store.lookup("pinned.test");
  CHECK(l.report->eligible == Eligibility::ineligible);
  CHECK(l.report->unknown_cause != checker::UnknownCause::downgrade_suspected);
}

TEST_CASE("store: pins apply to probes only, and unpin releases at once", "[cache]") {
  TempDir dir;
  FakeClock clock;
  auto opened = Store::open(options_for(dir.sub("c"), clock));
  REQUIRE(opened.has_value());
  Store& store = **opened;
  REQUIRE(store.put(simple("a.test", good_address("192.0.2.1"), "mx.a.test", clock.now()),
                    PutOptions{.probed = true}));
  // An import (not a probe) of an ineligible record is stored as it is.
  clock.advance(60);
  REQUIRE(store.put(simple("a.test", plain_address("192.0.2.1"), "mx.a.test", clock.now())));
  CHECK(store.lookup("a.test").report->eligible == Eligibility::ineligible);
  // A probe: suspected; unpin: the stored verdict stands.
  REQUIRE(store.put(simple("a.test", plain_address("192.0.2.1"), "mx.a.test", clock.now()),
                    PutOptions{.probed = true}));
  CHECK(store.lookup("a.test").report->eligible == Eligibility::unknown);
  CHECK(store.unpin("a.test").value());
  CHECK_FALSE(store.unpin("a.test").value());
  CHECK(store.lookup("a.test").report->eligible == Eligibility::ineligible);
  // [host] keys are pinned like domains.
  REQUIRE(store.put(simple("[mx.b.test]:2525", good_address("192.0.2.2"), "mx.b.test", clock.now()),
                    PutOptions{.probed = true}));
  CHECK(store.pin("[MX.b.test]:2525").has_value());
  // pin_for 0: no pinning at all.
  TempDir dir2;
  StoreOptions o = options_for(dir2.sub("c"), clock);
  o.pins.pin_for = 0;
  auto off = Store::open(o);
  REQUIRE(off.has_value());
  REQUIRE((*off)->put(simple("c.test", good_address("192.0.2.3"), "mx.c.test", clock.now()),
                      PutOptions{.probed = true}));
  REQUIRE((*off)->put(simple("c.test", plain_address("192.0.2.3"), "mx.c.test", clock.now()),
                      PutOptions{.probed = true}));
  CHECK((*off)->lookup("c.test").report->eligible == Eligibility::ineligible);
}

TEST_CASE(
    "store: a server seen eligible is pinned too; a new domain on it found stripped is suspect",
    "[cache]") {
  TempDir dir;
  FakeClock clock;
  auto opened = Store::open(options_for(dir.sub("c"), clock));
  REQUIRE(opened.has_value());
  Store& store = **opened;
  const PutOptions probe{.probed = true};
  // a.test's MX at 192.0.2.1 probed eligible: the server is pinned as well.
  REQUIRE(
      store.put(simple("a.test", good_address("192.0.2.1"), "mx.shared.test", clock.now()), probe));
  REQUIRE(store.pin("[192.0.2.1]").has_value());
  CHECK_FALSE(store.pin("[192.0.2.1]")->suspected());

  // b.test, never seen, uses the same server, now stripped: suspect, its pin
  // inherited from the server's; the server's own pin counts the probe.
  clock.advance(3600);
  REQUIRE(store.put(simple("b.test", plain_address("192.0.2.1"), "mx.shared.test", clock.now()),
                    probe));
  Lookup l = store.lookup("b.test");
  CHECK(l.report->eligible == Eligibility::unknown);
  CHECK(l.report->unknown_cause == checker::UnknownCause::downgrade_suspected);
  CHECK(l.expires_at - clock.now() == store.options().ttls.unknown);
  REQUIRE(store.pin("b.test").has_value());
  CHECK(store.pin("b.test")->suspects == 1);
  CHECK(store.pin("b.test")->pinned_at == store.pin("[192.0.2.1]")->pinned_at);
  CHECK(store.pin("[192.0.2.1]")->suspects == 1);

  // Another server, never seen eligible: a new domain there is just ineligible.
  REQUIRE(store.put(simple("c.test", plain_address("192.0.2.9"), "mx.c.test", clock.now()), probe));
  CHECK(store.lookup("c.test").report->eligible == Eligibility::ineligible);
  CHECK_FALSE(store.pin("[192.0.2.9]").has_value());

  // The server eligible again (probed through a.test): its suspicion cleared,
  // and b.test's next stripped probe counts on b.test's own pin.
  REQUIRE(
      store.put(simple("a.test", good_address("192.0.2.1"), "mx.shared.test", clock.now()), probe));
  CHECK_FALSE(store.pin("[192.0.2.1]")->suspected());

  // unpin b.test releases the servers its report names too: the next
  // stripped probe is ineligible, not inherited again.
  CHECK(store.unpin("b.test").value());
  CHECK_FALSE(store.pin("[192.0.2.1]").has_value());
  REQUIRE(store.put(simple("b.test", plain_address("192.0.2.1"), "mx.shared.test", clock.now()),
                    probe));
  CHECK(store.lookup("b.test").report->eligible == Eligibility::ineligible);

  // pin_for 0: no server pins either.
  TempDir dir2;
  StoreOptions o = options_for(dir2.sub("c"), clock);
  o.pins.pin_for = 0;
  auto off = Store::open(o);
  REQUIRE(off.has_value());
  REQUIRE(
      (*off)->put(simple("a.test", good_address("192.0.2.1"), "mx.a.test", clock.now()), probe));
  CHECK_FALSE((*off)->pin("[192.0.2.1]").has_value());
}
