// SPDX-License-Identifier: Apache-2.0
// Tests for checker/report/domain_name: normalisation and address parsing tables.
#include "checker/report/domain_name.hpp"

#include <catch2/catch.hpp>
#include <string>

using forcetls::checker::domain_of_address;
using forcetls::checker::normalize_domain;
using forcetls::checker::recipient_domain;

namespace {

struct Case {
  const char* label;
  std::string input;
  std::string want;  ///< normalised name, or a fragment of the error message
  bool ok;
};

}  // namespace

TEST_CASE("normalize_domain accepts and normalises", "[checker]") {
  const Case c = GENERATE(values<Case>({
      {"plain", "example.com", "example.com", true},
      {"upper case", "ExAmPlE.COM", "example.com", true},
      {"one trailing dot", "example.com.", "example.com", true},
      {"subdomains", "a.b.c.example.org", "a.b.c.example.org", true},
      {"digits and hyphens", "mx-1.2example.net", "mx-1.2example.net", true},
      {"numeric inner label", "123.example.com", "123.example.com", true},
      {"lab zone", "signed.test", "signed.test", true},
      {"IDN umlaut", "münchen.de", "xn--mnchen-3ya.de", true},
      {"IDN upper case", "MÜNCHEN.DE", "xn--mnchen-3ya.de", true},
      {"IDN non-transitional sharp s", "faß.de", "xn--fa-hia.de", true},
      {"IDN trailing dot", "münchen.de.", "xn--mnchen-3ya.de", true},
      {"IDN ideographic full stop", "例え。jp", "xn--r8jz45g.jp", true},
      {"A-label kept", "xn--mnchen-3ya.de", "xn--mnchen-3ya.de", true},
      {"A-label upper case", "XN--MNCHEN-3YA.DE", "xn--mnchen-3ya.de", true},
      {"double hyphen legacy label", "r3--sn.example.com", "r3--sn.example.com", true},
      {"63-octet label", std::string(63, 'a') + ".com", std::string(63, 'a') + ".com", true},
      {"underscore (Postfix accepts it)", "X_Y.partner.example", "x_y.partner.example", true},
  }));
  INFO(c.label << ": " << c.input);
  auto got = normalize_domain(c.input);
  REQUIRE(got.has_value() == c.ok);
  CHECK(*got == c.want);
}

TEST_CASE("normalize_domain rejects with a clear message", "[checker]") {
  // 4 x 63 + 3 dots = 255 > 253
  const std::string too_long = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                               std::string(63, 'c') + "." + std::string(63, 'd');
  const Case c = GENERATE_COPY(values<Case>({
      {"empty", "", "empty", false},
      {"root only", ".", "root", false},
      {"two trailing dots", "example.com..", "empty label", false},
      {"leading dot", ".example.com", "empty label", false},
      {"inner empty label", "a..example.com", "empty label", false},
      {"IPv4 literal", "[192.0.2.1]", "address literal", false},
      {"IPv6 literal", "[IPv6:2001:db8::1]", "address literal", false},
      {"bare IPv4", "192.0.2.1", "IP address", false},
      {"bare IPv4 trailing dot", "192.0.2.1.", "IP address", false},
      {"bare IPv6", "2001:db8::1", "IP address", false},
      {"numeric TLD", "example.123", "all-numeric", false},
      {"short dotted numbers", "10.1", "all-numeric", false},
      {"single label", "localhost", "single-label", false},
      {"single label with dot", "com.", "single-label", false},
      {"64-octet label", std::string(64, 'a') + ".com", "longer than 63", false},
      {"254-character name", too_long, "longer than 253", false},
      {"huge input", std::string(5000, 'a'), "longer than 253", false},
      {"exclamation mark", "ex!ample.com", "invalid character '!'", false},
      {"percent", "exa%mple.com", "invalid character '%'", false},
      {"colon", "example.com:25", "invalid character ':'", false},
      {"space", "exa mple.com", "space or control", false},
      {"newline", "example.com\n", "space or control", false},
      {"NUL", std::string("exam\0ple.com", 12), "space or control", false},
      {"leading hyphen", "-example.com", "hyphen", false},
      {"trailing hyphen", "example-.com", "hyphen", false},
      {"bad punycode", "xn--zz.com", "invalid A-label", false},
      {"emoji", "\xF0\x9F\x98\x80.com", "internationalised", false},
      {"invalid UTF-8",
       "a\xff"
       "b.com",
       "internationalised", false},
      {"at sign", "user@example.com", "invalid character '@'", false},
  }));
  INFO(c.label);
  auto got = normalize_domain(c.input);
  REQUIRE_FALSE(got.has_value());
  CHECK(got.error().code == forcetls::Errc::invalid_argument);
  CHECK_THAT(got.error().message, Catch::Contains(c.want));
  CHECK(got.error().message.find('\n') == std::string::npos);
}

