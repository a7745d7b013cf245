// Storage tiers (issue 16), against a real S3 server (s3rver from npm, tests/s3, started here
// with tests/support/s3_server.sh as the tests do) and a real streamarcd:
//  1. playback from the bucket vs local disk: the first (cold: archive read + remux) request
//     of each HLS segment of the same media on a WARM stream, whose segments are all in the
//     bucket and read with Range requests, and on a HOT stream on local disk; same server,
//     same run, the requests interleaved. p50/p99.
//  2. upload throughput: what the tiered store does with a sealed segment (S3Client::PutFile,
//     then a HEAD to verify it; one object at a time) vs `aws s3 cp --recursive` of the same
//     files to the same server (the AWS CLI's parallel, multipart transfers).
// s3rver is a Node.js server writing to this machine's disk: the figures say what streamarc
// adds over the store, not what AWS S3 or MinIO would give.
//
// Usage: tiers_bench [--streamarcd build/server/streamarcd] [--media-seconds 60]
//                    [--upload-mb 512]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_media.h"
#include "bench/bench_process.h"
#include "bench/figures.h"
#include "bench/hls_client.h"
#include "objectstore/s3.h"

namespace streamarc::bench {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

const std::string kSupport = std::string(STREAMARC_SOURCE_DIR) + "/tests/support";
const std::string kAwsEnv =
    "AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1 "
    "AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null ";

// The throwaway S3 server, stopped (and its data deleted) when this goes.
struct S3Server {
  std::string state;
  std::string endpoint;
  bool Start(const std::string& dir) {
    state = dir;
    if (RunShell("bash " + kSupport + "/s3_server.sh start " + state) != 0) return false;
    std::ifstream in(state + "/endpoint");
    std::getline(in, endpoint);
    return !endpoint.empty();
  }
  ~S3Server() {
    if (!state.empty()) RunShell("bash " + kSupport + "/s3_server.sh stop " + state);
  }
};

size_t CountSegmentFiles(const std::string& root) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    n += it->path().extension() == ".seg";
  }
  return n;
}

// Section 2: MB/s of the store's way and of `aws s3 cp`, over the same files.
bool UploadThroughput(const std::string& root, const S3Server& s3, int upload_mb) {
  objectstore::S3Config config;
  config.endpoint = s3.endpoint;
  config.bucket = "upload";
  config.access_key_id = config.secret_access_key = "S3RVER";
  auto client = objectstore::S3Client::Create(config);
  if (!client.ok() || !(*client)->EnsureBucket().ok()) {
    std::fprintf(stderr, "no bucket on %s\n", s3.endpoint.c_str());
    return false;
  }
  // Segment-sized files of incompressible bytes (a 1-hour segment of a 1 Mbit/s camera is
  // ~450 MB; 64 MB keeps the run short and still is many round trips' worth).
  constexpr size_t kFileBytes = 64u << 20;
  const int files = std::max(1, upload_mb / 64);
  const std::string dir = root + "/upload";
  std::filesystem::create_directories(dir);
  std::mt19937_64 rng(7);
  std::vector<uint64_t> words(kFileBytes / 8);
  for (int i = 0; i < files; ++i) {
    for (uint64_t& w : words) w = rng();
    std::ofstream(dir + "/" + std::to_string(i) + ".seg", std::ios::binary)
        .write(reinterpret_cast<const char*>(words.data()),
               static_cast<std::streamsize>(kFileBytes));
  }
  const double total_mb = static_cast<double>(files) * kFileBytes / 1e6;

  double t0 = Now();
  for (int i = 0; i < files; ++i) {
    const std::string key = "ours/" + std::to_string(i) + ".seg";
    auto etag = (*client)->PutFile(key, dir + "/" + std::to_string(i) + ".seg");
    auto head = (*client)->Head(key);
    if (!etag.ok() || !head.ok() || head->size != kFileBytes) {
      std::fprintf(stderr, "upload %s failed: %s\n", key.c_str(),
                   etag.ok() ? head.status().ToString().c_str() : etag.status().ToString().c_str());
      return false;
    }
  }
  const double ours_s = Now() - t0;

  t0 = Now();
  const int rc = RunShell(kAwsEnv + "aws --endpoint-url " + s3.endpoint +
                          " s3 cp --recursive --only-show-errors " + dir + " s3://upload/aws/");
  const double aws_s = Now() - t0;
  auto listed = (*client)->List("aws/");
  uint64_t aws_bytes = 0;
  if (listed.ok()) {
    for (const auto& o : *listed) aws_bytes += o.size;
  }
  if (rc != 0 || aws_bytes != static_cast<uint64_t>(files) * kFileBytes) {
    std::fprintf(stderr, "aws s3 cp failed (exit %d, %llu bytes in the bucket)\n", rc,
                 static_cast<unsigned long long>(aws_bytes));
    return false;
  }
  std::printf(
      "  upload of %d x 64 MB: streamarc (PutFile + HEAD, one at a time) %.1f MB/s; "
      "aws s3 cp --recursive %.1f MB/s -> ratio %.2f\n",
      files, total_mb / ours_s, total_mb / aws_s, aws_s / ours_s);
  PrintFigure("tiers_bench", "upload to the bucket (one segment at a time)", total_mb / ours_s,
              total_mb / aws_s, "MB/s", "aws s3 cp --recursive of the same files, same run");
  std::filesystem::remove_all(dir);
  return true;
}

