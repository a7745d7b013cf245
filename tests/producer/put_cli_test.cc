// streamarc-put end to end against the real streamarcd: a test pattern, a real ffmpeg-made
// H.264 MP4 (the archive's frames equal ffprobe's), an RTSP camera simulated by rtsp_camera,
// and the faults (server down, Ctrl-C). Plus the CLI's option parsing and status line.
#include <gtest/gtest.h>
#include <signal.h>

#include "producer-sdk/cli/options.h"
#include "producer-sdk/cli/status_line.h"
#include "tests/producer/gst_test_util.h"
#include "tests/support/access_keys.h"
#include "tests/support/aws_cli.h"
#include "tests/support/media.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::gsttest {
namespace {

using streamarc::testing::CommandOutput;
using streamarc::testing::ProbePackets;
using streamarc::testing::RunAws;
using streamarc::testing::RunCommand;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;

Result<put::PutOptions> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "streamarc-put");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return put::ParseOptions(static_cast<int>(args.size()), argv.data());
}

TEST(PutOptionsTest, ParsesTheIssueCommandLine) {
  auto o = Parse({"--endpoint", "http://127.0.0.1:9", "--stream", "cam", "--duration", "4",
                  "--retention", "24", "--bitrate", "800", "--width", "320", "--height", "240",
                  "--fps", "15", "--test-pattern"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->endpoint, "http://127.0.0.1:9");
  EXPECT_EQ(o->stream, "cam");
  EXPECT_EQ(o->duration_s, 4);
  EXPECT_EQ(o->retention_hours, 24);
  EXPECT_EQ(o->bitrate_kbps, 800);
  EXPECT_EQ(o->width, 320);
  EXPECT_EQ(o->fps, 15);
  EXPECT_EQ(o->source, put::SourceKind::kTestPattern);
}

TEST(PutOptionsTest, CaCert) {
  auto o = Parse({"--endpoint", "https://cams.lan:8443", "--stream", "cam", "--ca-cert",
                  "/etc/arc/ca.pem", "--test-pattern"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->ca_cert, "/etc/arc/ca.pem");
  EXPECT_FALSE(Parse({"--stream", "c", "--test-pattern", "--ca-cert"}).ok());  // no value
  EXPECT_NE(put::HelpText().find("--ca-cert PATH"), std::string::npos);
}

TEST(PutOptionsTest, RefusesBadCommandLines) {
  EXPECT_FALSE(Parse({"--stream", "cam"}).ok());                                 // no source
  EXPECT_FALSE(Parse({"--test-pattern"}).ok());                                  // no stream
  EXPECT_FALSE(Parse({"--stream", "c", "--test-pattern", "--file", "x"}).ok());  // two
  EXPECT_FALSE(Parse({"--stream", "c", "--test-pattern", "--duration", "abc"}).ok());
  EXPECT_FALSE(Parse({"--stream", "c", "--test-pattern", "--duration", "-1"}).ok());
  EXPECT_FALSE(Parse({"--stream", "c", "--test-pattern", "--fps", "2.5"}).ok());
  EXPECT_FALSE(Parse({"--stream", "c", "--test-pattern", "--width", "320"}).ok());
  EXPECT_FALSE(Parse({"--stream", "c", "--test-pattern", "--realtime"}).ok());
  EXPECT_FALSE(Parse({"--stream", "c", "--test-pattern", "--bogus"}).ok());
  EXPECT_FALSE(Parse({"--stream", "c", "--test-pattern", "extra"}).ok());
  EXPECT_FALSE(Parse({"--stream", "c", "--rtsp"}).ok());  // missing argument
  auto help = Parse({"--help"});
  ASSERT_TRUE(help.ok());
  EXPECT_TRUE(help->help);
}

TEST(StatusLineTest, FormatsRatesAndFill) {
  put::StatusSample a, b;
  b.elapsed_s = 2;
  b.frames = 60;
  b.bytes = 250'000;  // 1000 kbit/s over 2 s
  b.stats.fragments_started = 2;
  b.stats.fragments_persisted = 1;
  b.stats.store_bytes = 1 << 20;
  b.stats.store_capacity = 128 << 20;
  std::string line = put::FormatStatus(a, b);
  EXPECT_NE(line.find("30.0 fps"), std::string::npos) << line;
  EXPECT_NE(line.find("1000 kbit/s"), std::string::npos) << line;
  EXPECT_NE(line.find("persisted 1/2"), std::string::npos) << line;
  EXPECT_NE(line.find("1.0/128.0 MB (0.8%)"), std::string::npos) << line;
  b.stats.reconnects = 3;
  b.stats.fragments_dropped = 1;
  line = put::FormatStatus(a, b);
  EXPECT_NE(line.find("reconnects 3"), std::string::npos) << line;
  EXPECT_NE(line.find("dropped 0 frames/1 fragments"), std::string::npos) << line;
}

class PutCliTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start(Data()).ok()) << server_.log(); }
  std::string Data() const { return dir_.File("data"); }

  std::vector<std::string> Put(const std::string& stream, std::vector<std::string> args) {
    std::vector<std::string> argv = GstEnv();
    argv.insert(argv.end(), {PutPath(), "--endpoint", server_.url(), "--stream", stream,
                             "--status-interval", "1"});
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  TempDir dir_;
  ServerProcess server_;
};

