// The crash test: a child process appends fragments and reports each durable one on a
// pipe; the parent kills it with SIGKILL at random moments (during start-up and recovery
// too), reopens the archive and checks that every reported fragment is there,
// byte-identical, and that the index agrees with the files. STREAMARC_CRASH_ITERATIONS
// raises the number of kills (default 60).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <random>

#include "tests/archive/crash_protocol.h"
#include "tests/archive/test_util.h"

namespace streamarc::archive::testing {
namespace {

int Iterations() {
  const char* env = std::getenv("STREAMARC_CRASH_ITERATIONS");
  return env && std::atoi(env) > 0 ? std::atoi(env) : 60;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Runs the child and kills it `run_ms` after it started (`after_ready` false: the kill
// may land in start-up or recovery) or after it said it is ready (true); returns every
// line it wrote.
std::vector<std::string> RunAndKill(const std::string& root, uint64_t seed, int run_ms,
                                    bool after_ready) {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    const std::string seed_arg = std::to_string(seed);
    ::execl(STREAMARC_ARCHIVE_CRASH_CHILD, STREAMARC_ARCHIVE_CRASH_CHILD, root.c_str(),
            seed_arg.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string buf;
  char chunk[65536];
  // Without a ready line within 20 s, kill anyway.
  int64_t kill_at = NowMs() + (after_ready ? 20'000 : run_ms);
  bool ready = false, killed = false;
  for (;;) {
    if (after_ready && !ready && buf.find("ready\n") != std::string::npos) {
      ready = true;
      kill_at = NowMs() + run_ms;
    }
    int64_t left = kill_at - NowMs();
    if (!killed && left <= 0) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    struct pollfd p = {fds[0], POLLIN, 0};
    int r = ::poll(&p, 1, killed ? 1000 : static_cast<int>(std::max<int64_t>(left, 0)));
    if (r <= 0) {
      if (killed) break;  // nothing more after a second: give up
      continue;
    }
    ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n <= 0) break;  // EOF: the child is dead (killed, or exited early)
    buf.append(chunk, static_cast<size_t>(n));
  }
  if (!killed) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(fds[0]);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child ended by itself, status " << status;
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
    if (buf.compare(start, nl - start, kReadyLine) != 0)
      lines.push_back(buf.substr(start, nl - start));
  }
  // A partial last line cannot happen: each line is one write(2) smaller than PIPE_BUF.
  EXPECT_EQ(start, buf.size());
  return lines;
}

TEST(CrashTest, KillNineAtRandomMomentsLosesNothingReportedDurable) {
  streamarc::testing::TempDir dir;
  const std::string root = dir.path() + "/archive";
  SystemClock clock;
  Logger logger(clock, LogLevel::kError, [](std::string_view) {});
  std::unique_ptr<Env> env = NewPosixEnv();
  Options options;
  options.root = root;
  options.sweep_interval_us = 0;

  std::mt19937 rng(20261122);
  std::map<std::string, DurableLine> acked;  // by fragment number
  int productive_runs = 0;
  uint64_t truncated = 0, orphans = 0;
  const int iterations = Iterations();
  for (int it = 0; it < iterations; ++it) {
    // Mostly mid-ingest kills, some during start-up / recovery.
    // Every fifth kill lands anywhere from exec through recovery to the first appends; the
    // others 5-150 ms into ingest.
    const bool anywhere = it % 5 == 0;
    const int run_ms = anywhere ? static_cast<int>(rng() % 60) : 5 + static_cast<int>(rng() % 145);
    std::vector<std::string> lines =
        RunAndKill(root, static_cast<uint64_t>(it) + 1, run_ms, /*after_ready=*/!anywhere);
    std::vector<DurableLine> fresh;
    for (const std::string& l : lines) {
      DurableLine d;
      ASSERT_TRUE(ParseDurableLine(l, &d)) << l;
      ASSERT_TRUE(acked.emplace(d.number, d).second) << "number reused: " << d.number;
      fresh.push_back(d);
    }
    productive_runs += !fresh.empty();

    Result<std::unique_ptr<Archive>> opened = OpenLocalArchive(options, *env, clock, logger);
    ASSERT_TRUE(opened.ok()) << "iteration " << it << ": " << opened.status().ToString();
    Archive& a = **opened;
    truncated += a.Recovery().bytes_truncated;
    orphans += a.Recovery().orphan_files_removed;
    EXPECT_EQ(a.Recovery().missing_segments, 0u);
    EXPECT_EQ(a.Recovery().short_segments, 0u);
    EXPECT_EQ(a.Recovery().corrupt_segments, 0u);
    for (const DurableLine& d : fresh) {
      Result<std::string> bytes = a.ReadFragment(StreamRef::Name(d.stream), d.number);
      ASSERT_TRUE(bytes.ok()) << "iteration " << it << " lost " << d.number << ": "
                              << bytes.status().ToString();
      ASSERT_EQ(*bytes, CrashBytes(d.seed, d.size)) << d.number;
      Result<FragmentInfo> info = a.GetFragment(StreamRef::Name(d.stream), d.number);
      ASSERT_TRUE(info.ok());
      EXPECT_EQ(info->producer_timestamp_us, d.producer_us);
    }
    // Index and files agree, every record's checksum holds.
    Status v = a.Verify();
    ASSERT_TRUE(v.ok()) << "iteration " << it << ": " << v.ToString();
  }
  EXPECT_GE(iterations, 50);
  EXPECT_GT(productive_runs, iterations / 2);  // most kills hit a child mid-ingest

  // Finally every fragment ever reported, byte for byte, in per-stream number order.
  Result<std::unique_ptr<Archive>> opened = OpenLocalArchive(options, *env, clock, logger);
  ASSERT_TRUE(opened.ok());
  std::map<std::string, std::string> last_per_stream;
  for (const auto& [number, d] : acked) {
    Result<std::string> bytes = (*opened)->ReadFragment(StreamRef::Name(d.stream), number);
    ASSERT_TRUE(bytes.ok()) << number << ": " << bytes.status().ToString();
    EXPECT_EQ(*bytes, CrashBytes(d.seed, d.size));
    last_per_stream[d.stream] = number;
  }
  for (const auto& [stream, number] : last_per_stream) {
    Result<FragmentInfo> latest = (*opened)->Latest(StreamRef::Name(stream));
    ASSERT_TRUE(latest.ok());
    EXPECT_GE(latest->number, number);
  }
  std::printf(
      "crash test: %d kills, %zu fragments reported durable and verified, "
      "%llu bytes truncated and %llu orphan files removed by recovery\n",
      iterations, acked.size(), static_cast<unsigned long long>(truncated),
      static_cast<unsigned long long>(orphans));
}

}  // namespace
}  // namespace streamarc::archive::testing
