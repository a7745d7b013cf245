// GetMedia, ListFragments and GetMediaForFragmentList end to end: real media pushed with curl
// into the real streamarcd, read back over loopback with a raw HTTP client and the AWS CLI,
// the chunks parsed with our mkv::Reader and ffprobe, compared with ffprobe's view of the
// input and with ListFragments.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/mkv.h"
#include "tests/support/aws_cli.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/media.h"
#include "tests/support/raw_http.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::e2e {
namespace {

using nlohmann::json;
using streamarc::testing::CommandOutput;
using streamarc::testing::CountOf;
using streamarc::testing::CurlPost;
using streamarc::testing::CurlPutMedia;
using streamarc::testing::ListAllFragments;
using streamarc::testing::MakeMedia;
using streamarc::testing::RawHttp;
using streamarc::testing::ReadFileOrDie;
using streamarc::testing::RunAws;
using streamarc::testing::RunCommand;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;
using streamarc::testing::WriteFileOrDie;

constexpr char kStream[] = "cam1";

struct Packet {
  int64_t pts;
  bool key;
  int64_t size;
  bool operator==(const Packet&) const = default;
};

// The bytes that end a chunk: the CONTINUATION_TOKEN SimpleTag's value (TagString 0x4487,
// a one-byte size, the number). Reading up to them means the whole chunk has arrived.
std::string TokenNeedle(const std::string& number) {
  std::string s = "AWS_KINESISVIDEO_CONTINUATION_TOKEN";
  s += "\x44\x87";
  s += static_cast<char>(0x80 | number.size());
  return s + number;
}

// The body of a chunked HTTP response read so far (headers dropped, framing removed; a
// chunk still arriving is cut off).
std::string Dechunk(const std::string& raw) {
  size_t p = raw.find("\r\n\r\n");
  if (p == std::string::npos) return "";
  p += 4;
  std::string body;
  while (p < raw.size()) {
    size_t eol = raw.find("\r\n", p);
    if (eol == std::string::npos) break;
    size_t n = std::strtoul(raw.substr(p, eol - p).c_str(), nullptr, 16);
    if (n == 0 || eol + 2 + n > raw.size()) break;
    body.append(raw, eol + 2, n);
    p = eol + 2 + n + 2;
  }
  return body;
}

// What a GetMedia response holds, by our Matroska reader.
struct Chunks : public mkv::ReaderHandler {
  Status OnTracks(const std::vector<mkv::TrackInfo>& t) override {
    tracks = t;
    return Status::Ok();
  }
  Status OnFrame(const mkv::Frame& f) override {
    size_t index = 0;
    while (index < tracks.size() && tracks[index].number != f.track) ++index;
    frames[index].push_back({f.timecode, f.key, static_cast<int64_t>(f.data.size())});
    return Status::Ok();
  }
  Status OnTags(const std::vector<mkv::SimpleTag>& tags) override {
    for (const auto& t : tags) {
      if (t.name == "AWS_KINESISVIDEO_FRAGMENT_NUMBER") numbers.push_back(t.value);
      if (t.name == "AWS_KINESISVIDEO_CONTINUATION_TOKEN") tokens.push_back(t.value);
      if (t.name == "AWS_KINESISVIDEO_ERROR_CODE") errors.push_back(t.value);
      if (t.name == "AWS_KINESISVIDEO_SERVER_TIMESTAMP") server_ts.push_back(t.value);
    }
    return Status::Ok();
  }
  std::vector<mkv::TrackInfo> tracks;
  std::map<size_t, std::vector<Packet>> frames;
  std::vector<std::string> numbers, tokens, errors, server_ts;
};

Chunks ParseChunks(const std::string& body) {
  Chunks c;
  mkv::Reader reader(c);
  Status s = reader.Feed({reinterpret_cast<const uint8_t*>(body.data()), body.size()});
  EXPECT_TRUE(s.ok()) << s.ToString();
  s = reader.Finish();
  EXPECT_TRUE(s.ok()) << s.ToString();
  return c;
}

// ffprobe's packets per stream, quiet: on a chunk stream ffprobe warns at every new Segment
// (as it does on KVS's own GetMedia output).
std::map<size_t, std::vector<Packet>> ProbeByStream(const std::string& path) {
  std::map<size_t, std::vector<Packet>> by;
  auto packets = streamarc::testing::ProbePackets(path, /*quiet=*/true);
  EXPECT_TRUE(packets.ok()) << packets.status().ToString();
  if (!packets.ok()) return by;
  for (const auto& p : *packets) {
    by[static_cast<size_t>(p.stream_index)].push_back({p.pts, p.key, p.size});
  }
  return by;
}

struct Fragment {
  std::string number;
  double server_ts;
  double producer_ts;
};

class GetMediaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start(dir_.File("data")).ok()) << server_.log();
    auto r = Post("/createStream", {{"StreamName", kStream}, {"DataRetentionInHours", 24}});
    ASSERT_EQ(r.first, 200) << r.second;
  }

  // Every test ends with a clean shutdown (exit code 0: no leak, no crash under ASan), live
  // readers included.
  void TearDown() override {
    if (server_.pid() > 0) {
      EXPECT_EQ(server_.Stop(), 0) << server_.log();
    }
  }

  // POSTs JSON with curl; returns the status and the body.
  std::pair<int, std::string> Post(const std::string& path, const json& body) {
    return PostRaw(path, body.dump());
  }
  std::pair<int, std::string> PostRaw(const std::string& path, const std::string& body) {
    auto r =
        CurlPost(server_.url() + path, body, {"-m", "10", "-H", "Content-Type: application/json"});
    return {r.status, r.body};
  }

  // Pushes a file with curl (chunked) and returns how many fragments were PERSISTED.
  size_t Push(const std::string& file) {
    return CountOf(CurlPutMedia(server_.url(), {kStream, file, "", true, {}}), "\"PERSISTED\"");
  }

  // Every fragment by ListFragments, paging through NextToken, in number order.
  std::vector<Fragment> List(int page = 1000) {
    std::vector<Fragment> out;
    for (const json& f : ListAllFragments(server_.url(), kStream, page)) {
      EXPECT_TRUE(f["FragmentSizeInBytes"].is_number());
      EXPECT_GT(f["FragmentLengthInMilliseconds"].get<int64_t>(), 0);
      out.push_back({f["FragmentNumber"], f["ServerTimestamp"], f["ProducerTimestamp"]});
    }
    std::sort(out.begin(), out.end(), [](const Fragment& a, const Fragment& b) {
      return a.number.size() != b.number.size() ? a.number.size() < b.number.size()
                                                : a.number < b.number;
    });
    return out;
  }

  // Opens a GetMedia connection and waits for the response head.
  std::unique_ptr<RawHttp> OpenGetMedia(const json& selector, const std::string& stream = kStream) {
    auto c = std::make_unique<RawHttp>(server_.port());
    EXPECT_TRUE(c->connected());
    std::string body = json{{"StreamName", stream}, {"StartSelector", selector}}.dump();
    c->Send(
        "POST /getMedia HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body);
    c->ReadUntil("\r\n\r\n");
    return c;
  }

  // GetMedia from `selector`, read until the chunk of `last` has fully arrived, plus anything
  // that follows at once; returns the body.
  std::string GetMediaUntil(const json& selector, const std::string& last) {
    auto c = OpenGetMedia(selector);
    const std::string& raw = c->ReadUntil(TokenNeedle(last));
    EXPECT_NE(raw.find("HTTP/1.1 200"), std::string::npos) << raw.substr(0, 300);
    EXPECT_NE(raw.find("video/webm"), std::string::npos);
    EXPECT_NE(raw.find(TokenNeedle(last)), std::string::npos) << "no chunk for " << last;
    c->ReadFor(200);
    return Dechunk(c->received());
  }

  // The AWS CLI against this server, in us-west-2.
  CommandOutput Aws(const std::vector<std::string>& args) {
    return RunAws(server_.url(), args, "us-west-2");
  }

  TempDir dir_;
  ServerProcess server_;
};

