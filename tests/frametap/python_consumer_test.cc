// The Python binding against the real streamarcd over loopback, run by the interpreter CMake
// found (Debian's, with cv2). The sanitizer build has no module: these tests skip there.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>

#include "tests/frametap/consumer_fixture.h"

namespace streamarc::frametap {
namespace {

using namespace consumer_test;  // the fixture's names
using streamarc::testing::ChildProcess;

// The Python binding, run by the interpreter CMake found: the same frames and timestamps,
// and the images are arrays cv2 takes.
TEST_F(ConsumerTest, PythonBindingMatchesFfprobe) {
#ifndef STREAMARC_PYTHON3
  GTEST_SKIP() << "the Python module is not built (sanitizer build)";
#else
  const std::string file = Media(streamarc::testing::kH264AacMkv);
  Upload(file);
  Probe probe = ProbeVideo(file, kStartUs);
  const std::string script = dir_.File("detector.py");
  streamarc::testing::WriteFileOrDie(script, R"(
import sys
import cv2
import streamarc
endpoint, stream, end = sys.argv[1], sys.argv[2], float(sys.argv[3])
for image, info in streamarc.frames(endpoint, stream, start="EARLIEST", end=end):
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    assert image.shape == (240, 320, 3) and gray.shape == (240, 320), (image.shape, gray.shape)
    print("frame", info.producer_timestamp_us, int(round(info.producer_timestamp * 1e6)),
          info.fragment_number, int(info.key_frame), int(gray.mean() > 0))
try:
    next(iter(streamarc.frames(endpoint, "no-such-stream", start="EARLIEST")))
except streamarc.Error as e:
    print("error", e.code)
)");
  // The end in seconds as Python reads it: microseconds exactly.
  auto run = streamarc::testing::RunCommand(
      {"env", std::string("PYTHONPATH=") + STREAMARC_PYTHONPATH, STREAMARC_PYTHON3, script,
       server_.url(), kStream,
       std::to_string(probe.keys.back() / 1'000'000) + "." +
           std::to_string(1'000'000 + probe.keys.back() % 1'000'000).substr(1)});
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->exit_code, 0) << run->out;
  std::vector<int64_t> times;
  size_t p = 0;
  while ((p = run->out.find("frame ", p)) != std::string::npos) {
    long long us = 0, rounded = 0, key = 0, lit = 0;
    char fragment[64] = {};
    ASSERT_EQ(std::sscanf(run->out.c_str() + p, "frame %lld %lld %63s %lld %lld", &us, &rounded,
                          fragment, &key, &lit),
              5);
    EXPECT_EQ(us, rounded);
    EXPECT_EQ(key != 0, std::binary_search(probe.keys.begin(), probe.keys.end(), us));
    EXPECT_EQ(lit, 1);
    times.push_back(us);
    p += 6;
  }
  EXPECT_EQ(times, probe.Before(probe.keys.back()));
  EXPECT_NE(run->out.find("error NotFound"), std::string::npos) << run->out;
#endif
}

// Ctrl-C reaches a Python loop waiting for the next frame of a stream that sends none: the
// iterator raises KeyboardInterrupt instead of blocking the interpreter's signal handler.
TEST_F(ConsumerTest, PythonWaitingForAFrameTakesCtrlC) {
#ifndef STREAMARC_PYTHON3
  GTEST_SKIP() << "the Python module is not built (sanitizer build)";
#else
  const std::string script = dir_.File("wait.py");
  streamarc::testing::WriteFileOrDie(script, R"(
import sys
import streamarc
try:
    for image, info in streamarc.frames(sys.argv[1], sys.argv[2], start="NOW"):
        print("frame", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
)");
  ChildProcess python({"env", std::string("PYTHONPATH=") + STREAMARC_PYTHONPATH, STREAMARC_PYTHON3,
                       script, server_.url(), kStream});
  ASSERT_TRUE(ReaderIsLive()) << server_.log();  // Python is in the iterator, waiting
  python.Signal(SIGINT);
  EXPECT_EQ(python.Wait(30'000), 0) << python.Output();
  EXPECT_NE(python.Output().find("interrupted"), std::string::npos) << python.Output();
  EXPECT_EQ(python.Output().find("frame"), std::string::npos) << python.Output();
#endif
}

}  // namespace
}  // namespace streamarc::frametap
