// A real local archive in a temporary directory on a ManualClock, filled with fragments of
// real H.264 + AAC media (made by ffmpeg, cut by the project's fragmenter): what the
// playback services read, without a server.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "archive/archive.h"
#include "common/clock.h"
#include "common/log.h"
#include "tests/fragmenter/fragmenter_test_util.h"
#include "tests/support/media.h"
#include "tests/support/subprocess.h"

namespace streamarc::playback::testing {

inline constexpr int64_t kSec = 1'000'000;
// The tests' "now" when they start: a plausible wall-clock time.
inline constexpr int64_t kT0 = 1'700'000'000 * kSec;

// One real medium cut into fragments: its header and every cluster.
struct CutMedia {
  std::string header;
  std::vector<std::string> clusters;
  std::vector<int64_t> durations_us;  // each cluster's, as the fragmenter measured it
};

inline CutMedia CutRealMedia() {
  CutMedia m;
  auto path = streamarc::testing::MakeMedia(streamarc::testing::kH264AacMkv);
  EXPECT_TRUE(path.ok()) << path.status().ToString();
  if (!path.ok()) return m;
  std::string bytes = streamarc::testing::ReadFileOrDie(*path);
  fragmenter::testing::CollectingSink sink;
  ManualClock clock(kT0);
  fragmenter::Options options;
  options.max_fragments_per_second = 0;
  options.max_bytes_per_second = 0;
  auto run = fragmenter::testing::RunStream(fragmenter::testing::AsBytes(bytes), options, sink,
                                            clock, 65536);
  EXPECT_TRUE(run.status.ok()) << run.status.ToString();
  if (sink.fragments.empty()) return m;
  const auto& h = sink.fragments[0]->section->header;
  m.header.assign(h.begin(), h.end());
  for (const auto& f : sink.fragments) {
    m.clusters.emplace_back(f->cluster.begin(), f->cluster.end());
    m.durations_us.push_back(f->duration_ms * 1000);
  }
  return m;
}

// Cut once per test binary (ffmpeg makes the file the first time).
inline const CutMedia& RealMedia() {
  static const CutMedia media = CutRealMedia();
  return media;
}

// A fresh archive per test. Appended fragments are durable when Append returns.
class TestArchive {
 public:
  TestArchive() : clock_(kT0), log_(clock_, LogLevel::kError), env_(archive::NewPosixEnv()) {
    archive::Options o;
    o.root = dir_.path();
    o.sync = false;
    o.sync_threads = 0;
    o.sweep_interval_us = 0;  // sweeps only when a test calls Sweep()
    auto a = archive::OpenLocalArchive(o, *env_, clock_, log_);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    if (a.ok()) archive_ = std::move(a).value();
  }
  ~TestArchive() {
    if (archive_) archive_->Flush();
  }

  archive::Archive& archive() { return *archive_; }
  ManualClock& clock() { return clock_; }
  Logger& log() { return log_; }

  void CreateStream(const std::string& name, int retention_hours = 24) {
    archive::CreateStreamRequest r;
    r.name = name;
    r.media_type = "video/h264";
    r.retention_hours = retention_hours;
    auto s = archive_->CreateStream(r);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
  }

  // Appends a fragment of real media stamped `server_us` (the producer stamp too, unless
  // given) lasting `duration_us`; returns its number.
  std::string Append(const std::string& stream, int64_t server_us, int64_t duration_us,
                     int64_t producer_us = -1) {
    const CutMedia& m = RealMedia();
    archive::FragmentInput in;
    in.bytes = m.clusters.empty() ? std::string("x") : m.clusters[next_++ % m.clusters.size()];
    in.server_timestamp_us = server_us;
    in.producer_timestamp_us = producer_us < 0 ? server_us : producer_us;
    in.duration_us = duration_us;
    in.track_info = m.header;
    auto n = archive_->Append(
        archive::StreamRef::Name(stream), std::move(in),
        [](const Status& s, const archive::FragmentInfo&) { EXPECT_TRUE(s.ok()) << s.ToString(); });
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    archive_->Flush();
    return n.ok() ? *n : std::string();
  }

 private:
  streamarc::testing::TempDir dir_;
  ManualClock clock_;
  Logger log_;
  std::unique_ptr<archive::Env> env_;
  std::unique_ptr<archive::Archive> archive_;
  size_t next_ = 0;
};

}  // namespace streamarc::playback::testing
