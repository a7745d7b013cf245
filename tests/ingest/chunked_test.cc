// The chunked body decoder: every split of the framing gives the same body; malformed
// framing is refused however it is split; a real MKV survives the trip into the fragmenter.
#include "ingest/chunked.h"

#include <gtest/gtest.h>

#include <random>

#include "common/clock.h"
#include "common/mkv.h"
#include "fragmenter/fragmenter.h"
#include "tests/support/media.h"
#include "tests/support/subprocess.h"

namespace streamarc::ingest {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

struct Collect : ChunkedHandler {
  Status OnData(std::span<const uint8_t> d) override {
    if (fail_at && body.size() + d.size() >= *fail_at) return Cancelled("handler: stop");
    body.append(reinterpret_cast<const char*>(d.data()), d.size());
    ++pieces;
    return Status::Ok();
  }
  Status OnEnd(const std::vector<Trailer>& t) override {
    trailers = t;
    ++ends;
    return Status::Ok();
  }
  std::optional<size_t> fail_at;
  std::string body;
  std::vector<Trailer> trailers;
  int ends = 0;
  int pieces = 0;
};

struct Outcome {
  Status status;
  std::string body;
  std::vector<std::pair<std::string, std::string>> trailers;
  int ends = 0;
  bool done = false;
  bool operator==(const Outcome& o) const {
    return status.code() == o.status.code() && body == o.body && trailers == o.trailers &&
           ends == o.ends && done == o.done;
  }
};

// Decodes `framing` cut at `cuts` (sorted offsets).
Outcome Decode(const std::string& framing, const std::vector<size_t>& cuts,
               const ChunkedOptions& options = {}) {
  Collect c;
  ChunkedDecoder d(c, options);
  Outcome o;
  size_t p = 0;
  for (size_t i = 0; i <= cuts.size() && o.status.ok(); ++i) {
    size_t end = i < cuts.size() ? cuts[i] : framing.size();
    o.status = d.Feed(Bytes(framing).subspan(p, end - p));
    p = end;
  }
  o.body = c.body;
  for (const Trailer& t : c.trailers) o.trailers.emplace_back(t.name, t.value);
  o.ends = c.ends;
  o.done = d.done();
  return o;
}

std::vector<size_t> EveryByte(size_t n) {
  std::vector<size_t> v;
  for (size_t i = 1; i < n; ++i) v.push_back(i);
  return v;
}

std::vector<size_t> RandomCuts(size_t n, std::mt19937& rng) {
  std::vector<size_t> v;
  std::uniform_int_distribution<size_t> step(1, 64);
  for (size_t p = step(rng); p < n; p += step(rng)) v.push_back(p);
  return v;
}

// Chunk-encodes `body` in random chunk sizes, with random hex case, leading zeros and
// extensions, like the variety of real clients.
std::string Encode(const std::string& body, std::mt19937& rng, size_t max_chunk = 5000) {
  std::uniform_int_distribution<size_t> size(1, max_chunk);
  std::string out;
  char buf[32];
  for (size_t p = 0; p < body.size();) {
    size_t n = std::min(size(rng), body.size() - p);
    std::snprintf(buf, sizeof buf, rng() % 2 ? "%zx" : "%zX", n);
    if (rng() % 5 == 0) out += "00";
    out += buf;
    if (rng() % 4 == 0) out += rng() % 2 ? ";ext=1" : " ; q=\"a;b\\\"c\"";
    out += "\r\n" + body.substr(p, n) + "\r\n";
    p += n;
  }
  return out + "0\r\n\r\n";
}

const std::string kExample =
    "4\r\nWiki\r\n"
    "5;foo=bar\r\npedia\r\n"
    "e ; name=\"quoted \\\" x\" ;flag\r\n in\r\n\r\nchunks.\r\n"
    "0;last\r\n"
    "Expires: never\r\n"
    "X-Checksum:  abc \r\n"
    "\r\n";

TEST(Chunked, DecodesExtensionsAndTrailers) {
  Outcome o = Decode(kExample, {});
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  EXPECT_EQ(o.body, "Wikipedia in\r\n\r\nchunks.");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.ends, 1);
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(o.trailers, (std::vector<P>{{"Expires", "never"}, {"X-Checksum", "abc"}}));
}

TEST(Chunked, EveryTwoPieceSplitGivesTheSameBody) {
  const Outcome whole = Decode(kExample, {});
  for (size_t i = 0; i <= kExample.size(); ++i) {
    EXPECT_EQ(Decode(kExample, {i}), whole) << "split at " << i;
  }
}

TEST(Chunked, OneBytePiecesGiveTheSameBody) {
  EXPECT_EQ(Decode(kExample, EveryByte(kExample.size())), Decode(kExample, {}));
}

