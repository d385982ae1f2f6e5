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

/// Fills the xxfi_negotiate outputs from what the MTA offers (f0 actions,
/// f1 protocol steps) and sets the macro lists when the MTA allows it.
/// `required`: the SMFIF actions the policy needs. When the MTA does not
/// offer all of them, returns SMFIS_REJECT: libmilter ends the session and
/// the MTA applies its milter_default_action (Postfix) or F= (Sendmail),
/// instead of passing mail the policy would have changed unchanged.
inline sfsistat negotiate(SMFICTX* ctx, unsigned long f0, unsigned long f1, unsigned long required,
                          unsigned long* pf0, unsigned long* pf1, unsigned long* pf2,
                          unsigned long* pf3) {
  if ((required & ~f0) != 0) {
    return SMFIS_REJECT;
  }
  // Steps we never look at: the MTA need not send them.
  constexpr unsigned long kSkip =
      SMFIP_NOHELO | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOBODY | SMFIP_NOUNKNOWN | SMFIP_NODATA;
  *pf0 = kFilterFlags & f0;
  *pf1 = kSkip & f1;
  *pf2 = 0;
  *pf3 = 0;
  if ((f0 & SMFIF_SETSYMLIST) != 0) {
    smfi_setsymlist(ctx, SMFIM_CONNECT, const_cast<char*>("{daemon_name}"));
    smfi_setsymlist(ctx, SMFIM_ENVFROM, const_cast<char*>("i {auth_authen} {daemon_name}"));
    smfi_setsymlist(ctx, SMFIM_ENVRCPT, const_cast<char*>("i"));
    smfi_setsymlist(ctx, SMFIM_EOM, const_cast<char*>("i"));
  }
  return SMFIS_CONTINUE;
}

}  // namespace forcetls::milter