std::vector<std::string> Numbers(const std::vector<Fragment>& f, size_t from) {
  std::vector<std::string> out;
  for (size_t i = from; i < f.size(); ++i) out.push_back(f[i].number);
  return out;
}

TEST_F(GetMediaTest, EachSelectorReturnsExactlyTheExpectedFragmentsAndFfprobeSeesTheInput) {
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(input.ok());
  ASSERT_GE(Push(*input), 5u);
  std::vector<Fragment> all = List();
  ASSERT_GE(all.size(), 5u);
  EXPECT_EQ(Numbers(List(2), 0), Numbers(all, 0)) << "paging through NextToken";
  const std::string last = all.back().number;

  // EARLIEST: every fragment; the frames are the input's, by our reader and by ffprobe.
  std::string body = GetMediaUntil({{"StartSelectorType", "EARLIEST"}}, last);
  Chunks chunks = ParseChunks(body);
  EXPECT_EQ(chunks.numbers, Numbers(all, 0));
  EXPECT_EQ(chunks.tokens, Numbers(all, 0));
  EXPECT_TRUE(chunks.errors.empty());
  auto want = ProbeByStream(*input);
  EXPECT_EQ(chunks.frames, want);
  WriteFileOrDie(dir_.File("earliest.mkv"), body);
  EXPECT_EQ(ProbeByStream(dir_.File("earliest.mkv")), want);

  // The other selectors start where they say and run to the newest fragment.
  struct Case {
    json selector;
    size_t first;
  };
  char ts[64];
  std::snprintf(ts, sizeof ts, "%.6f", all[2].server_ts);
  const Case cases[] = {
      {{{"StartSelectorType", "FRAGMENT_NUMBER"}, {"AfterFragmentNumber", all[1].number}}, 2},
      {{{"StartSelectorType", "SERVER_TIMESTAMP"}, {"StartTimestamp", all[2].server_ts}}, 2},
      {{{"StartSelectorType", "PRODUCER_TIMESTAMP"}, {"StartTimestamp", all[3].producer_ts}}, 3},
      {{{"StartSelectorType", "CONTINUATION_TOKEN"}, {"ContinuationToken", all[3].number}}, 4},
  };
  for (const Case& c : cases) {
    Chunks got = ParseChunks(GetMediaUntil(c.selector, last));
    EXPECT_EQ(got.numbers, Numbers(all, c.first)) << c.selector.dump();
  }
}

