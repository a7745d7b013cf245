// Read-only mode (issue 14): a data directory streamarcd must not write still serves its
// video. Two ways in: the file system went read-only (found at start, as after ext4's
// errors=remount-ro and a service restart), and --read-only on a writable directory (a
// snapshot, a forensic copy). Either way every read API answers from the index and the
// segments, every write is refused with KVS's shape before anything is stored, and not one
// file changes; a camera keeps its fragments and, once a writable server is back, catches up
// with no gap and nothing twice.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/faults/fault_producer.h"
#include "tests/support/aws_cli.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/media.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/tmpfs.h"

namespace streamarc::faults {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using streamarc::testing::CountOf;
using streamarc::testing::Curl;
using streamarc::testing::CurlGet;
using streamarc::testing::CurlPost;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;
using streamarc::testing::Tmpfs;

// Every entry under `root`, directories included, with its size and modification time (ns):
// what a read-only server must leave as it found it.
using Tree = std::map<std::string, std::pair<uint64_t, int64_t>>;
Tree Snapshot(const std::string& root) {
  Tree out;
  auto add = [&](const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    out[p.string()] = {static_cast<uint64_t>(st.st_size),
                       int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec};
  };
  add(root);
  for (const auto& e : fs::recursive_directory_iterator(root)) add(e.path());
  return out;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// An answer as a KVS client reads it: status, x-amzn-ErrorType, {"Message"}.
struct Answer {
  int status = 0;
  std::string type;
  std::string message;
  std::string raw;
};
Answer Post(const std::string& url, const std::string& op, const json& body) {
  testing::CurlReply r = CurlPost(url + "/" + op, body.dump(), {"-i"});
  Answer a{r.status, "", "", r.body};
  const std::string lower = Lower(r.body);
  if (size_t p = lower.find("x-amzn-errortype: "); p != std::string::npos) {
    p += 18;
    a.type = r.body.substr(p, r.body.find_first_of("\r\n", p) - p);
  }
  if (size_t p = r.body.find("\r\n\r\n"); p != std::string::npos) {
    json j = json::parse(r.body.substr(p + 4), nullptr, false);
    if (j.is_object()) a.message = j.value("Message", "");
  }
  return a;
}

// /health stays 200 and says read-only; /ready answers 503 saying why.
void ExpectReadOnlyProbes(const std::string& url, const std::string& reason) {
  const std::string health = CurlGet(url + "/health", {"-i"});
  EXPECT_NE(health.find("HTTP/1.1 200"), std::string::npos) << health;
  EXPECT_NE(health.find(R"("mode":"read-only")"), std::string::npos) << health;
  EXPECT_NE(health.find(reason), std::string::npos) << health;
  const std::string ready = CurlGet(url + "/ready", {"-i"});
  EXPECT_NE(ready.find("HTTP/1.1 503"), std::string::npos) << ready;
  EXPECT_NE(ready.find(R"("ready":false)"), std::string::npos) << ready;
  EXPECT_NE(ready.find("the archive is read-only (" + reason + ")"), std::string::npos) << ready;
  EXPECT_NE(CurlGet(url + "/metrics").find("\nstreamarc_read_only 1\n"), std::string::npos);
}

// Every write API on `stream` is refused, saying read-only and `reason`: changes to streams
// with ResourceInUseException (400), data with ServiceUnavailableException (503, which
// producers retry), PutMedia before any ACK.
void ExpectWritesRefused(const std::string& url, const std::string& stream,
                         const std::string& reason, const std::string& media_file) {
  const Answer described = Post(url, "describeStream", {{"StreamName", stream}});
  ASSERT_EQ(described.status, 200) << described.raw;
  const json info = json::parse(described.raw.substr(described.raw.find("\r\n\r\n") + 4));
  const std::string arn = info["StreamInfo"]["StreamARN"];
  const std::string version = info["StreamInfo"]["Version"];
  struct Write {
    std::string op;
    json body;
    int status;
    std::string type;
  };
  const std::vector<Write> writes = {
      {"createStream",
       {{"StreamName", "new-cam"}, {"DataRetentionInHours", 24}},
       400,
       "ResourceInUseException"},
      {"deleteStream", {{"StreamARN", arn}}, 400, "ResourceInUseException"},
      {"updateStream",
       {{"StreamName", stream}, {"CurrentVersion", version}, {"DeviceName", "x"}},
       400,
       "ResourceInUseException"},
      {"updateDataRetention",
       {{"StreamName", stream},
        {"CurrentVersion", version},
        {"Operation", "INCREASE_DATA_RETENTION"},
        {"DataRetentionChangeInHours", 1}},
       400,
       "ResourceInUseException"},
      {"tagStream",
       {{"StreamName", stream}, {"Tags", {{"site", "gate"}}}},
       400,
       "ResourceInUseException"},
      {"untagStream",
       {{"StreamName", stream}, {"TagKeyList", {"site"}}},
       400,
       "ResourceInUseException"},
      {"TagResource",
       {{"ResourceARN", arn}, {"Tags", {{{"Key", "a"}, {"Value", "b"}}}}},
       400,
       "ResourceInUseException"},
      {"putEvents",
       {{"StreamName", stream},
        {"Events", {{{"Label", "person"}, {"StartTimestamp", 1000}, {"EndTimestamp", 1001}}}}},
       503,
       "ServiceUnavailableException"},
  };
  for (const Write& w : writes) {
    const Answer a = Post(url, w.op, w.body);
    EXPECT_EQ(a.status, w.status) << w.op << ": " << a.raw;
    EXPECT_EQ(a.type, w.type) << w.op << ": " << a.raw;
    EXPECT_NE(a.message.find("read-only (" + reason + ")"), std::string::npos)
        << w.op << ": " << a.raw;
    EXPECT_NE(a.message.find("restart it on a writable data directory"), std::string::npos)
        << w.op << ": " << a.raw;
  }
  const std::string put =
      testing::CurlPutMedia(url, {stream, media_file, "1000.000", true, {"-i"}});
  EXPECT_NE(put.find("HTTP/1.1 503"), std::string::npos) << put.substr(0, 600);
  EXPECT_NE(Lower(put).find("x-amzn-errortype: serviceunavailableexception"), std::string::npos)
      << put.substr(0, 600);
  EXPECT_EQ(put.find("EventType"), std::string::npos) << "an ACK was sent: " << put.substr(0, 600);
  // Nothing changed: the stream is there as before, and no stream was made.
  const Answer after = Post(url, "describeStream", {{"StreamName", stream}});
  EXPECT_NE(after.raw.find(version), std::string::npos) << after.raw;
  EXPECT_EQ(Post(url, "describeStream", {{"StreamName", "new-cam"}}).status, 404);
}

// Video packets ffprobe plays from an ON_DEMAND HLS (or, `dash`, DASH) session over producer
// time [from_s, to_s].
size_t PlayedVideoPackets(const std::string& url, const std::string& stream, double from_s,
                          double to_s, bool dash = false) {
  const std::string kind = dash ? "DASH" : "HLS";
  const json req = {{"StreamName", stream},
                    {"PlaybackMode", "ON_DEMAND"},
                    {kind + "FragmentSelector",
                     {{"FragmentSelectorType", "PRODUCER_TIMESTAMP"},
                      {"TimestampRange", {{"StartTimestamp", from_s}, {"EndTimestamp", to_s}}}}}};
  const testing::CurlReply r = CurlPost(url + "/get" + kind + "StreamingSessionURL", req.dump());
  EXPECT_EQ(r.status, 200) << r.body;
  const json j = json::parse(r.body, nullptr, false);
  const std::string key = kind + "StreamingSessionURL";
  if (!j.is_object() || !j.contains(key)) return 0;
  auto probed = testing::ProbeTimes(j[key].get<std::string>());
  EXPECT_TRUE(probed.ok()) << probed.status().ToString();
  if (!probed.ok()) return 0;
  return static_cast<size_t>(
      std::count_if(probed->begin(), probed->end(),
                    [](const testing::ProbeTime& t) { return t.type == "video"; }));
}

// The data directory's file system goes read-only across a restart (Linux refuses to remount
// it under a running server, which holds its index open). streamarcd starts read-only, saying
// so: everything the camera saw acknowledged is listed and byte-identical, HLS plays, every
// write is refused, nothing on the disk changes, and the camera, refused with 503, keeps its
// fragments. Writable again, a restart records as before and the camera catches up with no
// gap and nothing twice.
TEST(ReadOnlyTest, ReadOnlyDataDirIsServedAndTheCameraCatchesUpWhenWritable) {
  Tmpfs disk(32 << 20);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs: " << disk.error();
  const std::string data = disk.path() + "/data";
  auto media = testing::MakeMedia(testing::kH264AacMkv);
  ASSERT_TRUE(media.ok()) << media.status().ToString();
  auto source = MakeSource(10, 20, 10, "320x240");
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  ServerProcess server;
  ASSERT_TRUE(server.Start(data).ok()) << server.log();
  const int port = server.port();
  FaultProducer cam(*source, "cam-ro");
  ASSERT_TRUE(cam.Start(ClientFor(server.url()), CameraOptions()).ok());
  ASSERT_TRUE(cam.WaitForPersisted(6, std::chrono::seconds(30)));

  Status live = disk.SetReadOnly(true);
  ASSERT_EQ(live.code(), Code::kFailedPrecondition)
      << "the kernel made the file system read-only under a running server (" << live.ToString()
      << "): this test expects EBUSY and needs extending";
  ASSERT_EQ(server.Stop(), 0) << server.log();
  ASSERT_TRUE(disk.SetReadOnly(true).ok());
  const std::vector<AckRecord> acked = cam.acks();
  const uint64_t reconnects_before = cam.stats().reconnects;
  const Tree before = Snapshot(disk.path());

  ASSERT_TRUE(server.Start(data, {"--port", std::to_string(port)}).ok()) << server.log();
  const std::string reason = "the file system of " + data + " is mounted read-only";
  EXPECT_NE(server.log().find("READ-ONLY MODE"), std::string::npos) << server.log();
  EXPECT_NE(server.log().find(reason), std::string::npos) << server.log();
  ExpectReadOnlyProbes(server.url(), reason);

  // Everything acknowledged is there and readable.
  const std::vector<ReadFragment> served = ReadStream(server.url(), cam.name());
  std::map<std::string, const ReadFragment*> listed;
  size_t frames_served = 0;
  for (const ReadFragment& f : served) {
    listed[f.number] = &f;
    frames_served += f.frames.size();
    EXPECT_TRUE(f.error.empty()) << f.number << ": " << f.error;
  }
  ASSERT_GE(acked.size(), 6u);
  for (const AckRecord& a : acked) {
    auto it = listed.find(a.number);
    ASSERT_TRUE(it != listed.end()) << "acknowledged " << a.number << " is not served read-only";
    EXPECT_EQ(it->second->producer_ms, a.timecode_ms);
    EXPECT_FALSE(it->second->frames.empty());
  }
  // HLS plays every frame of it.
  const double from_s = static_cast<double>(served.front().producer_ms) / 1000.0;
  const double to_s = static_cast<double>(served.back().producer_ms) / 1000.0 + 1.0;
  EXPECT_EQ(PlayedVideoPackets(server.url(), cam.name(), from_s, to_s), frames_served);

  ExpectWritesRefused(server.url(), cam.name(), reason, *media);
  // A new camera, whose stream does not exist yet, is told why at once.
  {
    FaultProducer newcomer(*source, "cam-new");
    Status refused = newcomer.Start(ClientFor(server.url()), CameraOptions());
    EXPECT_EQ(refused.code(), Code::kInvalidArgument) << refused.ToString();
    EXPECT_NE(refused.message().find("ResourceInUseException"), std::string::npos)
        << refused.ToString();
    EXPECT_NE(refused.message().find("read-only"), std::string::npos) << refused.ToString();
  }
  // The camera keeps trying, refused each time, and keeps what it could not send. Polled:
  // the SDK counts its attempts, it does not signal them.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (cam.stats().reconnects < reconnects_before + 5 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GE(cam.stats().reconnects, reconnects_before + 5) << "the camera stopped retrying";
  EXPECT_EQ(cam.persisted(), acked.size()) << "a fragment was acknowledged by a read-only server";
  EXPECT_TRUE(cam.stream_errors().empty()) << cam.stream_errors().front().ToString();
  EXPECT_EQ(cam.dropped_fragments(), 0);
  EXPECT_EQ(server.Stop(), 0) << server.log();
  EXPECT_EQ(Snapshot(disk.path()), before) << "the read-only server changed the disk";

  // Writable again: a restart records, and the camera catches up.
  ASSERT_TRUE(disk.SetReadOnly(false).ok());
  ASSERT_TRUE(server.Start(data, {"--port", std::to_string(port)}).ok()) << server.log();
  EXPECT_EQ(server.log().find("READ-ONLY MODE"), std::string::npos) << server.log();
  EXPECT_NE(CurlGet(server.url() + "/metrics").find("\nstreamarc_read_only 0\n"),
            std::string::npos);
  EXPECT_NE(CurlGet(server.url() + "/ready").find(R"({"ready":true})"), std::string::npos);
  ASSERT_TRUE(cam.WaitForPersisted(acked.size() + 4, std::chrono::seconds(30))) << server.log();
  Status s = cam.Finish(60'000);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(cam.stream_errors().empty());
  EXPECT_EQ(cam.dropped_fragments(), 0);
  const std::vector<ReadFragment> stored = ReadStream(server.url(), cam.name());
  const Tally t = CheckStream(cam, stored, false);
  EXPECT_EQ(t.acked_lost, 0u);
  EXPECT_EQ(t.frames_missing, 0u);
  EXPECT_EQ(t.frames_duplicated, 0u);
  // What was served read-only is what is stored: the same numbers, the same bytes.
  std::map<std::string, const ReadFragment*> final_by_number;
  for (const ReadFragment& f : stored) final_by_number[f.number] = &f;
  for (const ReadFragment& f : served) {
    auto it = final_by_number.find(f.number);
    ASSERT_TRUE(it != final_by_number.end()) << f.number;
    ASSERT_EQ(it->second->frames.size(), f.frames.size()) << f.number;
    for (size_t i = 0; i < f.frames.size(); ++i) {
      EXPECT_EQ(it->second->frames[i].data, f.frames[i].data) << f.number << " frame " << i;
    }
  }
  EXPECT_EQ(server.Stop(), 0);
  std::printf(
      "read-only data dir: %zu acknowledged fragments served read-only (%zu frames, all played "
      "over HLS); the camera reconnected %llu times meanwhile, then %zu fragments acknowledged in "
      "all, "
      "%zu frames compared, %zu missing, %zu lost\n",
      acked.size(), frames_served,
      static_cast<unsigned long long>(cam.stats().reconnects - reconnects_before), t.acked,
      t.frames_checked, t.frames_missing, t.acked_lost);
}

// --read-only on a writable data directory (a snapshot, a copy) writes nothing: not the
// index's -shm left by a writer that was killed (its un-checkpointed log is read), not a
// session-token key (one is made in memory), not a readiness probe, not a repair. Every
// read API still answers.
TEST(ReadOnlyTest, ReadOnlyFlagOnAWritableDirServesAndWritesNothing) {
  TempDir dir;
  const std::string data = dir.File("data");
  auto media = testing::MakeMedia(testing::kH264AacMkv);
  ASSERT_TRUE(media.ok()) << media.status().ToString();
  ServerProcess server;
  ASSERT_TRUE(server.Start(data).ok()) << server.log();
  testing::CurlCreateStream(server.url(), "cam1");
  const std::string acks =
      testing::CurlPutMedia(server.url(), {"cam1", *media, "1000.000", true, {}});
  ASSERT_GE(CountOf(acks, "PERSISTED"), 5u) << acks;
  const std::vector<json> listed = testing::ListAllFragments(server.url(), "cam1");
  const std::vector<ReadFragment> read_before = ReadStream(server.url(), "cam1");
  ASSERT_EQ(read_before.size(), listed.size());
  // Killed: the index's write-ahead log stays, un-checkpointed, with its -shm.
  server.Kill();
  ASSERT_TRUE(fs::exists(data + "/index.sqlite-wal"));
  ASSERT_TRUE(fs::exists(data + "/index.sqlite-shm"));
  fs::remove(data + "/session-token.key");
  const Tree before = Snapshot(data);

  ASSERT_TRUE(server.Start(data, {"--read-only"}).ok()) << server.log();
  const std::string reason = "--read-only was given";
  EXPECT_NE(server.log().find("READ-ONLY MODE"), std::string::npos) << server.log();
  EXPECT_NE(server.log().find("key kept in memory"), std::string::npos) << server.log();
  ExpectReadOnlyProbes(server.url(), reason);

  EXPECT_EQ(testing::ListAllFragments(server.url(), "cam1"), listed);
  // The same frames, byte for byte (the chunks' millis-behind-now tags differ, as they should).
  const std::vector<ReadFragment> read_after = ReadStream(server.url(), "cam1");
  ASSERT_EQ(read_after.size(), read_before.size());
  for (size_t i = 0; i < read_before.size(); ++i) {
    EXPECT_TRUE(read_after[i].error.empty()) << read_after[i].error;
    EXPECT_EQ(read_after[i].number, read_before[i].number);
    ASSERT_EQ(read_after[i].frames.size(), read_before[i].frames.size()) << read_before[i].number;
    EXPECT_FALSE(read_after[i].frames.empty());
    for (size_t k = 0; k < read_before[i].frames.size(); ++k) {
      EXPECT_TRUE(read_after[i].frames[k].data == read_before[i].frames[k].data)
          << read_before[i].number << " frame " << k;
    }
  }
  auto input = testing::ProbeTimes(*media);
  ASSERT_TRUE(input.ok());
  const size_t input_video = static_cast<size_t>(std::count_if(
      input->begin(), input->end(), [](const testing::ProbeTime& t) { return t.type == "video"; }));
  EXPECT_EQ(PlayedVideoPackets(server.url(), "cam1", 900, 1100), input_video);
  EXPECT_EQ(PlayedVideoPackets(server.url(), "cam1", 900, 1100, /*dash=*/true), input_video);
  // GetMedia from the earliest fragment: every one, then it waits at the live edge (where
  // curl's time limit ends it).
  const json get_media = {{"StreamName", "cam1"},
                          {"StartSelector", {{"StartSelectorType", "EARLIEST"}}}};
  const std::string chunks = Curl(
      {"-m", "5", "-X", "POST", "--data-binary", get_media.dump(), server.url() + "/getMedia"});
  EXPECT_EQ(CountOf(chunks, "AWS_KINESISVIDEO_FRAGMENT_NUMBER"), listed.size());
  // The console.
  EXPECT_NE(CurlGet(server.url() + "/", {"-i"}).find("HTTP/1.1 200"), std::string::npos);
  // Stills.
  const json images = {{"StreamName", "cam1"},     {"ImageSelectorType", "PRODUCER_TIMESTAMP"},
                       {"StartTimestamp", 1001},   {"EndTimestamp", 1004},
                       {"SamplingInterval", 1000}, {"Format", "JPEG"}};
  const testing::CurlReply stills = CurlPost(server.url() + "/getImages", images.dump());
  ASSERT_EQ(stills.status, 200) << stills.body;
  const json got = json::parse(stills.body, nullptr, false);
  ASSERT_TRUE(got.is_object() && got.contains("Images")) << stills.body;
  ASSERT_FALSE(got["Images"].empty()) << stills.body;
  for (const json& image : got["Images"]) {
    EXPECT_FALSE(image.value("ImageContent", "").empty()) << image.dump().substr(0, 200);
  }
  // A clip too, read by ffprobe.
  const json clip = {{"StreamName", "cam1"},
                     {"ClipFragmentSelector",
                      {{"FragmentSelectorType", "PRODUCER_TIMESTAMP"},
                       {"TimestampRange", {{"StartTimestamp", 1000}, {"EndTimestamp", 1003}}}}}};
  const std::string clip_file = dir.File("clip.mp4");
  const std::string clip_out = Curl({"-o", clip_file, "-w", "%{http_code}", "-X", "POST",
                                     "--data-binary", clip.dump(), server.url() + "/getClip"});
  EXPECT_EQ(clip_out, "200");
  auto clip_times = testing::ProbeTimes(clip_file);
  ASSERT_TRUE(clip_times.ok()) << clip_times.status().ToString();
  EXPECT_FALSE(clip_times->empty());

  ExpectWritesRefused(server.url(), "cam1", reason, *media);
  // As the AWS CLI tells it, at once (a 400 is not retried).
  const auto start = std::chrono::steady_clock::now();
  const testing::CommandOutput cli =
      testing::RunAws(server.url(), {"kinesisvideo", "create-stream", "--stream-name", "cam2",
                                     "--data-retention-in-hours", "24"});
  EXPECT_NE(cli.exit_code, 0) << cli.out;
  EXPECT_NE(cli.out.find("(ResourceInUseException)"), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("read-only (" + reason + ")"), std::string::npos) << cli.out;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5)) << "retried";
  EXPECT_EQ(server.Stop(), 0) << server.log();
  EXPECT_EQ(Snapshot(data), before) << "--read-only changed the data directory";
  EXPECT_FALSE(fs::exists(data + "/session-token.key"));
}

}  // namespace
}  // namespace streamarc::faults
