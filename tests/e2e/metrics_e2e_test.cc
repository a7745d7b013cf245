// GET /metrics and GET /ready end to end: the real streamarcd is fed a real clip by curl and
// read back; the scrape's numbers must have moved by exactly what was done, promtool must
// accept the scrape, and /ready must turn 503 when the data directory becomes read-only.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/support/kvs_curl.h"
#include "tests/support/media.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::e2e {
namespace {

using nlohmann::json;
using streamarc::testing::CurlCreateStream;
using streamarc::testing::CurlGet;
using streamarc::testing::CurlPost;
using streamarc::testing::CurlPutMedia;
using streamarc::testing::ListAllFragments;
using streamarc::testing::MakeMedia;
using streamarc::testing::ParseAckEvents;
using streamarc::testing::RunCommand;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;
using streamarc::testing::WriteFileOrDie;

// The scrape's samples: "name{labels}" -> value. Comments are left out.
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.rfind(' ');
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

double Value(const std::map<std::string, double>& samples, const std::string& key) {
  auto it = samples.find(key);
  EXPECT_NE(it, samples.end()) << "no sample " << key;
  return it == samples.end() ? -1 : it->second;
}

// `curl -i` output: the status line's code.
int StatusOf(const std::string& reply) {
  const size_t sp = reply.find(' ');
  return sp == std::string::npos ? 0 : std::atoi(reply.c_str() + sp + 1);
}

TEST(MetricsE2eTest, ScrapeCountsWhatWasDoneAndPromtoolAcceptsIt) {
  TempDir data;
  ServerProcess server;
  ASSERT_TRUE(server.Start(data.path()).ok()) << server.log();
  const std::string url = server.url();
  auto clip = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(clip.ok()) << clip.status().ToString();
  CurlCreateStream(url, "cam1");

  // In: one clip through PutMedia, with Content-Length so that the body is the file's bytes.
  const std::string acks = CurlPutMedia(url, {.stream = "cam1", .file = *clip, .chunked = false});
  int persisted = 0;
  for (const json& a : ParseAckEvents(acks)) persisted += a["EventType"] == "PERSISTED";
  ASSERT_GT(persisted, 1) << acks;

  // Out: every fragment back through GetMediaForFragmentList.
  json numbers = json::array();
  for (const json& f : ListAllFragments(url, "cam1")) numbers.push_back(f["FragmentNumber"]);
  ASSERT_EQ(numbers.size(), static_cast<size_t>(persisted));
  auto media = CurlPost(url + "/getMediaForFragmentList",
                        json{{"StreamName", "cam1"}, {"Fragments", numbers}}.dump());
  ASSERT_EQ(media.status, 200);

  // And through HLS (fMP4, a segment per track), read whole by ffmpeg.
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  auto session = CurlPost(
      url + "/getHLSStreamingSessionURL",
      json{{"StreamName", "cam1"},
           {"PlaybackMode", "ON_DEMAND"},
           {"HLSFragmentSelector",
            {{"FragmentSelectorType", "SERVER_TIMESTAMP"},
             {"TimestampRange", {{"StartTimestamp", now - 3600}, {"EndTimestamp", now + 60}}}}}}
          .dump());
  ASSERT_EQ(session.status, 200) << session.body;
  TempDir out;
  auto ffmpeg = RunCommand({"ffmpeg", "-nostdin", "-loglevel", "error", "-i",
                            json::parse(session.body)["HLSStreamingSessionURL"], "-c", "copy", "-y",
                            out.File("hls.mp4")});
  ASSERT_TRUE(ffmpeg.ok());
  ASSERT_EQ(ffmpeg->exit_code, 0) << ffmpeg->out;

  // Errors: two answers KVS names ResourceNotFoundException.
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(CurlPost(url + "/describeStream", R"({"StreamName":"missing"})").status, 404);
  }

