// SPDX-License-Identifier: Apache-2.0
// Certificate facts and checks: see certificate_check.hpp.
#include "checker/tls/certificate_check.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "common/c_handle.hpp"

namespace forcetls::checker {
namespace {

using Bio = CHandle<BIO, BIO_free>;
using StoreCtx = CHandle<X509_STORE_CTX, X509_STORE_CTX_free>;
using GeneralNames = CHandle<GENERAL_NAMES, GENERAL_NAMES_free>;
using Bignum = CHandle<BIGNUM, BN_free>;

void free_openssl_string(char* p) { OPENSSL_free(p); }
void free_openssl_bytes(unsigned char* p) { OPENSSL_free(p); }
using OpensslString = CHandle<char, free_openssl_string>;
using OpensslBytes = CHandle<unsigned char, free_openssl_bytes>;

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return (n > 0 && data != nullptr) ? std::string(data, static_cast<std::size_t>(n))
                                    : std::string();
}

std::string name_text(const X509_NAME* name) {
  if (name == nullptr) {
    return {};
  }
  Bio bio{BIO_new(BIO_s_mem())};
  if (!bio) {
    return {};
  }
  // RFC 2253 order, but keep UTF-8 as UTF-8 rather than \XX escapes.
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  return bio_text(bio.get());
}

std::string asn1_string_utf8(const ASN1_STRING* s) {
  unsigned char* out = nullptr;
  int n = ASN1_STRING_to_UTF8(&out, s);
  if (n < 0) {
    return {};
  }
  OpensslBytes owned{out};
  return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
}

std::string last_common_name(const X509_NAME* name) {
  if (name == nullptr) {
    return {};
  }
  int last = -1;
  for (int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) {
    last = i;
  }
  if (last < 0) {
    return {};
  }
  return asn1_string_utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last)));
}

// ISO 8601 UTC text and unix time of an ASN.1 time; false when unparsable.
bool time_fields(const ASN1_TIME* t, std::string& iso, std::int64_t& unix_time) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return false;
  }
  char buf[32];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
    return false;
  }
  iso = buf;
  unix_time = static_cast<std::int64_t>(timegm(&tm));
  return true;
}

std::string hex(const unsigned char* data, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 15]);
  }
  return out;
}

// Records every chain error and lets verification continue, so one run lists
// them all (an untrusted root and a bad purpose, say).
int record_errors(int ok, X509_STORE_CTX* ctx) {
  if (ok == 0) {
    auto* errors = static_cast<std::vector<VerifyError>*>(X509_STORE_CTX_get_app_data(ctx));
    int code = X509_STORE_CTX_get_error(ctx);
    errors->push_back(VerifyError{X509_STORE_CTX_get_error_depth(ctx), code,
                                  X509_verify_cert_error_string(code)});
  }
  return 1;
}

}  // namespace

CertificateInfo describe_certificate(X509* cert) {
  CertificateInfo info;
  if (cert == nullptr) {
    return info;
  }
  info.subject = name_text(X509_get_subject_name(cert));
  info.common_name = last_common_name(X509_get_subject_name(cert));
  info.issuer = name_text(X509_get_issuer_name(cert));

  GeneralNames names{
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr))};
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
      if (gn->type == GEN_DNS) {
        const ASN1_IA5STRING* s = gn->d.dNSName;
        info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                    static_cast<std::size_t>(ASN1_STRING_length(s)));
      }
    }
  }

  time_fields(X509_get0_notBefore(cert), info.not_before, info.not_before_unix);
  time_fields(X509_get0_notAfter(cert), info.not_after, info.not_after_unix);

  Bignum serial{ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)};
  if (serial) {
    OpensslString text{BN_bn2hex(serial.get())};
    if (text) {
      info.serial = text.get();
    }
  }

  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &md_len) == 1) {
    info.sha256 = hex(md, md_len);
  }

  int der_len = i2d_X509(cert, nullptr);
  if (der_len > 0) {
    info.der.resize(static_cast<std::size_t>(der_len));
    unsigned char* p = info.der.data();
    i2d_X509(cert, &p);
  }
  return info;
}

CertificateChecks check_certificate(X509* leaf, STACK_OF(X509) * untrusted, X509_STORE* store,
                                    std::string_view host_name,
                                    std::chrono::system_clock::time_point now) {
  CertificateChecks checks;
  if (leaf == nullptr) {
    return checks;
  }

  // Expiry of the leaf, against the injected clock.
  std::time_t now_t = std::chrono::system_clock::to_time_t(now);
  int after = ASN1_TIME_cmp_time_t(X509_get0_notAfter(leaf), now_t);
  if (after != -2) {
    checks.expired = tri(after < 0);
  }
  int before = ASN1_TIME_cmp_time_t(X509_get0_notBefore(leaf), now_t);
  if (before != -2) {
    checks.not_yet_valid = tri(before > 0);
  }

  // Trust: the chain to a trusted CA, as an SSL client checks it (purpose
  // sslserver), with dates ignored (expiry is its own question) and no host
  // name set (so is the name).
  if (store != nullptr) {
    StoreCtx ctx{X509_STORE_CTX_new()};
    if (ctx && X509_STORE_CTX_init(ctx.get(), store, leaf, untrusted) == 1) {
      X509_STORE_CTX_set_default(ctx.get(), "ssl_server");
      X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx.get()), X509_V_FLAG_NO_CHECK_TIME);
      X509_STORE_CTX_set_app_data(ctx.get(), &checks.verify_errors);
      X509_STORE_CTX_set_verify_cb(ctx.get(), record_errors);
      int ok = X509_verify_cert(ctx.get());
      if (!checks.verify_errors.empty()) {
        checks.trusted = Tri::no;
        checks.verify_error = checks.verify_errors.front().text;
      } else if (ok == 1) {
        checks.trusted = Tri::yes;
      } else {
        int code = X509_STORE_CTX_get_error(ctx.get());
        checks.verify_error = X509_verify_cert_error_string(code);
      }
    }
  }

  // Host name: SAN dNSNames, else the CN; "*" only as the whole left-most
  // label (NO_PARTIAL_WILDCARDS refuses "mx*.example.com"); one label deep.
  if (host_name.ends_with('.')) {
    host_name.remove_suffix(1);
  }
  if (!host_name.empty()) {
    char* peer = nullptr;
    int r = X509_check_host(leaf, host_name.data(), host_name.size(),
                            X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, &peer);
    OpensslString owned{peer};
    if (r == 1) {
      checks.name_match = Tri::yes;
      if (peer != nullptr) {
        checks.matched_name = peer;
      }
    } else if (r == 0) {
      checks.name_match = Tri::no;
    }
  }
  return checks;
}

}  // namespace forcetls::checker
