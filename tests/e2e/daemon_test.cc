// The real streamarcd binary, over loopback HTTP with curl.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::e2e {
namespace {

using streamarc::testing::RunCommand;
using streamarc::testing::ServerProcess;
using streamarc::testing::StreamarcdPath;
using streamarc::testing::TempDir;

TEST(Daemon, HealthAndUnknownOperation) {
  TempDir dir;
  ServerProcess server;
  ASSERT_TRUE(server.Start(dir.File("data")).ok()) << server.log();
  EXPECT_TRUE(std::filesystem::is_directory(dir.File("data")));

  auto health = RunCommand({"curl", "-sS", "-i", server.url() + "/health"});
  ASSERT_TRUE(health.ok());
  EXPECT_NE(health->out.find("HTTP/1.1 200"), std::string::npos) << health->out;
  EXPECT_NE(health->out.find("\"status\":\"ok\""), std::string::npos) << health->out;

  auto unknown = RunCommand(
      {"curl", "-sS", "-i", "-X", "POST", "-d", "{}", server.url() + "/noSuchOperation"});
  ASSERT_TRUE(unknown.ok());
  EXPECT_NE(unknown->out.find("HTTP/1.1 404"), std::string::npos) << unknown->out;
  EXPECT_NE(unknown->out.find("x-amzn-errortype: UnknownOperationException"), std::string::npos);
  EXPECT_NE(unknown->out.find("{\"Message\":"), std::string::npos);
  EXPECT_EQ(server.Stop(), 0);
  EXPECT_NE(server.log().find("shutting down signal=SIGTERM"), std::string::npos);
  EXPECT_NE(server.log().find("stopped"), std::string::npos);
}

TEST(Daemon, ManyConcurrentAndKeepAliveRequests) {
  TempDir dir;
  ServerProcess server;
  ASSERT_TRUE(server.Start(dir.File("data")).ok()) << server.log();
  // One curl, 40 requests over keep-alive connections, 8 at a time.
  std::vector<std::string> cmd = {"curl",     "-sS", "--parallel",      "--parallel-max",
                                  "8",        "-w",  "%{http_code}\\n", "-o",
                                  "/dev/null"};
  for (int i = 0; i < 40; ++i) {
    cmd.push_back(server.url() + "/health");
    if (i) cmd.insert(cmd.end() - 1, {"-o", "/dev/null"});
  }
  auto r = RunCommand(cmd);
  ASSERT_TRUE(r.ok());
  size_t ok = 0;
  for (size_t p = 0; (p = r->out.find("200\n", p)) != std::string::npos; p += 4) ++ok;
  EXPECT_EQ(ok, 40u) << r->out;
}

TEST(Daemon, OversizedBodyIs413AndServerKeepsServing) {
  TempDir dir;
  ServerProcess server;
  ASSERT_TRUE(server.Start(dir.File("data")).ok()) << server.log();
  std::string big = dir.File("big.json");
  streamarc::testing::WriteFileOrDie(big, std::string(2 << 20, 'x'));
  auto r = RunCommand({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                       "--data-binary", "@" + big, server.url() + "/describeStream"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "413");
  auto health = RunCommand(
      {"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", server.url() + "/health"});
  EXPECT_EQ(health->out, "200");
}

TEST(Daemon, CommandLine) {
  auto help = RunCommand({StreamarcdPath(), "--help"});
  ASSERT_TRUE(help.ok());
  EXPECT_EQ(help->exit_code, 0);
  EXPECT_NE(help->out.find("--data-dir"), std::string::npos);
  auto version = RunCommand({StreamarcdPath(), "--version"});
  EXPECT_EQ(version->exit_code, 0);
  EXPECT_NE(version->out.find("streamarcd 0."), std::string::npos);
  auto bad = RunCommand({StreamarcdPath(), "--port", "nope"});
  EXPECT_EQ(bad->exit_code, 2);
  EXPECT_NE(bad->out.find("--port"), std::string::npos);
}

TEST(Daemon, RefusesAPortInUse) {
  TempDir dir;
  ServerProcess first;
  ASSERT_TRUE(first.Start(dir.File("a")).ok());
  auto r = RunCommand(
      {StreamarcdPath(), "--port", std::to_string(first.port()), "--data-dir", dir.File("b")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_NE(r->out.find("cannot listen"), std::string::npos) << r->out;
}

}  // namespace
}  // namespace streamarc::e2e
