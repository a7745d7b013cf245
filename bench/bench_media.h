// Inputs shared by the benchmarks: real H.264 made once with ffmpeg, cached in bench-data/.
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

// A ~200 MB MKV: 400 s of 1080p30 H.264 at 4 Mbit/s with a key frame every 2 s (a 40 s
// clip encoded once, looped with -c copy). Made when missing; returns false on failure.
inline bool EnsureH264Input(const std::string& path) {
  if (std::filesystem::exists(path)) return true;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::string clip = path + ".clip.mkv";
  std::fprintf(stderr, "making %s with ffmpeg (once)...\n", path.c_str());
  if (RunShell("ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=1920x1080:rate=30 "
               "-t 40 -c:v libx264 -preset veryfast -b:v 4M -maxrate 4M -bufsize 8M -g 60 "
               "-pix_fmt yuv420p '" +
               clip + "'") != 0) {
    return false;
  }
  int rc = RunShell("ffmpeg -nostdin -loglevel error -y -stream_loop 9 -i '" + clip +
                    "' -c copy -f matroska '" + path + "'");
  std::filesystem::remove(clip);
  return rc == 0;
}

}  // namespace streamarc::bench
