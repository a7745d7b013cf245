// HTTPS on the HTTP front (server/tls.h) over real loopback sockets, with a CA and a server
// certificate made by the openssl CLI at test time: requests over TLS from curl and from an
// OpenSSL client, ALPN choosing h2 or http/1.1 as the client offers (HTTP/2 itself is
// http2_test.cc's), and the server's limits over TLS (a handshake that never ends is timed out
// like a head, a partial head gets 408, a reader that stops is dropped, a long response
// outlives libwebsockets' own handshake timers), plain HTTP refused with a readable answer, and
// bad certificate files refused at start.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "tests/server/tls_fixture.h"

namespace streamarc::server {
namespace {

TEST_F(TlsTest, CurlPostsOverTlsByHttp2OrHttp11AsItAsks) {
  Start();
  // curl offers h2 first by ALPN and gets it (served by nghttp2, server/http2_conn.h); one that
  // offers only http/1.1 gets our HTTP/1.1 on the same port.
  for (const auto& [flag, version] :
       {std::pair{"--http2", "version=2"}, std::pair{"--http1.1", "version=1.1"}}) {
    const std::string out = Curl({"--cacert", certs_.ca, flag, "-d", "hello", "-w",
                                  "\nversion=%{http_version}", HttpsUrl("/echo")});
    EXPECT_NE(out.find("POST /echo q= name=- body=hello"), std::string::npos) << out;
    EXPECT_NE(out.find(version), std::string::npos) << out;
  }
  // Without the CA, curl refuses the certificate: the server is really checked.
  const std::string untrusted = Curl({"-d", "x", HttpsUrl("/echo")});
  EXPECT_NE(untrusted.find("certificate"), std::string::npos) << untrusted;
}

TEST_F(TlsTest, KeepAliveAndAlpnOverTls) {
  Start();
  TlsClient c(server_->port(), certs_.ca);
  ASSERT_TRUE(c.handshake_ok());
  EXPECT_EQ(c.alpn(), "http/1.1");
  EXPECT_EQ(TlsClient(server_->port(), certs_.ca, 0, kAlpnH2AndHttp11).alpn(), "h2");
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