TEST_F(GetMediaTest, NowReaderGetsEachFragmentWhilePutMediaStreams) {
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(input.ok());
  ASSERT_GE(Push(*input), 5u);  // history that NOW must skip
  const size_t before = List().size();

  auto reader = OpenGetMedia({{"StartSelectorType", "NOW"}});
  ASSERT_NE(reader->received().find("HTTP/1.1 200"), std::string::npos) << reader->received();

  // The producer sends the whole file but keeps the request open (no last chunk): every
  // fragment but the one still open is PERSISTED while PutMedia streams.
  RawHttp producer(server_.port(), 10000);
  ASSERT_TRUE(producer.Send(std::string("POST /putMedia HTTP/1.1\r\nHost: 127.0.0.1\r\n") +
                            "x-amzn-stream-name: " + kStream +
                            "\r\nx-amzn-fragment-timecode-type: ABSOLUTE\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n"));
  ASSERT_TRUE(producer.SendChunk(ReadFileOrDie(*input)));
  auto persisted = [&] {
    std::vector<std::string> out;
    const std::string& in = producer.received();
    for (size_t p = 0; (p = in.find("{\"EventType\":\"PERSISTED\"", p)) != std::string::npos; ++p) {
      size_t end = in.find('}', p);
      json e = json::parse(in.substr(p, end - p + 1), nullptr, false);
      if (!e.is_discarded()) out.push_back(e["FragmentNumber"]);
    }
    return out;
  };
  for (int i = 0; i < 100 && persisted().size() < 5; ++i) producer.ReadFor(100);
  std::vector<std::string> live = persisted();
  ASSERT_GE(live.size(), 5u) << producer.received();
  // Each PERSISTED fragment reached the reader while the producer's request is still open.
  for (const std::string& n : live) {
    EXPECT_NE(reader->ReadUntil(TokenNeedle(n)).find(TokenNeedle(n)), std::string::npos) << n;
  }
  ASSERT_TRUE(producer.Send("0\r\n\r\n"));
  producer.ReadUntil("\r\n0\r\n\r\n");  // the end of the ACK stream
  live = persisted();
  reader->ReadUntil(TokenNeedle(live.back()));
  Chunks got = ParseChunks(Dechunk(reader->received()));
  EXPECT_EQ(got.numbers, live) << "exactly the new fragments, in order";
  EXPECT_EQ(List().size(), before + live.size());
}

