// Helpers for the "gst" tests: the environment that finds our GStreamer plugin, a child
// process the test can signal, and what streamarc-put printed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/archive_reader.h"

namespace streamarc::gsttest {

// `env VAR=... ` arguments that make gst-launch-1.0 (or any GStreamer program) find
// streamarcsink, with a registry of this build's own, and test credentials in the AWS_*
// variables; in the sanitizer build the ASan runtime is preloaded (gst-launch-1.0 itself is
// not sanitized). Used for streamarc-put too.
std::vector<std::string> GstEnv();

std::string PutPath();
std::string RtspCameraPath();

// A child process with stdout+stderr going to a file. Killed (SIGKILL) if still running
// when destroyed.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  bool started() const { return pid_ > 0; }
  void Signal(int sig);
  // Waits up to `timeout_ms`; the exit code (128+signal if killed), or -1 on timeout.
  int Wait(int timeout_ms);
  // Waits until `text` appears in the output; false on timeout or if the child exited.
  bool WaitForOutput(const std::string& text, int timeout_ms);
  std::string Output() const;

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string out_path_;
};

using streamarc::testing::ReadArchiveFrames;
using streamarc::testing::StoredArchive;
using streamarc::testing::StoredFrame;

// The number in "done: N frames" from streamarc-put's last line; -1 if absent.
long DoneFrames(const std::string& output);

}  // namespace streamarc::gsttest
