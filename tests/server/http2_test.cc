// HTTP/2 on the TLS port (server/http2_conn.h), over real loopback sockets: curl multiplexing
// many requests on one connection, streams served concurrently, flow control that holds back
// a body its handler paused, long polls waiting together, a stream whose client stops reading reset
// while the others go on, and hostile input (oversize headers, too many streams, malformed frames,
// a bad preface) refused cleanly, the server serving on. For what curl cannot do, H2Wire writes
// frames by hand (RFC 9113 4.1) with nghttp2's HPACK coder for the header blocks.
#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/server/tls_fixture.h"

namespace streamarc::server {
namespace {

constexpr uint8_t kData = 0x0, kHeaders = 0x1, kRstStream = 0x3, kSettings = 0x4, kGoaway = 0x7,
                  kWindowUpdate = 0x8, kContinuation = 0x9;
constexpr uint8_t kEndStream = 0x1, kEndHeaders = 0x4, kAck = 0x1;

struct Frame {
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t stream = 0;
  std::string payload;
  std::map<std::string, std::string> headers;  // a HEADERS frame's, decoded
};

std::string Be(uint32_t v, int bytes) {
  std::string s;
  for (int i = bytes - 1; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

std::string RawFrame(uint8_t type, uint8_t flags, uint32_t stream, const std::string& payload) {
  return Be(static_cast<uint32_t>(payload.size()), 3) + static_cast<char>(type) +
         static_cast<char>(flags) + Be(stream, 4) + payload;
}

// A hand-driven HTTP/2 client connection over TLS (ALPN h2).
class H2Wire {
 public:
  H2Wire(int port, const std::string& ca) : tls_(port, ca, 0, kAlpnH2AndHttp11) {
    nghttp2_hd_deflate_new(&deflater_, 4096);
    nghttp2_hd_inflate_new(&inflater_);
  }
  ~H2Wire() {
    nghttp2_hd_deflate_del(deflater_);
    nghttp2_hd_inflate_del(inflater_);
  }
  H2Wire(const H2Wire&) = delete;
  H2Wire& operator=(const H2Wire&) = delete;

  bool ok() const { return tls_.handshake_ok() && tls_.alpn() == "h2"; }
  bool Send(const std::string& bytes) { return tls_.Send(bytes); }
  bool Preface() {
    return Send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + RawFrame(kSettings, 0, 0, ""));
  }
  // A request head on `stream` (HEADERS and as many CONTINUATIONs as its block needs).
  bool Request(uint32_t stream, const std::string& method, const std::string& path, bool end_stream,
               std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> h = {
        {":method", method}, {":scheme", "https"}, {":authority", "127.0.0.1"}, {":path", path}};
    h.insert(h.end(), extra.begin(), extra.end());
    std::vector<nghttp2_nv> nva;
    nva.reserve(h.size());
    for (auto& [n, v] : h) {
      nva.push_back({reinterpret_cast<uint8_t*>(n.data()), reinterpret_cast<uint8_t*>(v.data()),
                     n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    }
    std::string block(nghttp2_hd_deflate_bound(deflater_, nva.data(), nva.size()), '\0');
    const ssize_t n = nghttp2_hd_deflate_hd(deflater_, reinterpret_cast<uint8_t*>(block.data()),
                                            block.size(), nva.data(), nva.size());
    if (n < 0) return false;
    block.resize(static_cast<size_t>(n));
    std::string out;
    constexpr size_t kMaxFrame = 16384;
    for (size_t off = 0; off < block.size() || off == 0; off += kMaxFrame) {
      const bool last = off + kMaxFrame >= block.size();
      const uint8_t flags = static_cast<uint8_t>((last ? kEndHeaders : 0) |
                                                 (off == 0 && end_stream ? kEndStream : 0));
      out += RawFrame(off == 0 ? kHeaders : kContinuation, flags, stream,
                      block.substr(off, kMaxFrame));
      if (last) break;
    }
    return Send(out);
  }
  bool Data(uint32_t stream, const std::string& bytes, bool end_stream) {
    return Send(RawFrame(kData, end_stream ? kEndStream : 0, stream, bytes));
  }
  bool WindowUpdate(uint32_t stream, uint32_t increment) {
    return Send(RawFrame(kWindowUpdate, 0, stream, Be(increment, 4)));
  }

  // The next frame from the server (HEADERS decoded; SETTINGS acknowledged), or none once the
  // connection ends or nothing comes for 5 s.
  std::optional<Frame> Next() {
    for (;;) {
      const std::string& in = tls_.received();
      if (in.size() - off_ >= 9) {
        const auto* p = reinterpret_cast<const uint8_t*>(in.data() + off_);
        const size_t len = (size_t{p[0]} << 16) | (size_t{p[1]} << 8) | p[2];
        if (in.size() - off_ >= 9 + len) {
          Frame f;
          f.type = p[3];
          f.flags = p[4];
          f.stream = ((uint32_t{p[5]} & 0x7f) << 24) | (uint32_t{p[6]} << 16) |
                     (uint32_t{p[7]} << 8) | p[8];
          f.payload = in.substr(off_ + 9, len);
          off_ += 9 + len;
          if (f.type == kHeaders) Decode(&f);
          if (f.type == kSettings && !(f.flags & kAck)) Send(RawFrame(kSettings, kAck, 0, ""));
          return f;
        }
      }
      if (!tls_.ReadSome()) return std::nullopt;
    }
  }
  // Frames until one on `stream` of `type` (none: the connection ended first). DATA on any
  // stream is kept for Body(), since the server answers streams in any order.
  std::optional<Frame> WaitFor(uint32_t stream, uint8_t type) {
    while (auto f = Next()) {
      Keep(*f);
      if (f->stream == stream && f->type == type) return f;
    }
    return std::nullopt;
  }
  // The body of `stream` up to its END_STREAM.
  std::string Body(uint32_t stream) {
    while (!ended_.contains(stream)) {
      auto f = Next();
      if (!f) break;
      Keep(*f);
    }
    return bodies_[stream];
  }
  bool ReadToEnd() { return tls_.ReadToEnd(); }

 private:
  void Decode(Frame* f) {
    const auto* in = reinterpret_cast<const uint8_t*>(f->payload.data());
    size_t left = f->payload.size();
    for (;;) {
      nghttp2_nv nv;
      int flags = 0;
      const ssize_t n = nghttp2_hd_inflate_hd2(inflater_, &nv, &flags, in, left, 1);
      if (n < 0) return;
      in += n;
      left -= static_cast<size_t>(n);
      if (flags & NGHTTP2_HD_INFLATE_EMIT) {
        f->headers[std::string(reinterpret_cast<char*>(nv.name), nv.namelen)] =
            std::string(reinterpret_cast<char*>(nv.value), nv.valuelen);
      }
      if (flags & NGHTTP2_HD_INFLATE_FINAL) {
        nghttp2_hd_inflate_end_headers(inflater_);
        return;
      }
      if (n == 0 && left == 0) return;
    }
  }

  void Keep(const Frame& f) {
    if (f.type == kData) bodies_[f.stream] += f.payload;
    if ((f.type == kData || f.type == kHeaders) && (f.flags & kEndStream)) ended_.insert(f.stream);
  }

  TlsClient tls_;
  nghttp2_hd_deflater* deflater_ = nullptr;
  nghttp2_hd_inflater* inflater_ = nullptr;
  size_t off_ = 0;
  std::map<uint32_t, std::string> bodies_;
  std::set<uint32_t> ended_;
};

// Pauses its body once 64 KiB have come, for half a second, then takes the rest: with the
// body paused, only the stream's flow-control window (1 MiB) may be sent, and it is handed
// over in one piece when reading resumes. Answers "done N" once `total` bytes have come.
class PausingHandler : public StreamingHandler {
 public:
  struct Seen {
    std::atomic<size_t> largest_piece{0};
    std::atomic<bool> resumed{false};
  };
  PausingHandler(std::shared_ptr<ResponseWriter> w, size_t total, std::shared_ptr<Seen> seen)
      : w_(std::move(w)), total_(total), seen_(std::move(seen)) {}
  void OnBody(std::span<const uint8_t> b) override {
    got_ += b.size();
    if (seen_->resumed.load()) {
      seen_->largest_piece = std::max(seen_->largest_piece.load(), b.size());
    }
    if (!paused_once_ && got_ >= (64u << 10)) {
      paused_once_ = true;
      w_->SetReading(false);
      w_->PostAfter(500'000, [w = w_, seen = seen_] {
        seen->resumed = true;
        w->SetReading(true);
      });
    }
    if (got_ == total_) {
      w_->Respond(HttpResponse{200, "text/plain", {}, "done " + std::to_string(got_)});
    }
  }
  void OnBodyEnd() override {}
  void OnClose() override {}

 private:
  std::shared_ptr<ResponseWriter> w_;
  size_t total_;
  size_t got_ = 0;
  bool paused_once_ = false;
  std::shared_ptr<PausingHandler::Seen> seen_;
};

// Long polls (as an LL-HLS blocking playlist reload): each request waits, its response
// unsent, until `n` of them are waiting at once; then all are answered. One that waits 10 s
// gets 504 instead. Service thread only.
class PollBarrier {
 public:
  explicit PollBarrier(size_t n) : n_(n) {}
  void Join(const std::shared_ptr<ResponseWriter>& w) {
    waiting_.push_back(w);
    if (waiting_.size() == n_) {
      for (auto& each : waiting_) each->Respond(HttpResponse{200, "text/plain", {}, "all here"});
      waiting_.clear();
      return;
    }
    w->PostAfter(10'000'000, [w] { w->Respond(HttpResponse{504, "text/plain", {}, "alone"}); });
  }

 private:
  size_t n_;
  std::vector<std::shared_ptr<ResponseWriter>> waiting_;
};

class NoBody : public StreamingHandler {
 public:
  void OnBody(std::span<const uint8_t>) override {}
  void OnBodyEnd() override {}
  void OnClose() override {}
};

class Http2Test : public TlsTest {
 protected:
  void AddRoutes(HttpServer& http) override {
    TlsTest::AddRoutes(http);
    http.OnShutdown([] {}, 500);  // as streamarcd: a shutdown that lets answers drain
    http.RouteStreaming("GET", "/poll", [this](const HttpRequest&, auto w) {
      poll_.Join(w);
      return std::make_unique<NoBody>();
    });
    http.RouteStreaming("POST", "/pause", [this](const HttpRequest& r, auto w) {
      return std::make_unique<PausingHandler>(std::move(w), std::stoul(r.query.substr(6)), seen_);
    });
  }
  HttpServer::ConnectionCounts Counts() { return server_->http().connections_by_kind(); }

  std::shared_ptr<PausingHandler::Seen> seen_ = std::make_shared<PausingHandler::Seen>();
  PollBarrier poll_{50};
};

TEST_F(Http2Test, CurlMultiplexesAHundredRequestsOverOneConnection) {
  Start();
  // 50 at a time: the fixture's worker pool queues 64 (more would be answered 503, Busy).
  std::vector<std::string> args = {"--cacert",   certs_.ca,        "--http2",
                                   "--parallel", "--parallel-max", "50"};
  args.insert(args.end(), {"-w", "%{http_version} %{num_connects} %{response_code}\n"});
  for (int i = 0; i < 100; ++i) {
    args.insert(args.end(), {"-o", "/dev/null", HttpsUrl("/hls/" + std::to_string(i))});
  }
  const std::string out = Curl(args);
  EXPECT_EQ(
      streamarc::testing::CountOf(out, "2 0 200\n") + streamarc::testing::CountOf(out, "2 1 200\n"),
      100u)
      << out;
  // One connection for all of them.
  EXPECT_EQ(streamarc::testing::CountOf(out, "2 1 200\n"), 1u) << out;
}

TEST_F(Http2Test, FiftyLongPollsWaitTogetherOnOneConnection) {
  Start();
  // Each is answered only once all 50 are waiting: they must be in flight at once.
  std::vector<std::string> args = {"--cacert",   certs_.ca,        "--http2",
                                   "--parallel", "--parallel-max", "50"};
  args.insert(args.end(), {"-w", "%{http_version} %{num_connects} %{response_code}\n"});
  for (int i = 0; i < 50; ++i) args.insert(args.end(), {"-o", "/dev/null", HttpsUrl("/poll")});
  const std::string out = Curl(args);
  EXPECT_EQ(streamarc::testing::CountOf(out, "2 1 200\n"), 1u) << out;
  EXPECT_EQ(streamarc::testing::CountOf(out, "2 0 200\n"), 49u) << out;
}

TEST_F(Http2Test, StreamsAreServedConcurrentlyAndTheConnectionIsCountedAsH2) {
  Start();
  slow_ms_ = 1000;
  H2Wire c(server_->port(), certs_.ca);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.Preface());
  ASSERT_TRUE(c.Request(1, "GET", "/slow", true));
  ASSERT_TRUE(c.Request(3, "POST", "/echo?a=1", false, {{"x-amzn-stream-name", "cam"}}));
  ASSERT_TRUE(c.Data(3, "hello", true));
  // The quick answer comes first: the slow one does not hold the connection.
  auto first = c.WaitFor(3, kHeaders);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->headers[":status"], "200");
  EXPECT_EQ(first->headers["x-echo"], "1");
  EXPECT_EQ(c.Body(3), "POST /echo q=a=1 name=cam body=hello");
  EXPECT_EQ(Counts().h2, 1);
  auto slow = c.WaitFor(1, kHeaders);
  ASSERT_TRUE(slow);
  EXPECT_EQ(slow->headers[":status"], "200");
  EXPECT_EQ(c.Body(1), "slow");
}

TEST_F(Http2Test, OversizeHeadersGet431InKvsShapeAndTheConnectionGoesOn) {
  HttpServerOptions opt;
  opt.max_head_bytes = 16 << 10;
  Start(opt);
  H2Wire c(server_->port(), certs_.ca);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.Preface());
  ASSERT_TRUE(c.Request(1, "GET", "/hls/a", true, {{"x-big", std::string(40 << 10, 'b')}}));
  auto refused = c.WaitFor(1, kHeaders);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->headers[":status"], "431");
  EXPECT_FALSE(refused->headers["x-amzn-errortype"].empty());
  EXPECT_EQ(refused->headers["x-amzn-requestid"], "req-1");
  EXPECT_NE(c.Body(1).find("larger than"), std::string::npos) << c.Body(1);
  ASSERT_TRUE(c.Request(3, "GET", "/hls/b", true));
  auto ok = c.WaitFor(3, kHeaders);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->headers[":status"], "200");
  EXPECT_EQ(c.Body(3), "prefix /hls/b");
}

