// HTTP Range (RFC 9110 §14) on in-memory bodies: parsing and ServeBody's answers.
#include "server/http_range.h"

#include <gtest/gtest.h>

#include <random>

namespace streamarc::server {
namespace {

HttpRequest Get(std::string range, std::string method = "GET") {
  HttpRequest r;
  r.method = std::move(method);
  r.path = "/clip";
  if (!range.empty()) r.headers.push_back({"range", std::move(range)});
  return r;
}

std::string HeaderOf(const HttpResponse& r, const std::string& name) {
  for (const Header& h : r.headers) {
    if (h.name == name) return h.value;
  }
  return "";
}

const std::string kBody = "0123456789";

TEST(HttpRangeTest, NoRangeIsTheWholeBody) {
  HttpResponse r = ServeBody(Get(""), kBody, "video/mp4");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, kBody);
  EXPECT_EQ(r.content_type, "video/mp4");
  EXPECT_EQ(HeaderOf(r, "accept-ranges"), "bytes");
  EXPECT_EQ(HeaderOf(r, "content-range"), "");
}

TEST(HttpRangeTest, ClosedRange) {
  HttpResponse r = ServeBody(Get("bytes=2-5"), kBody, "video/mp4", {{"x-extra", "1"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, "2345");
  EXPECT_EQ(HeaderOf(r, "content-range"), "bytes 2-5/10");
  EXPECT_EQ(HeaderOf(r, "x-extra"), "1");
}

TEST(HttpRangeTest, OpenAndSuffixRanges) {
  HttpResponse open = ServeBody(Get("bytes=7-"), kBody, "t");
  EXPECT_EQ(open.status, 206);
  EXPECT_EQ(open.body, "789");
  EXPECT_EQ(HeaderOf(open, "content-range"), "bytes 7-9/10");
  HttpResponse suffix = ServeBody(Get("bytes=-3"), kBody, "t");
  EXPECT_EQ(suffix.status, 206);
  EXPECT_EQ(suffix.body, "789");
  HttpResponse big_suffix = ServeBody(Get("bytes=-30"), kBody, "t");
  EXPECT_EQ(big_suffix.status, 206);
  EXPECT_EQ(big_suffix.body, kBody);
  EXPECT_EQ(HeaderOf(big_suffix, "content-range"), "bytes 0-9/10");
  // The end is clamped to the body.
  HttpResponse clamped = ServeBody(Get("bytes=8-100"), kBody, "t");
  EXPECT_EQ(clamped.body, "89");
  EXPECT_EQ(HeaderOf(clamped, "content-range"), "bytes 8-9/10");
  // Whitespace and unit case are tolerated.
  EXPECT_EQ(ServeBody(Get(" Bytes = 0 - 0 "), kBody, "t").body, "0");
}

TEST(HttpRangeTest, UnsatisfiableIs416) {
  for (const char* range : {"bytes=10-", "bytes=10-20", "bytes=-0", "bytes=99-"}) {
    HttpResponse r = ServeBody(Get(range), kBody, "t");
    EXPECT_EQ(r.status, 416) << range;
    EXPECT_EQ(HeaderOf(r, "content-range"), "bytes */10") << range;
    EXPECT_TRUE(r.body.empty());
  }
  HttpResponse empty = ServeBody(Get("bytes=0-"), "", "t");
  EXPECT_EQ(empty.status, 416);
  EXPECT_EQ(HeaderOf(empty, "content-range"), "bytes */0");
}

TEST(HttpRangeTest, MalformedOrMultiRangeIsIgnored) {
  for (const char* range :
       {"bytes=5-2", "bytes=a-b", "bytes=", "bytes=-", "items=0-1", "bytes=0-1,3-4", "bytes 0-1",
        "bytes=1", "bytes=--1", "bytes=99999999999999999999999-", "bytes=0x1-2"}) {
    HttpResponse r = ServeBody(Get(range), kBody, "t");
    EXPECT_EQ(r.status, 200) << range;
    EXPECT_EQ(r.body, kBody) << range;
  }
}

TEST(HttpRangeTest, PostAndHeadHonourRange) {
  // GetClip is a POST.
  HttpResponse post = ServeBody(Get("bytes=0-1", "POST"), kBody, "t");
  EXPECT_EQ(post.status, 206);
  EXPECT_EQ(post.body, "01");
  HttpResponse head = ServeBody(Get("bytes=0-1", "HEAD"), kBody, "t");
  EXPECT_EQ(head.status, 206);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(HeaderOf(head, "content-range"), "bytes 0-1/10");
}

TEST(HttpRangeTest, RandomHeadersStayInsideTheBody) {
  std::mt19937 rng(5);
  const std::string alphabet = "bytes=-0123456789, ";
  for (int i = 0; i < 20000; ++i) {
    std::string value;
    size_t n = rng() % 16;
    for (size_t k = 0; k < n; ++k) value += alphabet[rng() % alphabet.size()];
    uint64_t length = rng() % 20;
    RangeRequest r = ParseRange(value, length);
    if (r.kind == RangeKind::kSatisfiable) {
      ASSERT_LE(r.range.first, r.range.last) << value;
      ASSERT_LT(r.range.last, length) << value;
    }
  }
}

}  // namespace
}  // namespace streamarc::server
