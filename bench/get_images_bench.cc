// GetImages latency through a real streamarcd (started here): 10 images one second apart
// from 1080p30 H.264 (a key frame every 2 s), as JPEG at the source size and at 640 wide,
// timed by curl over loopback. Prints figures; asserts nothing.
//
// Usage: get_images_bench [--streamarcd build/server/streamarcd] [--runs 5]
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_media.h"

extern char** environ;

namespace streamarc::bench {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string Capture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// Starts streamarcd on a free port; its log tells the port (polled: a bench, not a test).
pid_t StartServer(const std::string& bin, const std::string& data, int* port) {
  const std::string log = data + ".log";
  std::vector<std::string> args = {bin, "--port", "0", "--data-dir", data};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, log.c_str(), O_CREAT | O_TRUNC | O_WRONLY,
                                   0644);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  for (int i = 0; i < 400; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    std::string text = Slurp(log);
    size_t p = text.find("address=127.0.0.1:");
    if (p != std::string::npos) {
      *port = std::atoi(text.c_str() + p + 18);
      return pid;
    }
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

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
  int port = 0;
  pid_t pid = StartServer(bin, root + "/data", &port);
  if (pid < 0) {
    std::fprintf(stderr, "streamarcd did not start\n");
    return 1;
  }
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
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
  }
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  return 0;
}

}  // namespace
}  // namespace streamarc::bench

int main(int argc, char** argv) { return streamarc::bench::Main(argc, argv); }
