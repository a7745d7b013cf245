// GetImages latency through a real streamarcd (started here): 10 images one second apart
// from 1080p30 H.264 (a key frame every 2 s), as JPEG at the source size and at 640 wide,
// timed by curl over loopback. Prints figures; asserts nothing.
//
// Usage: get_images_bench [--streamarcd build/server/streamarcd] [--runs 5]

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/bench_media.h"
#include "bench/bench_process.h"
#include "bench/figures.h"

namespace streamarc::bench {
namespace {

int Main(int argc, char** argv) {
  std::string bin = "build/server/streamarcd", source = "bench-data/h264_200mb.mkv";
  int runs = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--streamarcd") bin = v;
    if (k == "--runs") runs = std::max(1, std::atoi(v.c_str()));
  }
  if (!EnsureH264Input(source)) return 1;
  const std::string root = "bench-data/get_images";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  const std::string clip = root + "/clip.mkv";
  if (RunShell("ffmpeg -nostdin -loglevel error -y -i " + source + " -t 20 -c copy -f matroska " +
               clip) != 0) {
    return 1;
  }
  BenchServer server;
  if (!server.Start(bin, root + "/data")) {
    std::fprintf(stderr, "streamarcd did not start\n");
    return 1;
  }
  const std::string url = server.url();
  Capture("curl -sS -X POST --data '{\"StreamName\":\"cam\",\"DataRetentionInHours\":24}' " + url +
          "/createStream");
  Capture(
      "curl -sS --limit-rate 3M -X POST -H 'x-amzn-stream-name: cam' "
      "-H 'x-amzn-fragment-timecode-type: RELATIVE' "
      "-H 'x-amzn-producer-start-timestamp: 1000.000' -H 'Transfer-Encoding: chunked' "
      "--data-binary @" +
      clip + " " + url + "/putMedia");

  std::printf(
      "GetImages, 10 JPEG images 1 s apart from 1080p30 H.264 (key frame every 2 s), "
      "%d runs each:\n",
      runs);
  for (const std::string& size : {std::string(""), std::string(",\"WidthPixels\":640")}) {
    std::vector<double> ms;
    size_t bytes = 0;
    for (int r = 0; r < runs; ++r) {
      // Different instants each run (0.1 s later), so nothing is served from a cache.
      char body[512];
      std::snprintf(body, sizeof body,
                    R"({"StreamName":"cam","ImageSelectorType":"PRODUCER_TIMESTAMP",)"
                    R"("StartTimestamp":%.3f,"EndTimestamp":%.3f,"SamplingInterval":1000,)"
                    R"("Format":"JPEG"%s})",
                    1005.0 + 0.1 * r, 1014.0 + 0.1 * r, size.c_str());
      std::string out = Capture("curl -sS -o " + root + "/reply.json -w '%{time_total}' -X POST " +
                                "--data '" + body + "' " + url + "/getImages");
      ms.push_back(std::atof(out.c_str()) * 1000);
      bytes = std::filesystem::file_size(root + "/reply.json");
    }
    std::sort(ms.begin(), ms.end());
    std::printf("  %-12s min %7.1f ms  median %7.1f ms  max %7.1f ms  (answer %zu bytes)\n",
                size.empty() ? "source size" : "640 wide", ms.front(), ms[ms.size() / 2], ms.back(),
                bytes);
    PrintFigure(
        "get_images_bench",
        std::string("10 JPEG images, ") + (size.empty() ? "source size" : "640 wide") + ", median",
        ms[ms.size() / 2], "ms", "");
  }
  server.Stop();
  return 0;
}

}  // namespace
}  // namespace streamarc::bench

int main(int argc, char** argv) { return streamarc::bench::Main(argc, argv); }