TEST_F(GetMediaTest, BadInputGetsKvsErrors) {
  const json missing = {{"StreamName", "nope"}};
  auto gm = Post("/getMedia",
                 {{"StreamName", "nope"}, {"StartSelector", {{"StartSelectorType", "EARLIEST"}}}});
  EXPECT_EQ(gm.first, 404) << gm.second;
  EXPECT_NE(gm.second.find("Message"), std::string::npos);
  auto lf = Post("/listFragments",
                 {{"StreamName", "nope"},
                  {"FragmentSelector",
                   {{"FragmentSelectorType", "SERVER_TIMESTAMP"},
                    {"TimestampRange", {{"StartTimestamp", 0}, {"EndTimestamp", 1}}}}}});
  EXPECT_EQ(lf.first, 404) << lf.second;
  auto fl = Post("/getMediaForFragmentList", {{"StreamName", "nope"}, {"Fragments", {"1"}}});
  EXPECT_EQ(fl.first, 404) << fl.second;

  for (const char* path : {"/getMedia", "/listFragments", "/getMediaForFragmentList"}) {
    auto bad = PostRaw(path, "{not json");
    EXPECT_EQ(bad.first, 400) << path << bad.second;
    EXPECT_NE(bad.second.find("not valid JSON"), std::string::npos) << bad.second;
  }
  auto sel = Post("/getMedia", {{"StreamName", kStream},
                                {"StartSelector", {{"StartSelectorType", "FRAGMENT_NUMBER"}}}});
  EXPECT_EQ(sel.first, 400);
  EXPECT_NE(sel.second.find("AfterFragmentNumber"), std::string::npos) << sel.second;

  auto bogus = Post("/getMedia",
                    {{"StreamName", kStream},
                     {"StartSelector",
                      {{"StartSelectorType", "FRAGMENT_NUMBER"}, {"AfterFragmentNumber", "123"}}}});
  EXPECT_EQ(bogus.first, 400) << bogus.second;
  EXPECT_NE(bogus.second.find("not a fragment number"), std::string::npos) << bogus.second;

  // No data yet: ListFragments is empty; an unknown fragment number is not found.
  auto empty = Post("/listFragments",
                    {{"StreamName", kStream},
                     {"FragmentSelector",
                      {{"FragmentSelectorType", "PRODUCER_TIMESTAMP"},
                       {"TimestampRange", {{"StartTimestamp", 0}, {"EndTimestamp", 1e10}}}}}});
  EXPECT_EQ(empty.first, 200);
  EXPECT_EQ(json::parse(empty.second)["Fragments"].size(), 0u) << empty.second;
  auto unknown =
      Post("/getMediaForFragmentList", {{"StreamName", kStream}, {"Fragments", {"12345"}}});
  EXPECT_EQ(unknown.first, 404) << unknown.second;
  EXPECT_NE(unknown.second.find("12345"), std::string::npos);

  // One number a thousand times would ask for the same fragment a thousand times over:
  // refused, as is a list past KVS's 1000.
  json copies = {{"StreamName", kStream}, {"Fragments", json::array()}};
  json too_many = copies;
  for (int i = 0; i < 1000; ++i) {
    copies["Fragments"].push_back("91343852333181432392682062607743920146159169392");
  }
  for (int i = 0; i < 1001; ++i) too_many["Fragments"].push_back(std::to_string(i + 1));
  auto repeated = Post("/getMediaForFragmentList", copies);
  EXPECT_EQ(repeated.first, 400) << repeated.second;
  EXPECT_NE(repeated.second.find("more than once"), std::string::npos) << repeated.second;
  auto over = Post("/getMediaForFragmentList", too_many);
  EXPECT_EQ(over.first, 400) << over.second;
  EXPECT_NE(over.second.find("1 to 1000"), std::string::npos) << over.second;
}