TEST(Chunked, RandomBodiesAndSplits) {
  std::mt19937 rng(2026);
  for (int round = 0; round < 50; ++round) {
    std::string body(rng() % 20000, '\0');
    for (char& c : body) c = static_cast<char>(rng());
    std::string framing = Encode(body, rng);
    Outcome o = Decode(framing, RandomCuts(framing.size(), rng));
    ASSERT_TRUE(o.status.ok()) << o.status.ToString();
    ASSERT_TRUE(o.done);
    ASSERT_EQ(o.body, body) << "round " << round;
  }
}

TEST(Chunked, EmptyBody) {
  Outcome o = Decode("0\r\n\r\n", {});
  ASSERT_TRUE(o.status.ok());
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.body, "");
  EXPECT_EQ(o.ends, 1);
}

TEST(Chunked, DataViewsPointIntoTheInput) {
  struct Views : ChunkedHandler {
    Status OnData(std::span<const uint8_t> d) override {
      views.push_back(d);
      return Status::Ok();
    }
    std::vector<std::span<const uint8_t>> views;
  } h;
  ChunkedDecoder d(h);
  const std::string framing = "5\r\nhello\r\n0\r\n\r\n";
  ASSERT_TRUE(d.Feed(Bytes(framing)).ok());
  ASSERT_EQ(h.views.size(), 1u);
  EXPECT_EQ(h.views[0].data(), Bytes(framing).data() + 3);  // no copy
  EXPECT_EQ(d.body_bytes(), 5u);
  EXPECT_EQ(d.offset(), framing.size());
}

TEST(Chunked, BytesAfterTheEnd) {
  const std::string framing = "5\r\nhello\r\n0\r\n\r\nPOST /next";
  {
    Collect c;
    ChunkedDecoder d(c);
    size_t consumed = 0;
    ASSERT_TRUE(d.Feed(Bytes(framing), &consumed).ok());
    EXPECT_EQ(consumed, framing.size() - 10);  // the next request is left alone
    EXPECT_TRUE(d.done());
    ASSERT_TRUE(d.Feed(Bytes(framing).subspan(consumed), &consumed).ok());
    EXPECT_EQ(consumed, 0u);
  }
  {
    Collect c;
    ChunkedDecoder d(c);
    Status s = d.Feed(Bytes(framing));
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    EXPECT_NE(s.message().find("after the end"), std::string::npos) << s.ToString();
  }
}

struct Bad {
  const char* name;
  std::string framing;
  const char* message;  // a part of the error message
  ChunkedOptions options = {};
};

void PrintTo(const Bad& b, std::ostream* os) { *os << b.name; }

class ChunkedMalformed : public ::testing::TestWithParam<Bad> {};

TEST_P(ChunkedMalformed, RefusedHoweverSplit) {
  const Bad& b = GetParam();
  Outcome whole = Decode(b.framing, {}, b.options);
  ASSERT_EQ(whole.status.code(), Code::kInvalidArgument) << whole.status.ToString();
  EXPECT_NE(whole.status.message().find(b.message), std::string::npos) << whole.status.ToString();
  EXPECT_FALSE(whole.done);
  EXPECT_EQ(Decode(b.framing, EveryByte(b.framing.size()), b.options), whole);
  for (size_t i = 0; i <= b.framing.size(); ++i) {
    EXPECT_EQ(Decode(b.framing, {i}, b.options), whole) << "split at " << i;
  }
}

ChunkedOptions SmallChunks() {
  ChunkedOptions o;
  o.max_chunk_size = 0x100000;
  return o;
}

ChunkedOptions SmallTrailers() {
  ChunkedOptions o;
  o.max_trailer_bytes = 20;
  return o;
}

