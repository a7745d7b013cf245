// streamarcsink in a real gst-launch-1.0 pipeline, uploading to the real streamarcd; the
// archive read back afterwards.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "tests/producer/gst_test_util.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"

namespace streamarc::gsttest {
namespace {

using streamarc::testing::RunCommand;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;

class SinkTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start(Data()).ok()) << server_.log(); }
  std::string Data() const { return dir_.File("data"); }

  // gst-launch-1.0 -e <pipeline> with our plugin findable.
  testing::CommandOutput Launch(const std::vector<std::string>& pipeline) {
    std::vector<std::string> argv = GstEnv();
    argv.push_back("gst-launch-1.0");
    argv.push_back("-e");
    argv.insert(argv.end(), pipeline.begin(), pipeline.end());
    auto r = RunCommand(argv);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : testing::CommandOutput{};
  }

  TempDir dir_;
  ServerProcess server_;
};

TEST_F(SinkTest, ElementIsFoundAndHasKvssinkProperties) {
  std::vector<std::string> argv = GstEnv();
  argv.insert(argv.end(), {"gst-inspect-1.0", "streamarcsink"});
  auto r = RunCommand(argv);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->exit_code, 0) << r->out;
  for (const char* p : {"stream-name", "endpoint", "access-key", "secret-key", "session-token",
                        "aws-region", "storage-size", "retention-period", "fragment-duration",
                        "streaming-type", "max-latency", "connection-staleness", "content-type",
                        "allow-create-stream", "stop-stream-timeout", "ca-cert"}) {
    EXPECT_NE(r->out.find("\n  " + std::string(p)), std::string::npos) << p;
  }
}

// The case: videotestsrc num-buffers=N ! x264enc ! h264parse ! streamarcsink. Every
// buffer becomes one archived frame, each fragment starts at a key frame.
TEST_F(SinkTest, GstLaunchPipelineArchivesEveryFrame) {
  constexpr int kFrames = 75;
  auto r =
      Launch({"videotestsrc", "num-buffers=" + std::to_string(kFrames), "!",
              "video/x-raw,width=320,height=240,framerate=25/1", "!", "x264enc", "tune=zerolatency",
              "speed-preset=ultrafast", "key-int-max=25", "!", "h264parse", "!", "streamarcsink",
              "stream-name=sink-cam", "endpoint=" + server_.url(), "fragment-duration=1000"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_EQ(server_.Stop(), 0);
  StoredArchive stored = ReadArchiveFrames(Data(), "sink-cam");
  EXPECT_EQ(stored.frames.size(), static_cast<size_t>(kFrames));
  EXPECT_GE(stored.fragments.size(), 2u);
  EXPECT_TRUE(stored.EveryFragmentStartsWithKey());
}

// CONTROL_PLANE_URI is how kvssink users point it at a server; streamarcsink honours it
// when no endpoint property is set. H.265 goes through as hvc1.
TEST_F(SinkTest, ControlPlaneUriAndH265) {
  std::vector<std::string> argv = GstEnv();
  argv.push_back("CONTROL_PLANE_URI=" + server_.url());
  argv.insert(argv.end(), {"gst-launch-1.0", "-e", "videotestsrc", "num-buffers=30", "!",
                           "video/x-raw,width=320,height=240,framerate=15/1", "!", "x265enc",
                           "speed-preset=ultrafast", "key-int-max=15", "!", "h265parse", "!",
                           "streamarcsink", "stream-name=sink-hevc"});
  auto r = RunCommand(argv);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->exit_code, 0) << r->out;
  ASSERT_EQ(server_.Stop(), 0);
  StoredArchive stored = ReadArchiveFrames(Data(), "sink-hevc");
  EXPECT_EQ(stored.frames.size(), 30u);
  EXPECT_TRUE(stored.EveryFragmentStartsWithKey());
}

// A live pipeline stopped with Ctrl-C (gst-launch -e turns it into EOS): the sink flushes,
// waits for PERSISTED, and gst-launch exits 0 with every frame it rendered archived.
TEST_F(SinkTest, InterruptedLivePipelineFlushes) {
  std::vector<std::string> argv = GstEnv();
  argv.insert(argv.end(), {"gst-launch-1.0",
                           "-e",
                           "-v",
                           "videotestsrc",
                           "is-live=true",
                           "!",
                           "video/x-raw,width=160,height=120,framerate=15/1",
                           "!",
                           "x264enc",
                           "tune=zerolatency",
                           "speed-preset=ultrafast",
                           "key-int-max=15",
                           "!",
                           "h264parse",
                           "!",
                           "identity",
                           "silent=false",
                           "!",
                           "streamarcsink",
                           "stream-name=live",
                           "endpoint=" + server_.url(),
                           "fragment-duration=1000"});
  Child launch(argv);
  ASSERT_TRUE(launch.WaitForOutput("PLAYING", 20000)) << launch.Output();
  // Let a few fragments go out before the interrupt.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  launch.Signal(SIGINT);
  ASSERT_EQ(launch.Wait(60000), 0) << launch.Output();
  ASSERT_EQ(server_.Stop(), 0);
  // identity (with -v) logs each buffer on its way to the sink.
  std::string out = launch.Output();
  size_t rendered = 0;
  for (size_t at = 0; (at = out.find("identity0: last-message = chain", at)) != std::string::npos;
       ++at) {
    ++rendered;
  }
  StoredArchive stored = ReadArchiveFrames(Data(), "live");
  EXPECT_GT(stored.frames.size(), 10u);
  EXPECT_EQ(stored.frames.size(), rendered);
  EXPECT_TRUE(stored.EveryFragmentStartsWithKey());
}

// No server: the pipeline fails with the element's message instead of hanging.
TEST_F(SinkTest, ServerDownIsAnElementError) {
  std::string url = server_.url();
  ASSERT_EQ(server_.Stop(), 0);
  auto r =
      Launch({"videotestsrc", "num-buffers=10", "!", "x264enc", "!", "h264parse", "!",
              "streamarcsink", "stream-name=nowhere", "endpoint=" + url, "connection-timeout=1"});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("streamarcsink"), std::string::npos) << r.out;
}