TEST_F(GetMediaTest, ConnectionLimitAndDeletedStreamEndsReaders) {
  std::vector<std::unique_ptr<RawHttp>> readers;
  for (int i = 0; i < 3; ++i) {
    readers.push_back(OpenGetMedia({{"StartSelectorType", "NOW"}}));
    ASSERT_NE(readers.back()->received().find("HTTP/1.1 200"), std::string::npos);
  }
  auto fourth = Post("/getMedia",
                     {{"StreamName", kStream}, {"StartSelector", {{"StartSelectorType", "NOW"}}}});
  EXPECT_EQ(fourth.first, 400) << fourth.second;
  auto head = RunCommand(
      {"curl", "-sS", "-i", "-X", "POST", "--data-binary",
       json{{"StreamName", kStream}, {"StartSelector", {{"StartSelectorType", "NOW"}}}}.dump(),
       server_.url() + "/getMedia"});
  EXPECT_NE(head->out.find("ConnectionLimitExceededException"), std::string::npos) << head->out;

  // A reader that leaves frees its slot.
  readers.pop_back();
  std::unique_ptr<RawHttp> again;
  for (int i = 0; i < 50; ++i) {
    again = OpenGetMedia({{"StartSelectorType", "NOW"}});
    if (again->received().find("HTTP/1.1 200") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_NE(again->received().find("HTTP/1.1 200"), std::string::npos) << again->received();
  readers.push_back(std::move(again));

  // Deleting the stream ends every reader with the last chunk of the response.
  auto arn = Post("/describeStream", {{"StreamName", kStream}});
  auto del =
      Post("/deleteStream", {{"StreamARN", json::parse(arn.second)["StreamInfo"]["StreamARN"]}});
  EXPECT_EQ(del.first, 200) << del.second;
  for (auto& r : readers) {
    const std::string& raw = r->ReadUntil("0\r\n\r\n");
    EXPECT_NE(raw.find("0\r\n\r\n"), std::string::npos) << raw;
  }
}

TEST_F(GetMediaTest, AwsCliListFragmentsAndGetMediaForFragmentList) {
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(input.ok());
  ASSERT_GE(Push(*input), 5u);
  std::vector<Fragment> all = List();

  // The CLI pages through NextToken itself (--page-size 2).
  CommandOutput list = Aws(
      {"kinesis-video-archived-media", "list-fragments", "--stream-name", kStream, "--page-size",
       "2", "--fragment-selector",
       R"({"FragmentSelectorType":"SERVER_TIMESTAMP","TimestampRange":{"StartTimestamp":0,"EndTimestamp":4102444800}})"});
  ASSERT_EQ(list.exit_code, 0) << list.out;
  json j = json::parse(list.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << list.out;
  std::set<std::string> listed;
  for (const json& f : j["Fragments"]) listed.insert(f["FragmentNumber"].get<std::string>());
  std::vector<std::string> numbers = Numbers(all, 0);
  EXPECT_EQ(listed, std::set<std::string>(numbers.begin(), numbers.end()));

  // Three fragments in a chosen order come back in that order.
  std::vector<std::string> asked = {all[3].number, all[0].number, all[2].number};
  CommandOutput get =
      Aws({"kinesis-video-archived-media", "get-media-for-fragment-list", "--stream-name", kStream,
           dir_.File("list.mkv"), "--fragments", asked[0], asked[1], asked[2]});
  ASSERT_EQ(get.exit_code, 0) << get.out;
  EXPECT_NE(get.out.find("video/webm"), std::string::npos) << get.out;
  Chunks got = ParseChunks(ReadFileOrDie(dir_.File("list.mkv")));
  EXPECT_EQ(got.numbers, asked);
  EXPECT_EQ(ProbeByStream(dir_.File("list.mkv")), got.frames);

  CommandOutput missing =
      Aws({"kinesis-video-archived-media", "get-media-for-fragment-list", "--stream-name", kStream,
           dir_.File("none.mkv"), "--fragments", "999"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.out.find("ResourceNotFoundException"), std::string::npos) << missing.out;
}

TEST_F(GetMediaTest, ShutdownEndsLiveReadersWithTheLastChunk) {
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(input.ok());
  ASSERT_GE(Push(*input), 5u);
  std::vector<Fragment> all = List();
  auto live = OpenGetMedia({{"StartSelectorType", "NOW"}});
  auto backlog = OpenGetMedia({{"StartSelectorType", "EARLIEST"}});
  backlog->ReadUntil(TokenNeedle(all.back().number));
  EXPECT_EQ(server_.Stop(), 0) << server_.log();
  for (RawHttp* r : {live.get(), backlog.get()}) {
    const std::string& raw = r->ReadUntil("\r\n0\r\n\r\n");
    EXPECT_NE(raw.find("\r\n0\r\n\r\n"), std::string::npos) << raw.substr(0, 200);
  }
  EXPECT_EQ(ParseChunks(Dechunk(backlog->received())).numbers, Numbers(all, 0));
}

// `aws kinesis-video-media get-media` writes the endless stream to a file; deleting the
// stream ends it, and the CLI exits with what it got.
TEST_F(GetMediaTest, AwsCliGetMediaUntilTheStreamIsDeleted) {
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(input.ok());
  ASSERT_GE(Push(*input), 5u);
  std::vector<Fragment> all = List();
  const std::string out = dir_.File("get-media.mkv");
  CommandOutput cli;
  std::thread t([&] {
    cli = Aws({"kinesis-video-media", "get-media", "--stream-name", kStream, "--start-selector",
               "StartSelectorType=EARLIEST", out});
  });
  // Wait (no timing assertion) until the server has sent the backlog and follows the live
  // edge (the CLI writes its file only at the end).
  for (int i = 0; i < 1200; ++i) {
    if (server_.log().find("reader is at the live edge") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  auto arn = Post("/describeStream", {{"StreamName", kStream}});
  auto del =
      Post("/deleteStream", {{"StreamARN", json::parse(arn.second)["StreamInfo"]["StreamARN"]}});
  EXPECT_EQ(del.first, 200) << del.second;
  t.join();
  EXPECT_EQ(cli.exit_code, 0) << cli.out;
  EXPECT_NE(cli.out.find("video/webm"), std::string::npos) << cli.out;
  Chunks got = ParseChunks(ReadFileOrDie(out));
  EXPECT_EQ(got.numbers, Numbers(all, 0));
}

}  // namespace
}  // namespace streamarc::e2e
