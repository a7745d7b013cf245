// The TLS tests' fixture (tls_test.cc, http2_test.cc): TlsTest, an in-process HttpServer on
// HTTPS with a CA and certificate made by the openssl CLI at test time, and TlsClient, a
// blocking OpenSSL client for what curl cannot do.
#pragma once

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "tests/server/http_server_fixture.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"

namespace streamarc::server {

using streamarc::testing::ConnectLoopback;
using streamarc::testing::Curl;
using streamarc::testing::RawHttp;
using streamarc::testing::TempDir;
using streamarc::testing::TestCerts;
using Clock = std::chrono::steady_clock;

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};

// A blocking TLS client that trusts only the test CA and checks the server's address against
// its certificate: for what curl cannot do (send a head in pieces, stop reading).
inline constexpr std::string_view kAlpnHttp11 = "\x08http/1.1";
// What curl and browsers offer: HTTP/2 first.
inline constexpr std::string_view kAlpnH2AndHttp11 = "\x02h2\x08http/1.1";

class TlsClient {
 public:
  // `alpn`: the protocols offered, in ALPN's wire form (each one prefixed by its length).
  TlsClient(int port, const std::string& ca, int rcvbuf_bytes = 0,
            std::string_view alpn = kAlpnHttp11)
      : ctx_(SSL_CTX_new(TLS_client_method())) {
    SSL_CTX_load_verify_locations(ctx_.get(), ca.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    fd_ = ConnectLoopback(port, 5000, rcvbuf_bytes);
    ssl_.reset(SSL_new(ctx_.get()));
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), "127.0.0.1");
    SSL_set_alpn_protos(ssl_.get(), reinterpret_cast<const unsigned char*>(alpn.data()),
                        static_cast<unsigned>(alpn.size()));
    SSL_set_fd(ssl_.get(), fd_);
    handshake_ok_ = SSL_connect(ssl_.get()) == 1;
    if (!handshake_ok_) ERR_print_errors_fp(stderr);
  }
  ~TlsClient() {
    ssl_.reset();
    if (fd_ >= 0) close(fd_);
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  bool handshake_ok() const { return handshake_ok_; }
  std::string alpn() const {
    const unsigned char* p = nullptr;
    unsigned n = 0;
    SSL_get0_alpn_selected(ssl_.get(), &p, &n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  bool Send(const std::string& bytes) {
    return SSL_write(ssl_.get(), bytes.data(), static_cast<int>(bytes.size())) ==
           static_cast<int>(bytes.size());
  }
  // Reads until `text` has arrived, the server closes, or a read times out (5 s).
  const std::string& ReadUntil(const std::string& text) {
    while (in_.find(text) == std::string::npos && ReadSome()) {
    }
    return in_;
  }
  // True once the server has ended the connection (a clean close_notify or an end of stream).
  bool ReadToEnd() {
    while (ReadSome()) {
    }
    return ended_;
  }
  // Reads one piece; false at the end of the stream, on an error or on a read timeout.
  bool ReadSome() {
    char buf[16384];
    const int n = SSL_read(ssl_.get(), buf, sizeof buf);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      return true;
    }
    const int e = SSL_get_error(ssl_.get(), n);
    // OpenSSL 3 reports an end of stream without close_notify as SSL_ERROR_SSL.
    ended_ = e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SSL ||
             (e == SSL_ERROR_SYSCALL && errno != EAGAIN && errno != EWOULDBLOCK);
    ERR_clear_error();
    return false;
  }
  const std::string& received() const { return in_; }
  int fd() const { return fd_; }

 private:
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx_;
  std::unique_ptr<SSL, SslFree> ssl_;
  int fd_ = -1;
  bool handshake_ok_ = false;
  bool ended_ = false;
  std::string in_;
};

// WaitFor, WaitForClose, kGenerous and FloodHandler: tests/server/http_server_fixture.h.

// 4 MiB whose bytes say where they are, so a lost or repeated piece shows.
inline std::string BigBody() {
  std::string s;
  s.reserve(4 << 20);
  for (int i = 0; s.size() < (4u << 20); ++i) s += std::to_string(i) + "\n";
  s.resize(4 << 20);
  return s;
}

class TlsTest : public HttpServerTest {
 protected:
  void SetUp() override {
    certs_ = streamarc::testing::MakeTestCerts(dir_.path());
    ASSERT_FALSE(certs_.cert.empty());
  }

  void Start(HttpServerOptions opt = {}) {
    opt.tls_cert_file = certs_.cert;
    opt.tls_key_file = certs_.key;
    opt.request_id = [] { return std::string("req-1"); };
    StartServer(2, 64, std::move(opt));
  }

  void AddRoutes(HttpServer& http) override {
    http.RouteStreaming("GET", "/flood", [this](const HttpRequest&, auto w) {
      return std::make_unique<FloodHandler>(std::move(w), &flood_closed_);
    });
    http.Route("GET", "/big", [](const HttpRequest&) {
      return HttpResponse{200, "text/plain", {}, BigBody()};
    });
  }

  std::string HttpsUrl(const std::string& path) {
    return "https://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  size_t Connections() { return server_->http().connections(); }

  TempDir dir_;
  TestCerts certs_;
  std::atomic<int> flood_closed_{0};
};

}  // namespace streamarc::server