TEST_F(PutCliTest, TestPatternForFourSeconds) {
  auto r = RunCommand(Put("pattern", {"--test-pattern", "--duration", "4", "--width", "320",
                                      "--height", "240", "--fps", "15"}));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->exit_code, 0) << r->out;
  long sent = DoneFrames(r->out);
  // 4 s of media at 15 fps (a live source may start a frame late).
  EXPECT_GE(sent, 55) << r->out;
  EXPECT_LE(sent, 60) << r->out;
  EXPECT_NE(r->out.find(" fps "), std::string::npos) << "a status line: " << r->out;
  ASSERT_EQ(server_.Stop(), 0);
  StoredArchive stored = ReadArchiveFrames(Data(), "pattern");
  EXPECT_EQ(static_cast<long>(stored.frames.size()), sent);
  EXPECT_TRUE(stored.EveryFragmentStartsWithKey());
}

// With access keys configured, streamarc-put signs with the key it is given (GstEnv's
// AWS_* variables), and a key the server refuses is a clear, final error.
TEST(PutCliAuthTest, SignsWithItsKeyAndARefusalIsClear) {
  TempDir dir;
  streamarc::testing::WriteFileOrDie(
      dir.File("keys.json"),
      streamarc::testing::AccessKeysConfig({{{"AKIDGSTTEST", "gst-test-secret"}, {"cam-*"}, {}}}));
  ServerProcess server;
  ASSERT_TRUE(server.Start(dir.File("data"), {"--config", dir.File("keys.json")}).ok())
      << server.log();
  auto put = [&](const std::string& stream, std::vector<std::string> env_extra) {
    std::vector<std::string> argv = GstEnv();
    argv.insert(argv.end(), env_extra.begin(), env_extra.end());
    argv.insert(argv.end(),
                {PutPath(), "--endpoint", server.url(), "--stream", stream, "--test-pattern",
                 "--duration", "2", "--width", "160", "--height", "120", "--fps", "15"});
    auto r = RunCommand(argv);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : CommandOutput{};
  };
  CommandOutput ok = put("cam-signed", {});
  ASSERT_EQ(ok.exit_code, 0) << ok.out;
  const long sent = DoneFrames(ok.out);
  EXPECT_GE(sent, 25) << ok.out;

  CommandOutput outside = put("door", {});
  EXPECT_NE(outside.exit_code, 0) << outside.out;
  EXPECT_NE(outside.out.find("AccessDenied"), std::string::npos) << outside.out;
  // `env` takes the last value: the wrong secret.
  CommandOutput wrong = put("cam-wrong", {"AWS_SECRET_ACCESS_KEY=not-the-secret"});
  EXPECT_NE(wrong.exit_code, 0) << wrong.out;
  EXPECT_NE(wrong.out.find("signature"), std::string::npos) << wrong.out;

  ASSERT_EQ(server.Stop(), 0);
  EXPECT_EQ(static_cast<long>(ReadArchiveFrames(dir.File("data"), "cam-signed").frames.size()),
            sent);
}

// --audio adds an AAC tone as track 2, interleaved with the video in time order.
TEST_F(PutCliTest, TestPatternWithAudio) {
  auto r = RunCommand(Put("pattern-av", {"--test-pattern", "--audio", "--duration", "3", "--width",
                                         "160", "--height", "120", "--fps", "15"}));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->exit_code, 0) << r->out;
  EXPECT_NE(r->out.find("AAC audio"), std::string::npos) << r->out;
  long sent = DoneFrames(r->out);
  ASSERT_EQ(server_.Stop(), 0);
  StoredArchive stored = ReadArchiveFrames(Data(), "pattern-av");
  EXPECT_EQ(static_cast<long>(stored.frames.size()), sent);
  size_t video = 0, audio = 0;
  for (const StoredFrame& f : stored.frames) (f.track == 1 ? video : audio)++;
  EXPECT_GE(video, 40u);
  // 48 kHz AAC: 1024 samples a frame, about 47 a second.
  EXPECT_GE(audio, 120u);
  EXPECT_TRUE(stored.EveryFragmentStartsWithKey());
}

