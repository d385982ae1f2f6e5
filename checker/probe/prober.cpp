// SPDX-License-Identifier: Apache-2.0
// The prober's orchestration. Why the order of steps: the full OpenSSL
// handshake comes first because it answers STARTTLS, the negotiated protocol
// and the certificate in one connection and often settles several plan
// questions; the raw ClientHello questions follow only while the plan still
// needs them (doc/checks.md: one question per connection, connections are the cost).
#include "checker/probe/prober.hpp"

#include <algorithm>
#include <asio/experimental/awaitable_operators.hpp>

#include "checker/auth/mta_sts.hpp"
#include "checker/probe/politeness.hpp"
#include "checker/report/cipher_suites.hpp"
#include "checker/smtp/raw_exchange.hpp"
#include "checker/smtp/socket_io.hpp"
#include "checker/tls/handshake_probe.hpp"
#include "checker/wire/server_hello.hpp"
#include "common/unix_time.hpp"

namespace forcetls::checker {

struct Prober::AddressState {
  AddressState(int limit, PolitenessOptions options) : gate(limit), politeness(options) {}
  AsyncGate gate;
  AddressPoliteness politeness;  // pause, back-off, the rate-limit stop
  int probes = 0;                // probes of the address in progress

  /// One probe of the address. Without remember_addresses (the daemon) the
  /// last one to end forgets a rate-limit stop, so the next refresh asks
  /// again; forcetls-check keeps it for its whole run.
  class Run {
   public:
    Run(AddressState& state, bool keep_stop) : state_(state), keep_stop_(keep_stop) {
      ++state_.probes;
    }
    ~Run() {
      if (--state_.probes == 0 && !keep_stop_) {
        state_.politeness.restart();
      }
    }
    Run(const Run&) = delete;
    Run& operator=(const Run&) = delete;

