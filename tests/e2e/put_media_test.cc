// PutMedia end to end: real media from ffmpeg and GStreamer pushed by curl, ffmpeg and a raw
// socket into the real streamarcd; ACKs read off the wire; the archive read back afterwards
// and every frame compared with ffprobe's view of the input.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/mkv.h"
#include "tests/support/archive_reader.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/media.h"
#include "tests/support/mkv_stream.h"
#include "tests/support/raw_http.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::e2e {
namespace {

using nlohmann::json;
using streamarc::testing::CurlCreateStream;
using streamarc::testing::CurlPutMedia;
using streamarc::testing::MakeMedia;
using streamarc::testing::ProbePackets;
using streamarc::testing::RawHttp;
using streamarc::testing::ReadFileOrDie;
using streamarc::testing::RunCommand;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;

struct Frame {
  size_t stream_index;  // the track's position in Tracks, as ffprobe numbers streams
  int64_t timecode;
  bool key;
  size_t size;
  bool operator==(const Frame&) const = default;
};

// What the archive holds for a stream, read with the archive library after the server
// stopped, in this file's terms: frames numbered by stream as ffprobe numbers them.
struct Stored {
  size_t fragments = 0;
  std::vector<Frame> frames;
  std::vector<std::string> numbers;
};

Stored ReadArchive(const std::string& root, const std::string& stream) {
  streamarc::testing::StoredArchive archive = streamarc::testing::ReadArchiveFrames(root, stream);
  Stored out;
  for (const streamarc::testing::StoredFragment& f : archive.fragments) {
    EXPECT_TRUE(f.starts_with_key) << "fragment " << f.number << " must start with a key frame";
    out.numbers.push_back(f.number);
  }
  out.fragments = archive.fragments.size();
  for (const streamarc::testing::StoredFrame& f : archive.frames) {
    out.frames.push_back({f.track_index, f.timecode, f.key, f.size});
  }
  return out;
}

// ffprobe's frames of the input, per stream, in file order.
std::map<size_t, std::vector<Frame>> ProbeByStream(const std::string& path) {
  std::map<size_t, std::vector<Frame>> by;
  auto packets = ProbePackets(path);
  EXPECT_TRUE(packets.ok());
  for (const auto& p : *packets) {
    size_t i = static_cast<size_t>(p.stream_index);
    by[i].push_back({i, p.pts, p.key, static_cast<size_t>(p.size)});
  }
  return by;
}

std::map<size_t, std::vector<Frame>> ByStream(const std::vector<Frame>& frames) {
  std::map<size_t, std::vector<Frame>> by;
  for (const Frame& f : frames) by[f.stream_index].push_back(f);
  return by;
}

struct Acks {
  std::vector<json> events;
  size_t Count(const std::string& type) const {
    size_t n = 0;
    for (const json& e : events) n += e.value("EventType", "") == type;
    return n;
  }
};

Acks ParseAcks(const std::string& body) { return {streamarc::testing::ParseAckEvents(body)}; }

class PutMediaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start(Data()).ok()) << server_.log();
    CreateStream("cam1", 24);
  }

  std::string Data() { return dir_.File("data"); }

  void CreateStream(const std::string& name, int hours) {
    CurlCreateStream(server_.url(), name, hours);
  }

  // Pushes a file with curl; returns the response (headers and ACK stream).
  std::string CurlPush(const std::string& file, const std::string& stream, bool chunked) {
    return CurlPutMedia(server_.url(), {stream, file, "", chunked, {"-i"}});
  }

  void ExpectArchiveEqualsInput(const std::string& input, const std::string& stream) {
    EXPECT_EQ(server_.Stop(), 0);
    Stored stored = ReadArchive(Data(), stream);
    auto want = ProbeByStream(input);
    auto got = ByStream(stored.frames);
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [index, frames] : want) {
      EXPECT_EQ(got[index], frames) << "stream " << index;
    }
  }

  TempDir dir_;
  ServerProcess server_;
};