// A real H.264 MP4 (with B-frames) passed through: the archive holds exactly the file's
// frames, in decode order, with the same key flags and sizes.
TEST_F(PutCliTest, FileIsPassedThroughFrameForFrame) {
  std::string mp4 = dir_.File("in.mp4");
  auto made = RunCommand({"ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                          "testsrc2=size=320x240:rate=25:duration=5", "-c:v", "libx264", "-preset",
                          "ultrafast", "-g", "25", "-bf", "2", "-pix_fmt", "yuv420p", mp4});
  ASSERT_TRUE(made.ok());
  ASSERT_EQ(made->exit_code, 0) << made->out;
  auto probe = ProbePackets(mp4);
  ASSERT_TRUE(probe.ok());
  ASSERT_EQ(probe->size(), 125u);

  auto r = RunCommand(Put("file", {"--file", mp4}));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->exit_code, 0) << r->out;
  EXPECT_NE(r->out.find("passthrough"), std::string::npos) << r->out;
  EXPECT_EQ(DoneFrames(r->out), 125) << r->out;
  ASSERT_EQ(server_.Stop(), 0);
  StoredArchive stored = ReadArchiveFrames(Data(), "file");
  ASSERT_EQ(stored.frames.size(), probe->size());
  for (size_t i = 0; i < stored.frames.size(); ++i) {
    EXPECT_EQ(stored.frames[i].key, (*probe)[i].key) << "frame " << i;
    EXPECT_EQ(static_cast<int64_t>(stored.frames[i].size), (*probe)[i].size) << "frame " << i;
  }
  EXPECT_TRUE(stored.EveryFragmentStartsWithKey());
}

// Matroska with AAC beside the video (the audio is not uploaded) and MPEG-TS (Annex-B,
// converted by h264parse): every video frame arrives, key frames where the input has them.
TEST_F(PutCliTest, MkvWithAudioAndTsFiles) {
  auto mkv = streamarc::testing::MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(mkv.ok()) << mkv.status().ToString();
  std::string ts = dir_.File("in.ts");
  auto made = RunCommand({"ffmpeg", "-v", "error", "-i", *mkv, "-map", "0:v", "-c", "copy",
                          "-bsf:v", "h264_mp4toannexb", ts});
  ASSERT_TRUE(made.ok());
  ASSERT_EQ(made->exit_code, 0) << made->out;
  int n = 0;
  for (const std::string& path : {*mkv, ts}) {
    std::string stream = "media" + std::to_string(n++);
    auto probe = ProbePackets(path);
    ASSERT_TRUE(probe.ok());
    std::vector<bool> keys;
    for (const auto& p : *probe) {
      if (p.stream_index == 0) keys.push_back(p.key);
    }
    auto r = RunCommand(Put(stream, {"--file", path}));
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->exit_code, 0) << path << "\n" << r->out;
    EXPECT_EQ(DoneFrames(r->out), static_cast<long>(keys.size())) << r->out;
  }
  ASSERT_EQ(server_.Stop(), 0);
  for (int i = 0; i < n; ++i) {
    StoredArchive stored = ReadArchiveFrames(Data(), "media" + std::to_string(i));
    EXPECT_TRUE(stored.EveryFragmentStartsWithKey());
    EXPECT_GT(stored.frames.size(), 0u);
  }
}

TEST_F(PutCliTest, RtspCameraIsPulledAndPassedThrough) {
  Child camera({RtspCameraPath(), "--fps", "15"});
  ASSERT_TRUE(camera.WaitForOutput("rtsp://", 10000)) << camera.Output();
  std::string out = camera.Output();
  std::string url = out.substr(out.find("rtsp://"));
  url = url.substr(0, url.find('\n'));
  auto r = RunCommand(Put("rtsp", {"--rtsp", url, "--duration", "3"}));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->exit_code, 0) << r->out;
  EXPECT_NE(r->out.find("passthrough"), std::string::npos) << r->out;
  long sent = DoneFrames(r->out);
  EXPECT_GT(sent, 20) << r->out;
  ASSERT_EQ(server_.Stop(), 0);
  StoredArchive stored = ReadArchiveFrames(Data(), "rtsp");
  EXPECT_EQ(static_cast<long>(stored.frames.size()), sent);
  EXPECT_TRUE(stored.EveryFragmentStartsWithKey());
}

