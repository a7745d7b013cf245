// The consumer's pipeline without HTTP: a file cut into GetMedia chunks (one per GOP, KVS's
// tags around each cluster) is fed as the server would send it, with the live edge (the
// decoder drained) between chunks; every frame must come out once, with ffprobe's timestamps.
#include "frametap/pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tests/support/media.h"
#include "tests/support/subprocess.h"

namespace streamarc::frametap {
namespace {

constexpr int64_t kStartMs = 1'700'000'000'000;

struct FileRead : mkv::ReaderHandler {
  mkv::SegmentInfo info;
  mkv::TrackInfo video;
  struct Item {
    int64_t timecode;
    bool key;
    mkv::Bytes data;
  };
  std::vector<Item> frames;
  Status OnInfo(const mkv::SegmentInfo& i) override {
    info = i;
    return Status::Ok();
  }
  Status OnTracks(const std::vector<mkv::TrackInfo>& tracks) override {
    for (const auto& t : tracks) {
      if (t.type == mkv::TrackType::kVideo) video = t;
    }
    return Status::Ok();
  }
  Status OnFrame(const mkv::Frame& f) override {
    if (f.track == video.number)
      frames.push_back({f.timecode, f.key, {f.data.begin(), f.data.end()}});
    return Status::Ok();
  }
};

std::string Seconds(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(ms / 1000),
                static_cast<long long>(ms % 1000));
  return buf;
}

// One GetMedia chunk per GOP, RELATIVE timecodes from kStartMs (as put_media stores them).
std::vector<mkv::Bytes> Chunks(const FileRead& f) {
  std::vector<mkv::Bytes> out;
  mkv::TrackInfo track = f.video;
  for (size_t i = 0; i < f.frames.size();) {
    size_t end = i + 1;
    while (end < f.frames.size() && !f.frames[end].key) ++end;
    const std::string number = std::string(40, '9') + std::to_string(1'000'000 + out.size());
    mkv::Bytes& b = out.emplace_back();
    mkv::Writer w(b);
    w.WriteEbmlHeader();
    w.BeginSegment();
    w.WriteInfo(f.info);
    w.WriteTracks({&track, 1});
    const int64_t start_ms = kStartMs + f.frames[i].timecode;
    const mkv::SimpleTag lead[] = {
        {"AWS_KINESISVIDEO_FRAGMENT_NUMBER", number, false},
        {"AWS_KINESISVIDEO_SERVER_TIMESTAMP", Seconds(start_ms + 5), false},
        {"AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", Seconds(start_ms), false}};
    w.WriteTags(lead);
    EXPECT_TRUE(w.BeginCluster(f.frames[i].timecode).ok());
    for (; i < end; ++i) {
      EXPECT_TRUE(
          w.WriteFrame(track.number, f.frames[i].timecode, f.frames[i].key, f.frames[i].data).ok());
    }
    EXPECT_TRUE(w.EndCluster().ok());
    const mkv::SimpleTag trail[] = {{"AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", "0", false},
                                    {"AWS_KINESISVIDEO_CONTINUATION_TOKEN", number, false}};
    w.WriteTags(trail);
  }
  return out;
}

struct Collect : PictureSink {
  std::vector<FrameInfo> frames;
  Status Emit(DecodedFrame f) override {
    frames.push_back(f.info);
    return Status::Ok();
  }
};

class PipelineTest : public ::testing::TestWithParam<const char*> {};

TEST_P(PipelineTest, LiveEdgeDrainsLoseNoFrame) {
  auto path = testing::MakeMedia(GetParam());
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  FileRead file;
  {
    mkv::Reader reader(file);
    std::string bytes = testing::ReadFileOrDie(*path);
    ASSERT_TRUE(reader.Feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}).ok());
  }
  auto probe = testing::ProbeTimes(*path);
  ASSERT_TRUE(probe.ok());
  std::vector<int64_t> want;
  for (const auto& p : *probe) {
    if (p.type == "video") want.push_back(kStartMs * 1000 + std::llround(p.pts_s * 1e6));
  }
  std::sort(want.begin(), want.end());

  ConsumerOptions o;
  o.decode_threads = 2;
  Collect sink;
  FragmentLedger ledger("");
  Pipeline pipeline(o, sink, ledger);
  mkv::Reader reader(pipeline);
  std::vector<mkv::Bytes> chunks = Chunks(file);
  ASSERT_GT(chunks.size(), 2u);
  for (const auto& c : chunks) {
    ASSERT_TRUE(reader.Feed(c).ok());
    ASSERT_TRUE(pipeline.OnIdle().ok());  // the live edge after every fragment
  }
  std::vector<int64_t> got;
  for (const auto& f : sink.frames) got.push_back(f.producer_timestamp_us);
  EXPECT_EQ(got, want);
  EXPECT_EQ(ledger.fragments_done(), 0u);  // nothing handled yet: all still "queued"
  for (const auto& f : sink.frames) ledger.Handled(f.fragment_number);
  EXPECT_EQ(ledger.fragments_done(), chunks.size());
}

INSTANTIATE_TEST_SUITE_P(Codecs, PipelineTest,
                         ::testing::Values(testing::kH264AacMkv, testing::kH265Mkv));

}  // namespace
}  // namespace streamarc::frametap