TEST_F(Http2Test, StreamsOverTheLimitAreRefusedAndTheOthersGoOn) {
  HttpServerOptions opt;
  opt.h2_max_concurrent_streams = 4;
  Start(opt);
  H2Wire c(server_->port(), certs_.ca);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.Preface());
  // Four requests whose bodies have not come hold four streams open; the fifth is refused
  // (REFUSED_STREAM while the client has not yet acknowledged the limit, as here; once it has,
  // nghttp2 treats exceeding it as the client's protocol error and ends the connection).
  for (uint32_t id : {1, 3, 5, 7}) ASSERT_TRUE(c.Request(id, "POST", "/echo", false));
  ASSERT_TRUE(c.Request(9, "POST", "/echo", false));
  auto reset = c.WaitFor(9, kRstStream);
  ASSERT_TRUE(reset);
  for (uint32_t id : {1, 3, 5, 7}) ASSERT_TRUE(c.Data(id, "x" + std::to_string(id), true));
  for (uint32_t id : {1, 3, 5, 7}) {
    EXPECT_EQ(c.Body(id), "POST /echo q= name=- body=x" + std::to_string(id));
  }
}

TEST_F(Http2Test, MalformedFramesEndTheirConnectionWithGoawayAndTheServerGoesOn) {
  Start();
  const std::vector<std::string> hostile = {
      RawFrame(kSettings, 0, 0, "12345"),                  // a SETTINGS frame of 5 bytes
      RawFrame(kData, 0, 0, "data on stream 0"),           // DATA on the connection's stream
      RawFrame(kHeaders, kEndHeaders, 2, "\xff\xff\xff"),  // an even (server) stream, bad HPACK
      RawFrame(kWindowUpdate, 0, 0, Be(0, 4)),             // a window increment of 0
  };
  for (const std::string& frame : hostile) {
    H2Wire c(server_->port(), certs_.ca);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.Preface());
    ASSERT_TRUE(c.Send(frame));
    bool goaway = false;
    while (auto f = c.Next()) goaway = goaway || f->type == kGoaway;
    EXPECT_TRUE(goaway);
  }
  // Not HTTP/2 at all after choosing it: the connection just ends.
  {
    H2Wire c(server_->port(), certs_.ca);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_TRUE(c.ReadToEnd());
  }
  EXPECT_TRUE(WaitFor([&] { return Connections() == 0; }));
  const std::string out = Curl({"--cacert", certs_.ca, "--http2", HttpsUrl("/hls/after")});
  EXPECT_EQ(out, "prefix /hls/after");
}

