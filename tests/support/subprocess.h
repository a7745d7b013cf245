// Running real tools (ffmpeg, ffprobe, gst-launch-1.0, mkvinfo) from tests.
#pragma once

#include <sys/types.h>

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

// A child process (found on PATH) with stdout and stderr going to a file of its own and
// stdin from /dev/null. SIGKILLed and reaped if still running when destroyed.
class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0 || exit_code_ >= 0; }
  pid_t pid() const { return pid_; }  // -1 once it has been reaped
  void Signal(int sig);
  // Waits up to `timeout_ms` (-1: for as long as it takes); the exit code (128+signal if
  // killed), or -1 on timeout or if it never started.
  int Wait(int timeout_ms);
  // Waits until `text` appears in the output; false on timeout or if the child exited first.
  bool WaitForOutput(const std::string& text, int timeout_ms);
  std::string Output() const;

 private:
  void Reaped(int status);
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string out_path_;
};

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
