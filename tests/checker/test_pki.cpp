// SPDX-License-Identifier: Apache-2.0
// Test helpers: see test_pki.hpp.
#include "tests/checker/test_pki.hpp"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace forcetls::test {
namespace {

void must(bool ok, const char* what) {
  if (!ok) {
    throw std::runtime_error(std::string("test PKI: ") + what);
  }
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  must(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

}  // namespace

Issued issue(const CertSpec& spec, const Issued* issuer) {
  static std::atomic<long> serial{1000};
  Issued out;
  out.key.reset(EVP_EC_gen("P-256"));
  must(out.key != nullptr, "key");
  out.cert.reset(X509_new());
  X509* x = out.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  must(ASN1_TIME_set(X509_getm_notBefore(x), static_cast<time_t>(spec.not_before)) != nullptr,
       "not before");
  must(ASN1_TIME_set(X509_getm_notAfter(x), static_cast<time_t>(spec.not_after)) != nullptr,
       "not after");
  X509_set_pubkey(x, out.key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("forcetls test"), -1, -1, 0);
  if (!spec.cn.empty()) {
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
  }
  X509* signer = issuer != nullptr ? issuer->cert.get() : x;
  EVP_PKEY* signer_key = issuer != nullptr ? issuer->key.get() : out.key.get();
  X509_set_issuer_name(x, X509_get_subject_name(signer));
  if (spec.ca) {
    add_ext(x, signer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(x, signer, NID_basic_constraints, "CA:FALSE");
    add_ext(x, signer, NID_key_usage, "critical,digitalSignature");
  }
  add_ext(x, signer, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) {
    add_ext(x, signer, NID_authority_key_identifier, "keyid:always");
  }
  if (!spec.sans.empty()) {
    std::string value;
    for (const auto& san : spec.sans) {
      value += (value.empty() ? "DNS:" : ",DNS:") + san;
    }
    add_ext(x, signer, NID_subject_alt_name, value);
  }
  if (!spec.eku.empty()) {
    add_ext(x, signer, NID_ext_key_usage, spec.eku);
  }
  must(X509_sign(x, signer_key, EVP_sha256()) > 0, "sign");
  return out;
}

std::string write_pem_file(const std::vector<X509*>& certs, const std::string& name) {
  auto dir =
      std::filesystem::temp_directory_path() / ("forcetls-pki-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = dir / name;
  CHandle<BIO, BIO_free> bio{BIO_new_file(path.c_str(), "w")};
  must(bio != nullptr, "open PEM file");
  for (X509* c : certs) {
    must(PEM_write_bio_X509(bio.get(), c) == 1, "write PEM");
  }
  return path.string();
}

checker::SslCtxHandle make_server_ctx(const Issued& leaf, const std::vector<X509*>& chain,
                                      const ServerTls& tls) {
  checker::SslCtxHandle ctx{SSL_CTX_new(TLS_server_method())};
  must(ctx != nullptr, "server ctx");
  SSL_CTX_set_security_level(ctx.get(), 0);
  must(SSL_CTX_set_min_proto_version(ctx.get(), tls.min_version) == 1, "min version");
  must(SSL_CTX_set_max_proto_version(ctx.get(), tls.max_version) == 1, "max version");
  must(SSL_CTX_set_cipher_list(ctx.get(), tls.cipher_list.c_str()) == 1, "cipher list");
  must(SSL_CTX_use_certificate(ctx.get(), leaf.cert.get()) == 1, "certificate");
  must(SSL_CTX_use_PrivateKey(ctx.get(), leaf.key.get()) == 1, "key");
  for (X509* c : chain) {
    must(SSL_CTX_add1_chain_cert(ctx.get(), c) == 1, "chain");
  }
  return ctx;
}

}  // namespace forcetls::test