TEST_F(Http2Test, AStreamWhoseClientStopsReadingIsResetAndTheOthersGoOn) {
  HttpServerOptions opt;
  opt.send_timeout_ms = 500;
  Start(opt);
  H2Wire c(server_->port(), certs_.ca);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.Preface());
  ASSERT_TRUE(c.WindowUpdate(0, 64 << 20));  // the connection may carry plenty
  // /flood never ends; its stream's window (64 KiB) is never opened again.
  ASSERT_TRUE(c.Request(1, "GET", "/flood", true));
  ASSERT_TRUE(c.Request(3, "GET", "/hls/x", true));
  EXPECT_EQ(c.Body(3), "prefix /hls/x");
  auto reset = c.WaitFor(1, kRstStream);
  ASSERT_TRUE(reset);
  EXPECT_TRUE(WaitFor([&] { return flood_closed_.load() == 1; }));
  ASSERT_TRUE(c.Request(5, "GET", "/hls/y", true));
  EXPECT_EQ(c.Body(5), "prefix /hls/y");
}

TEST_F(Http2Test, FlowControlHoldsBackABodyItsHandlerPaused) {
  Start();
  const size_t total = 8 << 20;
  const std::string file = dir_.File("body.bin");
  streamarc::testing::WriteFileOrDie(file, std::string(total, 'p'));
  const std::string out =
      Curl({"--cacert", certs_.ca, "--http2", "--data-binary", "@" + file, "-w", " %{http_version}",
            HttpsUrl("/pause?total=" + std::to_string(total))});
  EXPECT_EQ(out, "done " + std::to_string(total) + " 2");
  // What arrived during the pause was held by the window: at most 1 MiB, handed over at once.
  EXPECT_GT(seen_->largest_piece.load(), size_t{256} << 10);
  EXPECT_LE(seen_->largest_piece.load(), size_t{1} << 20);
}

TEST_F(Http2Test, ShutdownSendsGoawayAndEndsTheConnection) {
  Start();
  H2Wire c(server_->port(), certs_.ca);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.Preface());
  ASSERT_TRUE(c.Request(1, "GET", "/hls/x", true));
  EXPECT_EQ(c.Body(1), "prefix /hls/x");
  server_->Stop();
  auto goaway = c.WaitFor(0, kGoaway);
  ASSERT_TRUE(goaway);
  EXPECT_EQ(goaway->payload.substr(0, 4), Be(1, 4));  // the last stream it took
}

}  // namespace
}  // namespace streamarc::server
