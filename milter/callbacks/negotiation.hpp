// SPDX-License-Identifier: Apache-2.0
// The libmilter negotiation of forcetls-milter: the actions it may take, the
// protocol steps the MTA can skip, and the macros it asks for. Header-only so
// the throughput benchmark's no-op milter (tests/bench/noop_milter.cpp)
// negotiates exactly the same. Called from libmilter's xxfi_negotiate (any
// libmilter worker thread).
#pragma once

#include <libmilter/mfapi.h>

namespace forcetls::milter {

/// The actions forcetls-milter may take: registered (smfiDesc.xxfi_flags) and
/// negotiated, one list for both.
inline constexpr unsigned long kFilterFlags =
    SMFIF_ADDHDRS | SMFIF_QUARANTINE | SMFIF_DELRCPT | SMFIF_ADDRCPT | SMFIF_SETSYMLIST;

/// What a session negotiated beyond the fixed choices.
struct Negotiated {
  /// The MTA skips the connect step: the client is read from the
  /// `{client_addr}` and `{client_port}` macros at MAIL.
  bool no_connect = false;
  /// The MTA does not wait for MAIL's reply: xxfi_envfrom must return
  /// SMFIS_NOREPLY, and a failure there is acted on at RCPT.
  bool no_reply_mail = false;
};

/// Fills the xxfi_negotiate outputs from what the MTA offers (f0 actions,
/// f1 protocol steps) and sets the macro lists when the MTA allows it.
/// `required`: the SMFIF actions the policy needs. When the MTA does not
/// offer all of them, returns SMFIS_REJECT: libmilter ends the session and
/// the MTA applies its milter_default_action (Postfix) or F= (Sendmail),
/// instead of passing mail the policy would have changed unchanged.
/// The connect step is skipped only when the macros at MAIL can be asked
/// for (SMFIF_SETSYMLIST): they are what tells a local submission then.
inline sfsistat negotiate(SMFICTX* ctx, unsigned long f0, unsigned long f1, unsigned long required,
                          unsigned long* pf0, unsigned long* pf1, unsigned long* pf2,
                          unsigned long* pf3, Negotiated* out = nullptr) {
  if ((required & ~f0) != 0) {
    return SMFIS_REJECT;
  }
  // Steps we never look at: the MTA need not send them.
  constexpr unsigned long kSkip = SMFIP_NOHELO | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOBODY |
                                  SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NR_MAIL;
  const bool symlist = (f0 & SMFIF_SETSYMLIST) != 0;
  *pf0 = kFilterFlags & f0;
  *pf1 = (kSkip | (symlist ? SMFIP_NOCONNECT : 0UL)) & f1;
  *pf2 = 0;
  *pf3 = 0;
  if (out != nullptr) {
    out->no_connect = (*pf1 & SMFIP_NOCONNECT) != 0;
    out->no_reply_mail = (*pf1 & SMFIP_NR_MAIL) != 0;
  }
  if (symlist) {
    smfi_setsymlist(ctx, SMFIM_CONNECT, const_cast<char*>("{daemon_name}"));
    smfi_setsymlist(ctx, SMFIM_ENVFROM,
                    const_cast<char*>("i {auth_authen} {daemon_name} {client_addr} {client_port}"));
    smfi_setsymlist(ctx, SMFIM_ENVRCPT, const_cast<char*>("i"));
    smfi_setsymlist(ctx, SMFIM_EOM, const_cast<char*>("i"));
  }
  return SMFIS_CONTINUE;
}

}  // namespace forcetls::milter
