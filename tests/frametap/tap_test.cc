// The in-server frame tap and its thumbnail sink, on real media (ffmpeg H.264, cut by the
// project's fragmenter) checked against ffprobe: frames reach sinks with the right
// timestamps; a sink that blocks loses only its own frames (counted) and never holds up
// Offer or decoding.
#include "frametap/tap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <set>
#include <vector>

#include "common/mutex.h"
#include "frametap/thumbnails.h"
#include "tests/fragmenter/fragmenter_test_util.h"
#include "tests/support/media.h"
#include "tests/support/subprocess.h"

namespace streamarc::frametap {
namespace {

struct Cut {
  std::vector<TapFragment> fragments;
  std::vector<int64_t> video_pts_us;  // ffprobe's, sorted
  std::vector<int64_t> key_pts_us;    // ffprobe's key frames, sorted
};

// kH264AacMkv (320x240, 25 fps, 6 s, B-frames) cut into fragments as ingest cuts it.
Cut CutMedia() {
  Cut c;
  auto path = testing::MakeMedia(testing::kH264AacMkv);
  EXPECT_TRUE(path.ok()) << path.status().ToString();
  if (!path.ok()) return c;
  std::string bytes = testing::ReadFileOrDie(*path);
  fragmenter::testing::CollectingSink sink;
  ManualClock clock(1'700'000'000'000'000);
  fragmenter::Options options;
  options.max_fragments_per_second = 0;
  options.max_bytes_per_second = 0;
  auto run = fragmenter::testing::RunStream(fragmenter::testing::AsBytes(bytes), options, sink,
                                            clock, 65536);
  EXPECT_TRUE(run.status.ok()) << run.status.ToString();
  int n = 0;
  for (const auto& f : sink.fragments) {
    TapFragment t;
    t.stream_name = "cam1";
    t.fragment_number = std::to_string(++n);
    t.producer_timestamp_us = f->producer_timestamp_ms * 1000;
    t.server_timestamp_us = f->server_timestamp_us;
    t.header.assign(f->section->header.begin(), f->section->header.end());
    t.cluster = std::make_shared<const std::string>(f->cluster.begin(), f->cluster.end());
    c.fragments.push_back(std::move(t));
  }
  auto packets = testing::ProbePackets(*path);
  EXPECT_TRUE(packets.ok()) << packets.status().ToString();
  if (!packets.ok()) return c;
  for (const auto& p : *packets) {
    if (p.stream_index != 0) continue;  // the video track (Matroska ticks: ms)
    c.video_pts_us.push_back(p.pts * 1000);
    if (p.key) c.key_pts_us.push_back(p.pts * 1000);
  }
  std::sort(c.video_pts_us.begin(), c.video_pts_us.end());
  std::sort(c.key_pts_us.begin(), c.key_pts_us.end());
  return c;
}

const Cut& Media() {
  static const Cut cut = CutMedia();
  return cut;
}

// Keeps what it gets; can be made to block in OnFrame until released.
class RecordingSink : public TapSink {
 public:
  void OnFrame(const std::string& stream, const cv::Mat& image, const FrameInfo& info) override {
    MutexLock lock(mu_);
    entered_ = true;
    cv_.NotifyAll();
    while (blocked_) cv_.Wait(mu_);
    streams.insert(stream);
    infos.push_back(info);
    sizes.insert({image.cols, image.rows});
    types.insert(image.type());
    cv_.NotifyAll();
  }
  void Block() {
    MutexLock lock(mu_);
    blocked_ = true;
  }
  void Release() {
    MutexLock lock(mu_);
    blocked_ = false;
    cv_.NotifyAll();
  }
  // Waits (bounded, so a bug fails instead of hanging) until `n` frames were taken.
  bool WaitFor(size_t n) {
    MutexLock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (infos.size() < n) {
      if (!cv_.WaitUntil(mu_, deadline)) return infos.size() >= n;
    }
    return true;
  }
  bool WaitEntered() {
    MutexLock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!entered_) {
      if (!cv_.WaitUntil(mu_, deadline)) return entered_;
    }
    return true;
  }
  size_t count() {
    MutexLock lock(mu_);
    return infos.size();
  }

  std::set<std::string> streams;
  std::vector<FrameInfo> infos;
  std::set<std::pair<int, int>> sizes;
  std::set<int> types;

 private:
  Mutex mu_;
  CondVar cv_;
  bool blocked_ = false;
  bool entered_ = false;
};

TEST(FrameTapTest, EveryFrameReachesTheSinkWithTheRightTimestamps) {
  const Cut& media = Media();
  ASSERT_GE(media.fragments.size(), 4u);
  TapOptions o;
  o.sink_queue_frames = 1000;  // this sink keeps up: nothing may be dropped
  o.max_queued_fragments = 100;
  auto tap = FrameTap::Create(o);
  auto sink = std::make_shared<RecordingSink>();
  tap->AddSink(sink);
  for (const TapFragment& f : media.fragments) ASSERT_TRUE(tap->Offer(f));
  tap->WaitDecoded();
  ASSERT_TRUE(sink->WaitFor(media.video_pts_us.size()));

  TapStats s = tap->stats();
  EXPECT_EQ(s.fragments_offered, media.fragments.size());
  EXPECT_EQ(s.fragments_dropped, 0u);
  EXPECT_EQ(s.fragments_failed, 0u);
  EXPECT_EQ(s.frames_decoded, media.video_pts_us.size());
  EXPECT_EQ(s.frames_dropped, 0u);
  EXPECT_EQ(s.frames_delivered, media.video_pts_us.size());

  std::vector<int64_t> producer, keys;
  std::set<std::string> fragments;
  for (size_t i = 0; i < sink->infos.size(); ++i) {
    const FrameInfo& info = sink->infos[i];
    producer.push_back(info.producer_timestamp_us);
    if (info.key_frame) keys.push_back(info.producer_timestamp_us);
    fragments.insert(info.fragment_number);
    EXPECT_EQ(info.frame_index, i);
  }
  // In presentation order within each fragment, fragments in order: sorted overall.
  EXPECT_TRUE(std::is_sorted(producer.begin(), producer.end()));
  EXPECT_EQ(producer, media.video_pts_us);
  EXPECT_EQ(keys, media.key_pts_us);
  EXPECT_EQ(fragments.size(), media.fragments.size());
  EXPECT_EQ(sink->streams, std::set<std::string>{"cam1"});
  EXPECT_EQ(sink->sizes, (std::set<std::pair<int, int>>{{320, 240}}));
  EXPECT_EQ(sink->types, std::set<int>{CV_8UC3});
  // Server time: the fragment's server start plus the frame's offset in it.
  const FrameInfo& first = sink->infos.front();
  EXPECT_EQ(first.server_timestamp_us - first.producer_timestamp_us,
            media.fragments[0].server_timestamp_us - media.fragments[0].producer_timestamp_us);
}

TEST(FrameTapTest, ABlockedSinkDropsAndCountsFramesAndNeverHoldsUpTheTap) {
  const Cut& media = Media();
  ASSERT_GE(media.fragments.size(), 4u);
  TapOptions o;
  o.sink_queue_frames = 3;
  o.max_queued_fragments = 100;
  auto tap = FrameTap::Create(o);
  auto blocked = std::make_shared<RecordingSink>();
  blocked->Block();
  tap->AddSink(blocked);
  // Offer returns at once, and decoding finishes while the sink is stuck in OnFrame.
  for (const TapFragment& f : media.fragments) ASSERT_TRUE(tap->Offer(f));
  tap->WaitDecoded();
  ASSERT_TRUE(blocked->WaitEntered());
  TapStats s = tap->stats();
  const uint64_t frames = media.video_pts_us.size();
  EXPECT_EQ(s.frames_decoded, frames);
  EXPECT_EQ(s.fragments_dropped, 0u);
  // The sink holds one frame in OnFrame (taken before or after its queue first filled) and
  // the newest three queued: everything else was pushed out and counted.
  EXPECT_GE(s.frames_dropped, frames - 1 - o.sink_queue_frames);
  EXPECT_LE(s.frames_dropped, frames - o.sink_queue_frames);

  blocked->Release();
  const uint64_t kept = frames - s.frames_dropped;
  ASSERT_TRUE(blocked->WaitFor(kept));
  tap.reset();  // joins the delivery thread: nothing more arrives
  EXPECT_EQ(blocked->count(), kept);
  // What was dropped is the oldest: the newest frame still reached the sink.
  EXPECT_EQ(blocked->infos.back().producer_timestamp_us, media.video_pts_us.back());
}

TEST(FrameTapTest, AFullDecodeQueueDropsAndCountsFragments) {
  const Cut& media = Media();
  ASSERT_GE(media.fragments.size(), 4u);
  TapOptions o;
  o.max_queued_fragments = 1;
  auto tap = FrameTap::Create(o);
  auto blocked = std::make_shared<RecordingSink>();
  tap->AddSink(blocked);
  size_t accepted = 0;
  for (const TapFragment& f : media.fragments) accepted += tap->Offer(f) ? 1 : 0;
  // No cluster bytes (nobody shared them): dropped, not waited for.
  TapFragment empty = media.fragments[0];
  empty.cluster = nullptr;
  EXPECT_FALSE(tap->Offer(empty));
  tap->WaitDecoded();
  TapStats s = tap->stats();
  EXPECT_EQ(s.fragments_offered, media.fragments.size() + 1);
  EXPECT_EQ(s.fragments_dropped, media.fragments.size() + 1 - accepted);
  EXPECT_GE(accepted, 1u);
}

TEST(FrameTapTest, KeyFramesOnlyAndThumbnailsAsJpeg) {
  const Cut& media = Media();
  ASSERT_GE(media.fragments.size(), 4u);
  TapOptions o;
  o.key_frames_only = true;
  o.sink_queue_frames = 100;
  auto tap = FrameTap::Create(o);
  auto sink = std::make_shared<RecordingSink>();
  auto thumbnails = std::make_shared<ThumbnailSink>(160);
  tap->AddSink(sink);
  tap->AddSink(thumbnails);
  EXPECT_FALSE(thumbnails->Latest("cam1").has_value());
  for (const TapFragment& f : media.fragments) ASSERT_TRUE(tap->Offer(f));
  tap->WaitDecoded();
  ASSERT_TRUE(sink->WaitFor(media.key_pts_us.size()));
  std::vector<int64_t> keys;
  for (const FrameInfo& info : sink->infos) {
    EXPECT_TRUE(info.key_frame);
    keys.push_back(info.producer_timestamp_us);
  }
  EXPECT_EQ(keys, media.key_pts_us);
  tap.reset();  // every delivery done: the thumbnail sink has seen the last key frame

  std::optional<Thumbnail> t = thumbnails->Latest("cam1");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->info.producer_timestamp_us, media.key_pts_us.back());
  std::vector<uint8_t> bytes(t->jpeg->begin(), t->jpeg->end());
  cv::Mat decoded = cv::imdecode(bytes, cv::IMREAD_COLOR);
  ASSERT_FALSE(decoded.empty());
  EXPECT_EQ(decoded.cols, 160);
  EXPECT_EQ(decoded.rows, 120);
  EXPECT_EQ(thumbnails->encode_failures(), 0u);
  EXPECT_FALSE(thumbnails->Latest("other").has_value());
}

}  // namespace
}  // namespace streamarc::frametap
