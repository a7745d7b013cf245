// The frame-tap samples end to end: real media made by ffmpeg with a moving object at known
// times, uploaded with PutMedia to the real streamarcd, read back by the real sample
// binaries (child processes) through the frame tap; their output checked against what the
// media holds, and what they stored with PutEvents read back with listEvents (curl).
#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::e2e {
namespace {

using nlohmann::json;
using streamarc::testing::ChildProcess;
using streamarc::testing::CountOf;
using streamarc::testing::CurlPost;
using streamarc::testing::CurlPutMedia;
using streamarc::testing::RunCommand;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;

constexpr char kStream[] = "yard";
constexpr int64_t kSecond = 1'000'000;
// Producer time of the clip's first frame in the archived tests (2023-11-14T22:13:20Z).
constexpr int64_t kT0 = 1'700'000'000 * kSecond;
// Where the motion clip's object moves (seconds into the clip, both ends included).
constexpr double kMotion[2][2] = {{3, 5}, {9, 11}};
constexpr double kClipSeconds = 15;
// How close a found interval must be to the known one: 4 frames at 25 fps.
constexpr double kToleranceS = 0.16;

std::string SamplePath(const std::string& name) {
  return std::string(STREAMARC_SAMPLES_DIR) + "/" + name;
}

// SMPTE bars (a still scene with texture) and, between the kMotion times only, a 64x64
// spring-green square (a colour the bars do not have) crossing it at 200 px/s. H.264 in
// Matroska, 25 fps, a key frame and a cluster (so a fragment) every second.
std::string MakeMotionClip(const std::string& path, double seconds) {
  std::string d = std::to_string(seconds);
  const std::string scene = "smptebars=size=640x360:rate=25:duration=" + d;
  const std::string object = "color=c=0x00FF80:size=64x64:rate=25:duration=" + d;
  const std::string overlay =
      "[0][1]overlay=x='40+200*mod(t,3)':y=150:enable='between(t,3,5)+between(t,9,11)'";
  std::vector<std::string> argv = {
      "ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f",   "lavfi",
      "-i",     scene,      "-f",        "lavfi", "-i", object, "-filter_complex",
      overlay};
  std::istringstream encode(
      "-c:v libx264 -preset veryfast -g 25 -keyint_min 25 -sc_threshold 0 -pix_fmt yuv420p "
      "-cluster_time_limit 1000 -f matroska");
  for (std::string word; encode >> word;) argv.push_back(word);
  argv.push_back(path);
  auto r = RunCommand(argv);
  EXPECT_TRUE(r.ok() && r->exit_code == 0) << (r.ok() ? r->out : r.status().ToString());
  return path;
}

// The JSON lines of a sample's output (its other lines are messages).
std::vector<json> JsonLines(const std::string& out) {
  std::vector<json> v;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] != '{') continue;
    json j = json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << line;
    if (!j.is_discarded()) v.push_back(std::move(j));
  }
  return v;
}

class SamplesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    media_ = new TempDir();
    MakeMotionClip(media_->File("motion.mkv"), kClipSeconds);
    MakeMotionClip(media_->File("still.mkv"), 2);  // the same scene before anything moves
    MakeMotionClip(media_->File("cut.mkv"), 10);   // ends in the second interval
  }
  static void TearDownTestSuite() {
    delete media_;
    media_ = nullptr;
  }
  static std::string Clip() { return media_->File("motion.mkv"); }

  void SetUp() override {
    ASSERT_TRUE(server_.Start(dir_.File("data")).ok()) << server_.log();
    streamarc::testing::CurlCreateStream(server_.url(), kStream);
  }
  void TearDown() override {
    if (server_.pid() > 0) {
      EXPECT_EQ(server_.Stop(), 0) << server_.log();
    }
  }

  // Uploads `file` with RELATIVE timecodes from `start_us`; the PERSISTED fragments. Spread
  // over about 4 s: the server takes 5 fragments/s per stream (a burst of 10), and the
  // motion clip has 15.
  size_t Upload(const std::string& file, int64_t start_us) {
    std::string start = EpochSecondsArg(start_us);
    std::string rate = std::to_string(std::filesystem::file_size(file) / 4 + 1);
    return CountOf(CurlPutMedia(server_.url(),
                                {kStream, file, start, true, {"-m", "60", "--limit-rate", rate}}),
                   "\"PERSISTED\"");
  }
  static std::string EpochSecondsArg(int64_t us) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(us / kSecond),
                  static_cast<long long>(us % kSecond / 1000));
    return buf;
  }

  // Runs a sample to its end (at most 2 minutes); its output, stdout and stderr together.
  std::string RunSample(const std::string& name, std::vector<std::string> args, int* exit_code) {
    args.insert(args.begin(), {SamplePath(name), "--endpoint", server_.url(), "--stream", kStream});
    ChildProcess p(args);
    EXPECT_TRUE(p.started());
    *exit_code = p.Wait(120'000);
    return p.Output();
  }

  // The intervals of streamarc-motion's output checked against kMotion at `t0_us`; their
  // offsets are printed (the figures the README's closing note reports).
  static void ExpectKnownIntervals(const std::vector<json>& found, int64_t t0_us) {
    ASSERT_EQ(found.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(found[i]["Label"], "motion");
      double start = found[i]["StartTimestamp"].get<double>() - t0_us / 1e6;
      double end = found[i]["EndTimestamp"].get<double>() - t0_us / 1e6;
      EXPECT_NEAR(start, kMotion[i][0], kToleranceS) << found[i].dump();
      EXPECT_NEAR(end, kMotion[i][1], kToleranceS) << found[i].dump();
      EXPECT_GT(found[i]["Score"].get<double>(), 0.002);
      EXPECT_LE(found[i]["Score"].get<double>(), 1.0);
      std::printf("motion interval %zu: start %+.3f s, end %+.3f s from the known times\n", i,
                  start - kMotion[i][0], end - kMotion[i][1]);
    }
  }

  static TempDir* media_;
  TempDir dir_;
  ServerProcess server_;
};

TempDir* SamplesTest::media_ = nullptr;

// Ranges end at a key frame (whole seconds here): the frame tap ends a range at the first key
// frame or fragment at or past --end, which for a range ending before the live edge must
// exist.