int Main(int argc, char** argv) {
  std::string bin = "build/server/streamarcd", source = "bench-data/h264_200mb.mkv";
  int media_seconds = 60, upload_mb = 512;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--streamarcd") bin = v;
    if (k == "--media-seconds") media_seconds = std::atoi(v.c_str());
    if (k == "--upload-mb") upload_mb = std::atoi(v.c_str());
  }
  if (!EnsureH264Input(source)) return 1;
  const std::string root = std::filesystem::absolute("bench-data/tiers").string();
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  const std::string clip = root + "/clip.mkv";
  if (RunShell("ffmpeg -nostdin -loglevel error -y -i " + source + " -t " +
               std::to_string(media_seconds) + " -c copy -f matroska " + clip) != 0) {
    return 1;
  }
  S3Server s3;
  if (!s3.Start(root + "/s3")) {
    std::fprintf(stderr, "s3rver did not start (scripts/install-deps.sh installs tests/s3)\n");
    return 1;
  }

  // 1. Playback. 2-second windows: each segment moves as soon as its window has passed.
  const std::string store = R"({"endpoint":")" + s3.endpoint +
                            R"(","bucket":"video","access-key-id":"S3RVER",)"
                            R"("secret-access-key":"S3RVER","path-style":true})";
  {
    objectstore::S3Config config;
    config.endpoint = s3.endpoint;
    config.bucket = "video";
    config.access_key_id = config.secret_access_key = "S3RVER";
    auto client = objectstore::S3Client::Create(config);
    if (!client.ok() || !(*client)->EnsureBucket().ok()) return 1;
  }
  BenchServer server;
  if (!server.Start(bin, root + "/data",
                    {"--worker-threads", "2", "--object-store", store, "--warm-after-seconds", "0",
                     "--segment-window-seconds", "2"})) {
    std::fprintf(stderr, "streamarcd did not start (see %s/data.log)\n", root.c_str());
    return 1;
  }
  const std::string url = server.url();
  auto push = [&](const std::string& stream, const std::string& tier) {
    Post(server.port, "createStream",
         R"({"StreamName":")" + stream + R"(","DataRetentionInHours":24,)" +
             R"("StreamStorageConfiguration":{"DefaultStorageTier":")" + tier + R"("}})");
    // At most 3 MB/s: 6x real time keeps under KVS's 5 fragments/s limit per stream.
    return Capture("curl -sS --limit-rate 3M -X POST -H 'x-amzn-stream-name: " + stream +
                   "' -H 'x-amzn-fragment-timecode-type: RELATIVE' -H "
                   "'x-amzn-producer-start-timestamp: 1000.000' -H "
                   "'Transfer-Encoding: chunked' --data-binary @" +
                   clip + " " + url + "/putMedia");
  };
  // WARM first, alone: done when no segment file is left on local disk.
  push("warm", "WARM");
  bool moved = false;
  for (int i = 0; i < 1200 && !moved; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    moved = CountSegmentFiles(root + "/data/segments") == 0;
  }
  if (!moved) {
    std::fprintf(stderr, "the WARM stream's segments did not all move within 120 s\n");
    server.Stop();
    return 1;
  }
  push("hot", "HOT");

  auto session = [&](const std::string& stream) {
    std::string reply =
        Post(server.port, "getHLSStreamingSessionURL",
             R"({"StreamName":")" + stream +
                 R"(","PlaybackMode":"ON_DEMAND","ContainerFormat":"FRAGMENTED_MP4",)"
                 R"("HLSFragmentSelector":{"FragmentSelectorType":"PRODUCER_TIMESTAMP",)"
                 R"("TimestampRange":{"StartTimestamp":900,"EndTimestamp":)" +
                 std::to_string(1000 + media_seconds + 10) + "}}}");
    return ReadSession(server.port, JsonString(reply, "HLSStreamingSessionURL"));
  };
  Playlist warm = session("warm"), hot = session("hot");
  if (warm.segments.empty() || warm.segments.size() != hot.segments.size()) {
    std::fprintf(stderr, "sessions listed %zu (warm) and %zu (hot) segments\n",
                 warm.segments.size(), hot.segments.size());
    server.Stop();
    return 1;
  }
  Client client(server.port);
  std::vector<double> from_bucket, from_disk;
  size_t errors = 0, bytes = 0;
  std::string a, b;
  for (size_t i = 0; i < warm.segments.size(); ++i) {
    double t0 = Now();
    errors += client.Get(warm.segments[i], &a) != 200;
    from_bucket.push_back((Now() - t0) * 1000);
    t0 = Now();
    errors += client.Get(hot.segments[i], &b) != 200;
    from_disk.push_back((Now() - t0) * 1000);
    errors += a != b;  // the same media: the same bytes out
    bytes += a.size();
  }
  server.Stop();
  std::printf(
      "tiers_bench: %zu HLS fMP4 segments (%d s of 1080p30 H.264 4 Mbit/s, 2 s fragments), "
      "%.1f MB, %zu errors or differences\n",
      warm.segments.size(), media_seconds, static_cast<double>(bytes) / 1e6, errors);
  std::printf(
      "  first request of a segment: bucket p50 %.2f ms p99 %.2f ms; local disk p50 "
      "%.2f ms p99 %.2f ms\n",
      Percentile(from_bucket, 0.5), Percentile(from_bucket, 0.99), Percentile(from_disk, 0.5),
      Percentile(from_disk, 0.99));
  PrintFigure("tiers_bench", "HLS segment request p50, from the bucket",
              Percentile(from_bucket, 0.5), Percentile(from_disk, 0.5), "ms",
              "the same segments on local disk, same run");
  PrintFigure("tiers_bench", "HLS segment request p99, from the bucket",
              Percentile(from_bucket, 0.99), Percentile(from_disk, 0.99), "ms",
              "the same segments on local disk, same run");
  if (errors != 0) return 1;

  // 2. Upload.
  if (!UploadThroughput(root, s3, upload_mb)) return 1;
  std::filesystem::remove_all(root + "/data");
  return 0;
}

}  // namespace
}  // namespace streamarc::bench

int main(int argc, char** argv) { return streamarc::bench::Main(argc, argv); }