TEST_F(PutMediaTest, ChunkedCurlPushGetsEveryAckAndEveryFrameIsArchived) {
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(input.ok());
  std::string resp = CurlPush(*input, "cam1", /*chunked=*/true);
  EXPECT_NE(resp.find("HTTP/1.1 200"), std::string::npos) << resp;
  Acks acks = ParseAcks(resp);
  size_t n = acks.Count("PERSISTED");
  EXPECT_GE(n, 5u) << resp;  // a 6 s clip with a key frame every second
  EXPECT_EQ(acks.Count("BUFFERING"), n);
  EXPECT_EQ(acks.Count("RECEIVED"), n);
  EXPECT_EQ(acks.Count("ERROR"), 0u) << resp;
  // Each PERSISTED names a fragment RECEIVED earlier, with the same timecode.
  std::map<std::string, int64_t> received;
  int64_t last_tc = -1;
  for (const json& e : acks.events) {
    if (e["EventType"] == "RECEIVED") {
      received[e["FragmentNumber"]] = e["FragmentTimecode"];
      EXPECT_GT(e["FragmentTimecode"].get<int64_t>(), last_tc);
      last_tc = e["FragmentTimecode"];
    } else if (e["EventType"] == "PERSISTED") {
      ASSERT_TRUE(received.count(e["FragmentNumber"])) << e.dump();
      EXPECT_EQ(received[e["FragmentNumber"]], e["FragmentTimecode"].get<int64_t>());
      EXPECT_EQ(e["FragmentNumber"].get<std::string>().size(), 47u);
    }
  }
  ExpectArchiveEqualsInput(*input, "cam1");
  EXPECT_EQ(ReadArchive(Data(), "cam1").fragments, n);
}

TEST_F(PutMediaTest, SizedBodyFromGStreamer) {
  auto input = MakeMedia(streamarc::testing::kGstX264Mkv);
  ASSERT_TRUE(input.ok());
  std::string resp = CurlPush(*input, "cam1", /*chunked=*/false);
  Acks acks = ParseAcks(resp);
  EXPECT_GE(acks.Count("PERSISTED"), 5u) << resp;
  EXPECT_EQ(acks.Count("ERROR"), 0u) << resp;
  ExpectArchiveEqualsInput(*input, "cam1");
}

