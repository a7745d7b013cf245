// Running real tools (ffmpeg, ffprobe, gst-launch-1.0, mkvinfo) from tests.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace streamarc::testing {

struct CommandOutput {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

// Quotes `arg` for /bin/sh.
std::string ShellQuote(const std::string& arg);

// Runs argv through /bin/sh with stderr merged into stdout; fails only when the command
// could not be started.
Result<CommandOutput> RunCommand(const std::vector<std::string>& argv);

// A fresh directory under $TMPDIR, removed with its contents when destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFileOrDie(const std::string& path);
void WriteFileOrDie(const std::string& path, const std::string& data);

}  // namespace streamarc::testing