// Over the archived range: exactly the two known intervals, and with --post-events
// listEvents returns them as printed.
TEST_F(SamplesTest, ArchivedRangeGivesTheKnownIntervalsAndStoresThem) {
  ASSERT_GE(Upload(Clip(), kT0), 10u);
  int rc = -1;
  std::string out = RunSample(
      "streamarc-motion",
      {"--start", "EARLIEST", "--end", FormatIso8601(kT0 + 14 * kSecond), "--post-events"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  std::vector<json> found = JsonLines(out);
  ExpectKnownIntervals(found, kT0);

  auto listed = CurlPost(
      server_.url() + "/listEvents",
      json{{"StreamName", kStream},
           {"TimestampRange", {{"StartTimestamp", kT0 / 1e6}, {"EndTimestamp", kT0 / 1e6 + 60}}},
           {"Label", "motion"}}
          .dump(),
      {"-m", "10", "-H", "Content-Type: application/json"});
  ASSERT_EQ(listed.status, 200) << listed.body;
  json events = json::parse(listed.body)["Events"];
  ASSERT_EQ(events.size(), found.size()) << listed.body;
  for (size_t i = 0; i < found.size(); ++i) {
    EXPECT_EQ(events[i]["Label"], "motion");
    EXPECT_EQ(events[i]["Source"], "streamarc-motion");
    EXPECT_NEAR(events[i]["StartTimestamp"].get<double>(), found[i]["StartTimestamp"].get<double>(),
                1e-6);
    EXPECT_NEAR(events[i]["EndTimestamp"].get<double>(), found[i]["EndTimestamp"].get<double>(),
                1e-6);
    EXPECT_NEAR(events[i]["Score"].get<double>(), found[i]["Score"].get<double>(), 1e-4);
    EXPECT_TRUE(events[i]["EventId"].is_string());
  }
}

// A range given by producer timestamps (ISO 8601), from after the first interval to after the
// second: the second alone.
TEST_F(SamplesTest, RangeFromATimestampEndsBeforeTheSecondInterval) {
  ASSERT_GE(Upload(Clip(), kT0), 10u);
  int rc = -1;
  std::string out = RunSample(
      "streamarc-motion",
      {"--start", FormatIso8601(kT0 + 6 * kSecond), "--end", FormatIso8601(kT0 + 13 * kSecond)},
      &rc);
  ASSERT_EQ(rc, 0) << out;
  std::vector<json> found = JsonLines(out);
  ASSERT_EQ(found.size(), 1u) << out;
  EXPECT_NEAR(found[0]["StartTimestamp"].get<double>() - kT0 / 1e6, kMotion[1][0], kToleranceS);
  EXPECT_NEAR(found[0]["EndTimestamp"].get<double>() - kT0 / 1e6, kMotion[1][1], kToleranceS);
}

// Live: started at NOW before the upload. Still clips are uploaded until the sample shows it
// reads the stream (its --progress line), then the clip; it ends by itself at --end.
TEST_F(SamplesTest, LiveFromNowGivesTheKnownIntervals) {
  const int64_t lead_t0 = kT0 + 1000 * kSecond;
  const int64_t clip_t0 = lead_t0 + 1000 * kSecond;
  ChildProcess motion({SamplePath("streamarc-motion"), "--endpoint", server_.url(), "--stream",
                       kStream, "--start", "NOW", "--end", FormatIso8601(clip_t0 + 14 * kSecond),
                       "--progress"});
  ASSERT_TRUE(motion.started());
  bool reading = false;
  for (int i = 0; i < 20 && !reading; ++i) {
    ASSERT_GE(Upload(media_->File("still.mkv"), lead_t0 + i * 3 * kSecond), 1u);
    // The fragment just persisted reaches a connected reader within milliseconds; one that
    // has not connected yet gets the next clip.
    reading = motion.WaitForOutput("fragment ", 3000);
  }
  ASSERT_TRUE(reading) << motion.Output();
  ASSERT_GE(Upload(Clip(), clip_t0), 10u);
  ASSERT_EQ(motion.Wait(120'000), 0) << motion.Output();
  ExpectKnownIntervals(JsonLines(motion.Output()), clip_t0);
}

// Ctrl-C ends a run and prints the interval still open: the stream ends (for now) at 10 s,
// in the middle of the second interval, and the sample waits at the live edge.
TEST_F(SamplesTest, InterruptPrintsTheOpenInterval) {
  ASSERT_GE(Upload(media_->File("cut.mkv"), kT0), 8u);
  ChildProcess motion({SamplePath("streamarc-motion"), "--endpoint", server_.url(), "--stream",
                       kStream, "--start", "EARLIEST", "--progress"});
  ASSERT_TRUE(motion.started());
  // The last fragment begins with the first frame of the second interval.
  ASSERT_TRUE(motion.WaitForOutput(" at 1700000009.000000", 60'000)) << motion.Output();
  motion.Signal(SIGINT);
  ASSERT_EQ(motion.Wait(30'000), 0) << motion.Output();
  std::vector<json> found = JsonLines(motion.Output());
  ASSERT_EQ(found.size(), 2u) << motion.Output();
  EXPECT_NEAR(found[1]["StartTimestamp"].get<double>() - kT0 / 1e6, kMotion[1][0], kToleranceS);
  EXPECT_GE(found[1]["EndTimestamp"].get<double>(), found[1]["StartTimestamp"].get<double>());
  EXPECT_LT(found[1]["EndTimestamp"].get<double>() - kT0 / 1e6, 10.0);
}

// streamarc-people on a stream without people (no image of a person is at hand offline, and
// a faked detection would prove nothing): it reads the range at the asked rate and ends.
TEST_F(SamplesTest, PeopleRunsOverARangeAtItsSamplingRate) {
  ASSERT_GE(Upload(Clip(), kT0), 10u);
  int rc = -1;
  std::string out = RunSample("streamarc-people",
                              {"--start", "EARLIEST", "--end", FormatIso8601(kT0 + 4 * kSecond),
                               "--fps", "2", "--post-events"},
                              &rc);
  ASSERT_EQ(rc, 0) << out;
  unsigned long long frames = 0, people = 0;
  size_t at = out.find("streamarc-people: ");
  ASSERT_NE(at, std::string::npos) << out;
  ASSERT_EQ(std::sscanf(out.c_str() + at, "streamarc-people: %llu frames looked at, %llu people",
                        &frames, &people),
            2)
      << out;
  EXPECT_GE(frames, 7u) << out;  // 4 s at 2 fps
  EXPECT_LE(frames, 9u) << out;
  EXPECT_EQ(JsonLines(out).size(), people);
}

// The contact sheet: a PNG of the asked grid, whose tiles show the clip at their times (the
// green square only in the tiles inside a motion interval).
TEST_F(SamplesTest, ThumbsheetWritesTheAskedGridOfTheRange) {
  ASSERT_GE(Upload(Clip(), kT0), 10u);
  const std::string sheet = dir_.File("sheet.png");
  int rc = -1;
  std::string out =
      RunSample("streamarc-thumbsheet",
                {"--start", FormatIso8601(kT0), "--end", FormatIso8601(kT0 + 12 * kSecond),
                 "--count", "6", "--columns", "3", "--width", "160", "--out", sheet},
                &rc);
  ASSERT_EQ(rc, 0) << out;
  // 3 x 2 tiles of 160x90 (640x360 scaled), as ffmpeg decodes it.
  auto raw = RunCommand({"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", sheet,
                         "-f", "rawvideo", "-pix_fmt", "rgb24", dir_.File("sheet.rgb")});
  ASSERT_TRUE(raw.ok() && raw->exit_code == 0) << (raw.ok() ? raw->out : "");
  auto size = RunCommand(
      {"ffprobe", "-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0", sheet});
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(size->out, "480,180\n");
  const std::string rgb = streamarc::testing::ReadFileOrDie(dir_.File("sheet.rgb"));
  ASSERT_EQ(rgb.size(), 480u * 180u * 3u);
  // Tiles are 2 s apart from kT0: 0, 2, 4 s in the first row, 6, 8, 10 s in the second; the
  // square moves at 3-5 s and 9-11 s, so tiles 2 (4 s) and 5 (10 s) show it.
  auto green = [&](int tile) {
    int n = 0;
    for (int y = 0; y < 90; ++y) {
      for (int x = 0; x < 160; ++x) {
        size_t p = ((tile / 3 * 90 + y) * 480 + tile % 3 * 160 + x) * 3;
        auto r = static_cast<uint8_t>(rgb[p]), g = static_cast<uint8_t>(rgb[p + 1]),
             b = static_cast<uint8_t>(rgb[p + 2]);
        if (g > 200 && r < 80 && b > 80 && b < 180) ++n;
      }
    }
    return n;
  };
  for (int tile = 0; tile < 6; ++tile) {
    if (tile == 2 || tile == 5) {
      EXPECT_GT(green(tile), 100) << "tile " << tile;  // 16x16 pixels at this scale
    } else {
      EXPECT_LT(green(tile), 5) << "tile " << tile;
    }
  }
}

// samples/python/detector.py with the interpreter the module was built for: one line per
// frame of the range, in order, the frame differencing seeing the square move at 3 s.
TEST_F(SamplesTest, PythonDetectorPrintsEveryFrameOfTheRange) {
  if (std::string(STREAMARC_PYTHON3).empty()) {
    GTEST_SKIP() << "no Python module in this build (the sanitizer build has none)";
  }
  ASSERT_GE(Upload(Clip(), kT0), 10u);
  ChildProcess py({"env", "PYTHONPATH=" + std::string(STREAMARC_PYTHON_DIR), STREAMARC_PYTHON3,
                   std::string(STREAMARC_SOURCE_DIR) + "/samples/python/detector.py", server_.url(),
                   kStream, "EARLIEST", std::to_string(kT0 / kSecond + 4)});
  ASSERT_TRUE(py.started());
  ASSERT_EQ(py.Wait(120'000), 0) << py.Output();
  std::vector<json> lines = JsonLines(py.Output());
  ASSERT_EQ(lines.size(), 100u) << py.Output();  // 4 s at 25 fps
  int moving_frames = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const double t = lines[i]["Timestamp"].get<double>() - kT0 / 1e6;
    EXPECT_NEAR(t, i * 0.04, 1e-6) << lines[i].dump();
    const double brightness = lines[i]["Brightness"].get<double>();
    EXPECT_GT(brightness, 20) << lines[i].dump();  // the bars, neither black nor white
    EXPECT_LT(brightness, 235) << lines[i].dump();
    const double moving = lines[i]["Moving"].get<double>();
    if (t < 2.99) {
      EXPECT_LT(moving, 0.0005) << lines[i].dump();
    } else if (t > 3.01 && moving > 0.0005) {
      ++moving_frames;
    }
  }
  // The square's gray level is close to the yellow bar's: crossing it, differencing misses
  // it for a few frames (MOG2 in streamarc-motion does not).
  EXPECT_GE(moving_frames, 18) << py.Output();  // of 24
}

}  // namespace
}  // namespace streamarc::e2e
