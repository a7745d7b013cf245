// A full disk end to end (issue 10): the real streamarcd on a real 64 MB tmpfs, fed about
// 2.5 times that through PutMedia by curl, with 1 and with 3 streams. After every upload
// the fragments it acknowledged are all listed, the kept history stays above 40% of the
// disk, and no upload gets an ERROR ack while older data could make room. With a high
// free-space floor, what cannot fit is refused with 5001 and the acknowledged stays.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "tests/support/kvs_curl.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/tmpfs.h"

namespace streamarc::e2e {
namespace {

using nlohmann::json;
using streamarc::testing::CountOf;
using streamarc::testing::CurlCreateStream;
using streamarc::testing::CurlPutMedia;
using streamarc::testing::ListAllFragments;
using streamarc::testing::ParseAckEvents;
using streamarc::testing::RunCommand;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;
using streamarc::testing::Tmpfs;

constexpr uint64_t kDisk = 64 << 20;
constexpr int64_t kClipMs = 4000;

// A 4 s H.264 clip at 4 Mbit/s (a camera's rate), a key frame every second: four fragments
// of about 500 KB. Noise keeps x264 from compressing it to nothing. Made once per process.
const std::string& Clip() {
  static TempDir dir;
  static const std::string path = [] {
    const std::string p = dir.File("clip.mkv");
    auto r = RunCommand({"ffmpeg",
                         "-nostdin",
                         "-loglevel",
                         "error",
                         "-y",
                         "-f",
                         "lavfi",
                         "-i",
                         "testsrc2=size=1280x720:rate=25",
                         "-t",
                         "4",
                         "-vf",
                         "noise=alls=30:allf=t",
                         "-c:v",
                         "libx264",
                         "-preset",
                         "ultrafast",
                         "-tune",
                         "zerolatency",
                         "-g",
                         "25",
                         "-keyint_min",
                         "25",
                         "-sc_threshold",
                         "0",
                         "-b:v",
                         "4M",
                         "-maxrate",
                         "4M",
                         "-bufsize",
                         "2M",
                         "-f",
                         "matroska",
                         p});
    return r.ok() && r->exit_code == 0 ? p : std::string();
  }();
  return path;
}

struct Upload {
  std::vector<std::string> persisted;
  size_t errors = 0;
  std::vector<int> error_ids;
  std::string response;
};

class DiskFullE2eTest : public ::testing::Test {
 protected:
  // The clip again, as the next 4 s of `stream` (RELATIVE timecodes from a later start).
  Upload Push(const std::string& stream, int64_t start_ms) {
    char start[32];
    std::snprintf(start, sizeof start, "%lld.%03lld", static_cast<long long>(start_ms / 1000),
                  static_cast<long long>(start_ms % 1000));
    Upload u;
    u.response = CurlPutMedia(server_.url(), {stream, Clip(), start, /*chunked=*/false, {}});
    for (const json& e : ParseAckEvents(u.response)) {
      if (e["EventType"] == "PERSISTED") u.persisted.push_back(e["FragmentNumber"]);
      if (e["EventType"] == "ERROR") {
        ++u.errors;
        u.error_ids.push_back(e.value("ErrorId", 0));
      }
    }
    return u;
  }

  // ListFragments over all time: fragment number -> size.
  std::map<std::string, uint64_t> List(const std::string& stream) {
    std::map<std::string, uint64_t> out;
    for (const json& f : ListAllFragments(server_.url(), stream)) {
      out[f["FragmentNumber"]] = f["FragmentSizeInBytes"].get<uint64_t>();
    }
    return out;
  }

