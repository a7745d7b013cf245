// HLS segment serving through a real streamarcd (started here):
//  1. latency of segment requests, p50/p99, cold (the first request of a segment: archive
//     read + libavformat remux) and cached (the shared segment cache);
//  2. the server's CPU time per remuxed segment, as a ratio of `ffmpeg -c copy -f hls
//     -hls_segment_type fmp4` segmenting the same input in the same run;
//  3. requests per second for 200 concurrent viewers of one live stream (wrk from Debian,
//     with a Lua script that reads the media playlist and fetches its newest segments) while
//     ffmpeg pushes that stream in real time.
// Input: the first --media-seconds of bench-data/h264_200mb.mkv (1080p30 H.264, 4 Mbit/s,
// a key frame every 2 s: 2-second fragments). Goal: p99 under 5 ms cold.
//
// Usage: hls_serve_bench [--streamarcd build/server/streamarcd] [--media-seconds 60]
//                        [--viewers 200] [--wrk-seconds 10]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_media.h"
#include "bench/bench_process.h"
#include "bench/figures.h"
#include "bench/hls_client.h"

namespace streamarc::bench {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A child's CPU time (user + system) for one shell command.
double ChildCpuSeconds(const std::string& cmd) {
  rusage before{}, after{};
  getrusage(RUSAGE_CHILDREN, &before);
  RunShell(cmd);
  getrusage(RUSAGE_CHILDREN, &after);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(after.ru_utime) - sec(before.ru_utime) + sec(after.ru_stime) - sec(before.ru_stime);
}

int Main(int argc, char** argv) {
  std::string bin = "build/server/streamarcd", source = "bench-data/h264_200mb.mkv";
  int media_seconds = 60, viewers = 200, wrk_seconds = 10;
  bool keep = false;  // --keep 1: leave bench-data/hls_serve for a look afterwards
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--streamarcd") bin = v;
    if (k == "--media-seconds") media_seconds = std::atoi(v.c_str());
    if (k == "--viewers") viewers = std::atoi(v.c_str());
    if (k == "--wrk-seconds") wrk_seconds = std::atoi(v.c_str());
    if (k == "--keep") keep = v == "1";
  }
  if (!EnsureH264Input(source)) return 1;
  const std::string root = "bench-data/hls_serve";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root + "/ffmpeg");
  const std::string clip = root + "/clip.mkv";
  if (RunShell("ffmpeg -nostdin -loglevel error -y -i " + source + " -t " +
               std::to_string(media_seconds) + " -c copy -f matroska " + clip) != 0) {
    return 1;
  }

  BenchServer server;
  if (!server.Start(bin, root + "/data", {"--worker-threads", "2"})) {
    std::fprintf(stderr, "streamarcd did not start\n");
    return 1;
  }
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port);
  Post(server.port, "createStream", R"({"StreamName":"cam","DataRetentionInHours":24})");
  // At most 3 MB/s: 6x real time keeps under KVS's 5 fragments/s limit per stream.
  std::string acks = Capture(
      "curl -sS --limit-rate 3M -X POST -H 'x-amzn-stream-name: cam' -H "
      "'x-amzn-fragment-timecode-type: RELATIVE' -H "
      "'x-amzn-producer-start-timestamp: 1000.000' -H "
      "'Transfer-Encoding: chunked' --data-binary @" +
      clip + " " + url + "/putMedia");

  // Three sessions whose segments are distinct cache entries: fMP4 on producer time, fMP4 on
  // server time, MPEG-TS. Every segment is remuxed on its first request.
  auto session = [&](const std::string& container, const std::string& selector, double start,
                     double end) {
    char body[512];
    std::snprintf(body, sizeof body,
                  R"({"StreamName":"cam","PlaybackMode":"ON_DEMAND","ContainerFormat":"%s",)"
                  R"("HLSFragmentSelector":{"FragmentSelectorType":"%s","TimestampRange":)"
                  R"({"StartTimestamp":%.3f,"EndTimestamp":%.3f}}})",
                  container.c_str(), selector.c_str(), start, end);
    std::string reply = Post(server.port, "getHLSStreamingSessionURL", body);
    std::string session_url = JsonString(reply, "HLSStreamingSessionURL");
    if (session_url.empty()) std::fprintf(stderr, "no session: %s\n", reply.c_str());
    return ReadSession(server.port, session_url);
  };
  const double now_s = static_cast<double>(std::time(nullptr));
  std::vector<Playlist> sessions = {
      session("FRAGMENTED_MP4", "PRODUCER_TIMESTAMP", 900, 1000 + media_seconds + 10),
      session("FRAGMENTED_MP4", "SERVER_TIMESTAMP", now_s - 3600, now_s + 60),
      session("MPEG_TS", "PRODUCER_TIMESTAMP", 900, 1000 + media_seconds + 10)};
  std::vector<std::string> segments;
  for (const Playlist& p : sessions) {
    if (p.segments.empty()) std::fprintf(stderr, "a session listed no segments\n");
    segments.insert(segments.end(), p.segments.begin(), p.segments.end());
  }
  if (segments.empty()) {
    std::fprintf(stderr, "no segments listed (PutMedia said: %.300s)\n", acks.c_str());
    server.Stop();
    return 1;
  }

  Client client(server.port);
  std::vector<double> cold, cached;
  size_t bytes = 0, errors = 0;
  std::string body;
  const double cpu0 = CpuSeconds(server.pid);
  for (const std::string& s : segments) {
    double t0 = Now();
    int status = client.Get(s, &body);
    cold.push_back((Now() - t0) * 1000);
    errors += status != 200;
    bytes += body.size();
  }
  const double cold_cpu = CpuSeconds(server.pid) - cpu0;
  const double cpu1 = CpuSeconds(server.pid);
  for (int round = 0; round < 20; ++round) {
    for (const std::string& s : segments) {
      double t0 = Now();
      errors += client.Get(s, &body) != 200;
      cached.push_back((Now() - t0) * 1000);
    }
  }
  const double cached_cpu = CpuSeconds(server.pid) - cpu1;

  // ffmpeg segmenting the same input into 2-second fMP4 HLS segments.
  const double ffmpeg_cpu = ChildCpuSeconds("ffmpeg -nostdin -loglevel error -y -i " + clip +
                                            " -c copy -f hls -hls_time 2 "
                                            "-hls_playlist_type vod -hls_segment_type fmp4 " +
                                            root + "/ffmpeg/out.m3u8");
  size_t ffmpeg_segments = 0;
  for (const auto& e : std::filesystem::directory_iterator(root + "/ffmpeg")) {
    ffmpeg_segments += e.path().extension() == ".m4s";
  }
  const double ffmpeg_read_cpu =
      ChildCpuSeconds("ffmpeg -nostdin -loglevel error -i " + clip + " -c copy -f null -");

  std::printf(
      "hls_serve_bench: %zu segments (%d s of 1080p30 H.264 4 Mbit/s, 2 s fragments; "
      "fMP4 x2 timelines + MPEG-TS), %.1f MB, %zu errors\n",
      segments.size(), media_seconds, static_cast<double>(bytes) / 1e6, errors);
  std::printf(
      "  cold   (first request: read + remux): p50 %.2f ms  p99 %.2f ms  max %.2f ms  "
      "(goal p99 < 5 ms: %s)\n",
      Percentile(cold, 0.5), Percentile(cold, 0.99), Percentile(cold, 1.0),
      Percentile(cold, 0.99) < 5 ? "met" : "NOT met");
  std::printf("  cached (%zu requests):                 p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
              cached.size(), Percentile(cached, 0.5), Percentile(cached, 0.99),
              Percentile(cached, 1.0));
  const double ours = cold_cpu / static_cast<double>(segments.size());
  const double theirs = ffmpeg_segments ? ffmpeg_cpu / static_cast<double>(ffmpeg_segments) : 0;
  std::printf(
      "  CPU per segment: streamarcd %.2f ms (cold, HTTP included), %.3f ms cached; "
      "ffmpeg -f hls fmp4 %.2f ms (%zu segments; %.2f ms of it just reading) -> "
      "ratio %.2fx ffmpeg\n",
      ours * 1000, cached_cpu / static_cast<double>(cached.size()) * 1000, theirs * 1000,
      ffmpeg_segments,
      ffmpeg_segments ? ffmpeg_read_cpu / static_cast<double>(ffmpeg_segments) * 1000 : 0,
      theirs > 0 ? ours / theirs : 0);
  PrintFigure("hls_serve_bench", "server CPU per segment, cold (HTTP included)", ours * 1000,
              theirs * 1000, "ms", "ffmpeg -f hls fmp4 per segment, same run");
  PrintFigure("hls_serve_bench", "segment request p99, cold", Percentile(cold, 0.99), "ms",
              "goal < 5 ms");
  PrintFigure("hls_serve_bench", "segment request p99, cached", Percentile(cached, 0.99), "ms", "");

  // 200 viewers of one live stream while ffmpeg pushes it in real time.
  Post(server.port, "createStream", R"({"StreamName":"live","DataRetentionInHours":24})");
  pid_t pusher = -1;
  {
    std::string cmd = "ffmpeg -nostdin -loglevel error -re -i " + clip +
                      " -c copy -f matroska -method POST -headers "
                      "'x-amzn-stream-name: live\r\nx-amzn-fragment-acknowledgment-required: "
                      "0\r\n' " +
                      url + "/putMedia";
    std::vector<std::string> args = {"/bin/sh", "-c", cmd};
    std::vector<char*> av;
    for (auto& a : args) av.push_back(a.data());
    av.push_back(nullptr);
    posix_spawn(&pusher, "/bin/sh", nullptr, nullptr, av.data(), environ);
  }
  std::string live_url;
  for (int i = 0; i < 100 && live_url.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    live_url = JsonString(
        Post(server.port, "getHLSStreamingSessionURL", R"({"StreamName":"live","Expires":3600})"),
        "HLSStreamingSessionURL");
  }
  Playlist live = ReadSession(server.port, live_url);
  const std::string lua = root + "/viewer.lua";
  {
    std::ofstream f(lua);
    // Each request either refreshes the media playlist or fetches the newest segments it
    // listed (the init segment and the last three), as a player at the live edge does.
    f << "local playlist = \"" << live.media_path << "\"\n"
      << "local dir = playlist:match(\"^(.*/)\")\n"
      << "local queue = {}\n"
      << "request = function()\n"
      << "  local p = table.remove(queue, 1)\n"
      << "  return wrk.format(\"GET\", p or playlist)\n"
      << "end\n"
      << "response = function(status, headers, body)\n"
      << "  if #queue == 0 and body and body:sub(1, 7) == \"#EXTM3U\" then\n"
      << "    local segs = {}\n"
      << "    for line in body:gmatch(\"[^\\n]+\") do\n"
      << "      local map = line:match('^#EXT%-X%-MAP:URI=\"(.*)\"')\n"
      << "      if map then table.insert(queue, dir .. map) end\n"
      << "      if line:sub(1, 1) ~= \"#\" then table.insert(segs, dir .. line) end\n"
      << "    end\n"
      << "    for i = math.max(1, #segs - 2), #segs do table.insert(queue, segs[i]) end\n"
      << "  end\n"
      << "end\n";
  }
  const double live_cpu0 = CpuSeconds(server.pid);
  std::string wrk =
      Capture("wrk -t2 -c" + std::to_string(viewers) + " -d" + std::to_string(wrk_seconds) +
              "s --latency -s " + lua + " " + url + live.media_path + " 2>&1");
  const double live_cpu = CpuSeconds(server.pid) - live_cpu0;
  kill(pusher, SIGTERM);
  waitpid(pusher, nullptr, 0);
  auto grab = [&](const std::string& key) {
    size_t p = wrk.find(key);
    return p == std::string::npos ? std::string("?")
                                  : wrk.substr(p + key.size(), wrk.find('\n', p) - p - key.size());
  };
  std::printf(
      "  %d viewers of a live stream (wrk, %d s, playlist + init + newest 3 segments):\n"
      "    requests/s%s, latency p50%s p99%s, non-2xx:%s; server CPU %.2f cores\n",
      viewers, wrk_seconds, grab("Requests/sec:").c_str(), grab("50%").c_str(), grab("99%").c_str(),
      wrk.find("Non-2xx") == std::string::npos ? " 0" : grab("Non-2xx or 3xx responses:").c_str(),
      live_cpu / wrk_seconds);
  PrintFigure("hls_serve_bench", std::to_string(viewers) + " live viewers: server CPU",
              live_cpu / wrk_seconds, "cores", "");
  if (wrk.find("Requests/sec") == std::string::npos) std::printf("%s\n", wrk.c_str());

  server.Stop();
  if (!keep) std::filesystem::remove_all(root);
  return 0;
}

}  // namespace
}  // namespace streamarc::bench

int main(int argc, char** argv) { return streamarc::bench::Main(argc, argv); }
