// The data directory's file system filling up while cameras stream through our producer SDK
// to the real streamarcd (issue 14); read_only_test.cc has it going read-only. The file
// system is a small tmpfs the test mounts (root or CAP_SYS_ADMIN; skipped, saying so,
// without).
// tests/e2e/disk_full_e2e_test.cc covers eviction with curl uploads; these add what a
// producer sees: its acks, its resends, and its timeline afterwards.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/kvs_ack.h"
#include "tests/faults/fault_producer.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/tmpfs.h"

namespace streamarc::faults {
namespace {

using streamarc::testing::CountOf;
using streamarc::testing::ServerProcess;
using streamarc::testing::Tmpfs;

// Writes a file of zeros until the file system has no room left; returns its size.
uint64_t FillUp(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  EXPECT_GE(fd, 0) << path;
  if (fd < 0) return 0;
  const std::string block(64 << 10, '\0');
  uint64_t total = 0;
  for (;;) {
    const ssize_t n = ::write(fd, block.data(), block.size());
    if (n <= 0) break;
    total += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return total;
}

class DiskFaultTest : public ::testing::Test {
 protected:
  // Mounts a tmpfs of `bytes`; false (and the test skipped) when mounting is not allowed.
  bool Mount(uint64_t bytes) {
    disk_ = std::make_unique<Tmpfs>(bytes);
    return disk_->mounted();
  }
  std::string DataDir() const { return disk_->path() + "/data"; }

  std::unique_ptr<Tmpfs> disk_;  // unmounted after the server and cameras are gone
  ServerProcess server_;
  std::vector<std::unique_ptr<FaultProducer>> cams_;
};

// Two cameras at four times real time (2 s fragments: two a second, within KVS's five per
// second per stream) on a 16 MB disk, until they have sent 2.5 times the disk: the oldest video
// goes (the eviction policy), no fragment is refused while old video could make room, and what is
// kept is each camera's newest stretch, whole: every acknowledged fragment newer than the oldest
// kept one is there byte for byte, and no frame after it is missing.
TEST_F(DiskFaultTest, FillingDiskEvictsTheOldestAndKeepsRecording) {
  constexpr uint64_t kDisk = 16 << 20;
  if (!Mount(kDisk)) GTEST_SKIP() << "cannot mount a tmpfs: " << disk_->error();
  auto source = MakeSource(10, 20, 40, "640x360", "3M");
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  ASSERT_TRUE(server_.Start(DataDir()).ok()) << server_.log();
  // An hour in the past, so the timestamps stay behind the clock at four times real time.
  const int64_t base_ms = (SystemClock().NowMicros() / 1000) - 3'600'000;
  for (int i = 0; i < 2; ++i) {
    cams_.push_back(std::make_unique<FaultProducer>(*source, "cam-full-" + std::to_string(i)));
    producer::StreamOptions so = CameraOptions();
    so.fragment_duration_ms = 2'000;
    Status s = cams_.back()->Start(ClientFor(server_.url()), so, base_ms, 4);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  // Polled (the SDK counts bytes, it does not signal them), with a deadline.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  uint64_t sent = 0;
  while (sent < kDisk * 5 / 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    sent = 0;
    for (const auto& c : cams_) sent += c->stats().bytes_sent;
  }
  ASSERT_GE(sent, kDisk * 5 / 2) << "the cameras sent too little in two minutes";
  Tally total;
  uint64_t kept_bytes = 0;
  for (const auto& c : cams_) {
    Status s = c->Finish(60'000);
    EXPECT_TRUE(s.ok()) << c->name() << ": " << s.ToString();
    EXPECT_TRUE(c->error_acks().empty())
        << c->name() << ": a fragment was refused while old video could go, error "
        << c->error_acks().front().error_id;
    EXPECT_TRUE(c->stream_errors().empty());
    EXPECT_EQ(c->dropped_fragments(), 0);
    const std::vector<ReadFragment> stored = ReadStream(server_.url(), c->name());
    for (const ReadFragment& f : stored) kept_bytes += f.size;
    const Tally t = CheckStream(*c, stored, true);
    total.acked += t.acked;
    total.evicted += t.evicted;
    total.acked_lost += t.acked_lost;
    total.fragments += t.fragments;
  }
  const std::string log = server_.log();
  EXPECT_GT(CountOf(log, "reason=budget"), 0u) << "the disk never filled up";
  EXPECT_GT(total.evicted, 0u);
  EXPECT_EQ(total.acked_lost, 0u);
  // Eviction makes room a little at a time: most of the disk still holds video.
  EXPECT_GT(kept_bytes, kDisk * 2 / 5);
  EXPECT_EQ(server_.Stop(), 0);
  std::printf(
      "filling disk: %.1f MB sent; %zu fragments acknowledged, %zu evicted by the policy "
      "(oldest first), %zu kept (%.1f MB), %zu lost\n",
      static_cast<double>(sent) / 1e6, total.acked, total.evicted, total.fragments,
      static_cast<double>(kept_bytes) / 1e6, total.acked_lost);
}

// The disk fills with something the archive cannot delete (another program's file) while a
// camera streams: with only the camera's newest video left, new fragments are refused with
// ERROR 5001 (which the SDK resends), the acknowledged ones stay readable, and once space
// comes back the camera catches up: its timeline has no gap and nothing twice.
TEST_F(DiskFaultTest, FullDiskRefusesWith5001ThenTheCameraCatchesUpWithoutAGap) {
  if (!Mount(16 << 20)) GTEST_SKIP() << "cannot mount a tmpfs: " << disk_->error();
  auto source = MakeSource(10, 20, 10, "320x240");
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  ASSERT_TRUE(server_.Start(DataDir()).ok()) << server_.log();
  cams_.push_back(std::make_unique<FaultProducer>(*source, "cam-refused"));
  FaultProducer& cam = *cams_.back();
  ASSERT_TRUE(cam.Start(ClientFor(server_.url()), CameraOptions()).ok());
  ASSERT_TRUE(cam.WaitForPersisted(2, std::chrono::seconds(30)));

  const std::string filler = disk_->path() + "/filler";
  const uint64_t filled = FillUp(filler);
  ASSERT_TRUE(cam.WaitForErrors(1, std::chrono::seconds(30)))
      << "no fragment was refused on a full disk\n"
      << server_.log();
  for (const producer::FragmentAck& e : cam.error_acks()) {
    EXPECT_EQ(e.error_id, static_cast<int>(kvs::AckErrorId::kArchivalError)) << e.error_code;
  }
  // Reads go on while writes are refused: everything acknowledged is listed and readable.
  const size_t acked_before = cam.persisted();
  {
    std::vector<ReadFragment> now = ReadStream(server_.url(), cam.name());
    std::map<std::string, const ReadFragment*> listed;
    for (const ReadFragment& f : now) listed[f.number] = &f;
    for (const AckRecord& a : cam.acks()) {
      auto it = listed.find(a.number);
      ASSERT_TRUE(it != listed.end()) << "acknowledged " << a.number << " gone on a full disk";
      EXPECT_TRUE(it->second->error.empty()) << it->second->error;
      EXPECT_FALSE(it->second->frames.empty());
    }
  }
  ASSERT_EQ(::unlink(filler.c_str()), 0);
  ASSERT_TRUE(cam.WaitForPersisted(acked_before + 2, std::chrono::seconds(30)))
      << "the camera did not resume once space came back\n"
      << server_.log();
  Status s = cam.Finish(60'000);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(cam.stream_errors().empty());
  EXPECT_EQ(cam.dropped_fragments(), 0);
  const Tally t = CheckStream(cam, ReadStream(server_.url(), cam.name()), false);
  EXPECT_EQ(t.acked_lost, 0u);
  EXPECT_EQ(server_.Stop(), 0);
  std::printf(
      "full disk: filler of %.1f MB; %zu ERROR 5001 acks, then %zu fragments acknowledged in "
      "all, %zu frames compared, %zu missing, %zu lost\n",
      static_cast<double>(filled) / 1e6, cam.errors(), t.acked, t.frames_checked, t.frames_missing,
      t.acked_lost);
}

}  // namespace
}  // namespace streamarc::faults