   private:
    AddressState& state_;
    bool keep_stop_;
  };
};

namespace {

// An SMTP outcome that says nothing about TLS: try again later, else unknown.
bool transient(const SmtpResult& smtp) {
  switch (smtp.status) {
    case SmtpStatus::starttls_ready:
    case SmtpStatus::no_starttls:
      return false;
    case SmtpStatus::rejected: {
      // A permanent refusal of STARTTLS itself is a definite "no TLS"; any
      // other refusal (421 busy, 554 go away, 454 TLS unavailable) only
      // means this connection learnt nothing.
      const SmtpReply* reply = smtp.stop_reply();
      return !(smtp.step == SmtpStep::starttls && reply != nullptr && reply->permanent());
    }
    default:
      return true;
  }
}

void set_no_tls(AddressReport& r) {
  r.starttls = Tri::no;
  r.ssl3 = r.tls1_0 = r.tls1_1 = r.tls1_2 = r.tls1_3 = Tri::no;
  r.weak = Tri::no;
  r.nist_r1 = r.nist_r2 = Tri::no;
}

void copy_certificate(const TlsHandshakeResult& tls, AddressReport& r) {
  r.protocol = tls.protocol;
  r.cipher = tls.cipher;
  r.cert.trusted = tls.cert.trusted;
  r.cert.expired = (tls.cert.expired == Tri::yes || tls.cert.not_yet_valid == Tri::yes) ? Tri::yes
                   : (tls.cert.expired == Tri::no && tls.cert.not_yet_valid == Tri::no)
                       ? Tri::no
                       : Tri::unknown;
  r.cert.name_match = tls.cert.name_match;
  r.cert.verify_error = tls.cert.verify_error;
  if (!tls.chain.empty()) {
    const CertificateInfo& leaf = tls.chain.front();
    r.cert.cn = leaf.common_name;
    r.cert.sans = leaf.dns_names;
    r.cert.issuer = leaf.issuer;
    r.cert.not_after = leaf.not_after;
    r.cert.not_after_unix = leaf.not_after_unix;
  }
}

std::optional<TlsVersion> version_of(int wire) {
  if (wire < 0x0300 || wire > 0x0304) {
    return std::nullopt;
  }
  return static_cast<TlsVersion>(wire);
}

std::string key_of(const std::string& host, const asio::ip::address& address, std::uint16_t port) {
  return host + "|" + address.to_string() + "|" + std::to_string(port);
}

DnssecStatus worst(DnssecStatus a, DnssecStatus b) {
  auto rank = [](DnssecStatus s) {
    switch (s) {
      case DnssecStatus::bogus:
        return 0;
      case DnssecStatus::indeterminate:
        return 1;
      case DnssecStatus::insecure:
        return 2;
      case DnssecStatus::secure:
        return 3;
    }
    return 1;
  };
  return rank(a) <= rank(b) ? a : b;
}

// The DANE state of one handshake: what arm() left, what outcome() found.
struct DaneSlot {
  DaneVerifier::Armed armed;
  std::optional<DaneOutcome> outcome;
};

// Arms `dane` on every handshake made with `tls`; the outcome lands in `slot`
// (shared: the hooks are copied into the handshake coroutine).
void attach_dane(TlsHandshakeOptions& tls, std::shared_ptr<const DaneVerifier> dane,
                 std::shared_ptr<DaneSlot> slot) {
  tls.before_handshake = [dane, slot](SSL* ssl) {
    slot->outcome.reset();
    slot->armed = dane->arm(ssl);
  };
  tls.after_handshake = [dane, slot](SSL* ssl) { slot->outcome = dane->outcome(ssl, slot->armed); };
}

// The outcome of one probe, with the address in its words. Without a
// completed handshake the certificate was never seen: unknown.
DaneOutcome dane_outcome_of(const HandshakeProbeResult& hs, const DaneSlot& slot,
                            const std::string& address) {
  if (slot.outcome && hs.ok()) {
    return {slot.outcome->match, address + ": " + slot.outcome->detail};
  }
  if (!hs.smtp.ok()) {
    return {Tri::unknown, address + ": no TLS handshake (" + hs.smtp.summary() + ")"};
  }
  return {Tri::unknown, address + ": no completed TLS handshake (" +
                            (hs.tls ? hs.tls->detail : std::string("not attempted")) + ")"};
}

// The name the TLSA records were found at, from "_25._tcp.<name>".
std::string tlsa_owner_host(const TlsaResult& tlsa) {
  if (tlsa.lookups.empty()) {
    return "";
  }
  const std::string& qname = tlsa.lookups.back().qname;
  std::size_t at = qname.find("._tcp.");
  return at == std::string::npos ? "" : qname.substr(at + 6);
}

}  // namespace

Result<std::unique_ptr<Prober>> Prober::create(Resolver& resolver, ProberOptions options) {
  auto wide = TlsClientContext::create(options.tls);
  if (!wide) {
    return std::unexpected(wide.error());
  }
  // The fast answer: TLS 1.0-1.2 and only the r1 suites OpenSSL has. It
  // trusts what the wide one trusts, from the same store: the CAs are loaded once.
  TlsClientOptions quick_options = options.tls;
  quick_options.max_version = TLS1_2_VERSION;
  quick_options.cipher_list = openssl_cipher_list(nist_r1_suites()) + ":@SECLEVEL=0";
  auto quick = TlsClientContext::create(quick_options, *wide);
  if (!quick) {
    return std::unexpected(quick.error());
  }
  auto prober = std::unique_ptr<Prober>(
      new Prober(resolver, std::move(options), std::move(*wide), std::move(*quick)));
  if (prober->options_.mta_sts) {
    StsFetchOptions sts;
    sts.ca_file = prober->options_.tls.ca_file;
    sts.ca_path = prober->options_.tls.ca_path;
    sts.address_policy = prober->options_.mx.address_policy;
    sts.families = prober->options_.mx.families;
    sts.connect_timeout = prober->options_.mta_sts_connect_timeout;
    sts.total_timeout = prober->options_.mta_sts_timeout;
    sts.port = prober->options_.mta_sts_port;
    prober->sts_ = std::make_unique<StsFetcher>(resolver, std::move(sts));
  }
  return prober;
}

Prober::Prober(Resolver& resolver, ProberOptions options, TlsClientContext wide,
               TlsClientContext quick)
    : resolver_(resolver),
      options_(std::move(options)),
      wide_(std::move(wide)),
      quick_(std::move(quick)),
      flights_(options_.remember_addresses),
      dane_flights_(options_.remember_addresses) {}

Prober::~Prober() = default;

Prober::AddressState& Prober::state_for(const asio::ip::address& address, std::uint16_t port) {
  std::string key = address.to_string() + "|" + std::to_string(port);
  auto& slot = states_[key];
  if (!slot) {
    slot = std::make_unique<AddressState>(std::max(1, options_.per_address_connections),
                                          options_.politeness);
  }
  return *slot;
}

namespace {

// One address being probed: its connections share the address's gate and
// politeness, and are counted in `connections` as they are opened.
struct AddressProbe {
  const std::string& host;
  Endpoint endpoint;
  AsyncGate& gate;
  AddressPoliteness& politeness;
  int& connections;
};

// One OpenSSL handshake probe under the gate, then the pause (or back-off);
// nullopt, without connecting, once the address is stopped.
asio::awaitable<std::optional<HandshakeProbeResult>> handshake_once(
    const AddressProbe& at, const TlsClientContext& context,
    const HandshakeProbeOptions& hs_options) {
  GateSlot slot = co_await GateSlot::take(at.gate);
  if (at.politeness.stopped()) {
    co_return std::nullopt;
  }
  HandshakeProbeResult hs = co_await probe_handshake(at.endpoint, at.host, context, hs_options);
  at.connections += hs.connections;
  co_await sleep_for(at.politeness.after(hs.smtp));
  co_return hs;
}

// The full handshake, retried once when the connection learnt nothing
// (refused, 421, timeout, ...). `dane` is cleared before each attempt.
// nullopt when the address was stopped before the first attempt.
asio::awaitable<std::optional<HandshakeProbeResult>> handshake_with_retry(
    const AddressProbe& at, const TlsClientContext& context,
    const HandshakeProbeOptions& hs_options, DaneSlot& dane) {
  std::optional<HandshakeProbeResult> hs;
  for (int attempt = 1; attempt <= 2; ++attempt) {
    dane.outcome.reset();
    std::optional<HandshakeProbeResult> next = co_await handshake_once(at, context, hs_options);
    if (!next) {
      break;
    }
    hs = std::move(next);
    bool tls_timeout = hs->smtp.ok() && hs->tls && hs->tls->status == HandshakeStatus::timeout;
    if (!transient(hs->smtp) && !tls_timeout) {
      break;
    }
  }
  co_return hs;
}

// Fills `r` from the quick handshake when it proves eligibility by itself
// (TLS 1.2 or 1.0 with an r1 suite); false when the full probe must follow.
bool take_quick_answer(const HandshakeProbeResult& quick, AddressReport& r) {
  if (!(quick.ok() &&
        (quick.tls->protocol_version == 0x0303 || quick.tls->protocol_version == 0x0301) &&
        is_nist_r1(quick.tls->cipher_id))) {
    return false;
  }
  r.starttls = Tri::yes;
  (quick.tls->protocol_version == 0x0303 ? r.tls1_2 : r.tls1_0) = Tri::yes;
  r.nist_r1 = Tri::yes;
  if (is_nist_r2(quick.tls->cipher_id)) {
    r.nist_r2 = Tri::yes;
  }
  copy_certificate(*quick.tls, r);
  r.notes.push_back("quick check: eligibility proven by one handshake; other answers not probed");
  return true;
}

// What a failed SMTP dialogue says: no TLS when it was definite, else
// everything stays unknown.
void note_smtp_failure(const SmtpResult& smtp, AddressReport& r) {
  if (smtp.status == SmtpStatus::no_starttls || !transient(smtp)) {
    set_no_tls(r);
  }
  r.error = smtp.summary();
}

// What the full handshake (after STARTTLS was accepted) says, in `r` and
// in `plan`.
void note_handshake(const HandshakeProbeResult& hs, AddressReport& r, ProbePlan& plan) {
  if (hs.smtp.discarded_after_starttls > 0) {
    r.notes.push_back("server sent " + std::to_string(hs.smtp.discarded_after_starttls) +
                      " bytes after its 220 to STARTTLS (discarded: possible plaintext injection)");
  }
  if (hs.tls && hs.tls->ok()) {
    r.starttls = Tri::yes;
    copy_certificate(*hs.tls, r);
    if (auto v = version_of(hs.tls->protocol_version)) {
      plan.note_handshake(*v, hs.tls->cipher_id, TlsVersion::tls1_3);
    }
  } else {
    std::string why = hs.tls ? hs.tls->detail : std::string("no handshake");
    // STARTTLS was accepted but no TLS session could be set up: "SMTP TLS
    // enabled" needs a completed handshake (doc/checks.md). A timeout is unknown.
    r.starttls = (hs.tls && hs.tls->status == HandshakeStatus::timeout) ? Tri::unknown : Tri::no;
    r.error = "TLS handshake: " + why;
    plan.note_handshake_failed(why);
  }
}

// Sends `hello` on a socket after STARTTLS and classifies the ServerHello
// (or the silence) that comes back. Closes the socket.
asio::awaitable<ProbeResult> exchange_hello(Socket& socket, const ClientHelloOptions& offered,
                                            const std::vector<std::uint8_t>& hello,
                                            std::chrono::milliseconds timeout) {
  ServerHelloParser parser;
  RawEnough enough = [&parser](std::span<const std::uint8_t> all) {
    return parser.feed_cumulative(all).index() != 0;
  };
  RawExchangeResult raw =
      co_await exchange_raw(socket, hello, timeout, ServerHelloParser::kMaxBytes, enough);
  close_quietly(socket);
  ProbeResult result;
  switch (raw.end) {
    case RawEnd::enough:
      result = classify(parser.reply(), offered);
      break;
    case RawEnd::eof:
      result = classify(parser, offered, StreamEnd::closed);
      break;
    case RawEnd::reset:
      result = classify(parser, offered, StreamEnd::reset);
      break;
    case RawEnd::timeout:
      result = classify(parser, offered, StreamEnd::timeout);
      break;
    default:
      result.acceptance = Acceptance::unknown;
      result.reason = std::string(to_string(raw.end)) + ": " + raw.detail;
      break;
  }
  co_return result;
}

// One of the plan's hand-built ClientHello questions, on a connection of its
// own under the gate, then the pause; nullopt, not asked, once the address
// is stopped.
asio::awaitable<std::optional<ProbeResult>> ask_hello(const AddressProbe& at, const Probe& probe,
                                                      const RandomSource& random,
                                                      const ProberOptions& options) {
  ProbeResult result;
  GateSlot slot = co_await GateSlot::take(at.gate);
  if (at.politeness.stopped()) {
    co_return std::nullopt;
  }
  Socket socket(co_await asio::this_coro::executor);
  SmtpResult smtp = co_await smtp_connect_starttls(socket, at.endpoint, options.smtp);
  ++at.connections;
  if (!smtp.ok()) {
    result.acceptance = Acceptance::unknown;
    result.reason = smtp.summary();
  } else {
    ClientHelloOptions offered = probe.hello(at.host);
    auto hello = build_client_hello(offered, random);
    if (!hello) {
      result.acceptance = Acceptance::unknown;
      result.reason = "cannot build hello: " + hello.error().message;
      close_quietly(socket);
    } else {
      result = co_await exchange_hello(socket, offered, *hello, options.raw_timeout);
    }
  }
  co_await sleep_for(at.politeness.after(smtp));
  co_return result;
}

// The plan's questions until it is done or the address is stopped; true
// when questions were left unasked because of the stop.
asio::awaitable<bool> ask_plan(const AddressProbe& at, ProbePlan& plan,
                               const ProberOptions& options) {
  RandomSource random = system_random();
  while (std::optional<Probe> probe = plan.next()) {
    std::optional<ProbeResult> result = co_await ask_hello(at, *probe, random, options);
    if (!result) {
      co_return true;
    }
    plan.record(*probe, *result);
  }
  co_return false;
}

}  // namespace

asio::awaitable<Prober::Probed> Prober::probe_address(std::string host, asio::ip::address address,
                                                      std::uint16_t port, std::string refused,
                                                      DanePtr dane) {
  Probed p;
  if (!refused.empty()) {
    p.report.address = address.to_string();
    p.report.port = port;
    p.report.probed = false;
    p.report.error = refused;
    co_return p;
  }
  const std::string key = key_of(host, address, port);
  const std::string dane_key = dane ? dane->key() : std::string();
  bool known = false;
  if (options_.known_address) {
    if (std::optional<AddressReport> r = options_.known_address(host, address.to_string(), port)) {
      ++reused_;
      p.report = std::move(*r);
      known = true;
    }
  }
  if (!known) {
    auto make = [this, host, address, port, dane]() {
      return probe_address_now(host, address, port, dane);
    };
    p = co_await flights_.get(key, make);
  }
  if (!dane) {
    p.dane.reset();
    p.dane_key.clear();
    co_return p;
  }
  if (!p.dane || p.dane_key != dane_key) {
    // Probed without these TLSA records: DANE needs a handshake of its own,
    // unless the address speaks no TLS at all.
    if (p.report.starttls == Tri::no) {
      p.dane = DaneOutcome{Tri::unknown, p.report.address + ": no TLS (" + p.report.error + ")"};
    } else {
      auto make = [this, host, address, port, dane]() {
        return probe_dane_now(host, address, port, dane);
      };
      p.dane = co_await dane_flights_.get(key + "|" + dane_key, make);
    }
    p.dane_key = dane_key;
  }
  co_return p;
}

asio::awaitable<DaneOutcome> Prober::probe_dane_now(std::string host, asio::ip::address address,
                                                    std::uint16_t port, DanePtr dane) {
  AddressState& state = state_for(address, port);
  const AddressState::Run run(state, options_.remember_addresses);
  const AddressProbe at{host, make_endpoint(address, port), state.gate, state.politeness,
                        connections_};
  HandshakeProbeOptions hs_options;
  hs_options.smtp = options_.smtp;
  hs_options.tls.handshake_timeout = options_.tls_timeout;
  auto slot = std::make_shared<DaneSlot>();
  attach_dane(hs_options.tls, dane, slot);
  std::optional<HandshakeProbeResult> hs =
      co_await handshake_with_retry(at, wide_, hs_options, *slot);
  if (!hs) {
    co_return DaneOutcome{Tri::unknown,
                          address.to_string() + ": " + state.politeness.stop_reason()};
  }
  co_return dane_outcome_of(*hs, *slot, address.to_string());
}

asio::awaitable<Prober::Probed> Prober::probe_address_now(std::string host,
                                                          asio::ip::address address,
                                                          std::uint16_t port, DanePtr dane) {
  Probed probed;
  AddressReport& r = probed.report;
  r.address = address.to_string();
  r.port = port;
  AddressState& state = state_for(address, port);
  const AddressState::Run run(state, options_.remember_addresses);
  int connections = 0;
  const AddressProbe at{host, make_endpoint(address, port), state.gate, state.politeness,
                        connections};
  // Every way out: the connections made, and why the probe ended early when
  // the address stopped answering (the answers not had stay unknown).
  auto finish = [&](bool cut_short) {
    r.connections = connections;
    connections_ += connections;
    if (cut_short && state.politeness.stopped()) {
      r.notes.push_back(state.politeness.stop_reason());
    }
  };

  HandshakeProbeOptions hs_options;
  hs_options.smtp = options_.smtp;
  hs_options.tls.handshake_timeout = options_.tls_timeout;
  // DANE rides on the handshakes below: no extra connection.
  auto dane_slot = std::make_shared<DaneSlot>();
  if (dane) {
    attach_dane(hs_options.tls, dane, dane_slot);
    probed.dane_key = dane->key();
  }
  auto take_dane = [&](const HandshakeProbeResult& from) {
    if (dane) {
      probed.dane = dane_outcome_of(from, *dane_slot, r.address);
    }
  };
  // Stopped before any handshake (an earlier probe of the address in this
  // run was refused): nothing is known.
  auto not_asked = [&]() {
    r.error = state.politeness.stop_reason();
    if (dane) {
      probed.dane = DaneOutcome{Tri::unknown, r.address + ": " + r.error};
    }
    finish(false);
  };

  // 1. The fast answer (quick mode only).
  std::optional<SmtpResult> quick_smtp;
  if (options_.quick) {
    std::optional<HandshakeProbeResult> quick = co_await handshake_once(at, quick_, hs_options);
    if (!quick) {
      not_asked();
      co_return probed;
    }
    quick_smtp = quick->smtp;
    if (take_quick_answer(*quick, r)) {
      finish(false);
      take_dane(*quick);
      co_return probed;
    }
  }

  // 2. The full OpenSSL handshake with the widest offer, retried once when
  //    the connection learnt nothing. A quick probe that already found no
  //    STARTTLS needs no second look.
  ProbePlan plan(options_.plan);
  std::optional<HandshakeProbeResult> hs;
  if (options_.quick && quick_smtp && !quick_smtp->ok() && !transient(*quick_smtp)) {
    hs.emplace();
    hs->smtp = *quick_smtp;
  } else {
    hs = co_await handshake_with_retry(at, wide_, hs_options, *dane_slot);
  }
  if (!hs) {
    not_asked();
    co_return probed;
  }
  take_dane(*hs);
  if (!hs->smtp.ok()) {
    note_smtp_failure(hs->smtp, r);
    finish(transient(hs->smtp));  // a definite refusal is not noted as a stop
    co_return probed;
  }
  note_handshake(*hs, r, plan);

  // 3. The plan's hand-built ClientHello questions, one per connection.
  const bool cut_short = co_await ask_plan(at, plan, options_);
  copy_answers(plan.answers(), r);
  if (r.starttls == Tri::no && hs->tls && !hs->tls->ok()) {
    r.notes.push_back("the server answers hand-built ClientHellos, but no TLS handshake completes");
  }
  finish(cut_short);
  co_return probed;
}

asio::awaitable<MxReport> Prober::probe_host(MxHost host, std::uint16_t port) {
  MxReport m;
  m.host = host.name;
  m.priority = host.preference;
  m.dnssec = DnssecStatus::secure;
  for (const Lookup* l : {&host.a, &host.aaaa}) {
    if (l->outcome != LookupOutcome::skipped) {
      m.dnssec = worst(m.dnssec, l->dnssec);
    }
  }
  if (host.status != HostStatus::ok) {
    m.dns_error = host.problem;
  }
  if (host.status == HostStatus::dns_failure) {
    bool bogus = host.a.dnssec == DnssecStatus::bogus || host.aaaa.dnssec == DnssecStatus::bogus;
    m.dns_failure = bogus ? UnknownCause::dnssec_bogus : UnknownCause::dns_failure;
  }
  // DANE (RFC 7672): armed on the handshakes when the host has usable TLSA
  // records; the names for DANE-TA(2) checks are the MX host and, when the
  // records were found at its CNAME target, that name too (§2.2.2, §3.2.2).
  DanePtr dane;
  if (host.tlsa.state == TlsaState::found) {
    std::vector<std::string> names{host.name};
    if (std::string owner = tlsa_owner_host(host.tlsa); !owner.empty() && owner != host.name) {
      names.push_back(owner);
    }
    if (auto v = DaneVerifier::for_host(std::move(names), host.tlsa.records)) {
      dane = std::make_shared<const DaneVerifier>(std::move(*v));
    }
  }
  std::vector<asio::awaitable<Probed>> tasks;
  for (const MxAddress& a : host.addresses) {
    tasks.push_back(probe_address(host.name, a.address, port, a.refused, dane));
  }
  std::vector<Probed> probed = co_await gather(std::move(tasks));
  std::vector<std::optional<DaneOutcome>> outcomes;
  for (Probed& p : probed) {
    outcomes.push_back(std::move(p.dane));
    m.addresses.push_back(std::move(p.report));
  }
  m.dane = dane_report(host.tlsa, outcomes);
  co_return m;
}

asio::awaitable<DomainReport> Prober::check(ReportTarget target) {
  // (No co_await inside ?: — GCC 12 miscompiles it.)
  DomainReport r;
  if (target.kind == ReportTarget::Kind::server) {
    r = co_await check_server(target.name, target.port);
  } else {
    r = co_await check_domain(target.name, target.port);
  }
  r.domain = target.key();
  co_return r;
}

asio::awaitable<DomainReport> Prober::check_domain(std::string domain,
                                                   std::optional<std::uint16_t> port) {
  using namespace asio::experimental::awaitable_operators;
  const std::uint16_t p = port.value_or(options_.port);
  // MTA-STS and TLSRPT need only the domain: fetched while the MX hosts are
  // probed; matching the MX hosts against the policy waits for both. An
  // MTA-STS policy speaks of port 25 (RFC 8461 §3.1's MX hosts) only.
  // (The argument is a named variable: GCC 12 mishandles temporaries made
  // inside a co_await expression.)
  std::string sts_domain = p == 25 ? domain : std::string();
  auto [r, sts] = co_await (probe_domain_mx(domain, p) && fetch_sts(std::move(sts_domain)));
  r.mta_sts = std::move(sts.mta_sts);
  r.tlsrpt = std::move(sts.tlsrpt);
  if (sts.fetched) {
    std::vector<std::string> hosts;
    for (const MxReport& m : r.mx) {
      hosts.push_back(m.host);
    }
    r.mta_sts_enforce = sts_enforce(r.mta_sts, hosts);
    // Without the MX hosts there is nothing to match: unknown, unless no
    // valid policy applies anyway.
    if (r.dns_failure != UnknownCause::none && r.mta_sts.mode) {
      r.mta_sts_enforce = Tri::unknown;
    }
  }
  r.checked_at = unix_now();
  judge(r, options_.judge);
  co_return r;
}

asio::awaitable<Prober::StsPart> Prober::fetch_sts(std::string domain) {
  StsPart part;
  if (!sts_ || domain.empty()) {
    co_return part;
  }
  std::optional<MtaStsReport> previous;
  if (options_.previous_mta_sts) {
    previous = options_.previous_mta_sts(domain);
  }
  part.mta_sts = co_await sts_->fetch(domain, std::move(previous));
  part.tlsrpt = co_await sts_->fetch_tlsrpt(domain);
  part.fetched = true;
  co_return part;
}

asio::awaitable<DomainReport> Prober::probe_domain_mx(std::string domain, std::uint16_t port) {
  DomainReport r;
  r.domain = domain;
  MxOptions mx_options = options_.mx;
  mx_options.port = port;
  MxResult mx = co_await resolve_mx(resolver_, domain, mx_options);
  r.dnssec = mx.dnssec();
  r.dns_ttl = mx.min_ttl();
  switch (mx.status) {
    case MxStatus::ok:
      r.source = mx.implicit_mx ? MxSource::implicit : MxSource::mx;
      break;
    case MxStatus::null_mx:
      r.source = MxSource::null_mx;
      break;
    case MxStatus::nxdomain:
      r.source = MxSource::none;
      r.dns_error = mx.reason.empty() ? "the domain does not exist (NXDOMAIN)" : mx.reason;
      break;
    case MxStatus::dns_failure:
      r.source = MxSource::none;
      r.dns_error = mx.reason;
      r.dns_failure = mx.mx.dnssec == DnssecStatus::bogus ? UnknownCause::dnssec_bogus
                                                          : UnknownCause::dns_failure;
      break;
  }
  if (mx.status == MxStatus::ok) {
    std::vector<asio::awaitable<MxReport>> tasks;
    for (MxHost& host : mx.hosts) {
      tasks.push_back(probe_host(std::move(host), port));
    }
    r.mx = co_await gather(std::move(tasks));
  }
  r.dane = domain_dane(r);
  co_return r;
}

asio::awaitable<DomainReport> Prober::check_server(std::string host, std::uint16_t port) {
  DomainReport r;
  r.domain = host;
  r.source = MxSource::mx;
  MxHost h;
  h.name = host;
  // RFC 7672 §2.2: DANE starts from a DNSSEC-secure MX answer; a server
  // checked directly has none.
  h.tlsa.reason = "a server checked directly has no MX answer";
  asio::error_code ec;
  asio::ip::address literal = asio::ip::make_address(host, ec);
  if (!ec) {
    MxAddress a;
    a.address = literal;
    if (auto why = options_.mx.address_policy.refusal(literal)) {
      a.refused = *why;
    }
    h.addresses.push_back(a);
    r.dnssec = DnssecStatus::indeterminate;
  } else {
    r.dnssec = DnssecStatus::secure;
    for (DnsType type : {DnsType::a, DnsType::aaaa}) {
      if ((type == DnsType::a && !options_.mx.families.ipv4) ||
          (type == DnsType::aaaa && !options_.mx.families.ipv6)) {
        continue;
      }
      std::string name = host;
      Result<DnsAnswer> answer = co_await resolver_.query(name, type);
      if (!answer) {
        h.status = HostStatus::dns_failure;
        h.problem = answer.error().message;
        continue;
      }
      r.dnssec = worst(r.dnssec, answer->dnssec);
      if (answer->bogus() || answer->rcode != rcode::noerror) {
        if (!answer->nxdomain) {
          h.status = HostStatus::dns_failure;
          h.problem = answer->bogus() ? "DNSSEC bogus: " + answer->why_bogus
                                      : "DNS " + rcode_name(answer->rcode);
        }
        continue;
      }
      for (const asio::ip::address& address : answer->addresses) {
        MxAddress a;
        a.address = address;
        a.dnssec = answer->dnssec;
        if (auto why = options_.mx.address_policy.refusal(address)) {
          a.refused = *why;
        }
        h.addresses.push_back(a);
      }
    }
    if (h.addresses.empty() && h.status == HostStatus::ok) {
      h.status = HostStatus::no_addresses;
      h.problem = host + " has no address records";
    }
  }
  MxReport m = co_await probe_host(h, port);
  m.dnssec = r.dnssec;
  r.mx.push_back(std::move(m));
  if (r.mx.front().addresses.empty()) {
    r.source = MxSource::none;
    r.dns_error = r.mx.front().dns_error;
    r.dns_failure = r.mx.front().dns_failure;
  }
  r.dane = domain_dane(r);
  r.checked_at = unix_now();
  judge(r, options_.judge);
  co_return r;
}

}  // namespace forcetls::checker
