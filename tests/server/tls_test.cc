// HTTPS on the HTTP front (server/tls.h) over real loopback sockets, with a CA and a server
// certificate made by the openssl CLI at test time: requests over TLS from curl and from an
// OpenSSL client, ALPN that never hands the connection to HTTP/2, and the server's limits over
// TLS (a handshake that never ends is timed out like a head, a partial head gets 408, a reader
// that stops is dropped, a long response outlives libwebsockets' own handshake timers), plain
// HTTP refused with a readable answer, and bad certificate files refused at start.
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
#include <thread>

#include "tests/server/http_server_fixture.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"

namespace streamarc::server {
namespace {

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
class TlsClient {
 public:
  TlsClient(int port, const std::string& ca, int rcvbuf_bytes = 0)
      : ctx_(SSL_CTX_new(TLS_client_method())) {
    SSL_CTX_load_verify_locations(ctx_.get(), ca.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    fd_ = ConnectLoopback(port, 5000, rcvbuf_bytes);
    ssl_.reset(SSL_new(ctx_.get()));
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), "127.0.0.1");
    // What curl and browsers offer: HTTP/2 first.
    static const unsigned char kAlpn[] = "\x02h2\x08http/1.1";
    SSL_set_alpn_protos(ssl_.get(), kAlpn, sizeof kAlpn - 1);
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

// 4 MiB whose bytes say where they are, so a lost or repeated piece shows.
std::string BigBody() {
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

TEST_F(TlsTest, CurlPostsOverTlsAndGetsHttp11ThoughItOffersHttp2) {
  Start();
  // curl offers h2 by ALPN; the server must answer http/1.1 (an "h2" would hand the socket to
  // libwebsockets' HTTP/2, which our raw-socket framing does not speak).
  const std::string out = Curl({"--cacert", certs_.ca, "--http2", "-d", "hello", "-w",
                                "\nversion=%{http_version}", HttpsUrl("/echo")});
  EXPECT_NE(out.find("POST /echo q= name=- body=hello"), std::string::npos) << out;
  EXPECT_NE(out.find("version=1.1"), std::string::npos) << out;
  // Without the CA, curl refuses the certificate: the server is really checked.
  const std::string untrusted = Curl({"-d", "x", HttpsUrl("/echo")});
  EXPECT_NE(untrusted.find("certificate"), std::string::npos) << untrusted;
}

TEST_F(TlsTest, KeepAliveAndAlpnOverTls) {
  Start();
  TlsClient c(server_->port(), certs_.ca);
  ASSERT_TRUE(c.handshake_ok());
  EXPECT_EQ(c.alpn(), "http/1.1");
  ASSERT_TRUE(c.Send("GET /hls/a HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(c.ReadUntil("prefix /hls/a").find("HTTP/1.1 200"), std::string::npos);
  // The same TLS connection takes the next request.
  ASSERT_TRUE(c.Send("GET /hls/b HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(c.ReadUntil("prefix /hls/b").find("prefix /hls/b"), std::string::npos) << c.received();
}

TEST_F(TlsTest, LargeResponseArrivesWholeThroughPartialWrites) {
  Start();
  // A rate-limited reader keeps the socket full, so most TLS writes are partial.
  const std::string out = Curl({"--cacert", certs_.ca, "--limit-rate", "4M", HttpsUrl("/big")});
  EXPECT_EQ(out.size(), size_t{4} << 20);
  EXPECT_TRUE(out == BigBody());
}

TEST_F(TlsTest, HandshakeThatNeverEndsIsTimedOutLikeAHead) {
  HttpServerOptions opt;
  opt.head_timeout_ms = 500;
  Start(opt);
  // One client sends nothing; another the start of a ClientHello record and no more.
  int silent = ConnectLoopback(server_->port());
  int partial = ConnectLoopback(server_->port());
  ASSERT_GE(silent, 0);
  ASSERT_GE(partial, 0);
  const auto t0 = Clock::now();
  ASSERT_EQ(send(partial, "\x16\x03\x01\x02\x00\x01", 6, MSG_NOSIGNAL), 6);
  EXPECT_TRUE(WaitForClose(silent));
  EXPECT_TRUE(WaitForClose(partial));
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  EXPECT_GE(waited.count(), 400);  // the deadline, not an early close
  EXPECT_TRUE(WaitFor([&] { return Connections() == 0; }));
  close(silent);
  close(partial);
}

TEST_F(TlsTest, PartialHeadOverTlsGets408InKvsShape) {
  HttpServerOptions opt;
  opt.head_timeout_ms = 500;
  Start(opt);
  TlsClient c(server_->port(), certs_.ca);
  ASSERT_TRUE(c.handshake_ok());
  ASSERT_TRUE(c.Send("GET /hls/a HTTP/1.1\r\nHost: x\r\n"));
  const std::string& got = c.ReadUntil("}");
  EXPECT_EQ(got.rfind("HTTP/1.1 408", 0), 0u) << got;
  EXPECT_NE(got.find("x-amzn-errortype: "), std::string::npos) << got;
  EXPECT_TRUE(c.ReadToEnd());  // then the connection ends (close_notify, then the close)
}

TEST_F(TlsTest, PlainHttpOnTheTlsPortIsToldToUseHttps) {
  Start();
  RawHttp c(server_->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Send("GET /hls/a HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string& got = c.ReadToEnd();
  EXPECT_EQ(got.rfind("HTTP/1.1 400", 0), 0u) << got;
  EXPECT_NE(got.find("x-amzn-errortype: "), std::string::npos) << got;
  EXPECT_NE(got.find("Use an https:// URL"), std::string::npos) << got;
  EXPECT_EQ(got.find("prefix /hls/a"), std::string::npos) << got;
  // The port still serves TLS.
  const std::string out = Curl({"--cacert", certs_.ca, HttpsUrl("/hls/ok")});
  EXPECT_NE(out.find("prefix /hls/ok"), std::string::npos) << out;
}

TEST_F(TlsTest, ReaderThatStopsReadingIsDropped) {
  HttpServerOptions opt;
  opt.send_timeout_ms = 500;
  Start(opt);
  TlsClient c(server_->port(), certs_.ca, 16 << 10);
  ASSERT_TRUE(c.handshake_ok());
  ASSERT_TRUE(c.Send("GET /flood HTTP/1.1\r\nHost: x\r\n\r\n"));
  // Never read: the socket fills, the send timeout gives the connection back.
  EXPECT_TRUE(WaitFor([&] { return flood_closed_.load() == 1; }));
  EXPECT_TRUE(WaitFor([&] { return Connections() == 0; }));
}

TEST_F(TlsTest, LongResponseOutlivesTheHandshakeTimers) {
  // libwebsockets arms its own timer at the handshake (the head timeout, 1 s here) and again
  // after it; a response that lasts longer than both must not be cut.
  HttpServerOptions opt;
  opt.head_timeout_ms = 1000;
  Start(opt);
  TlsClient c(server_->port(), certs_.ca);
  ASSERT_TRUE(c.handshake_ok());
  ASSERT_TRUE(c.Send("GET /flood HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto until = Clock::now() + std::chrono::milliseconds(3500);
  bool alive = true;
  while (alive && Clock::now() < until) alive = c.ReadSome();
  EXPECT_TRUE(alive) << "cut after " << c.received().size() << " bytes";
  EXPECT_EQ(flood_closed_.load(), 0);
}

TEST_F(TlsTest, StalledHandshakesAreShedAtTheConnectionCap) {
  HttpServerOptions opt;
  opt.max_connections = 2;
  Start(opt);
  int a = ConnectLoopback(server_->port());
  int b = ConnectLoopback(server_->port());
  ASSERT_TRUE(WaitFor([&] { return Connections() == 2; }));
  // A third connection pushes out the oldest one still in its handshake, and is served.
  const std::string out = Curl({"--cacert", certs_.ca, HttpsUrl("/hls/third")});
  EXPECT_NE(out.find("prefix /hls/third"), std::string::npos) << out;
  EXPECT_TRUE(WaitForClose(a));
  close(a);
  close(b);
}

TEST_F(TlsTest, BadCertificateFilesAreRefusedAtStartNamingTheFile) {
  WorkerPool pool(1, 4);
  auto start = [&](const std::string& cert, const std::string& key) {
    HttpServerOptions opt;
    opt.port = 0;
    opt.tls_cert_file = cert;
    opt.tls_key_file = key;
    HttpServer http(opt, pool, log_);
    return http.Start();
  };
  const std::string missing = dir_.File("missing.pem");
  Status s = start(missing, certs_.key);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(missing), std::string::npos) << s.ToString();

  const std::string garbage = dir_.File("garbage.pem");
  streamarc::testing::WriteFileOrDie(garbage, "not a certificate\n");
  s = start(garbage, certs_.key);
  EXPECT_NE(s.message().find(garbage), std::string::npos) << s.ToString();
  s = start(certs_.cert, garbage);
  EXPECT_NE(s.message().find(garbage), std::string::npos) << s.ToString();

  // The CA's key is a valid key, but not this certificate's.
  s = start(certs_.cert, dir_.File("ca.key"));
  EXPECT_NE(s.message().find("does not belong"), std::string::npos) << s.ToString();

  s = start(certs_.cert, "");
  EXPECT_NE(s.message().find("--tls-key"), std::string::npos) << s.ToString();

  EXPECT_TRUE(start(certs_.cert, certs_.key).ok());
}

}  // namespace
}  // namespace streamarc::server