  void Run(int stream_count) {
    disk_ = std::make_unique<Tmpfs>(kDisk);
    const Tmpfs& disk = *disk_;
    if (!disk.mounted()) {
      GTEST_SKIP() << "cannot mount a 64 MB tmpfs (needs root or CAP_SYS_ADMIN): " << disk.error();
    }
    ASSERT_FALSE(Clip().empty()) << "ffmpeg could not make the test clip";
    const uint64_t clip_bytes = std::filesystem::file_size(Clip());
    ASSERT_TRUE(server_.Start(disk.path() + "/data").ok()) << server_.log();
    std::vector<std::string> streams;
    for (int i = 0; i < stream_count; ++i) {
      streams.push_back("cam" + std::to_string(i));
      CurlCreateStream(server_.url(), streams.back());
    }
    const auto began = std::chrono::steady_clock::now();
    std::vector<int64_t> start_ms(streams.size(), 1'767'225'600'000);
    uint64_t pushed = 0;
    size_t acked = 0, uploads = 0, errors = 0;
    double min_kept = 1.0;
    while (pushed < kDisk * 5 / 2) {
      for (size_t s = 0; s < streams.size(); ++s) {
        Upload u = Push(streams[s], start_ms[s]);
        start_ms[s] += kClipMs;
        pushed += clip_bytes;
        ++uploads;
        acked += u.persisted.size();
        errors += u.errors;
        // Older data was always there to make room: no upload may be refused.
        ASSERT_EQ(u.errors, 0u) << "upload " << uploads << " of " << streams[s] << ":\n"
                                << u.response << server_.log();
        ASSERT_GE(u.persisted.size(), 3u) << u.response;
        // What was just acknowledged is all listed.
        std::map<std::string, uint64_t> own = List(streams[s]);
        for (const std::string& n : u.persisted) {
          ASSERT_TRUE(own.count(n))
              << streams[s] << " lost " << n << ", acknowledged in upload " << uploads;
        }
        uint64_t kept = 0;
        for (const std::string& name : streams) {
          for (const auto& [n, size] : name == streams[s] ? own : List(name)) kept += size;
        }
        const double share = static_cast<double>(kept) / kDisk;
        if (pushed > kDisk) {
          min_kept = std::min(min_kept, share);
          ASSERT_GT(share, 0.4) << "after upload " << uploads << ": kept " << kept << " bytes";
        }
      }
    }
    size_t listed = 0;
    for (const std::string& name : streams) listed += List(name).size();
    const std::string log = server_.log();
    const size_t evictions = CountOf(log, "reason=budget");
    EXPECT_GT(evictions, 0u) << "the disk never filled up";
    EXPECT_EQ(server_.Stop(), 0);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    std::printf(
        "%d stream(s): pushed %.1f MB in %zu uploads (%.1f s); %zu fragments acked, %zu "
        "listed at the end; %zu eviction steps; kept history never below %.0f%% of the "
        "disk; %zu ERROR acks\n",
        stream_count, pushed / 1e6, uploads, secs, acked, listed, evictions, min_kept * 100,
        errors);
  }

  std::unique_ptr<Tmpfs> disk_;  // unmounted after the server stops
  ServerProcess server_;
};

TEST_F(DiskFullE2eTest, OneStreamKeepsMostOfItsHistoryAndEveryNewFragment) { Run(1); }

// A floor of 48 MB on the 64 MB disk leaves less than three streams' newest 10 s: once only
// those are left, fragments are refused with ARCHIVAL_ERROR (5001, which the KVS producer
// SDK resends), the acknowledged ones stay, and recording resumes when space comes back.
TEST_F(DiskFullE2eTest, RefusesWith5001WhenOnlyTheNewestIsLeftAndResumesWhenSpaceFrees) {
  disk_ = std::make_unique<Tmpfs>(kDisk);
  if (!disk_->mounted()) {
    GTEST_SKIP() << "cannot mount a 64 MB tmpfs (needs root or CAP_SYS_ADMIN): " << disk_->error();
  }
  ASSERT_FALSE(Clip().empty()) << "ffmpeg could not make the test clip";
  ASSERT_TRUE(server_.Start(disk_->path() + "/data", {"--min-free-bytes", "48M"}).ok())
      << server_.log();
  const std::vector<std::string> streams = {"cam0", "cam1", "cam2"};
  for (const std::string& s : streams) CurlCreateStream(server_.url(), s);
  std::map<std::string, std::vector<std::string>> last_acked;
  std::vector<int64_t> start_ms(streams.size(), 1'767'225'600'000);
  size_t refused = 0;
  for (int round = 0; round < 10 && refused == 0; ++round) {
    for (size_t s = 0; s < streams.size(); ++s) {
      Upload u = Push(streams[s], start_ms[s]);
      start_ms[s] += kClipMs;
      refused += u.errors;
      for (int id : u.error_ids) EXPECT_EQ(id, 5001) << u.response;
      if (!u.persisted.empty()) last_acked[streams[s]] = u.persisted;
    }
  }
  ASSERT_GT(refused, 0u) << "the floor never refused anything:\n" << server_.log();
  for (const auto& [stream, numbers] : last_acked) {
    std::map<std::string, uint64_t> listed = List(stream);
    for (const std::string& n : numbers) {
      EXPECT_TRUE(listed.count(n)) << stream << " lost acknowledged fragment " << n;
    }
  }
  // The operator frees space: the next upload is stored whole.
  auto del = RunCommand({"curl", "-sS", "-X", "POST", "--data-binary",
                         json{{"StreamName", "cam2"}}.dump(), server_.url() + "/deleteStream"});
  ASSERT_TRUE(del.ok());
  Upload after = Push("cam0", start_ms[0]);
  EXPECT_EQ(after.errors, 0u) << after.response;
  EXPECT_GE(after.persisted.size(), 3u) << after.response;
  EXPECT_EQ(server_.Stop(), 0);
  std::printf(
      "floor test: %zu fragments refused with 5001; after deleting a stream, %zu of the "
      "next upload's fragments persisted\n",
      refused, after.persisted.size());
}

TEST_F(DiskFullE2eTest, ThreeStreamsKeepMostOfTheirHistoryAndEveryNewFragment) { Run(3); }

}  // namespace
}  // namespace streamarc::e2e
