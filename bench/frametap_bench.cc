// Frame tap throughput: decoded 1080p30 H.264 to BGR cv::Mat, frames/s, next to
// `ffmpeg -threads 2 -i same.mkv -f null -` measured in the same run.
//   1. straight from the file through the frame tap's decoder and converter (no HTTP);
//   2. through a real streamarcd: uploaded with PutMedia, read back EARLIEST by a Consumer
//      (GetMedia over loopback HTTP), every frame and key frames only;
//   3. the same through the Python binding (numpy arrays), with Debian's python3.
// Usage: frametap_bench [--seconds 60]   (run from the checkout: inputs go to bench-data/)
// The streamarcd, the Python module and the interpreter are the ones this build made/found.
// No assertions: it prints figures (see bench/README.md).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/bench_media.h"
#include "bench/figures.h"
#include "common/mkv.h"
#include "frametap/decoder.h"
#include "frametap/frametap.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::bench {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct FileFrames : mkv::ReaderHandler {
  mkv::TrackInfo track;
  struct Item {
    bool key;
    std::vector<uint8_t> data;
  };
  std::vector<Item> frames;
  Status OnTracks(const std::vector<mkv::TrackInfo>& tracks) override {
    for (const auto& t : tracks) {
      if (t.type == mkv::TrackType::kVideo) track = t;
    }
    return Status::Ok();
  }
  Status OnFrame(const mkv::Frame& f) override {
    if (f.track == track.number) frames.push_back({f.key, {f.data.begin(), f.data.end()}});
    return Status::Ok();
  }
};

// Decodes (every frame or key frames only) and converts each picture to BGR; frames/s.
double DecodeFile(const FileFrames& v, bool key_only, size_t* pictures) {
  auto decoder =
      frametap::VideoDecoder::Open(v.track.codec_id, v.track.codec_private, {.threads = 2});
  if (!decoder.ok()) return 0;
  frametap::Converter converter;
  cv::Mat bgr;
  *pictures = 0;
  auto drain = [&] {
    for (;;) {
      auto p = (*decoder)->Receive();
      if (!p.ok() || *p == nullptr) return;
      if (converter.ToMat(**p, {}, &bgr).ok()) ++*pictures;
    }
  };
  const double t0 = Now();
  int64_t pts = 0;
  for (const auto& f : v.frames) {
    if (key_only && !f.key) continue;
    if (!(*decoder)->Send(f.data, pts++, f.key).ok()) continue;
    drain();
  }
  if ((*decoder)->Flush().ok()) drain();
  return static_cast<double>(*pictures) / (Now() - t0);
}

// Reads the stream back through a Consumer; frames/s from Open to the end.
double Consume(const std::string& url, int64_t end_us, bool key_only, size_t* frames) {
  frametap::ConsumerOptions o;
  o.endpoint = url;
  o.stream_name = "cam";
  o.start.type = frametap::StartType::kEarliest;
  o.end_producer_us = end_us;
  o.decode_threads = 2;
  if (key_only) o.sampling.mode = frametap::Sampling::Mode::kKeyFramesOnly;
  const double t0 = Now();
  auto c = frametap::Consumer::Open(o);
  if (!c.ok()) return 0;
  *frames = 0;
  Status s = (*c)->Run([&](const cv::Mat&, const frametap::FrameInfo&) {
    ++*frames;
    return true;
  });
  if (!s.ok()) std::fprintf(stderr, "consumer: %s\n", s.ToString().c_str());
  return static_cast<double>(*frames) / (Now() - t0);
}