  const std::string text = CurlGet(url + "/metrics");
  const auto m = Samples(text);
  EXPECT_EQ(Value(m, R"(streamarc_ingest_bytes_total{stream="cam1"})"),
            static_cast<double>(std::filesystem::file_size(*clip)));
  EXPECT_EQ(Value(m, R"(streamarc_ingest_fragments_total{stream="cam1"})"), persisted);
  EXPECT_EQ(Value(m, "streamarc_persisted_ack_latency_seconds_count"), persisted);
  EXPECT_EQ(Value(m, R"(streamarc_persisted_ack_latency_seconds_bucket{le="+Inf"})"), persisted);
  EXPECT_GT(Value(m, "streamarc_persisted_ack_latency_seconds_sum"), 0);
  EXPECT_EQ(Value(m, R"(streamarc_egress_fragments_total{stream="cam1",api="getmedia"})"),
            persisted);
  EXPECT_EQ(Value(m, R"(streamarc_egress_bytes_total{stream="cam1",api="getmedia"})"),
            static_cast<double>(media.body.size()));
  // Each fragment once (its audio track's segments carry no count), and every segment's bytes.
  EXPECT_EQ(Value(m, R"(streamarc_egress_fragments_total{stream="cam1",api="hls"})"), persisted);
  EXPECT_GT(Value(m, R"(streamarc_egress_bytes_total{stream="cam1",api="hls"})"),
            static_cast<double>(std::filesystem::file_size(*clip)) / 2);
  EXPECT_EQ(Value(m, R"(streamarc_errors_total{code="ResourceNotFoundException"})"), 2);
  // The scrape itself is a buffered request on its connection.
  EXPECT_GE(Value(m, R"(streamarc_open_connections{kind="request"})"), 1);
  EXPECT_EQ(Value(m, R"(streamarc_open_connections{kind="putmedia"})"), 0);
  EXPECT_GT(Value(m, "streamarc_segment_bytes"), 0);
  EXPECT_GT(Value(m, "streamarc_data_dir_free_bytes"), 0);
  EXPECT_GT(Value(m, "streamarc_data_dir_size_bytes"), 0);
  EXPECT_EQ(Value(m, R"(streamarc_deleted_fragments_total{reason="retention"})"), 0);
  EXPECT_NE(text.find("streamarc_build_info{version=\""), std::string::npos) << text;
  EXPECT_GT(Value(m, "streamarc_start_time_seconds"), 1.7e9);

  // promtool (Debian's prometheus package) reads the scrape and lints its names.
  TempDir tmp;
  WriteFileOrDie(tmp.File("scrape.txt"), text);
  auto check = RunCommand({"sh", "-c", "promtool check metrics < " + tmp.File("scrape.txt")});
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->exit_code, 0) << check->out << "\n" << text;

  // A deleted stream's series go with it.
  auto described = CurlPost(url + "/describeStream", R"({"StreamName":"cam1"})");
  ASSERT_EQ(described.status, 200);
  const std::string version = json::parse(described.body)["StreamInfo"]["Version"];
  ASSERT_EQ(CurlPost(url + "/deleteStream",
                     json{{"StreamName", "cam1"}, {"CurrentVersion", version}}.dump())
                .status,
            200);
  const std::string after = CurlGet(url + "/metrics");
  EXPECT_EQ(after.find("stream=\"cam1\""), std::string::npos) << after;
}

TEST(MetricsE2eTest, ReadyAndHealthAnswer) {
  TempDir data;
  ServerProcess server;
  ASSERT_TRUE(server.Start(data.path()).ok()) << server.log();
  const std::string ready = CurlGet(server.url() + "/ready", {"-i"});
  EXPECT_EQ(StatusOf(ready), 200) << ready;
  EXPECT_NE(ready.find(R"({"ready":true})"), std::string::npos) << ready;
  EXPECT_EQ(StatusOf(CurlGet(server.url() + "/health", {"-i"})), 200);
}