// Raw video cannot be linked: caps negotiation fails cleanly.
TEST_F(SinkTest, RawVideoIsRefusedAtNegotiation) {
  auto r = Launch({"videotestsrc", "num-buffers=5", "!", "streamarcsink", "stream-name=raw",
                   "endpoint=" + server_.url()});
  EXPECT_NE(r.exit_code, 0) << r.out;
}

// Over https the sink trusts the CA its ca-cert property names; without it, the server's
// certificate is refused and the pipeline fails with an element error.
TEST(SinkTlsTest, CaCertPropertyTrustsAPrivateCa) {
  TempDir dir;
  const testing::TestCerts certs = testing::MakeTestCerts(dir.path());
  ASSERT_FALSE(certs.cert.empty());
  ServerProcess server;
  ASSERT_TRUE(
      server.Start(dir.File("data"), {"--tls-cert", certs.cert, "--tls-key", certs.key}).ok())
      << server.log();
  const std::string url = "https://127.0.0.1:" + std::to_string(server.port());
  auto launch = [](const std::vector<std::string>& sink) {
    std::vector<std::string> argv = GstEnv();
    argv.insert(argv.end(), {"AWS_CA_BUNDLE=", "gst-launch-1.0", "-e", "videotestsrc",
                             "num-buffers=50", "!", "video/x-raw,width=320,height=240", "!",
                             "x264enc", "speed-preset=ultrafast", "key-int-max=25", "!",
                             "h264parse", "!", "streamarcsink", "fragment-duration=1000"});
    argv.insert(argv.end(), sink.begin(), sink.end());
    auto r = RunCommand(argv);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : testing::CommandOutput{};
  };
  auto ok = launch({"stream-name=tls-sink", "endpoint=" + url, "ca-cert=" + certs.ca});
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  auto refused = launch({"stream-name=tls-sink-2", "endpoint=" + url, "connection-timeout=1"});
  EXPECT_NE(refused.exit_code, 0) << refused.out;
  ASSERT_EQ(server.Stop(), 0);
  EXPECT_EQ(ReadArchiveFrames(dir.File("data"), "tls-sink").frames.size(), 50u);
}

}  // namespace
}  // namespace streamarc::gsttest