// The camera goes away mid-stream: a clear message, what was sent is flushed, exit 1.
TEST_F(PutCliTest, RtspCameraDisconnectEndsWithAMessage) {
  auto camera = std::make_unique<Child>(std::vector<std::string>{RtspCameraPath()});
  ASSERT_TRUE(camera->WaitForOutput("rtsp://", 10000)) << camera->Output();
  std::string out = camera->Output();
  std::string url = out.substr(out.find("rtsp://"));
  url = url.substr(0, url.find('\n'));
  Child put(Put("rtsp-gone", {"--rtsp", url}));
  ASSERT_TRUE(put.WaitForOutput("streaming ", 20000)) << put.Output();
  camera->Signal(SIGKILL);
  int rc = put.Wait(60000);
  EXPECT_EQ(rc, put::kExitRuntime) << put.Output();
  EXPECT_NE(put.Output().find("the source"), std::string::npos) << put.Output();
}

TEST_F(PutCliTest, ServerDownAtStartGivesUpWithExitCode3) {
  std::string url = server_.url();
  ASSERT_EQ(server_.Stop(), 0);
  std::vector<std::string> argv = GstEnv();
  argv.insert(argv.end(), {PutPath(), "--endpoint", url, "--stream", "down", "--test-pattern",
                           "--width", "160", "--height", "120", "--connect-timeout", "2"});
  auto r = RunCommand(argv);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, put::kExitConnect) << r->out;
  EXPECT_NE(r->out.find("cannot open stream 'down'"), std::string::npos) << r->out;
}

// Ctrl-C mid-stream: the source ends, everything put is flushed and persisted, exit 0.
TEST_F(PutCliTest, SigintFlushesAndExitsZero) {
  Child put(Put("sigint", {"--test-pattern", "--width", "160", "--height", "120", "--fps", "15"}));
  ASSERT_TRUE(put.WaitForOutput(" fps ", 20000)) << put.Output();
  put.Signal(SIGINT);
  ASSERT_EQ(put.Wait(60000), 0) << put.Output();
  long sent = DoneFrames(put.Output());
  EXPECT_GT(sent, 0) << put.Output();
  ASSERT_EQ(server_.Stop(), 0);
  StoredArchive stored = ReadArchiveFrames(Data(), "sigint");
  EXPECT_EQ(static_cast<long>(stored.frames.size()), sent);
}

// The stream is deleted (AWS CLI) while streaming: a clear message and exit 1, no hang.
TEST_F(PutCliTest, DeletedStreamEndsWithAMessage) {
  Child put(Put("doomed", {"--test-pattern", "--width", "160", "--height", "120", "--fps", "15",
                           "--fragment-ms", "1000"}));
  ASSERT_TRUE(put.WaitForOutput("persisted 1/", 30000)) << put.Output();
  // The AWS CLI (Python) runs without GstEnv's sanitizer preload.
  CommandOutput arn = RunAws(server_.url(),
                             {"kinesisvideo", "describe-stream", "--stream-name", "doomed",
                              "--query", "StreamInfo.StreamARN", "--output", "text"},
                             "us-west-2");
  ASSERT_EQ(arn.exit_code, 0) << arn.out;
  std::string stream_arn = arn.out.substr(0, arn.out.find('\n'));
  CommandOutput del = RunAws(
      server_.url(), {"kinesisvideo", "delete-stream", "--stream-arn", stream_arn}, "us-west-2");
  ASSERT_EQ(del.exit_code, 0) << del.out;
  EXPECT_EQ(put.Wait(60000), put::kExitRuntime) << put.Output();
  EXPECT_NE(put.Output().find("does not exist on the server"), std::string::npos) << put.Output();
}

TEST_F(PutCliTest, UsageErrorsExitWith2) {
  auto run = [](std::vector<std::string> args) {
    std::vector<std::string> argv = GstEnv();
    argv.push_back(PutPath());
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  };
  auto r = run({"--stream", "x"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, put::kExitUsage) << r->out;
  r = run({"--stream", "x", "--file", dir_.File("missing.mp4")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, put::kExitUsage) << r->out;
  EXPECT_NE(r->out.find("cannot read"), std::string::npos) << r->out;
  r = run({"--help"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_NE(r->out.find("--test-pattern"), std::string::npos);
}

}  // namespace
}  // namespace streamarc::gsttest