// Makes `dir` read-only for new files while the server runs: a read-only bind mount over it
// as root (chmod does not stop root), chmod otherwise. Undone by the destructor.
class ReadOnly {
 public:
  explicit ReadOnly(std::string dir) : dir_(std::move(dir)) {
    if (geteuid() == 0) {
      if (::mount(dir_.c_str(), dir_.c_str(), nullptr, MS_BIND, nullptr) != 0) {
        error_ = std::string("bind mount: ") + std::strerror(errno);
        return;
      }
      mounted_ = true;
      if (::mount(nullptr, dir_.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
        error_ = std::string("read-only remount: ") + std::strerror(errno);
        return;
      }
    } else {
      for (const std::string& d : {dir_, dir_ + "/segments"}) {
        if (::chmod(d.c_str(), 0555) != 0) error_ = std::string("chmod: ") + std::strerror(errno);
      }
      chmodded_ = true;
    }
  }
  ~ReadOnly() { Undo(); }
  void Undo() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    mounted_ = false;
    if (chmodded_) {
      for (const std::string& d : {dir_, dir_ + "/segments"}) ::chmod(d.c_str(), 0755);
    }
    chmodded_ = false;
  }
  const std::string& error() const { return error_; }

 private:
  const std::string dir_;
  bool mounted_ = false;
  bool chmodded_ = false;
  std::string error_;
};

TEST(MetricsE2eTest, ReadyTurns503WhenTheDataDirIsReadOnly) {
  TempDir data;
  ServerProcess server;
  ASSERT_TRUE(server.Start(data.path()).ok()) << server.log();
  ASSERT_EQ(StatusOf(CurlGet(server.url() + "/ready", {"-i"})), 200);
  ReadOnly ro(data.path());
  if (!ro.error().empty()) {
    GTEST_SKIP() << "cannot make the data dir read-only here (" << ro.error()
                 << "): root needs CAP_SYS_ADMIN for a bind mount";
  }
  const std::string refused = CurlGet(server.url() + "/ready", {"-i"});
  EXPECT_EQ(StatusOf(refused), 503) << refused;
  EXPECT_NE(refused.find(R"("ready":false)"), std::string::npos) << refused;
  EXPECT_NE(refused.find("cannot write in " + data.path()), std::string::npos) << refused;
  // Liveness is not readiness: /health still answers.
  EXPECT_EQ(StatusOf(CurlGet(server.url() + "/health", {"-i"})), 200);
  ro.Undo();
  EXPECT_EQ(StatusOf(CurlGet(server.url() + "/ready", {"-i"})), 200);
}

// A full file system: the data dir on a small tmpfs (root only), filled up by another file.
TEST(MetricsE2eTest, ReadyTurns503WhenTheDiskIsFull) {
  TempDir data;
  if (::mount("tmpfs", data.path().c_str(), "tmpfs", 0, "size=16m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                 << "): it needs root with CAP_SYS_ADMIN";
  }
  {
    ServerProcess server;
    ASSERT_TRUE(server.Start(data.path()).ok()) << server.log();
    ASSERT_EQ(StatusOf(CurlGet(server.url() + "/ready", {"-i"})), 200);
    // dd stops at ENOSPC (and says so): the file system is then full.
    const std::string ballast = data.File("ballast");
    auto dd = RunCommand({"dd", "if=/dev/zero", "of=" + ballast, "bs=1M", "count=64"});
    ASSERT_TRUE(dd.ok());
    ASSERT_NE(dd->out.find("No space left"), std::string::npos) << dd->out;
    const std::string refused = CurlGet(server.url() + "/ready", {"-i"});
    EXPECT_EQ(StatusOf(refused), 503) << refused;
    EXPECT_NE(refused.find("cannot write in"), std::string::npos) << refused;
    const auto m = Samples(CurlGet(server.url() + "/metrics"));
    EXPECT_LT(Value(m, "streamarc_data_dir_free_bytes"), 1 << 20);
    EXPECT_EQ(Value(m, "streamarc_data_dir_size_bytes"), 16 << 20);
    std::filesystem::remove(ballast);
    EXPECT_EQ(StatusOf(CurlGet(server.url() + "/ready", {"-i"})), 200);
  }
  ::umount2(data.path().c_str(), MNT_DETACH);
}

}  // namespace
}  // namespace streamarc::e2e