TEST_CASE("domain_of_address finds the domain", "[checker]") {
  const Case c = GENERATE(values<Case>({
      {"angle brackets", "<user@example.com>", "example.com", true},
      {"bare", "user@example.com", "example.com", true},
      {"spaces around", "  <user@example.com>  ", "example.com", true},
      {"ESMTP parameters", "<user@example.com> NOTIFY=NEVER ORCPT=rfc822;x@y", "example.com", true},
      {"bare with parameters", "user@example.com NOTIFY=NEVER", "example.com", true},
      {"quoted local part with @", "<\"a@b\"@example.com>", "example.com", true},
      {"quoted local part with escaped quote", "<\"a\\\"@b\"@example.com>", "example.com", true},
      {"quoted local part with >", "<\"a>b\"@example.com>", "example.com", true},
      {"source route", "<@relay.example,@other.example:user@example.com>", "example.com", true},
      {"address literal domain", "<user@[192.0.2.1]>", "[192.0.2.1]", true},
      {"IPv6 literal domain", "<user@[IPv6:2001:db8::1]>", "[IPv6:2001:db8::1]", true},
      {"case kept", "<User@Example.COM>", "Example.COM", true},
      {"UTF-8 domain", "<user@münchen.de>", "münchen.de", true},
      {"plus and dots", "<first.last+tag@sub.example.org>", "sub.example.org", true},
  }));
  INFO(c.label << ": " << c.input);
  auto got = domain_of_address(c.input);
  REQUIRE(got.has_value());
  CHECK(*got == c.want);
}

TEST_CASE("domain_of_address rejects what has no domain", "[checker]") {
  const Case c = GENERATE(values<Case>({
      {"null address", "<>", "null address", false},
      {"empty", "", "null address", false},
      {"no at", "<postmaster>", "no domain", false},
      {"bare no at", "user", "no domain", false},
      {"empty domain", "<user@>", "empty domain", false},
      {"empty local part", "<@example.com>", "source route", false},
      {"empty local part after route", "<@relay.example:@example.com>", "empty local part", false},
      {"unclosed angle", "<user@example.com", "missing closing '>'", false},
      {"unbalanced quote", "<\"user@example.com>", "unbalanced quote", false},
      {"bare unbalanced quote", "\"user@example.com", "unbalanced quote", false},
      {"text after angle", "<user@example.com>x", "after '>'", false},
      {"at only in quotes", "<\"a@b\">", "no domain", false},
      {"unbalanced bracket", "user@[192.0.2.1", "unbalanced brackets", false},
  }));
  INFO(c.label << ": " << c.input);
  auto got = domain_of_address(c.input);
  REQUIRE_FALSE(got.has_value());
  CHECK_THAT(got.error().message, Catch::Contains(c.want));
}

TEST_CASE("recipient_domain combines both steps", "[checker]") {
  CHECK(recipient_domain("<User@MÜNCHEN.de>").value() == "xn--mnchen-3ya.de");
  CHECK(recipient_domain("<\"x@y\"@Example.COM.>").value() == "example.com");
  CHECK_FALSE(recipient_domain("<user@[192.0.2.1]>").has_value());
  CHECK_FALSE(recipient_domain("<user@localhost>").has_value());
}