TEST_F(PutMediaTest, LiveFfmpegPush) {
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(input.ok());
  // ffmpeg never reads the response, so it asks for no ACKs (see put_media.cc).
  auto r = RunCommand({"ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-i", *input, "-c",
                       "copy", "-f", "matroska", "-method", "POST", "-headers",
                       "x-amzn-stream-name: cam1\r\nx-amzn-fragment-acknowledgment-required: 0\r\n",
                       server_.url() + "/putMedia"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0) << r->out;
  for (int i = 0; i < 100 && server_.log().find("session ended") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ExpectArchiveEqualsInput(*input, "cam1");
}

TEST_F(PutMediaTest, RefusalsBeforeStreaming) {
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(input.ok());
  std::string missing = CurlPush(*input, "no-such-stream", true);
  EXPECT_NE(missing.find("HTTP/1.1 404"), std::string::npos) << missing;
  EXPECT_NE(missing.find("ResourceNotFoundException"), std::string::npos);

  auto no_name = RunCommand(
      {"curl", "-sS", "-i", "-X", "POST", "--data-binary", "x", server_.url() + "/putMedia"});
  EXPECT_NE(no_name->out.find("HTTP/1.1 400"), std::string::npos) << no_name->out;
  EXPECT_NE(no_name->out.find("x-amzn-stream-name"), std::string::npos);

  auto relative = RunCommand({"curl", "-sS", "-i", "-X", "POST", "-H", "x-amzn-stream-name: cam1",
                              "-H", "x-amzn-fragment-timecode-type: RELATIVE", "--data-binary", "x",
                              server_.url() + "/putMedia"});
  EXPECT_NE(relative->out.find("x-amzn-producer-start-timestamp"), std::string::npos)
      << relative->out;
}

TEST_F(PutMediaTest, GarbageGetsAnErrorAckAndTheConnectionEnds) {
  TempDir tmp;
  streamarc::testing::WriteFileOrDie(tmp.File("junk"), std::string(5000, 'j'));
  std::string resp = CurlPush(tmp.File("junk"), "cam1", true);
  Acks acks = ParseAcks(resp);
  ASSERT_EQ(acks.Count("ERROR"), 1u) << resp;
  EXPECT_EQ(acks.events.back()["ErrorId"], 4006);  // nothing was persisted: ERROR is last
  EXPECT_EQ(acks.events.back()["ErrorCode"], "INVALID_MKV_DATA");
  // The server still serves.
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  EXPECT_GE(ParseAcks(CurlPush(*input, "cam1", true)).Count("PERSISTED"), 5u);
}

// Starts a hand-made live stream with one H.264 track, number 1.
void WriteVideoHeader(mkv::Writer& w) {
  streamarc::testing::WriteMkvHeader(w, {streamarc::testing::H264Track()});
}

TEST_F(PutMediaTest, TimecodesGoingBackwardsAre4004AndEarlierFragmentsStay) {
  mkv::Bytes out;
  mkv::Writer w(out);
  WriteVideoHeader(w);
  const uint8_t frame[100] = {};
  for (int64_t tc : {1'700'000'000'000, 1'700'000'001'000, 1'700'000'002'000, 1'700'000'001'500}) {
    ASSERT_TRUE(w.BeginCluster(tc).ok());
    ASSERT_TRUE(w.WriteFrame(1, tc, true, frame).ok());
    ASSERT_TRUE(w.WriteFrame(1, tc + 500, false, frame).ok());
    ASSERT_TRUE(w.EndCluster().ok());
  }
  TempDir tmp;
  streamarc::testing::WriteFileOrDie(tmp.File("back.mkv"), std::string(out.begin(), out.end()));
  Acks acks = ParseAcks(CurlPush(tmp.File("back.mkv"), "cam1", true));
  ASSERT_EQ(acks.Count("ERROR"), 1u);
  for (const json& e : acks.events) {
    if (e["EventType"] == "ERROR") {
      EXPECT_EQ(e["ErrorId"], 4004);
      EXPECT_EQ(e["ErrorCode"], "FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS");
    }
  }
  EXPECT_EQ(acks.Count("PERSISTED"), acks.Count("RECEIVED"));
  size_t persisted = acks.Count("PERSISTED");
  EXPECT_GE(persisted, 2u);
  EXPECT_EQ(server_.Stop(), 0);
  EXPECT_EQ(ReadArchive(Data(), "cam1").fragments, persisted);
}

TEST_F(PutMediaTest, DisconnectMidFragmentThenReconnect) {
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(input.ok());
  std::string bytes = ReadFileOrDie(*input);
  size_t persisted_first = 0;
  {
    RawHttp c(server_.port());
    ASSERT_TRUE(c.connected());
    c.Send(
        "POST /putMedia HTTP/1.1\r\nHost: 127.0.0.1\r\nx-amzn-stream-name: cam1\r\n"
        "Transfer-Encoding: chunked\r\n\r\n");
    // Two thirds of the file: several whole fragments and one cut in the middle.
    c.SendChunk(bytes.substr(0, bytes.size() * 2 / 3));
    std::string got = c.ReadUntil("\"PERSISTED\"");
    for (int i = 0; i < 50; ++i) {
      size_t received = ParseAcks(c.received()).Count("RECEIVED");
      if (received > 0 && ParseAcks(c.received()).Count("PERSISTED") == received) break;
      c.ReadFor(100);
    }
    persisted_first = ParseAcks(c.received()).Count("PERSISTED");
    EXPECT_GE(persisted_first, 2u) << c.received();
    c.Abort();
  }
  // The producer comes back and sends everything again.
  Acks again = ParseAcks(CurlPush(*input, "cam1", true));
  EXPECT_GE(again.Count("PERSISTED"), 5u);
  EXPECT_EQ(server_.Stop(), 0);
  Stored stored = ReadArchive(Data(), "cam1");
  EXPECT_EQ(stored.fragments, persisted_first + again.Count("PERSISTED"));
  // The first session's fragments are whole: its frames are the input's first frames.
  auto want = ProbeByStream(*input);
  auto got = ByStream(stored.frames);
  for (const auto& [index, frames] : want) {
    ASSERT_GE(got[index].size(), frames.size());
    std::vector<Frame> tail(got[index].end() - static_cast<long>(frames.size()), got[index].end());
    EXPECT_EQ(tail, frames) << "the second session stored the whole input";
    std::vector<Frame> head(got[index].begin(),
                            got[index].end() - static_cast<long>(frames.size()));
    ASSERT_LE(head.size(), frames.size());
    EXPECT_TRUE(std::equal(head.begin(), head.end(), frames.begin()))
        << "the first session stored a prefix of the input, no partial fragment";
  }
}

TEST_F(PutMediaTest, SecondLiveProducerIsRefused) {
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  std::string bytes = ReadFileOrDie(*input);
  RawHttp first(server_.port());
  first.Send(
      "POST /putMedia HTTP/1.1\r\nHost: 127.0.0.1\r\nx-amzn-stream-name: cam1\r\n"
      "Transfer-Encoding: chunked\r\n\r\n");
  first.SendChunk(bytes.substr(0, 20000));
  first.ReadUntil("BUFFERING");
  first.SendChunk(bytes.substr(20000, 20000));  // still streaming: bytes within the last second
  std::string second = CurlPush(*input, "cam1", true);
  EXPECT_NE(second.find("ConnectionLimitExceededException"), std::string::npos) << second;
}

TEST_F(PutMediaTest, SigtermReportsInFlightFragmentsAndEndsCleanly) {
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(input.ok());
  std::string bytes = ReadFileOrDie(*input);
  RawHttp c(server_.port(), 10000);
  c.Send(
      "POST /putMedia HTTP/1.1\r\nHost: 127.0.0.1\r\nx-amzn-stream-name: cam1\r\n"
      "Transfer-Encoding: chunked\r\n\r\n");
  c.SendChunk(bytes.substr(0, bytes.size() / 2));
  for (int i = 0; i < 50 && ParseAcks(c.received()).Count("RECEIVED") < 2; ++i) c.ReadFor(100);
  ASSERT_GE(ParseAcks(c.received()).Count("RECEIVED"), 2u) << c.received();
  // The producer is still connected, mid-fragment, when the server is told to stop.
  int exit_code = -1;
  std::thread stopper([&] { exit_code = server_.Stop(); });
  c.ReadToEnd();
  stopper.join();
  EXPECT_EQ(exit_code, 0);
  Acks acks = ParseAcks(c.received());
  EXPECT_EQ(acks.Count("PERSISTED"), acks.Count("RECEIVED")) << c.received();
  EXPECT_NE(c.received().find("0\r\n\r\n"), std::string::npos) << "the response ends properly";
  EXPECT_EQ(ReadArchive(Data(), "cam1").fragments, acks.Count("PERSISTED"));
}

TEST_F(PutMediaTest, BlockOfAnUnknownTrackIs4010) {
  mkv::Bytes out;
  mkv::Writer w(out);
  WriteVideoHeader(w);
  const uint8_t frame[10] = {};
  ASSERT_TRUE(w.BeginCluster(1'700'000'000'000).ok());
  ASSERT_TRUE(w.WriteFrame(1, 1'700'000'000'000, true, frame).ok());
  ASSERT_TRUE(w.WriteFrame(2, 1'700'000'000'010, true, frame).ok());
  ASSERT_TRUE(w.EndCluster().ok());
  TempDir tmp;
  streamarc::testing::WriteFileOrDie(tmp.File("t.mkv"), std::string(out.begin(), out.end()));
  Acks acks = ParseAcks(CurlPush(tmp.File("t.mkv"), "cam1", true));
  ASSERT_EQ(acks.Count("ERROR"), 1u);
  EXPECT_EQ(acks.events.back()["ErrorId"], 4010);
}

// A producer streaming when its stream is deleted: what was persisted before is acknowledged
// as usual, and the next fragment gets KVS's 4008 STREAM_NOT_ACTIVE (not 5001, which a
// producer would retry for ever), after which the session ends.
TEST_F(PutMediaTest, DeletingTheStreamMidSessionIs4008AfterThePersistedFragments) {
  auto cluster = [](int64_t tc) {
    mkv::Bytes out;
    mkv::Writer w(out);
    const uint8_t frame[100] = {};
    EXPECT_TRUE(w.BeginCluster(tc).ok());
    EXPECT_TRUE(w.WriteFrame(1, tc, true, frame).ok());
    EXPECT_TRUE(w.WriteFrame(1, tc + 500, false, frame).ok());
    EXPECT_TRUE(w.EndCluster().ok());
    return std::string(out.begin(), out.end());
  };
  mkv::Bytes head;
  mkv::Writer hw(head);
  WriteVideoHeader(hw);
  constexpr int64_t kTc0 = 1'700'000'000'000;
  RawHttp c(server_.port(), 10000);
  ASSERT_TRUE(c.connected());
  c.Send(
      "POST /putMedia HTTP/1.1\r\nHost: 127.0.0.1\r\nx-amzn-stream-name: cam1\r\n"
      "Transfer-Encoding: chunked\r\n\r\n");
  // Fragments 0 and 1 are complete once cluster 2 begins; 2 stays open.
  c.SendChunk(std::string(head.begin(), head.end()) + cluster(kTc0) + cluster(kTc0 + 1000) +
              cluster(kTc0 + 2000));
  for (int i = 0; i < 100 && ParseAcks(c.received()).Count("PERSISTED") < 2; ++i) c.ReadFor(100);
  ASSERT_EQ(ParseAcks(c.received()).Count("PERSISTED"), 2u) << c.received();

  auto deleted =
      streamarc::testing::CurlPost(server_.url() + "/deleteStream", R"({"StreamName":"cam1"})");
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  c.SendChunk(cluster(kTc0 + 3000));  // completes fragment 2, for a stream that is gone
  c.ReadToEnd();

  Acks acks = ParseAcks(c.received());
  ASSERT_EQ(acks.Count("ERROR"), 1u) << c.received();
  std::vector<int64_t> persisted;
  for (const json& e : acks.events) {
    if (e["EventType"] == "PERSISTED") {
      persisted.push_back(e["FragmentTimecode"]);
      EXPECT_EQ(e["FragmentNumber"].get<std::string>().size(), 47u);
    }
  }
  EXPECT_EQ(persisted, (std::vector<int64_t>{kTc0, kTc0 + 1000}));
  const json& error = acks.events.back();
  EXPECT_EQ(error["EventType"], "ERROR");
  EXPECT_EQ(error["ErrorId"], 4008);
  EXPECT_EQ(error["ErrorCode"], "STREAM_NOT_ACTIVE");
  EXPECT_EQ(error["FragmentTimecode"], kTc0 + 2000);
  // The server goes on: a stream of the same name takes a new producer.
  CreateStream("cam1", 24);
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(input.ok());
  EXPECT_GE(ParseAcks(CurlPush(*input, "cam1", true)).Count("PERSISTED"), 5u);
}

}  // namespace
}  // namespace streamarc::e2e
