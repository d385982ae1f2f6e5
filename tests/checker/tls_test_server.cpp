// SPDX-License-Identifier: Apache-2.0
// In-memory OpenSSL server for the wire-layer tests.
#include "tests/checker/tls_test_server.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdexcept>

#include "common/c_handle.hpp"

namespace forcetls::checker::testing {
namespace {

using Key = CHandle<EVP_PKEY, EVP_PKEY_free>;
using Cert = CHandle<X509, X509_free>;

struct Identity {
  Key key;
  Cert cert;
};

Identity make_identity(bool ecdsa) {
  Identity id;
  id.key.reset(ecdsa ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048));
  id.cert.reset(X509_new());
  if (!id.key || !id.cert) {
    throw std::runtime_error("key generation failed");
  }
  X509* x = id.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400L);
  X509_set_pubkey(x, id.key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("mx.example.com"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  if (X509_sign(x, id.key.get(), EVP_sha256()) == 0) {
    throw std::runtime_error("self-signing failed");
  }
  return id;
}

const Identity& identity(bool ecdsa) {
  static const Identity rsa = make_identity(false);
  static const Identity ec = make_identity(true);
  return ecdsa ? ec : rsa;
}

int on_client_hello(SSL* ssl, int*, void* arg) {
  auto* run = static_cast<TestServerRun*>(arg);
  run->hello_seen = true;
  run->legacy_version = static_cast<std::uint16_t>(SSL_client_hello_get0_legacy_version(ssl));
  const unsigned char* p = nullptr;
  std::size_t n = SSL_client_hello_get0_ciphers(ssl, &p);
  for (std::size_t i = 0; i + 1 < n; i += 2) {
    run->ciphers.push_back(static_cast<std::uint16_t>(p[i] << 8 | p[i + 1]));
  }
  int* exts = nullptr;
  std::size_t count = 0;
  if (SSL_client_hello_get1_extensions_present(ssl, &exts, &count) == 1) {
    run->extensions.assign(exts, exts + count);
    OPENSSL_free(exts);
  }
  const unsigned char* sni = nullptr;
  std::size_t sni_len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &sni, &sni_len) == 1 &&
      sni_len >= 5) {
    std::size_t name_len = static_cast<std::size_t>(sni[3] << 8 | sni[4]);
    if (5 + name_len <= sni_len) {
      run->sni.assign(reinterpret_cast<const char*>(sni + 5), name_len);
    }
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

}  // namespace

TestServerRun run_test_server(const TestServerConfig& config,
                              std::span<const std::uint8_t> client_hello) {
  TestServerRun run;
  CHandle<SSL_CTX, SSL_CTX_free> ctx{SSL_CTX_new(TLS_server_method())};
  if (!ctx) {
    throw std::runtime_error("SSL_CTX_new failed");
  }
  const Identity& id = identity(config.ecdsa);
  if (SSL_CTX_use_certificate(ctx.get(), id.cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx.get(), id.key.get()) != 1) {
    throw std::runtime_error("certificate setup failed");
  }
  if ((config.min_version != 0 &&
       SSL_CTX_set_min_proto_version(ctx.get(), config.min_version) != 1) ||
      (config.max_version != 0 &&
       SSL_CTX_set_max_proto_version(ctx.get(), config.max_version) != 1) ||
      SSL_CTX_set_cipher_list(ctx.get(), config.ciphers.c_str()) != 1 ||
      (!config.ciphersuites.empty() &&
       SSL_CTX_set_ciphersuites(ctx.get(), config.ciphersuites.c_str()) != 1) ||
      (!config.groups.empty() && SSL_CTX_set1_groups_list(ctx.get(), config.groups.c_str()) != 1)) {
    throw std::runtime_error("server configuration rejected by OpenSSL");
  }
  SSL_CTX_set_dh_auto(ctx.get(), 1);
  SSL_CTX_set_client_hello_cb(ctx.get(), on_client_hello, &run);

  CHandle<SSL, SSL_free> ssl{SSL_new(ctx.get())};
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  if (!ssl || in == nullptr || out == nullptr) {
    BIO_free(in);
    BIO_free(out);
    throw std::runtime_error("SSL_new failed");
  }
  SSL_set_bio(ssl.get(), in, out);  // ssl owns both BIOs now
  SSL_set_accept_state(ssl.get());
  BIO_write(in, client_hello.data(), static_cast<int>(client_hello.size()));
  SSL_do_handshake(ssl.get());  // stops wanting the client's next flight, or fails
  char buf[4096];
  int n = 0;
  while ((n = BIO_read(out, buf, sizeof buf)) > 0) {
    run.output.insert(run.output.end(), buf, buf + n);
  }
  run.version = SSL_version(ssl.get());
  if (const SSL_CIPHER* c = SSL_get_pending_cipher(ssl.get())) {
    run.cipher = static_cast<std::uint16_t>(SSL_CIPHER_get_protocol_id(c));
  }
  ERR_clear_error();
  return run;
}

}  // namespace forcetls::checker::testing
