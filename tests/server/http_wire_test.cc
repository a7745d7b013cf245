// Request heads in, response heads out: what is accepted, what is refused with which status,
// and that no split of the input changes the outcome.
#include "server/http_wire.h"

#include <gtest/gtest.h>

namespace streamarc::server {
namespace {

HeadResult Parse(std::string_view in, RequestHead* head) {
  return ParseRequestHead(in, HeadLimits(), head);
}

int RefusedWith(std::string_view in) {
  RequestHead head;
  HeadResult r = Parse(in, &head);
  return r.state == HeadParse::kError ? r.error_status : 0;
}

TEST(HttpWireTest, ParsesAPostWithItsHeaders) {
  const std::string in =
      "POST /describeStream?a=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
      "Content-Length: 2\r\nX-Amz-Date:  20261201T000000Z \r\n\r\n{}";
  RequestHead head;
  HeadResult r = Parse(in, &head);
  ASSERT_EQ(r.state, HeadParse::kDone) << r.error_message;
  EXPECT_EQ(r.consumed, in.size() - 2);
  EXPECT_EQ(head.method, "POST");
  EXPECT_EQ(head.path, "/describeStream");
  EXPECT_EQ(head.query, "a=1");
  EXPECT_EQ(head.content_length, 2u);
  EXPECT_TRUE(head.keep_alive);
  EXPECT_FALSE(head.chunked);
  ASSERT_EQ(head.headers.size(), 3u);
  EXPECT_EQ(head.headers[2].name, "x-amz-date");
  EXPECT_EQ(head.headers[2].value, "20261201T000000Z");
}

TEST(HttpWireTest, EveryPrefixOfAHeadNeedsMore) {
  const std::string in = "GET /hls/a/b.m3u8 HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\n";
  for (size_t n = 0; n < in.size(); ++n) {
    RequestHead head;
    EXPECT_EQ(Parse(in.substr(0, n), &head).state, HeadParse::kNeedMore) << n;
  }
  RequestHead head;
  EXPECT_EQ(Parse(in, &head).state, HeadParse::kDone);
}

TEST(HttpWireTest, PipelinedRequestsAreTakenOneAtATime) {
  const std::string first = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string second = "POST /listStreams HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
  RequestHead head;
  HeadResult r = Parse(first + second, &head);
  ASSERT_EQ(r.state, HeadParse::kDone);
  EXPECT_EQ(r.consumed, first.size());
  EXPECT_EQ(head.path, "/health");
  r = Parse(std::string_view(first + second).substr(r.consumed), &head);
  ASSERT_EQ(r.state, HeadParse::kDone);
  EXPECT_EQ(head.method, "POST");
  EXPECT_EQ(head.content_length, 2u);
}

TEST(HttpWireTest, QueryArgumentsAndPathAreDecoded) {
  RequestHead head;
  ASSERT_EQ(Parse("GET /a%20b?SessionToken=x%2By&q=1+2&&z HTTP/1.1\r\n\r\n", &head).state,
            HeadParse::kDone);
  EXPECT_EQ(head.path, "/a b");
  EXPECT_EQ(head.query, "SessionToken=x+y&q=1 2&z");
}

TEST(HttpWireTest, ConnectionAndVersionDecideKeepAlive) {
  RequestHead head;
  ASSERT_EQ(Parse("GET / HTTP/1.1\r\nConnection: Keep-Alive, Close\r\n\r\n", &head).state,
            HeadParse::kDone);
  EXPECT_FALSE(head.keep_alive);
  ASSERT_EQ(Parse("GET / HTTP/1.0\r\n\r\n", &head).state, HeadParse::kDone);
  EXPECT_FALSE(head.keep_alive);
  ASSERT_EQ(Parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &head).state,
            HeadParse::kDone);
  EXPECT_TRUE(head.keep_alive);
}

TEST(HttpWireTest, ChunkedAndExpectAreSeen) {
  RequestHead head;
  ASSERT_EQ(Parse("POST /putMedia HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                  "Expect: 100-continue\r\n\r\n",
                  &head)
                .state,
            HeadParse::kDone);
  EXPECT_TRUE(head.chunked);
  EXPECT_TRUE(head.expect_continue);
}

TEST(HttpWireTest, AbsoluteFormAndAsteriskTargets) {
  RequestHead head;
  ASSERT_EQ(Parse("GET http://host:1/x/y?z=1 HTTP/1.1\r\n\r\n", &head).state, HeadParse::kDone);
  EXPECT_EQ(head.path, "/x/y");
  EXPECT_EQ(head.query, "z=1");
  ASSERT_EQ(Parse("OPTIONS * HTTP/1.1\r\n\r\n", &head).state, HeadParse::kDone);
  EXPECT_EQ(RefusedWith("GET * HTTP/1.1\r\n\r\n"), 400);
}

TEST(HttpWireTest, LeadingEmptyLinesAreSkipped) {
  RequestHead head;
  ASSERT_EQ(Parse("\r\n\r\nGET /health HTTP/1.1\r\n\r\n", &head).state, HeadParse::kDone);
  EXPECT_EQ(head.path, "/health");
}

TEST(HttpWireTest, MalformedHeadsAreRefused) {
  EXPECT_EQ(RefusedWith("GET /\r\n\r\n"), 400);               // no version
  EXPECT_EQ(RefusedWith("GET  / HTTP/1.1\r\n\r\n"), 400);     // double space
  EXPECT_EQ(RefusedWith("GET / HTTP/1.1 \r\n\r\n"), 400);     // trailing space
  EXPECT_EQ(RefusedWith("G(T / HTTP/1.1\r\n\r\n"), 400);      // not a token
  EXPECT_EQ(RefusedWith("GET x HTTP/1.1\r\n\r\n"), 400);      // not origin-form
  EXPECT_EQ(RefusedWith("GET /\x01 HTTP/1.1\r\n\r\n"), 400);  // control character
  EXPECT_EQ(RefusedWith("GET /%zz HTTP/1.1\r\n\r\n"), 400);   // bad escape
  EXPECT_EQ(RefusedWith("GET /%4 HTTP/1.1\r\n\r\n"), 400);    // short escape
  EXPECT_EQ(RefusedWith("GET /%00 HTTP/1.1\r\n\r\n"), 400);   // NUL in the path
  EXPECT_EQ(RefusedWith("GET / HTTP/2.0\r\n\r\n"), 505);
  EXPECT_EQ(RefusedWith("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
  EXPECT_EQ(RefusedWith("GET / HTTQ/1.1\r\n\r\n"), 400);
  EXPECT_EQ(RefusedWith("GET / HTTP/1.1\r\nHost x\r\n\r\n"), 400);      // no colon
  EXPECT_EQ(RefusedWith("GET / HTTP/1.1\r\nHo st: x\r\n\r\n"), 400);    // space in a name
  EXPECT_EQ(RefusedWith("GET / HTTP/1.1\r\n: x\r\n\r\n"), 400);         // empty name
  EXPECT_EQ(RefusedWith("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n"), 400);  // obsolete folding
  EXPECT_EQ(RefusedWith("GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n"), 400);
  EXPECT_EQ(RefusedWith("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n"), 400);  // bare CR
  EXPECT_EQ(RefusedWith("GET / HTTP/1.1\nHost: x\n\n"), 400);        // bare LF
  EXPECT_EQ(RefusedWith("GET / HTTP/1.1\r\nExpect: something\r\n\r\n"), 417);
}

TEST(HttpWireTest, AmbiguousBodyFramingIsRefused) {
  // The request-smuggling shapes: a front end and we must never disagree on where a body ends.
  EXPECT_EQ(RefusedWith("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked"
                        "\r\n\r\n"),
            400);
  EXPECT_EQ(RefusedWith("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"), 400);
  EXPECT_EQ(RefusedWith("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), 400);
  EXPECT_EQ(RefusedWith("POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n"), 400);
  EXPECT_EQ(RefusedWith("POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n"), 400);
  EXPECT_EQ(RefusedWith("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"), 400);
  EXPECT_EQ(RefusedWith("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501);
  EXPECT_EQ(RefusedWith("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n"),
            501);
  EXPECT_EQ(RefusedWith("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  // The same length twice is one length.
  RequestHead head;
  EXPECT_EQ(Parse("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", &head).state,
            HeadParse::kDone);
}

TEST(HttpWireTest, LimitsAreEnforced) {
  HeadLimits limits;
  limits.max_head_bytes = 100;
  limits.max_headers = 2;
  RequestHead head;
  HeadResult r = ParseRequestHead("GET /" + std::string(200, 'a'), limits, &head);
  EXPECT_EQ(r.error_status, 431);  // no end in sight and already past the limit
  r = ParseRequestHead("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits, &head);
  EXPECT_EQ(r.error_status, 431);
  EXPECT_EQ(RefusedWith("GET /" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n"), 414);
}

TEST(HttpWireTest, ResponseHeads) {
  EXPECT_EQ(FormatResponseHead(200, "application/json", {{"x-a", "1"}}, false, 7, false),
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 7\r\n"
            "x-a: 1\r\n\r\n");
  EXPECT_EQ(FormatResponseHead(200, "video/webm", {}, true, 0, true),
            "HTTP/1.1 200 OK\r\ncontent-type: video/webm\r\ntransfer-encoding: chunked\r\n"
            "connection: close\r\n\r\n");
  EXPECT_EQ(FormatResponseHead(204, "", {}, false, 0, false), "HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_EQ(FormatResponseHead(599, "", {}, false, 0, false),
            "HTTP/1.1 599 Server Error\r\ncontent-length: 0\r\n\r\n");
}

}  // namespace
}  // namespace streamarc::server
