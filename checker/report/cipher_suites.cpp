// SPDX-License-Identifier: Apache-2.0
// Cipher-suite tables. Sources, per table below: the IANA "TLS Cipher Suites"
// registry (names), testssl.sh 3.0.8 etc/cipher-mapping.txt (code point <-> name
// <-> OpenSSL name, protocol column), the system OpenSSL 3.0 (`openssl ciphers -V
// -stdname 'ALL:COMPLEMENTOFALL:@SECLEVEL=0'`), and doc/checks.md
// "Cipher tables" (NIST lists from cisco/mercury crypto_assess.h quoting NIST SP
// 800-52r2 §3.3.1; r1 from NIST SP 800-52r1 as doc/checks.md gives it; weak lists).
#include "checker/report/cipher_suites.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace forcetls::checker {
namespace {

using V = TlsVersion;

// The suite table, sorted by code point. Generated once from testssl.sh's
// cipher-mapping.txt (2-byte rows) and checked against the IANA registry names:
// - dropped: non-IANA rows (FORTEZZA 001C/001D, GOST 0080-0083 and FFxx, CECPQ1
//   16B7-16BA, pre-standard ChaCha CC13-CC15, SSL_RSA_FIPS FEFE/FEFF/FFE0/FFE1);
// - added: RFC 8442 ECDHE_PSK D001 D002 D003 D005;
// - 0060-0066 are not in the IANA registry ("reserved to avoid conflicts with
//   widely deployed implementations"); their names are those of the expired
//   draft-ietf-tls-56-bit-ciphersuites, marked iana_registered = false;
// - min_version is testssl's protocol column, except that ECC and SRP suites
//   start at TLS 1.0 (they need hello extensions; RFC 4492, RFC 5054);
// - openssl_name is testssl's OpenSSL column where the system OpenSSL 3.0 lists
//   the suite (in_openssl3) or where an older OpenSSL (<= 1.0.2) had it (legacy
//   suites below 0x00BA and the ECC suites C001-C032); empty otherwise.
// Not included (name_of() returns ""): ECCPWD C0B0-C0B5, GOST C100-C106, SM4
// 00C6/00C7 — a server choosing one of them is reported by code point.
constexpr CipherSuite kSuites[] = {
    {0x0000, "TLS_NULL_WITH_NULL_NULL", "", V::ssl3, false, true},
    {0x0001, "TLS_RSA_WITH_NULL_MD5", "NULL-MD5", V::ssl3, true, true},
    {0x0002, "TLS_RSA_WITH_NULL_SHA", "NULL-SHA", V::ssl3, true, true},
    {0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5", "EXP-RC4-MD5", V::ssl3, false, true},
    {0x0004, "TLS_RSA_WITH_RC4_128_MD5", "RC4-MD5", V::ssl3, false, true},
    {0x0005, "TLS_RSA_WITH_RC4_128_SHA", "RC4-SHA", V::ssl3, false, true},
    {0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5", "EXP-RC2-CBC-MD5", V::ssl3, false, true},
    {0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA", "IDEA-CBC-SHA", V::ssl3, false, true},
    {0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", "EXP-DES-CBC-SHA", V::ssl3, false, true},
    {0x0009, "TLS_RSA_WITH_DES_CBC_SHA", "DES-CBC-SHA", V::ssl3, false, true},
    {0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA", V::ssl3, false, true},
    {0x000B, "TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA", "EXP-DH-DSS-DES-CBC-SHA", V::ssl3, false,
     true},
    {0x000C, "TLS_DH_DSS_WITH_DES_CBC_SHA", "DH-DSS-DES-CBC-SHA", V::ssl3, false, true},
    {0x000D, "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA", "DH-DSS-DES-CBC3-SHA", V::ssl3, false, true},
    {0x000E, "TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA", "EXP-DH-RSA-DES-CBC-SHA", V::ssl3, false,
     true},
    {0x000F, "TLS_DH_RSA_WITH_DES_CBC_SHA", "DH-RSA-DES-CBC-SHA", V::ssl3, false, true},
    {0x0010, "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA", "DH-RSA-DES-CBC3-SHA", V::ssl3, false, true},
    {0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA", "EXP-EDH-DSS-DES-CBC-SHA", V::ssl3, false,
     true},
    {0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA", "EDH-DSS-DES-CBC-SHA", V::ssl3, false, true},
    {0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA", "EDH-DSS-DES-CBC3-SHA", V::ssl3, false, true},
    {0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA", "EXP-EDH-RSA-DES-CBC-SHA", V::ssl3, false,
     true},
    {0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA", "EDH-RSA-DES-CBC-SHA", V::ssl3, false, true},
    {0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", "EDH-RSA-DES-CBC3-SHA", V::ssl3, false, true},
    {0x0017, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5", "EXP-ADH-RC4-MD5", V::ssl3, false, true},
    {0x0018, "TLS_DH_anon_WITH_RC4_128_MD5", "ADH-RC4-MD5", V::ssl3, false, true},
    {0x0019, "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA", "EXP-ADH-DES-CBC-SHA", V::ssl3, false, true},
    {0x001A, "TLS_DH_anon_WITH_DES_CBC_SHA", "ADH-DES-CBC-SHA", V::ssl3, false, true},
    {0x001B, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA", "ADH-DES-CBC3-SHA", V::ssl3, false, true},
    {0x001E, "TLS_KRB5_WITH_DES_CBC_SHA", "KRB5-DES-CBC-SHA", V::ssl3, false, true},
    {0x001F, "TLS_KRB5_WITH_3DES_EDE_CBC_SHA", "KRB5-DES-CBC3-SHA", V::ssl3, false, true},
    {0x0020, "TLS_KRB5_WITH_RC4_128_SHA", "KRB5-RC4-SHA", V::ssl3, false, true},
    {0x0021, "TLS_KRB5_WITH_IDEA_CBC_SHA", "KRB5-IDEA-CBC-SHA", V::ssl3, false, true},
    {0x0022, "TLS_KRB5_WITH_DES_CBC_MD5", "KRB5-DES-CBC-MD5", V::ssl3, false, true},
    {0x0023, "TLS_KRB5_WITH_3DES_EDE_CBC_MD5", "KRB5-DES-CBC3-MD5", V::ssl3, false, true},
    {0x0024, "TLS_KRB5_WITH_RC4_128_MD5", "KRB5-RC4-MD5", V::ssl3, false, true},
    {0x0025, "TLS_KRB5_WITH_IDEA_CBC_MD5", "KRB5-IDEA-CBC-MD5", V::ssl3, false, true},
    {0x0026, "TLS_KRB5_EXPORT_WITH_DES_CBC_40_SHA", "EXP-KRB5-DES-CBC-SHA", V::ssl3, false, true},
    {0x0027, "TLS_KRB5_EXPORT_WITH_RC2_CBC_40_SHA", "EXP-KRB5-RC2-CBC-SHA", V::ssl3, false, true},
    {0x0028, "TLS_KRB5_EXPORT_WITH_RC4_40_SHA", "EXP-KRB5-RC4-SHA", V::ssl3, false, true},
    {0x0029, "TLS_KRB5_EXPORT_WITH_DES_CBC_40_MD5", "EXP-KRB5-DES-CBC-MD5", V::ssl3, false, true},
    {0x002A, "TLS_KRB5_EXPORT_WITH_RC2_CBC_40_MD5", "EXP-KRB5-RC2-CBC-MD5", V::ssl3, false, true},
    {0x002B, "TLS_KRB5_EXPORT_WITH_RC4_40_MD5", "EXP-KRB5-RC4-MD5", V::ssl3, false, true},
    {0x002C, "TLS_PSK_WITH_NULL_SHA", "PSK-NULL-SHA", V::ssl3, true, true},
    {0x002D, "TLS_DHE_PSK_WITH_NULL_SHA", "DHE-PSK-NULL-SHA", V::ssl3, true, true},
    {0x002E, "TLS_RSA_PSK_WITH_NULL_SHA", "RSA-PSK-NULL-SHA", V::ssl3, true, true},
    {0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA", V::ssl3, true, true},
    {0x0030, "TLS_DH_DSS_WITH_AES_128_CBC_SHA", "DH-DSS-AES128-SHA", V::ssl3, false, true},
    {0x0031, "TLS_DH_RSA_WITH_AES_128_CBC_SHA", "DH-RSA-AES128-SHA", V::ssl3, false, true},
    {0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA", "DHE-DSS-AES128-SHA", V::ssl3, true, true},
    {0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", "DHE-RSA-AES128-SHA", V::ssl3, true, true},
    {0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA", "ADH-AES128-SHA", V::ssl3, true, true},
    {0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA", V::ssl3, true, true},
    {0x0036, "TLS_DH_DSS_WITH_AES_256_CBC_SHA", "DH-DSS-AES256-SHA", V::ssl3, false, true},
    {0x0037, "TLS_DH_RSA_WITH_AES_256_CBC_SHA", "DH-RSA-AES256-SHA", V::ssl3, false, true},
    {0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA", "DHE-DSS-AES256-SHA", V::ssl3, true, true},
    {0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "DHE-RSA-AES256-SHA", V::ssl3, true, true},
    {0x003A, "TLS_DH_anon_WITH_AES_256_CBC_SHA", "ADH-AES256-SHA", V::ssl3, true, true},
    {0x003B, "TLS_RSA_WITH_NULL_SHA256", "NULL-SHA256", V::tls1_2, true, true},
    {0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256", V::tls1_2, true, true},
    {0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256", "AES256-SHA256", V::tls1_2, true, true},
    {0x003E, "TLS_DH_DSS_WITH_AES_128_CBC_SHA256", "DH-DSS-AES128-SHA256", V::tls1_2, false, true},
    {0x003F, "TLS_DH_RSA_WITH_AES_128_CBC_SHA256", "DH-RSA-AES128-SHA256", V::tls1_2, false, true},
    {0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256", "DHE-DSS-AES128-SHA256", V::tls1_2, true, true},
    {0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA", "CAMELLIA128-SHA", V::ssl3, true, true},
    {0x0042, "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA", "DH-DSS-CAMELLIA128-SHA", V::ssl3, false,
     true},
    {0x0043, "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA", "DH-RSA-CAMELLIA128-SHA", V::ssl3, false,
     true},
    {0x0044, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA", "DHE-DSS-CAMELLIA128-SHA", V::ssl3, true,
     true},
    {0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA", "DHE-RSA-CAMELLIA128-SHA", V::ssl3, true,
     true},
    {0x0046, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA", "ADH-CAMELLIA128-SHA", V::ssl3, true, true},
    {0x0060, "TLS_RSA_EXPORT1024_WITH_RC4_56_MD5", "EXP1024-RC4-MD5", V::ssl3, false, false},
    {0x0061, "TLS_RSA_EXPORT1024_WITH_RC2_CBC_56_MD5", "EXP1024-RC2-CBC-MD5", V::ssl3, false,
     false},
    {0x0062, "TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA", "EXP1024-DES-CBC-SHA", V::ssl3, false, false},
    {0x0063, "TLS_DHE_DSS_EXPORT1024_WITH_DES_CBC_SHA", "EXP1024-DHE-DSS-DES-CBC-SHA", V::ssl3,
     false, false},
    {0x0064, "TLS_RSA_EXPORT1024_WITH_RC4_56_SHA", "EXP1024-RC4-SHA", V::ssl3, false, false},
    {0x0065, "TLS_DHE_DSS_EXPORT1024_WITH_RC4_56_SHA", "EXP1024-DHE-DSS-RC4-SHA", V::ssl3, false,
     false},
    {0x0066, "TLS_DHE_DSS_WITH_RC4_128_SHA", "DHE-DSS-RC4-SHA", V::ssl3, false, false},
    {0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", "DHE-RSA-AES128-SHA256", V::tls1_2, true, true},
    {0x0068, "TLS_DH_DSS_WITH_AES_256_CBC_SHA256", "DH-DSS-AES256-SHA256", V::tls1_2, false, true},
    {0x0069, "TLS_DH_RSA_WITH_AES_256_CBC_SHA256", "DH-RSA-AES256-SHA256", V::tls1_2, false, true},
    {0x006A, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256", "DHE-DSS-AES256-SHA256", V::tls1_2, true, true},
    {0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", "DHE-RSA-AES256-SHA256", V::tls1_2, true, true},
    {0x006C, "TLS_DH_anon_WITH_AES_128_CBC_SHA256", "ADH-AES128-SHA256", V::tls1_2, true, true},
    {0x006D, "TLS_DH_anon_WITH_AES_256_CBC_SHA256", "ADH-AES256-SHA256", V::tls1_2, true, true},
    {0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA", "CAMELLIA256-SHA", V::ssl3, true, true},
    {0x0085, "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA", "DH-DSS-CAMELLIA256-SHA", V::ssl3, false,
     true},
    {0x0086, "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA", "DH-RSA-CAMELLIA256-SHA", V::ssl3, false,
     true},
    {0x0087, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA", "DHE-DSS-CAMELLIA256-SHA", V::ssl3, true,
     true},
    {0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA", "DHE-RSA-CAMELLIA256-SHA", V::ssl3, true,
     true},
    {0x0089, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA", "ADH-CAMELLIA256-SHA", V::ssl3, true, true},
    {0x008A, "TLS_PSK_WITH_RC4_128_SHA", "PSK-RC4-SHA", V::ssl3, false, true},
    {0x008B, "TLS_PSK_WITH_3DES_EDE_CBC_SHA", "PSK-3DES-EDE-CBC-SHA", V::ssl3, false, true},
    {0x008C, "TLS_PSK_WITH_AES_128_CBC_SHA", "PSK-AES128-CBC-SHA", V::ssl3, true, true},
    {0x008D, "TLS_PSK_WITH_AES_256_CBC_SHA", "PSK-AES256-CBC-SHA", V::ssl3, true, true},
    {0x008E, "TLS_DHE_PSK_WITH_RC4_128_SHA", "DHE-PSK-RC4-SHA", V::ssl3, false, true},
    {0x008F, "TLS_DHE_PSK_WITH_3DES_EDE_CBC_SHA", "DHE-PSK-3DES-EDE-CBC-SHA", V::ssl3, false, true},
    {0x0090, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA", "DHE-PSK-AES128-CBC-SHA", V::ssl3, true, true},
    {0x0091, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA", "DHE-PSK-AES256-CBC-SHA", V::ssl3, true, true},
    {0x0092, "TLS_RSA_PSK_WITH_RC4_128_SHA", "RSA-PSK-RC4-SHA", V::ssl3, false, true},
    {0x0093, "TLS_RSA_PSK_WITH_3DES_EDE_CBC_SHA", "RSA-PSK-3DES-EDE-CBC-SHA", V::ssl3, false, true},
    {0x0094, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA", "RSA-PSK-AES128-CBC-SHA", V::ssl3, true, true},
    {0x0095, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA", "RSA-PSK-AES256-CBC-SHA", V::ssl3, true, true},
    {0x0096, "TLS_RSA_WITH_SEED_CBC_SHA", "SEED-SHA", V::ssl3, false, true},
    {0x0097, "TLS_DH_DSS_WITH_SEED_CBC_SHA", "DH-DSS-SEED-SHA", V::ssl3, false, true},
    {0x0098, "TLS_DH_RSA_WITH_SEED_CBC_SHA", "DH-RSA-SEED-SHA", V::ssl3, false, true},
    {0x0099, "TLS_DHE_DSS_WITH_SEED_CBC_SHA", "DHE-DSS-SEED-SHA", V::ssl3, false, true},
    {0x009A, "TLS_DHE_RSA_WITH_SEED_CBC_SHA", "DHE-RSA-SEED-SHA", V::ssl3, false, true},
    {0x009B, "TLS_DH_anon_WITH_SEED_CBC_SHA", "ADH-SEED-SHA", V::ssl3, false, true},
    {0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256", V::tls1_2, true, true},
    {0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384", V::tls1_2, true, true},
    {0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "DHE-RSA-AES128-GCM-SHA256", V::tls1_2, true,
     true},
    {0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "DHE-RSA-AES256-GCM-SHA384", V::tls1_2, true,
     true},
    {0x00A0, "TLS_DH_RSA_WITH_AES_128_GCM_SHA256", "DH-RSA-AES128-GCM-SHA256", V::tls1_2, false,
     true},
    {0x00A1, "TLS_DH_RSA_WITH_AES_256_GCM_SHA384", "DH-RSA-AES256-GCM-SHA384", V::tls1_2, false,
     true},
    {0x00A2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256", "DHE-DSS-AES128-GCM-SHA256", V::tls1_2, true,
     true},
    {0x00A3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384", "DHE-DSS-AES256-GCM-SHA384", V::tls1_2, true,
     true},
    {0x00A4, "TLS_DH_DSS_WITH_AES_128_GCM_SHA256", "DH-DSS-AES128-GCM-SHA256", V::tls1_2, false,
     true},
    {0x00A5, "TLS_DH_DSS_WITH_AES_256_GCM_SHA384", "DH-DSS-AES256-GCM-SHA384", V::tls1_2, false,
     true},
    {0x00A6, "TLS_DH_anon_WITH_AES_128_GCM_SHA256", "ADH-AES128-GCM-SHA256", V::tls1_2, true, true},
    {0x00A7, "TLS_DH_anon_WITH_AES_256_GCM_SHA384", "ADH-AES256-GCM-SHA384", V::tls1_2, true, true},
    {0x00A8, "TLS_PSK_WITH_AES_128_GCM_SHA256", "PSK-AES128-GCM-SHA256", V::tls1_2, true, true},
    {0x00A9, "TLS_PSK_WITH_AES_256_GCM_SHA384", "PSK-AES256-GCM-SHA384", V::tls1_2, true, true},
    {0x00AA, "TLS_DHE_PSK_WITH_AES_128_GCM_SHA256", "DHE-PSK-AES128-GCM-SHA256", V::tls1_2, true,
     true},
    {0x00AB, "TLS_DHE_PSK_WITH_AES_256_GCM_SHA384", "DHE-PSK-AES256-GCM-SHA384", V::tls1_2, true,
     true},
    {0x00AC, "TLS_RSA_PSK_WITH_AES_128_GCM_SHA256", "RSA-PSK-AES128-GCM-SHA256", V::tls1_2, true,
     true},
    {0x00AD, "TLS_RSA_PSK_WITH_AES_256_GCM_SHA384", "RSA-PSK-AES256-GCM-SHA384", V::tls1_2, true,
     true},
    {0x00AE, "TLS_PSK_WITH_AES_128_CBC_SHA256", "PSK-AES128-CBC-SHA256", V::tls1_0, true, true},
    {0x00AF, "TLS_PSK_WITH_AES_256_CBC_SHA384", "PSK-AES256-CBC-SHA384", V::tls1_0, true, true},
    {0x00B0, "TLS_PSK_WITH_NULL_SHA256", "PSK-NULL-SHA256", V::tls1_0, true, true},
    {0x00B1, "TLS_PSK_WITH_NULL_SHA384", "PSK-NULL-SHA384", V::tls1_0, true, true},
    {0x00B2, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA256", "DHE-PSK-AES128-CBC-SHA256", V::tls1_0, true,
     true},
    {0x00B3, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA384", "DHE-PSK-AES256-CBC-SHA384", V::tls1_0, true,
     true},
    {0x00B4, "TLS_DHE_PSK_WITH_NULL_SHA256", "DHE-PSK-NULL-SHA256", V::tls1_0, true, true},
    {0x00B5, "TLS_DHE_PSK_WITH_NULL_SHA384", "DHE-PSK-NULL-SHA384", V::tls1_0, true, true},
    {0x00B6, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA256", "RSA-PSK-AES128-CBC-SHA256", V::tls1_0, true,
     true},
    {0x00B7, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA384", "RSA-PSK-AES256-CBC-SHA384", V::tls1_0, true,
     true},
    {0x00B8, "TLS_RSA_PSK_WITH_NULL_SHA256", "RSA-PSK-NULL-SHA256", V::tls1_0, true, true},
    {0x00B9, "TLS_RSA_PSK_WITH_NULL_SHA384", "RSA-PSK-NULL-SHA384", V::tls1_0, true, true},
    {0x00BA, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256", "CAMELLIA128-SHA256", V::tls1_2, true, true},
    {0x00BB, "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA256", "", V::tls1_2, false, true},
    {0x00BC, "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA256", "", V::tls1_2, false, true},
    {0x00BD, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA256", "DHE-DSS-CAMELLIA128-SHA256", V::tls1_2,
     true, true},
    {0x00BE, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256", "DHE-RSA-CAMELLIA128-SHA256", V::tls1_2,
     true, true},
    {0x00BF, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256", "ADH-CAMELLIA128-SHA256", V::tls1_2, true,
     true},
    {0x00C0, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256", "CAMELLIA256-SHA256", V::tls1_2, true, true},
    {0x00C1, "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA256", "", V::tls1_2, false, true},
    {0x00C2, "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA256", "", V::tls1_2, false, true},
    {0x00C3, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA256", "DHE-DSS-CAMELLIA256-SHA256", V::tls1_2,
     true, true},
    {0x00C4, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256", "DHE-RSA-CAMELLIA256-SHA256", V::tls1_2,
     true, true},
    {0x00C5, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256", "ADH-CAMELLIA256-SHA256", V::tls1_2, true,
     true},
    {0x1301, "TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", V::tls1_3, true, true},
    {0x1302, "TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", V::tls1_3, true, true},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256", V::tls1_3, true, true},
    {0x1304, "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_SHA256", V::tls1_3, true, true},
    {0x1305, "TLS_AES_128_CCM_8_SHA256", "TLS_AES_128_CCM_8_SHA256", V::tls1_3, true, true},
    {0xC001, "TLS_ECDH_ECDSA_WITH_NULL_SHA", "ECDH-ECDSA-NULL-SHA", V::tls1_0, false, true},
    {0xC002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA", "ECDH-ECDSA-RC4-SHA", V::tls1_0, false, true},
    {0xC003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA", "ECDH-ECDSA-DES-CBC3-SHA", V::tls1_0, false,
     true},
    {0xC004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA", "ECDH-ECDSA-AES128-SHA", V::tls1_0, false,
     true},
    {0xC005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA", "ECDH-ECDSA-AES256-SHA", V::tls1_0, false,
     true},
    {0xC006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA", "ECDHE-ECDSA-NULL-SHA", V::tls1_0, true, true},
    {0xC007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "ECDHE-ECDSA-RC4-SHA", V::tls1_0, false, true},
    {0xC008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-ECDSA-DES-CBC3-SHA", V::tls1_0, false,
     true},
    {0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA", V::tls1_0, true,
     true},
    {0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA", V::tls1_0, true,
     true},
    {0xC00B, "TLS_ECDH_RSA_WITH_NULL_SHA", "ECDH-RSA-NULL-SHA", V::tls1_0, false, true},
    {0xC00C, "TLS_ECDH_RSA_WITH_RC4_128_SHA", "ECDH-RSA-RC4-SHA", V::tls1_0, false, true},
    {0xC00D, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA", "ECDH-RSA-DES-CBC3-SHA", V::tls1_0, false, true},
    {0xC00E, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA", "ECDH-RSA-AES128-SHA", V::tls1_0, false, true},
    {0xC00F, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA", "ECDH-RSA-AES256-SHA", V::tls1_0, false, true},
    {0xC010, "TLS_ECDHE_RSA_WITH_NULL_SHA", "ECDHE-RSA-NULL-SHA", V::tls1_0, true, true},
    {0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "ECDHE-RSA-RC4-SHA", V::tls1_0, false, true},
    {0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA-DES-CBC3-SHA", V::tls1_0, false,
     true},
    {0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA", V::tls1_0, true, true},
    {0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA", V::tls1_0, true, true},
    {0xC015, "TLS_ECDH_anon_WITH_NULL_SHA", "AECDH-NULL-SHA", V::tls1_0, true, true},
    {0xC016, "TLS_ECDH_anon_WITH_RC4_128_SHA", "AECDH-RC4-SHA", V::tls1_0, false, true},
    {0xC017, "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA", "AECDH-DES-CBC3-SHA", V::tls1_0, false, true},
    {0xC018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA", "AECDH-AES128-SHA", V::tls1_0, true, true},
    {0xC019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA", "AECDH-AES256-SHA", V::tls1_0, true, true},
    {0xC01A, "TLS_SRP_SHA_WITH_3DES_EDE_CBC_SHA", "SRP-3DES-EDE-CBC-SHA", V::tls1_0, false, true},
    {0xC01B, "TLS_SRP_SHA_RSA_WITH_3DES_EDE_CBC_SHA", "SRP-RSA-3DES-EDE-CBC-SHA", V::tls1_0, false,
     true},
    {0xC01C, "TLS_SRP_SHA_DSS_WITH_3DES_EDE_CBC_SHA", "SRP-DSS-3DES-EDE-CBC-SHA", V::tls1_0, false,
     true},
    {0xC01D, "TLS_SRP_SHA_WITH_AES_128_CBC_SHA", "SRP-AES-128-CBC-SHA", V::tls1_0, true, true},
    {0xC01E, "TLS_SRP_SHA_RSA_WITH_AES_128_CBC_SHA", "SRP-RSA-AES-128-CBC-SHA", V::tls1_0, true,
     true},
    {0xC01F, "TLS_SRP_SHA_DSS_WITH_AES_128_CBC_SHA", "SRP-DSS-AES-128-CBC-SHA", V::tls1_0, true,
     true},
    {0xC020, "TLS_SRP_SHA_WITH_AES_256_CBC_SHA", "SRP-AES-256-CBC-SHA", V::tls1_0, true, true},
    {0xC021, "TLS_SRP_SHA_RSA_WITH_AES_256_CBC_SHA", "SRP-RSA-AES-256-CBC-SHA", V::tls1_0, true,
     true},
    {0xC022, "TLS_SRP_SHA_DSS_WITH_AES_256_CBC_SHA", "SRP-DSS-AES-256-CBC-SHA", V::tls1_0, true,
     true},
    {0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256", V::tls1_2,
     true, true},
    {0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "ECDHE-ECDSA-AES256-SHA384", V::tls1_2,
     true, true},
    {0xC025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256", "ECDH-ECDSA-AES128-SHA256", V::tls1_2, false,
     true},
    {0xC026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384", "ECDH-ECDSA-AES256-SHA384", V::tls1_2, false,
     true},
    {0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256", V::tls1_2, true,
     true},
    {0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "ECDHE-RSA-AES256-SHA384", V::tls1_2, true,
     true},
    {0xC029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256", "ECDH-RSA-AES128-SHA256", V::tls1_2, false,
     true},
    {0xC02A, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384", "ECDH-RSA-AES256-SHA384", V::tls1_2, false,
     true},
    {0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256", V::tls1_2,
     true, true},
    {0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384", V::tls1_2,
     true, true},
    {0xC02D, "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256", "ECDH-ECDSA-AES128-GCM-SHA256", V::tls1_2,
     false, true},
    {0xC02E, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384", "ECDH-ECDSA-AES256-GCM-SHA384", V::tls1_2,
     false, true},
    {0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256", V::tls1_2,
     true, true},
    {0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384", V::tls1_2,
     true, true},
    {0xC031, "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256", "ECDH-RSA-AES128-GCM-SHA256", V::tls1_2, false,
     true},
    {0xC032, "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384", "ECDH-RSA-AES256-GCM-SHA384", V::tls1_2, false,
     true},
    {0xC033, "TLS_ECDHE_PSK_WITH_RC4_128_SHA", "", V::tls1_0, false, true},
    {0xC034, "TLS_ECDHE_PSK_WITH_3DES_EDE_CBC_SHA", "", V::tls1_0, false, true},
    {0xC035, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA", "ECDHE-PSK-AES128-CBC-SHA", V::tls1_0, true,
     true},
    {0xC036, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA", "ECDHE-PSK-AES256-CBC-SHA", V::tls1_0, true,
     true},
    {0xC037, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256", "ECDHE-PSK-AES128-CBC-SHA256", V::tls1_0,
     true, true},
    {0xC038, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384", "ECDHE-PSK-AES256-CBC-SHA384", V::tls1_0,
     true, true},
    {0xC039, "TLS_ECDHE_PSK_WITH_NULL_SHA", "ECDHE-PSK-NULL-SHA", V::tls1_0, true, true},
    {0xC03A, "TLS_ECDHE_PSK_WITH_NULL_SHA256", "ECDHE-PSK-NULL-SHA256", V::tls1_0, true, true},
    {0xC03B, "TLS_ECDHE_PSK_WITH_NULL_SHA384", "ECDHE-PSK-NULL-SHA384", V::tls1_0, true, true},
    {0xC03C, "TLS_RSA_WITH_ARIA_128_CBC_SHA256", "", V::tls1_2, false, true},
    {0xC03D, "TLS_RSA_WITH_ARIA_256_CBC_SHA384", "", V::tls1_2, false, true},
    {0xC03E, "TLS_DH_DSS_WITH_ARIA_128_CBC_SHA256", "", V::tls1_2, false, true},
    {0xC03F, "TLS_DH_DSS_WITH_ARIA_256_CBC_SHA384", "", V::tls1_2, false, true},
    {0xC040, "TLS_DH_RSA_WITH_ARIA_128_CBC_SHA256", "", V::tls1_2, false, true},
    {0xC041, "TLS_DH_RSA_WITH_ARIA_256_CBC_SHA384", "", V::tls1_2, false, true},
    {0xC042, "TLS_DHE_DSS_WITH_ARIA_128_CBC_SHA256", "", V::tls1_2, false, true},
    {0xC043, "TLS_DHE_DSS_WITH_ARIA_256_CBC_SHA384", "", V::tls1_2, false, true},
    {0xC044, "TLS_DHE_RSA_WITH_ARIA_128_CBC_SHA256", "", V::tls1_2, false, true},
    {0xC045, "TLS_DHE_RSA_WITH_ARIA_256_CBC_SHA384", "", V::tls1_2, false, true},
    {0xC046, "TLS_DH_anon_WITH_ARIA_128_CBC_SHA256", "", V::tls1_2, false, true},
    {0xC047, "TLS_DH_anon_WITH_ARIA_256_CBC_SHA384", "", V::tls1_2, false, true},
    {0xC048, "TLS_ECDHE_ECDSA_WITH_ARIA_128_CBC_SHA256", "", V::tls1_2, false, true},
    {0xC049, "TLS_ECDHE_ECDSA_WITH_ARIA_256_CBC_SHA384", "", V::tls1_2, false, true},
    {0xC04A, "TLS_ECDH_ECDSA_WITH_ARIA_128_CBC_SHA256", "", V::tls1_2, false, true},
    {0xC04B, "TLS_ECDH_ECDSA_WITH_ARIA_256_CBC_SHA384", "", V::tls1_2, false, true},
    {0xC04C, "TLS_ECDHE_RSA_WITH_ARIA_128_CBC_SHA256", "", V::tls1_2, false, true},
    {0xC04D, "TLS_ECDHE_RSA_WITH_ARIA_256_CBC_SHA384", "", V::tls1_2, false, true},
    {0xC04E, "TLS_ECDH_RSA_WITH_ARIA_128_CBC_SHA256", "", V::tls1_2, false, true},
    {0xC04F, "TLS_ECDH_RSA_WITH_ARIA_256_CBC_SHA384", "", V::tls1_2, false, true},
    {0xC050, "TLS_RSA_WITH_ARIA_128_GCM_SHA256", "ARIA128-GCM-SHA256", V::tls1_2, true, true},
    {0xC051, "TLS_RSA_WITH_ARIA_256_GCM_SHA384", "ARIA256-GCM-SHA384", V::tls1_2, true, true},
    {0xC052, "TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256", "DHE-RSA-ARIA128-GCM-SHA256", V::tls1_2, true,
     true},
    {0xC053, "TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384", "DHE-RSA-ARIA256-GCM-SHA384", V::tls1_2, true,
     true},
    {0xC054, "TLS_DH_RSA_WITH_ARIA_128_GCM_SHA256", "", V::tls1_2, false, true},
    {0xC055, "TLS_DH_RSA_WITH_ARIA_256_GCM_SHA384", "", V::tls1_2, false, true},
    {0xC056, "TLS_DHE_DSS_WITH_ARIA_128_GCM_SHA256", "DHE-DSS-ARIA128-GCM-SHA256", V::tls1_2, true,
     true},
    {0xC057, "TLS_DHE_DSS_WITH_ARIA_256_GCM_SHA384", "DHE-DSS-ARIA256-GCM-SHA384", V::tls1_2, true,
     true},
    {0xC058, "TLS_DH_DSS_WITH_ARIA_128_GCM_SHA256", "", V::tls1_2, false, true},
    {0xC059, "TLS_DH_DSS_WITH_ARIA_256_GCM_SHA384", "", V::tls1_2, false, true},
    {0xC05A, "TLS_DH_anon_WITH_ARIA_128_GCM_SHA256", "", V::tls1_2, false, true},
    {0xC05B, "TLS_DH_anon_WITH_ARIA_256_GCM_SHA384", "", V::tls1_2, false, true},
    {0xC05C, "TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256", "ECDHE-ECDSA-ARIA128-GCM-SHA256",
     V::tls1_2, true, true},
    {0xC05D, "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384", "ECDHE-ECDSA-ARIA256-GCM-SHA384",
     V::tls1_2, true, true},
    {0xC05E, "TLS_ECDH_ECDSA_WITH_ARIA_128_GCM_SHA256", "", V::tls1_2, false, true},
    {0xC05F, "TLS_ECDH_ECDSA_WITH_ARIA_256_GCM_SHA384", "", V::tls1_2, false, true},
    {0xC060, "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256", "ECDHE-ARIA128-GCM-SHA256", V::tls1_2, true,
     true},
    {0xC061, "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384", "ECDHE-ARIA256-GCM-SHA384", V::tls1_2, true,
     true},
    {0xC062, "TLS_ECDH_RSA_WITH_ARIA_128_GCM_SHA256", "", V::tls1_2, false, true},
    {0xC063, "TLS_ECDH_RSA_WITH_ARIA_256_GCM_SHA384", "", V::tls1_2, false, true},
    {0xC064, "TLS_PSK_WITH_ARIA_128_CBC_SHA256", "", V::tls1_0, false, true},
    {0xC065, "TLS_PSK_WITH_ARIA_256_CBC_SHA384", "", V::tls1_0, false, true},
    {0xC066, "TLS_DHE_PSK_WITH_ARIA_128_CBC_SHA256", "", V::tls1_0, false, true},
    {0xC067, "TLS_DHE_PSK_WITH_ARIA_256_CBC_SHA384", "", V::tls1_0, false, true},
    {0xC068, "TLS_RSA_PSK_WITH_ARIA_128_CBC_SHA256", "", V::tls1_0, false, true},
    {0xC069, "TLS_RSA_PSK_WITH_ARIA_256_CBC_SHA384", "", V::tls1_0, false, true},
    {0xC06A, "TLS_PSK_WITH_ARIA_128_GCM_SHA256", "PSK-ARIA128-GCM-SHA256", V::tls1_2, true, true},
    {0xC06B, "TLS_PSK_WITH_ARIA_256_GCM_SHA384", "PSK-ARIA256-GCM-SHA384", V::tls1_2, true, true},
    {0xC06C, "TLS_DHE_PSK_WITH_ARIA_128_GCM_SHA256", "DHE-PSK-ARIA128-GCM-SHA256", V::tls1_2, true,
     true},
    {0xC06D, "TLS_DHE_PSK_WITH_ARIA_256_GCM_SHA384", "DHE-PSK-ARIA256-GCM-SHA384", V::tls1_2, true,
     true},
    {0xC06E, "TLS_RSA_PSK_WITH_ARIA_128_GCM_SHA256", "RSA-PSK-ARIA128-GCM-SHA256", V::tls1_2, true,
     true},
    {0xC06F, "TLS_RSA_PSK_WITH_ARIA_256_GCM_SHA384", "RSA-PSK-ARIA256-GCM-SHA384", V::tls1_2, true,
     true},
    {0xC070, "TLS_ECDHE_PSK_WITH_ARIA_128_CBC_SHA256", "", V::tls1_0, false, true},
    {0xC071, "TLS_ECDHE_PSK_WITH_ARIA_256_CBC_SHA384", "", V::tls1_0, false, true},
    {0xC072, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256", "ECDHE-ECDSA-CAMELLIA128-SHA256",
     V::tls1_2, true, true},
    {0xC073, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384", "ECDHE-ECDSA-CAMELLIA256-SHA384",
     V::tls1_2, true, true},
    {0xC074, "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_CBC_SHA256", "", V::tls1_2, false, true},
    {0xC075, "TLS_ECDH_ECDSA_WITH_CAMELLIA_256_CBC_SHA384", "", V::tls1_2, false, true},
    {0xC076, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256", "ECDHE-RSA-CAMELLIA128-SHA256",
     V::tls1_2, true, true},
    {0xC077, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384", "ECDHE-RSA-CAMELLIA256-SHA384",
     V::tls1_2, true, true},
    {0xC078, "TLS_ECDH_RSA_WITH_CAMELLIA_128_CBC_SHA256", "", V::tls1_2, false, true},
    {0xC079, "TLS_ECDH_RSA_WITH_CAMELLIA_256_CBC_SHA384", "", V::tls1_2, false, true},
    {0xC07A, "TLS_RSA_WITH_CAMELLIA_128_GCM_SHA256", "", V::tls1_2, false, true},
    {0xC07B, "TLS_RSA_WITH_CAMELLIA_256_GCM_SHA384", "", V::tls1_2, false, true},
    {0xC07C, "TLS_DHE_RSA_WITH_CAMELLIA_128_GCM_SHA256", "", V::tls1_2, false, true},
    {0xC07D, "TLS_DHE_RSA_WITH_CAMELLIA_256_GCM_SHA384", "", V::tls1_2, false, true},
    {0xC07E, "TLS_DH_RSA_WITH_CAMELLIA_128_GCM_SHA256", "", V::tls1_2, false, true},
    {0xC07F, "TLS_DH_RSA_WITH_CAMELLIA_256_GCM_SHA384", "", V::tls1_2, false, true},
    {0xC080, "TLS_DHE_DSS_WITH_CAMELLIA_128_GCM_SHA256", "", V::tls1_2, false, true},
    {0xC081, "TLS_DHE_DSS_WITH_CAMELLIA_256_GCM_SHA384", "", V::tls1_2, false, true},
    {0xC082, "TLS_DH_DSS_WITH_CAMELLIA_128_GCM_SHA256", "", V::tls1_2, false, true},
    {0xC083, "TLS_DH_DSS_WITH_CAMELLIA_256_GCM_SHA384", "", V::tls1_2, false, true},
    {0xC084, "TLS_DH_anon_WITH_CAMELLIA_128_GCM_SHA256", "", V::tls1_2, false, true},
    {0xC085, "TLS_DH_anon_WITH_CAMELLIA_256_GCM_SHA384", "", V::tls1_2, false, true},
    {0xC086, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_GCM_SHA256", "", V::tls1_2, false, true},
    {0xC087, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_GCM_SHA384", "", V::tls1_2, false, true},
    {0xC088, "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_GCM_SHA256", "", V::tls1_2, false, true},
    {0xC089, "TLS_ECDH_ECDSA_WITH_CAMELLIA_256_GCM_SHA384", "", V::tls1_2, false, true},
    {0xC08A, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_GCM_SHA256", "", V::tls1_2, false, true},
    {0xC08B, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_GCM_SHA384", "", V::tls1_2, false, true},
    {0xC08C, "TLS_ECDH_RSA_WITH_CAMELLIA_128_GCM_SHA256", "", V::tls1_2, false, true},
    {0xC08D, "TLS_ECDH_RSA_WITH_CAMELLIA_256_GCM_SHA384", "", V::tls1_2, false, true},
    {0xC08E, "TLS_PSK_WITH_CAMELLIA_128_GCM_SHA256", "", V::tls1_2, false, true},
    {0xC08F, "TLS_PSK_WITH_CAMELLIA_256_GCM_SHA384", "", V::tls1_2, false, true},
    {0xC090, "TLS_DHE_PSK_WITH_CAMELLIA_128_GCM_SHA256", "", V::tls1_2, false, true},
    {0xC091, "TLS_DHE_PSK_WITH_CAMELLIA_256_GCM_SHA384", "", V::tls1_2, false, true},
    {0xC092, "TLS_RSA_PSK_WITH_CAMELLIA_128_GCM_SHA256", "", V::tls1_2, false, true},
    {0xC093, "TLS_RSA_PSK_WITH_CAMELLIA_256_GCM_SHA384", "", V::tls1_2, false, true},
    {0xC094, "TLS_PSK_WITH_CAMELLIA_128_CBC_SHA256", "PSK-CAMELLIA128-SHA256", V::tls1_0, true,
     true},
    {0xC095, "TLS_PSK_WITH_CAMELLIA_256_CBC_SHA384", "PSK-CAMELLIA256-SHA384", V::tls1_0, true,
     true},
    {0xC096, "TLS_DHE_PSK_WITH_CAMELLIA_128_CBC_SHA256", "DHE-PSK-CAMELLIA128-SHA256", V::tls1_0,
     true, true},
    {0xC097, "TLS_DHE_PSK_WITH_CAMELLIA_256_CBC_SHA384", "DHE-PSK-CAMELLIA256-SHA384", V::tls1_0,
     true, true},
    {0xC098, "TLS_RSA_PSK_WITH_CAMELLIA_128_CBC_SHA256", "RSA-PSK-CAMELLIA128-SHA256", V::tls1_0,
     true, true},
    {0xC099, "TLS_RSA_PSK_WITH_CAMELLIA_256_CBC_SHA384", "RSA-PSK-CAMELLIA256-SHA384", V::tls1_0,
     true, true},
    {0xC09A, "TLS_ECDHE_PSK_WITH_CAMELLIA_128_CBC_SHA256", "ECDHE-PSK-CAMELLIA128-SHA256",
     V::tls1_0, true, true},
    {0xC09B, "TLS_ECDHE_PSK_WITH_CAMELLIA_256_CBC_SHA384", "ECDHE-PSK-CAMELLIA256-SHA384",
     V::tls1_0, true, true},
    {0xC09C, "TLS_RSA_WITH_AES_128_CCM", "AES128-CCM", V::tls1_2, true, true},
    {0xC09D, "TLS_RSA_WITH_AES_256_CCM", "AES256-CCM", V::tls1_2, true, true},
    {0xC09E, "TLS_DHE_RSA_WITH_AES_128_CCM", "DHE-RSA-AES128-CCM", V::tls1_2, true, true},
    {0xC09F, "TLS_DHE_RSA_WITH_AES_256_CCM", "DHE-RSA-AES256-CCM", V::tls1_2, true, true},
    {0xC0A0, "TLS_RSA_WITH_AES_128_CCM_8", "AES128-CCM8", V::tls1_2, true, true},
    {0xC0A1, "TLS_RSA_WITH_AES_256_CCM_8", "AES256-CCM8", V::tls1_2, true, true},
    {0xC0A2, "TLS_DHE_RSA_WITH_AES_128_CCM_8", "DHE-RSA-AES128-CCM8", V::tls1_2, true, true},
    {0xC0A3, "TLS_DHE_RSA_WITH_AES_256_CCM_8", "DHE-RSA-AES256-CCM8", V::tls1_2, true, true},
    {0xC0A4, "TLS_PSK_WITH_AES_128_CCM", "PSK-AES128-CCM", V::tls1_2, true, true},
    {0xC0A5, "TLS_PSK_WITH_AES_256_CCM", "PSK-AES256-CCM", V::tls1_2, true, true},
    {0xC0A6, "TLS_DHE_PSK_WITH_AES_128_CCM", "DHE-PSK-AES128-CCM", V::tls1_2, true, true},
    {0xC0A7, "TLS_DHE_PSK_WITH_AES_256_CCM", "DHE-PSK-AES256-CCM", V::tls1_2, true, true},
    {0xC0A8, "TLS_PSK_WITH_AES_128_CCM_8", "PSK-AES128-CCM8", V::tls1_2, true, true},
    {0xC0A9, "TLS_PSK_WITH_AES_256_CCM_8", "PSK-AES256-CCM8", V::tls1_2, true, true},
    {0xC0AA, "TLS_PSK_DHE_WITH_AES_128_CCM_8", "DHE-PSK-AES128-CCM8", V::tls1_2, true, true},
    {0xC0AB, "TLS_PSK_DHE_WITH_AES_256_CCM_8", "DHE-PSK-AES256-CCM8", V::tls1_2, true, true},
    {0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", "ECDHE-ECDSA-AES128-CCM", V::tls1_2, true, true},
    {0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM", "ECDHE-ECDSA-AES256-CCM", V::tls1_2, true, true},
    {0xC0AE, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8", "ECDHE-ECDSA-AES128-CCM8", V::tls1_2, true,
     true},
    {0xC0AF, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8", "ECDHE-ECDSA-AES256-CCM8", V::tls1_2, true,
     true},
    {0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305",
     V::tls1_2, true, true},
    {0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305",
     V::tls1_2, true, true},
    {0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "DHE-RSA-CHACHA20-POLY1305", V::tls1_2,
     true, true},
    {0xCCAB, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256", "PSK-CHACHA20-POLY1305", V::tls1_2, true,
     true},
    {0xCCAC, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-PSK-CHACHA20-POLY1305",
     V::tls1_2, true, true},
    {0xCCAD, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256", "DHE-PSK-CHACHA20-POLY1305", V::tls1_2,
     true, true},
    {0xCCAE, "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256", "RSA-PSK-CHACHA20-POLY1305", V::tls1_2,
     true, true},
    {0xD001, "TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256", "", V::tls1_2, false, true},
    {0xD002, "TLS_ECDHE_PSK_WITH_AES_256_GCM_SHA384", "", V::tls1_2, false, true},
    {0xD003, "TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256", "", V::tls1_2, false, true},
    {0xD005, "TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256", "", V::tls1_2, false, true},
};

// Signalling cipher-suite values (IANA registry names).
struct Scsv {
  std::uint16_t code;
  std::string_view name;
};
constexpr Scsv kScsv[] = {
    {kRenegotiationInfoScsv, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"},  // RFC 5746
    {kFallbackScsv, "TLS_FALLBACK_SCSV"},                           // RFC 7507
};

// NIST SP 800-52r2 TLS 1.2 suites. Source: doc/checks.md, from cisco/mercury
// src/libmerc/crypto_assess.h quoting NIST SP 800-52r2 §3.3.1, names mapped with
// testssl.sh cipher-mapping.txt. Grouped by certificate type as NIST does.
constexpr std::uint16_t kNistR2Tls12[] = {
    // ECDSA certificates (ECDHE)
    0xC02B,
    0xC02C,
    0xC0AC,
    0xC0AD,
    0xC0AE,
    0xC0AF,
    0xC023,
    0xC024,
    0xC009,
    0xC00A,
    // RSA certificates (ECDHE, DHE)
    0xC02F,
    0xC030,
    0x009E,
    0x009F,
    0xC09E,
    0xC09F,
    0xC0A2,
    0xC0A3,
    0xC027,
    0xC028,
    0x0067,
    0x006B,
    0xC013,
    0xC014,
    0x0033,
    0x0039,
    // DSA certificates (DHE_DSS)
    0x00A2,
    0x00A3,
    0x0040,
    0x006A,
    0x0032,
    0x0038,
    // DH_DSS
    0x00A4,
    0x00A5,
    0x003E,
    0x0068,
    0x0030,
    0x0036,
    // DH_RSA
    0x00A0,
    0x00A1,
    0x003F,
    0x0069,
    0x0031,
    0x0037,
    // ECDH_ECDSA
    0xC02D,
    0xC02E,
    0xC025,
    0xC026,
    0xC004,
    0xC005,
    // ECDH_RSA
    0xC031,
    0xC032,
    0xC029,
    0xC02A,
    0xC00E,
    0xC00F,
};

// NIST SP 800-52r2 TLS 1.3 suites (no CHACHA20). Source: doc/checks.md / mercury.
constexpr std::uint16_t kNistR2Tls13[] = {0x1301, 0x1302, 0x1304, 0x1305};

// All TLS 1.3 suites (RFC 8446 Appendix B.4).
constexpr std::uint16_t kTls13[] = {0x1301, 0x1302, 0x1303, 0x1304, 0x1305};

// NIST SP 800-52r1 (2014). Source: doc/checks.md (provenance weaker: partly recalled,
// partly checked against MatrixSSL's r1 profile): the r2 TLS 1.2 suites without
// the ECDHE-ECDSA CCM suites C0AC-C0AF (not shown to be in r1), plus RSA key
// transport, plus 3DES. No TLS 1.3 suites.
constexpr std::uint16_t kNistR1[] = {
    // r2 TLS 1.2 suites, ECDSA (without C0AC-C0AF)
    0xC02B,
    0xC02C,
    0xC023,
    0xC024,
    0xC009,
    0xC00A,
    // r2, RSA
    0xC02F,
    0xC030,
    0x009E,
    0x009F,
    0xC09E,
    0xC09F,
    0xC0A2,
    0xC0A3,
    0xC027,
    0xC028,
    0x0067,
    0x006B,
    0xC013,
    0xC014,
    0x0033,
    0x0039,
    // r2, DHE_DSS, DH_DSS, DH_RSA
    0x00A2,
    0x00A3,
    0x0040,
    0x006A,
    0x0032,
    0x0038,
    0x00A4,
    0x00A5,
    0x003E,
    0x0068,
    0x0030,
    0x0036,
    0x00A0,
    0x00A1,
    0x003F,
    0x0069,
    0x0031,
    0x0037,
    // r2, ECDH_ECDSA, ECDH_RSA
    0xC02D,
    0xC02E,
    0xC025,
    0xC026,
    0xC004,
    0xC005,
    0xC031,
    0xC032,
    0xC029,
    0xC02A,
    0xC00E,
    0xC00F,
    // RSA key transport
    0x000A,
    0x002F,
    0x0035,
    0x003C,
    0x003D,
    0x009C,
    0x009D,
    0xC09C,
    0xC09D,
    0xC0A0,
    0xC0A1,
    // 3DES
    0xC008,
    0xC012,
    0x0016,
    0x0013,
    0x000D,
    0x0010,
    0xC003,
    0xC00D,
};

// Weak suites by reason. Source: doc/checks.md, Weak (OpenSSL's EXPORT, LOW and
// MEDIUM categories plus old algorithms). NULL encryption and anonymous suites,
// which doc/checks.md names without code points, are recognised by their IANA names
// (`_WITH_NULL_`, `_anon_`) in weak_reasons().
constexpr std::uint16_t kExport[] = {0x0003, 0x0006, 0x0008, 0x000B, 0x000E, 0x0011, 0x0014,
                                     0x0017, 0x0019, 0x0026, 0x0027, 0x0028, 0x0029, 0x002A,
                                     0x002B, 0x0060, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065};
constexpr std::uint16_t kDes[] = {0x0009, 0x000C, 0x000F, 0x0012, 0x0015, 0x001A, 0x001E, 0x0022};
constexpr std::uint16_t kRc4[] = {0x0004, 0x0005, 0x0018, 0x0020, 0x0024, 0x0066, 0x008A, 0x008E,
                                  0x0092, 0xC002, 0xC007, 0xC00C, 0xC011, 0xC016, 0xC033};
constexpr std::uint16_t kRc2[] = {0x0006, 0x0027, 0x002A, 0x0061};
constexpr std::uint16_t kIdea[] = {0x0007, 0x0021, 0x0025};
constexpr std::uint16_t kSeed[] = {0x0096, 0x0097, 0x0098, 0x0099, 0x009A, 0x009B};
constexpr std::uint16_t k3des[] = {0x000A, 0x000D, 0x0010, 0x0013, 0x0016, 0x001B, 0x001F,
                                   0x0023, 0x008B, 0x008F, 0x0093, 0xC003, 0xC008, 0xC00D,
                                   0xC012, 0xC017, 0xC01A, 0xC01B, 0xC01C, 0xC034};
constexpr std::uint16_t kMd5Mac[] = {0x0001, 0x0003, 0x0004, 0x0006, 0x0017, 0x0018, 0x0022, 0x0023,
                                     0x0024, 0x0025, 0x0029, 0x002A, 0x002B, 0x0060, 0x0061};

struct WeakList {
  WeakReason reason;
  std::string_view label;
  std::span<const std::uint16_t> codes;
};
const WeakList kWeakLists[] = {
    {weak_export, "EXPORT", kExport}, {weak_des, "DES", kDes},        {weak_rc4, "RC4", kRc4},
    {weak_rc2, "RC2", kRc2},          {weak_idea, "IDEA", kIdea},     {weak_seed, "SEED", kSeed},
    {weak_3des, "3DES", k3des},       {weak_md5_mac, "MD5", kMd5Mac},
};

bool contains(std::span<const std::uint16_t> list, std::uint16_t code) {
  return std::find(list.begin(), list.end(), code) != list.end();
}

bool name_has(std::uint16_t code, std::string_view part) {
  const CipherSuite* s = find_suite(code);
  return s != nullptr && s->iana_name.find(part) != std::string_view::npos;
}

constexpr bool sorted_by_code() {
  for (std::size_t i = 1; i < std::size(kSuites); ++i) {
    if (kSuites[i - 1].code >= kSuites[i].code) {
      return false;
    }
  }
  return true;
}
static_assert(sorted_by_code(), "kSuites must be sorted by code point (binary search)");

}  // namespace

std::string_view version_name(TlsVersion v) {
  switch (v) {
    case TlsVersion::ssl3:
      return "SSLv3";
    case TlsVersion::tls1_0:
      return "TLSv1.0";
    case TlsVersion::tls1_1:
      return "TLSv1.1";
    case TlsVersion::tls1_2:
      return "TLSv1.2";
    case TlsVersion::tls1_3:
      return "TLSv1.3";
  }
  return "unknown";
}

std::optional<TlsVersion> version_from_wire(std::uint16_t w) {
  if (w >= wire(TlsVersion::ssl3) && w <= wire(TlsVersion::tls1_3)) {
    return static_cast<TlsVersion>(w);
  }
  return std::nullopt;
}

std::span<const CipherSuite> all_suites() { return kSuites; }

const CipherSuite* find_suite(std::uint16_t code) {
  auto it = std::lower_bound(std::begin(kSuites), std::end(kSuites), code,
                             [](const CipherSuite& s, std::uint16_t c) { return s.code < c; });
  if (it == std::end(kSuites) || it->code != code) {
    return nullptr;
  }
  return &*it;
}

std::string_view name_of(std::uint16_t code) {
  if (const CipherSuite* s = find_suite(code)) {
    return s->iana_name;
  }
  for (const Scsv& s : kScsv) {
    if (s.code == code) {
      return s.name;
    }
  }
  return {};
}

std::string display_name(std::uint16_t code) {
  std::string_view name = name_of(code);
  if (!name.empty()) {
    return std::string(name);
  }
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04X", code);
  return buf;
}

std::optional<std::uint16_t> code_of(std::string_view iana_name) {
  for (const CipherSuite& s : kSuites) {
    if (s.iana_name == iana_name) {
      return s.code;
    }
  }
  return std::nullopt;
}

std::uint16_t weak_reasons(std::uint16_t code) {
  std::uint16_t mask = 0;
  for (const WeakList& list : kWeakLists) {
    if (contains(list.codes, code)) {
      mask |= list.reason;
    }
  }
  if (name_has(code, "_WITH_NULL_") || code == 0x0000) {
    mask |= weak_null_cipher;
  }
  if (name_has(code, "_anon_")) {
    mask |= weak_anonymous;
  }
  return mask;
}

std::string weak_reason_names(std::uint16_t mask) {
  std::string out;
  auto add = [&out](std::string_view label) {
    if (!out.empty()) {
      out += ", ";
    }
    out += label;
  };
  for (const WeakList& list : kWeakLists) {
    if ((mask & list.reason) != 0) {
      add(list.label);
    }
  }
  if ((mask & weak_null_cipher) != 0) {
    add("NULL");
  }
  if ((mask & weak_anonymous) != 0) {
    add("anonymous");
  }
  return out;
}

bool is_export(std::uint16_t code) { return contains(kExport, code); }
bool is_nist_r1(std::uint16_t code) { return contains(kNistR1, code); }
bool is_nist_r2(std::uint16_t code) {
  return contains(kNistR2Tls12, code) || contains(kNistR2Tls13, code);
}
bool is_tls13_suite(std::uint16_t code) { return (code >> 8) == 0x13 && find_suite(code); }

TlsVersion min_version(std::uint16_t code) {
  const CipherSuite* s = find_suite(code);
  return s != nullptr ? s->min_version : TlsVersion::ssl3;
}

TlsVersion max_version(std::uint16_t code) {
  if (is_tls13_suite(code)) {
    return TlsVersion::tls1_3;
  }
  // RFC 4346 (TLS 1.1) §A.5: implementations MUST NOT negotiate EXPORT suites.
  if (is_export(code)) {
    return TlsVersion::tls1_0;
  }
  return TlsVersion::tls1_2;
}

bool valid_at(std::uint16_t code, TlsVersion v) {
  return find_suite(code) != nullptr && wire(min_version(code)) <= wire(v) &&
         wire(v) <= wire(max_version(code));
}

bool needs_ecc(std::uint16_t code) { return name_has(code, "_ECDH"); }

bool offerable(std::uint16_t code) {
  const CipherSuite* s = find_suite(code);
  if (s == nullptr || code == 0x0000) {
    return false;
  }
  for (std::string_view kx : {"PSK", "SRP", "KRB5"}) {
    if (s->iana_name.find(kx) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

std::span<const std::uint16_t> nist_r1_suites() { return kNistR1; }
std::span<const std::uint16_t> nist_r2_tls12_suites() { return kNistR2Tls12; }
std::span<const std::uint16_t> nist_r2_tls13_suites() { return kNistR2Tls13; }
std::span<const std::uint16_t> tls13_suites() { return kTls13; }

std::string openssl_cipher_list(std::span<const std::uint16_t> codes) {
  std::string out;
  for (std::uint16_t code : codes) {
    const CipherSuite* s = find_suite(code);
    if (s == nullptr || !s->in_openssl3 || s->openssl_name.empty() || is_tls13_suite(code)) {
      continue;
    }
    if (!out.empty()) {
      out += ':';
    }
    out += s->openssl_name;
  }
  return out;
}

}  // namespace forcetls::checker
