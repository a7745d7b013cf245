// Helpers for the "gst" tests: the environment that finds our GStreamer plugin, a child
// process the test can signal, and what streamarc-put printed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/archive_reader.h"
#include "tests/support/subprocess.h"

namespace streamarc::gsttest {

// `env VAR=... ` arguments that make gst-launch-1.0 (or any GStreamer program) find
// streamarcsink, with a registry of this build's own, and test credentials in the AWS_*
// variables; in the sanitizer build the ASan runtime is preloaded (gst-launch-1.0 itself is
// not sanitized). Used for streamarc-put too.
std::vector<std::string> GstEnv();

std::string PutPath();
std::string RtspCameraPath();

// A child process the test can signal: tests/support/subprocess.h.
using Child = streamarc::testing::ChildProcess;

using streamarc::testing::ReadArchiveFrames;
using streamarc::testing::StoredArchive;
using streamarc::testing::StoredFrame;

// The number in "done: N frames" from streamarc-put's last line; -1 if absent.
long DoneFrames(const std::string& output);

}  // namespace streamarc::gsttest
