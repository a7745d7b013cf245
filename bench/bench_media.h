// Inputs shared by the benchmarks: real H.264 (and AAC) made once with ffmpeg, cached in
// bench-data/.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace streamarc::bench {

inline int RunShell(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 1;
}

// An MKV of 400 s of 1080p30 H.264 at `mbit` Mbit/s with a key frame every 2 s, video only (a
// 40 s clip encoded once, looped with -c copy). Made when missing; returns false on failure.
inline bool EnsureH264Video(const std::string& path, int mbit) {
  if (std::filesystem::exists(path)) return true;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::string clip = path + ".clip.mkv";
  const std::string rate = std::to_string(mbit) + "M", buf = std::to_string(2 * mbit) + "M";
  std::fprintf(stderr, "making %s with ffmpeg (once)...\n", path.c_str());
  if (RunShell("ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=1920x1080:rate=30 "
               "-t 40 -c:v libx264 -preset veryfast -b:v " +
               rate + " -maxrate " + rate + " -bufsize " + buf +
               " -g 60 "
               "-pix_fmt yuv420p '" +
               clip + "'") != 0) {
    return false;
  }
  int rc = RunShell("ffmpeg -nostdin -loglevel error -y -stream_loop 9 -i '" + clip +
                    "' -c copy -f matroska '" + path + "'");
  std::filesystem::remove(clip);
  return rc == 0;
}

// The ~200 MB video-only input most benchmarks read: EnsureH264Video at 4 Mbit/s.
inline bool EnsureH264Input(const std::string& path) { return EnsureH264Video(path, 4); }

// The camera load's input (putmedia_load, peers_bench) at `mbit` Mbit/s of video (4 or 2).
inline std::string CameraInputPath(int mbit) {
  return "bench-data/camera_" + std::to_string(mbit) + "mbit_aac.mkv";
}

// What a camera sends: EnsureH264Video's 1080p30 H.264 at `mbit` Mbit/s (2 s GOPs) plus an
// AAC-LC track, 48 kHz mono at 64 kbit/s of pink noise (a microphone's hiss keeps the encoder at
// its rate, as a real one does; a sine would shrink to a few kbit/s). At 4 Mbit/s the video is
// bench-data/h264_200mb.mkv's, copied, so the audio-on and audio-off loads carry the same
// frames as the other benchmarks. Made when missing; returns false on failure.
inline bool EnsureCameraInput(const std::string& path, int mbit) {
  if (std::filesystem::exists(path)) return true;
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::filesystem::create_directories(dir);
  const bool shared = mbit == 4;
  const std::string video = shared ? (dir / "h264_200mb.mkv").string() : path + ".video.mkv";
  if (!EnsureH264Video(video, mbit)) return false;
  std::fprintf(stderr, "making %s with ffmpeg (once)...\n", path.c_str());
  const std::string tmp = path + ".part.mkv";
  const int rc = RunShell(
      "ffmpeg -nostdin -loglevel error -y -i '" + video +
      "' -f lavfi -i anoisesrc=color=pink:sample_rate=48000:amplitude=0.1 -map 0:v -map 1:a "
      "-c:v copy -c:a aac -b:a 64k -ac 1 -shortest -f matroska '" +
      tmp + "'");
  if (!shared) std::filesystem::remove(video);
  if (rc != 0) return false;
  std::filesystem::rename(tmp, path);
  return true;
}

}  // namespace streamarc::bench
