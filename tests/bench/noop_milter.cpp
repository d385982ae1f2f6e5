// SPDX-License-Identifier: Apache-2.0
// noop-milter: the throughput benchmark's baselines (tests/bench/milter_load.py).
// A libmilter milter that decides nothing: every callback continues. By
// default it negotiates the same steps, actions and macros as
// forcetls-milter (milter/callbacks/negotiation.hpp): the cost of forcetls's
// protocol choices without its work. With --minimal it has RCPT and EOM
// callbacks only, no actions and no xxfi_negotiate, so libmilter itself asks
// the MTA to skip every other step (it derives SMFIP_NO* from the NULL
// callbacks only without a negotiate callback): the ceiling for any milter
// that decides at RCPT. It counts the RCPTs and messages it saw
// so the benchmark can prove that the MTA really used it, and prints the
// counts on stderr when it stops (SIGTERM/SIGINT, via smfi_main's return).
//
//   noop-milter [--minimal] inet:PORT@127.0.0.1
//
// libmilter runs the callbacks on its threads; the counters are atomics.
#include <libmilter/mfapi.h>

#include <atomic>
#include <cstdio>
#include <string_view>

#include "milter/callbacks/negotiation.hpp"

namespace {

std::atomic<unsigned long> g_rcpts{0};
std::atomic<unsigned long> g_messages{0};
std::atomic<unsigned long> g_connections{0};
std::atomic<bool> g_no_reply_mail{false};

sfsistat on_negotiate(SMFICTX* ctx, unsigned long f0, unsigned long f1, unsigned long /*f2*/,
                      unsigned long /*f3*/, unsigned long* pf0, unsigned long* pf1,
                      unsigned long* pf2, unsigned long* pf3) {
  g_connections.fetch_add(1, std::memory_order_relaxed);  // every session negotiates
  forcetls::milter::Negotiated n;
  const sfsistat status = forcetls::milter::negotiate(ctx, f0, f1, 0, pf0, pf1, pf2, pf3, &n);
  g_no_reply_mail.store(n.no_reply_mail, std::memory_order_relaxed);  // one MTA per run
  return status;
}

sfsistat on_connect(SMFICTX* /*ctx*/, char* /*host*/, _SOCK_ADDR* /*addr*/) {
  return SMFIS_CONTINUE;  // not sent by an MTA that lets the milter skip it
}
sfsistat on_envfrom(SMFICTX* /*ctx*/, char** /*argv*/) {
  return g_no_reply_mail.load(std::memory_order_relaxed) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}
sfsistat on_envrcpt(SMFICTX* /*ctx*/, char** /*argv*/) {
  g_rcpts.fetch_add(1, std::memory_order_relaxed);
  return SMFIS_CONTINUE;
}
sfsistat on_eom(SMFICTX* /*ctx*/) {
  g_messages.fetch_add(1, std::memory_order_relaxed);
  return SMFIS_CONTINUE;
}
sfsistat on_abort(SMFICTX* /*ctx*/) { return SMFIS_CONTINUE; }
sfsistat on_close(SMFICTX* /*ctx*/) { return SMFIS_CONTINUE; }

}  // namespace

int main(int argc, char** argv) {
  const bool minimal = argc == 3 && std::string_view(argv[1]) == "--minimal";
  if (argc != 2 && !minimal) {
    std::fprintf(stderr, "usage: noop-milter [--minimal] SOCKET (e.g. inet:8894@127.0.0.1)\n");
    return 2;
  }
  char* socket = argv[argc - 1];
  smfiDesc desc{};
  desc.xxfi_name = const_cast<char*>("noop");
  desc.xxfi_version = SMFI_VERSION;
  desc.xxfi_envrcpt = on_envrcpt;
  desc.xxfi_eom = on_eom;
  if (!minimal) {
    desc.xxfi_flags =
        SMFIF_ADDHDRS | SMFIF_QUARANTINE | SMFIF_DELRCPT | SMFIF_ADDRCPT | SMFIF_SETSYMLIST;
    desc.xxfi_connect = on_connect;
    desc.xxfi_envfrom = on_envfrom;
    desc.xxfi_abort = on_abort;
    desc.xxfi_close = on_close;
    desc.xxfi_negotiate = on_negotiate;
  }
  if (smfi_setconn(socket) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS ||
      smfi_opensocket(1) != MI_SUCCESS) {
    std::fprintf(stderr, "noop-milter: cannot listen on %s\n", socket);
    return 1;
  }
  std::fprintf(stderr, "noop-milter: event=started socket=%s%s\n", socket,
               minimal ? " minimal=yes" : "");
  const int status = smfi_main();
  std::fprintf(stderr, "noop-milter: event=stopped connections=%lu messages=%lu rcpts=%lu\n",
               g_connections.load(), g_messages.load(), g_rcpts.load());
  return status == MI_SUCCESS ? 0 : 1;
}
