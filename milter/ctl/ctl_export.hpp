// SPDX-License-Identifier: Apache-2.0
// forcetls-ctl `export --sendmail-access`: Sendmail access-map entries
// (`TLS_Rcpt:example.com ENCR:128`) for every cached domain that the policy
// puts under `require` and that is eligible — Sendmail's half of
// delivery-time enforcement, next to the FEATURE(sts) socket map. One call
// at a time; sendmail_access_line() is pure (any thread).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "checker/report/report.hpp"
#include "conf/config.hpp"
#include "milter/ctl/ctl.hpp"
#include "policy/decision.hpp"

namespace forcetls::milter {

/// The access-map line for one decision made with Policy::match_delivery,
/// or nullopt when the domain gets none (not require, not eligible). The
/// value is `ENCR:<bits>` — 128 when every MX negotiated an AES/ChaCha20-
/// class suite, else 112 (3DES) — or `VERIFY:<bits>` under
/// require_verified_cert (sendmail cf/README, "TLS_Rcpt").
std::optional<std::string> sendmail_access_line(const policy::Decision& decision,
                                                const checker::DomainReport& report);

/// `export --sendmail-access` (args after "export").
int export_command(const conf::Config& config, const policy::Policy& policy,
                   const std::vector<std::string>& args, CtlEnv& env);

}  // namespace forcetls::milter
