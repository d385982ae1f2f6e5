// SPDX-License-Identifier: Apache-2.0
// Forwarders to the checker's normaliser, so policy rules and milter lookups
// can never disagree on a name.
#include "policy/domain_name.hpp"

#include "checker/report/domain_name.hpp"

namespace forcetls::policy {

Result<std::string> normalize_domain(std::string_view name) {
  return checker::normalize_domain(name);
}

Result<std::string> domain_of_address(std::string_view address) {
  if (address.find('@') == std::string_view::npos) {
    // A bare domain (`forcetls-ctl explain example.com`), maybe in brackets.
    if (address.size() >= 2 && address.front() == '<' && address.back() == '>') {
      address = address.substr(1, address.size() - 2);
    }
    return checker::normalize_domain(address);
  }
  return checker::recipient_domain(address);
}

}  // namespace forcetls::policy