INSTANTIATE_TEST_SUITE_P(
    Framing, ChunkedMalformed,
    ::testing::Values(
        Bad{"BadHex", "g\r\nhello\r\n0\r\n\r\n", "not hexadecimal"},
        Bad{"EmptySize", "\r\nhello\r\n", "not hexadecimal"},
        Bad{"HexPrefix", "0x5\r\nhello\r\n0\r\n\r\n", "malformed chunk size"},
        Bad{"NegativeSize", "-5\r\nhello\r\n", "not hexadecimal"},
        Bad{"SpaceInSize", "5 5\r\nhello\r\n", "malformed chunk size"},
        Bad{"BareLfAfterSize", "5\nhello\r\n0\r\n\r\n", "bare LF"},
        Bad{"CrWithoutLf", "5\rhello\r\n0\r\n\r\n", "CR not followed by LF"},
        Bad{"NoCrlfAfterData", "5\r\nhelloX\r\n0\r\n\r\n", "not followed by CRLF"},
        Bad{"LfOnlyAfterData", "5\r\nhello\n0\r\n\r\n", "not followed by CRLF"},
        Bad{"ShortChunk", "6\r\nhello\r\n0\r\n\r\n", "not followed by CRLF"},
        Bad{"OversizedLine", "1;" + std::string(5000, 'a') + "\r\nx\r\n", "longer than 4096"},
        Bad{"LeadingZerosPastTheLine", std::string(5000, '0') + "1\r\nx\r\n", "longer than 4096"},
        Bad{"SizeOverflow", "FFFFFFFFFFFFFFFFFF\r\nx\r\n", "above the limit"},
        Bad{"SizeAboveConfiguredLimit", "100001\r\nx\r\n", "above the limit", SmallChunks()},
        Bad{"ExtensionWithoutName", "5;=x\r\nhello\r\n0\r\n\r\n", "malformed"},
        Bad{"ExtensionWithoutValue", "5;a=\r\nhello\r\n0\r\n\r\n", "malformed"},
        Bad{"UnterminatedQuote", "5;a=\"open\r\nhello\r\n0\r\n\r\n", "malformed"},
        Bad{"ControlInExtension", std::string("5;a\x01\r\nhello\r\n0\r\n\r\n"), "malformed"},
        Bad{"TrailerWithoutColon", "0\r\nnot a field\r\n\r\n", "malformed trailer"},
        Bad{"TrailerObsFold", "0\r\nA: b\r\n c\r\n\r\n", "line folding"},
        Bad{"TrailerControlChar", std::string("0\r\nA: b\x01\r\n\r\n"), "control character"},
        Bad{"TrailerBareLf", "0\r\nA: b\n\r\n", "bare LF"},
        Bad{"EndWithoutCrlf", "0\r\n\n", "bare LF"},
        Bad{"TrailersTooLong", "0\r\nA: 0123456789\r\nB: 0123456789\r\n\r\n", "longer than",
            SmallTrailers()}),
    [](const ::testing::TestParamInfo<Bad>& info) { return std::string(info.param.name); });

TEST(Chunked, ErrorsAreSticky) {
  Collect c;
  ChunkedDecoder d(c);
  Status s = d.Feed(Bytes("zz\r\n"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(d.Feed(Bytes("5\r\nhello\r\n")), s);
  EXPECT_EQ(c.body, "");
}

TEST(Chunked, HandlerErrorStopsDecoding) {
  Collect c;
  c.fail_at = 7;
  ChunkedDecoder d(c);
  Status s = d.Feed(Bytes("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"));
  EXPECT_EQ(s.code(), Code::kCancelled);
  EXPECT_EQ(c.body, "hello");
  EXPECT_EQ(d.Feed(Bytes("0\r\n\r\n")).code(), Code::kCancelled);
  EXPECT_FALSE(d.done());
}

// A real PutMedia body end to end: chunk framing -> decoder -> mkv::Reader -> fragmenter.
TEST(Chunked, RealMkvThroughReaderIntoFragmenter) {
  auto path = streamarc::testing::MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  const std::string mkv = streamarc::testing::ReadFileOrDie(*path);
  std::mt19937 rng(5);
  const std::string framing = Encode(mkv, rng, 20000);

  struct Sink : fragmenter::FragmentSink {
    Status OnFragment(std::shared_ptr<const fragmenter::Fragment> f) override {
      frames += f->frame_count;
      ++fragments;
      return Status::Ok();
    }
    size_t frames = 0, fragments = 0;
  } sink;
  ManualClock clock;
  auto frag = fragmenter::NewFragmenter({}, sink, clock);
  ASSERT_TRUE(frag.ok());
  mkv::Reader reader(**frag);
  struct ToReader : ChunkedHandler {
    explicit ToReader(mkv::Reader& r) : reader(r) {}
    Status OnData(std::span<const uint8_t> d) override { return reader.Feed(d); }
    Status OnEnd(const std::vector<Trailer>&) override { return reader.Finish(); }
    mkv::Reader& reader;
  } to_reader(reader);
  ChunkedDecoder decoder(to_reader);
  size_t p = 0;
  for (size_t cut : RandomCuts(framing.size(), rng)) {
    ASSERT_TRUE(decoder.Feed(Bytes(framing).subspan(p, cut - p)).ok());
    p = cut;
  }
  ASSERT_TRUE(decoder.Feed(Bytes(framing).subspan(p)).ok());
  EXPECT_TRUE(decoder.done());
  EXPECT_EQ(decoder.body_bytes(), mkv.size());
  auto packets = streamarc::testing::ProbePackets(*path);
  ASSERT_TRUE(packets.ok());
  EXPECT_EQ(sink.fragments, 6u);
  EXPECT_EQ(sink.frames, packets->size());
}

}  // namespace
}  // namespace streamarc::ingest
