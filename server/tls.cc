#include "server/tls.h"

#include <dlfcn.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

namespace streamarc::server {
namespace {

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

// OpenSSL's reason for the last failure, and its error queue emptied (the one place that reads
// it).
std::string OpenSslReason() {
  const unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  const char* reason = e ? ERR_reason_error_string(e) : nullptr;
  return reason ? reason : "unknown OpenSSL error";
}

// The whole file, or why it cannot be read.
Result<std::string> ReadPem(const std::string& what, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(what + " " + path + ": cannot read it: " + std::strerror(errno));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Refuses to ask for a passphrase: OpenSSL's default would prompt on the terminal.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*user*/) noexcept { return 0; }

using AlpnSelectedFn = void (*)(const SSL*, const unsigned char**, unsigned int*);

// OpenSSL's own SSL_get0_alpn_selected (the one after ours in the lookup order).
AlpnSelectedFn OpenSslAlpnSelected() {
  static const auto fn =
      reinterpret_cast<AlpnSelectedFn>(dlsym(RTLD_NEXT, "SSL_get0_alpn_selected"));
  return fn;
}

std::string Describe(X509* cert) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || !cert) return "";
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_ONELINE);
  BIO_puts(bio.get(), ", expires ");
  ASN1_TIME_print(bio.get(), X509_get0_notAfter(cert));
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) BIO_puts(bio.get(), " (EXPIRED)");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : "";
}

}  // namespace

Result<std::string> CheckTlsFiles(const std::string& cert_file, const std::string& key_file) {
  if (cert_file.empty() || key_file.empty()) {
    return InvalidArgument("TLS needs both a certificate (--tls-cert) and its key (--tls-key)");
  }
  ASSIGN_OR_RETURN(std::string cert_pem, ReadPem("TLS certificate file", cert_file));
  ASSIGN_OR_RETURN(std::string key_pem, ReadPem("TLS key file", key_file));
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return Internal("SSL_CTX_new: " + OpenSslReason());
  SSL_CTX_set_default_passwd_cb(ctx.get(), NoPassphrase);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert_file.c_str()) != 1) {
    return InvalidArgument("TLS certificate file " + cert_file + ": not a PEM certificate chain (" +
                           OpenSslReason() + ")");
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return InvalidArgument("TLS key file " + key_file +
                             " does not belong to the certificate in " + cert_file);
    }
    const bool encrypted = key_pem.find("ENCRYPTED") != std::string::npos;
    return InvalidArgument(
        "TLS key file " + key_file + ": not a usable PEM private key (" + OpenSslReason() + ")" +
        (encrypted ? "; it is encrypted: remove the passphrase (openssl pkey -in KEY -out KEY2)"
                   : ""));
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return InvalidArgument("TLS key file " + key_file + " does not belong to the certificate in " +
                           cert_file + " (" + OpenSslReason() + ")");
  }
  return Describe(SSL_CTX_get0_certificate(ctx.get()));
}

void ConfigureTls(const std::string& cert_file, const std::string& key_file,
                  int64_t handshake_timeout_ms, lws_context_creation_info* info) {
  info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
                   // Plain HTTP reaches our raw protocol (lws_is_ssl false) to be told to use
                   // https, instead of a silent close.
                   LWS_SERVER_OPTION_ALLOW_NON_SSL_ON_SSL_PORT |
                   LWS_SERVER_OPTION_ALLOW_HTTP_ON_HTTPS_LISTENER;
  info->ssl_cert_filepath = cert_file.c_str();
  info->ssl_private_key_filepath = key_file.c_str();
  // HTTP/2 first, as servers prefer; lws does not see an "h2" (SSL_get0_alpn_selected below).
  info->alpn = "h2,http/1.1";
  info->ssl_options_set = static_cast<long>(SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 |
                                            SSL_OP_NO_RENEGOTIATION);
  // lws's own backstop for a handshake that never ends; the server's head deadline (which runs
  // from accept, through the handshake) usually fires first.
  info->timeout_secs =
      static_cast<unsigned>(std::max<int64_t>(1, (handshake_timeout_ms + 999) / 1000));
}

bool NegotiatedH2(lws* wsi) {
  SSL* ssl = lws_get_ssl(wsi);
  const AlpnSelectedFn real = OpenSslAlpnSelected();
  if (!ssl || !real) return false;
  const unsigned char* name = nullptr;
  unsigned len = 0;
  real(ssl, &name, &len);
  return len == 2 && std::memcmp(name, "h2", 2) == 0;
}

bool EndHandshake(lws* wsi) {
  lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
  return lws_is_ssl(wsi) != 0;
}

void SendCloseNotify(lws* wsi) {
  SSL* ssl = lws_get_ssl(wsi);
  if (!ssl) return;
  // Non-blocking: the alert is written now or not at all; either way the close follows.
  SSL_shutdown(ssl);
  ERR_clear_error();
}

}  // namespace streamarc::server

// See tls.h: libwebsockets calls this right after a server handshake and, on "h2", takes the
// connection into its own HTTP/2 role. Ours hides a server-side "h2" from it (the raw socket
// stays ours; NegotiatedH2 reads the real choice) and answers every other call as OpenSSL does.
// NOLINTNEXTLINE(readability-identifier-naming): OpenSSL's name, on purpose
extern "C" void SSL_get0_alpn_selected(const SSL* ssl, const unsigned char** data,
                                       unsigned int* len) {
  *data = nullptr;
  *len = 0;
  const streamarc::server::AlpnSelectedFn real = streamarc::server::OpenSslAlpnSelected();
  if (!real) return;
  real(ssl, data, len);
  if (ssl && SSL_is_server(ssl) && *len == 2 && std::memcmp(*data, "h2", 2) == 0) {
    *data = nullptr;
    *len = 0;
  }
}
