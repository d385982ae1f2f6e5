// SPDX-License-Identifier: Apache-2.0
// The libmilter side of forcetls-milter: the callbacks (connect, MAIL, RCPT,
// end of message, abort, close), their registration and the milter socket.
// The only component that links libmilter. libmilter keeps one filter per
// process and its callbacks have no user pointer, so the runtime and the
// report lookup they read are process-wide: set them before run().
#pragma once

#include <chrono>

#include "common/error.hpp"
#include "conf/socket_address.hpp"
#include "milter/recipients/recipient_check.hpp"
#include "milter/service/runtime.hpp"

namespace forcetls::milter::callbacks {

/// Registers the callbacks and opens the socket (before daemonising, so
/// errors reach the terminal, and before dropping root: privileged paths; a
/// stale unix socket is removed). TCP listeners get TCP_NODELAY.
Result<void> open(const conf::SocketAddress& socket, RuntimeSlot& runtime);

/// What RCPT asks for reports; null until set (recipients then get
/// milter.on_error). Must stay alive until withdraw_reports() says it is free.
void set_reports(cache::Reports* reports);

/// After run(): libmilter's session threads are detached and a late RCPT may
/// still be checking. From now on new recipients get milter.on_error; waits
/// up to `grace` for the checks still using the source. True when none is
/// left, so the source may be destroyed.
bool withdraw_reports(std::chrono::milliseconds grace);

/// smfi_main() on this thread until stop(); 0 when libmilter ended cleanly.
int run();
/// Any thread: run() returns within milliseconds. libmilter does not wait
/// for the sessions in progress (see withdraw_reports()).
void stop();

/// libmilter writes every modification (smfi_addheader, smfi_delrcpt, ...)
/// as its own packet, then the final reply as another. With Nagle's
/// algorithm on, that reply waits for the MTA's ACK of the first packet,
/// which the MTA delays (it sends nothing while it reads replies): about
/// 40 ms per modified message on Linux. libmilter does not expose its
/// sockets; Linux copies TCP_NODELAY from a listening socket to the sockets
/// it accepts, so it is set on the TCP listener(s) of this process. Returns
/// how many listeners were set.
int disable_nagle_on_listeners();

}  // namespace forcetls::milter::callbacks
