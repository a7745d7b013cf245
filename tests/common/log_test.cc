#include "common/log.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace streamarc {
namespace {

TEST(Log, StructuredLineWithQuotedValues) {
  ManualClock clock(1'511'852'109'126'000);
  std::vector<std::string> lines;
  Logger log(clock, LogLevel::kInfo, [&](std::string_view l) { lines.emplace_back(l); });
  log.Info("archive", "segment opened",
           {{"stream", "cam1"}, {"bytes", int64_t{42}}, {"path", "a b\"c"}});
  log.Debug("archive", "hidden");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "2017-11-28T06:55:09.126Z INFO archive: segment opened stream=cam1 bytes=42 "
            "path=\"a b\\\"c\"\n");
}

TEST(Log, LevelsParseAndFilter) {
  LogLevel l;
  EXPECT_TRUE(ParseLogLevel("warn", &l));
  EXPECT_EQ(l, LogLevel::kWarn);
  EXPECT_FALSE(ParseLogLevel("loud", &l));
  ManualClock clock;
  int n = 0;
  Logger log(clock, LogLevel::kWarn, [&](std::string_view) { ++n; });
  log.Info("x", "no");
  log.Warn("x", "yes");
  log.Error("x", "yes");
  EXPECT_EQ(n, 2);
}

TEST(Log, LinesFromManyThreadsStayWhole) {
  ManualClock clock;
  std::vector<std::string> lines;
  Logger log(clock, LogLevel::kInfo, [&](std::string_view l) { lines.emplace_back(l); });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < 200; ++i) log.Info("t", "line", {{"thread", t}, {"i", i}});
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(lines.size(), 800u);
  for (const auto& l : lines) EXPECT_EQ(l.back(), '\n');
}

}  // namespace
}  // namespace streamarc