int Main(int argc, char** argv) {
  int seconds = 60;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--seconds") seconds = std::atoi(argv[i + 1]);
  }
  const std::string source = "bench-data/h264_200mb.mkv";
  if (!EnsureH264Input(source)) return 1;
  const std::string root = "bench-data/frametap";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  const std::string clip = root + "/clip.mkv";
  if (RunShell("ffmpeg -nostdin -loglevel error -y -i " + source + " -t " +
               std::to_string(seconds) + " -c copy -f matroska " + clip) != 0) {
    return 1;
  }

  FileFrames v;
  {
    mkv::Reader reader(v);
    std::string bytes = testing::ReadFileOrDie(clip);
    if (!reader.Feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}).ok()) {
      return 1;
    }
  }
  size_t n_all = 0, n_key = 0;
  const double file_fps = DecodeFile(v, false, &n_all);
  const double file_key_fps = DecodeFile(v, true, &n_key);

  const double t0 = Now();
  RunShell("ffmpeg -nostdin -loglevel error -threads 2 -i " + clip + " -f null - ");
  const double ffmpeg_fps = static_cast<double>(n_all) / (Now() - t0);

  testing::ServerProcess server;
  if (!server.Start(root + "/data", {"--worker-threads", "2"}).ok()) {
    std::fprintf(stderr, "streamarcd did not start: %s\n", server.log().c_str());
    return 1;
  }
  testing::CurlCreateStream(server.url(), "cam");
  // At most 3 MB/s: several times real time, under KVS's 5 fragments/s per stream.
  testing::CurlPutMedia(server.url(), {"cam", clip, "1000.000", true, {"--limit-rate", "3M"}});
  // The last key frame ends the range (the consumer stops at a key frame past its end).
  const auto key_count =
      std::count_if(v.frames.begin(), v.frames.end(), [](auto& f) { return f.key; });
  const int64_t end_us = 1'000'000'000 + static_cast<int64_t>(key_count - 1) * 2'000'000;
  size_t got_all = 0, got_key = 0;
  const double http_fps = Consume(server.url(), end_us, false, &got_all);
  const double http_key_fps = Consume(server.url(), end_us, true, &got_key);

  const std::string script = root + "/frames.py";
  testing::WriteFileOrDie(script, R"(import sys, time, streamarc
t0 = time.monotonic(); n = 0
for image, info in streamarc.frames(sys.argv[1], "cam", start="EARLIEST", end=float(sys.argv[2])):
    n += 1
print(n, n / (time.monotonic() - t0))
)");
  auto py = testing::RunCommand({"env", std::string("PYTHONPATH=") + FRAMETAP_BENCH_PYTHONPATH,
                                 FRAMETAP_BENCH_PYTHON3, script, server.url(),
                                 std::to_string(end_us / 1'000'000)});
  long py_frames = 0;
  double py_fps = 0;
  if (py.ok()) std::sscanf(py->out.c_str(), "%ld %lf", &py_frames, &py_fps);
  server.Stop();

  std::printf("frametap_bench: %d s of 1080p30 H.264 (%zu frames, %zu key frames)\n", seconds,
              n_all, n_key);
  std::printf("  file -> decoder -> BGR cv::Mat:        %8.1f frames/s\n", file_fps);
  std::printf("  file, key frames only:                 %8.1f frames/s\n", file_key_fps);
  std::printf("  ffmpeg -threads 2 -f null (same run):  %8.1f frames/s\n", ffmpeg_fps);
  std::printf("  ratio (ours incl. BGR / ffmpeg):       %8.2f   (goal >= 0.90)\n",
              file_fps / ffmpeg_fps);
  std::printf("  streamarcd GetMedia -> Consumer:       %8.1f frames/s (%zu frames)\n", http_fps,
              got_all);
  std::printf("  streamarcd, key frames only:           %8.1f frames/s (%zu frames)\n",
              http_key_fps, got_key);
  std::printf("  Python streamarc.frames (numpy):       %8.1f frames/s (%ld frames)%s\n", py_fps,
              py_frames, py.ok() && py->exit_code == 0 ? "" : "  [python failed]");
  if (py.ok() && py->exit_code != 0) std::fprintf(stderr, "%s\n", py->out.c_str());
  const std::string ffmpeg = "ffmpeg -threads 2 -f null, same run (goal >= 0.90x)";
  PrintFigure("frametap_bench", "file to BGR cv::Mat", file_fps, ffmpeg_fps, "frames/s", ffmpeg);
  PrintFigure("frametap_bench", "GetMedia to Consumer (BGR)", http_fps, ffmpeg_fps, "frames/s",
              ffmpeg);
  PrintFigure("frametap_bench", "Python (numpy)", py_fps, ffmpeg_fps, "frames/s", ffmpeg);
  return 0;
}

}  // namespace
}  // namespace streamarc::bench

int main(int argc, char** argv) { return streamarc::bench::Main(argc, argv); }
