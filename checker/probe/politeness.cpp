// SPDX-License-Identifier: Apache-2.0
// Per-address pause, back-off and rate-limit stop (see the header).
#include "checker/probe/politeness.hpp"

#include <algorithm>

namespace forcetls::checker {

bool rate_limited(const SmtpResult& smtp) {
  const SmtpReply* reply = smtp.stop_reply();
  return (reply != nullptr && reply->code == 421) ||
         (smtp.status == SmtpStatus::closed && smtp.step == SmtpStep::greeting);
}

AddressPoliteness::AddressPoliteness(PolitenessOptions options)
    : options_(options), pause_(options.pause) {}

std::chrono::milliseconds AddressPoliteness::after(const SmtpResult& smtp) {
  if (stopped()) {
    return 0ms;
  }
  if (!rate_limited(smtp)) {
    in_a_row_ = 0;
    only_421_ = true;
    if (smtp.ok()) {
      pause_ = std::max(options_.pause, pause_ * 3 / 4);  // stay slow for a while
    }
    return pause_;
  }
  ++in_a_row_;
  const SmtpReply* reply = smtp.stop_reply();
  only_421_ = only_421_ && reply != nullptr && reply->code == 421;
  if (options_.rate_limit_stop > 0 && in_a_row_ >= options_.rate_limit_stop) {
    // Waiting longer would not help within one probe: a server that limits
    // over minutes answers the next try the same way. The cache asks again
    // when the unknown answers expire.
    stop_reason_ = "rate-limited: stopped after " + std::to_string(in_a_row_) +
                   (only_421_ ? " consecutive 421 replies"
                              : " consecutive refusals (421 or closed before the greeting)");
    return 0ms;
  }
  pause_ = std::min(options_.max_backoff, std::max(pause_ * 4, options_.rate_limit_pause));
  return pause_;
}

void AddressPoliteness::restart() {
  in_a_row_ = 0;
  only_421_ = true;
  stop_reason_.clear();
}

}  // namespace forcetls::checker
