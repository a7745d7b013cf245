// Archive index at scale, and the retention sweep.
//
// Loads N fragments (default 10 million: about 230 days of 2-second fragments) into one
// stream through the normal append path (with fsync off for the load only), then reports:
//  - index bytes per fragment (goal < 200),
//  - time to open the archive (goal < 1 s),
//  - a ListFragments-style query for one hour at random places, p50/p99 (goal p99 < 2 ms),
//  - history queries against the same queries over an index of 1,000 fragments, loaded the
//    same way in the same run (goal p99 within 2x): ListFragments of 10 minutes, the index
//    work of an ON_DEMAND HLS playlist of 10 minutes (FirstAtOrAfter, then the fragments in
//    order) and of a GetClip of one minute (the fragments in order, then each one read),
//  - a retention sweep of ~100,000 expired fragments (goal < 1 s) while ten other streams
//    ingest with fsync on, and their durable-ack p99 before and during the sweep.
//
// Usage: archive_index_bench [--dir DIR] [--fragments N]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "archive/archive.h"
#include "bench/figures.h"

using namespace streamarc;
using namespace streamarc::archive;

namespace {

using Steady = std::chrono::steady_clock;
constexpr int64_t kStartUs = 1'767'225'600'000'000;  // 2026-01-01
constexpr int64_t kTwoSeconds = 2'000'000;

double Ms(Steady::time_point a, Steady::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1,
                    static_cast<size_t>(std::lround(p * static_cast<double>(v.size() - 1))))];
}

std::unique_ptr<Archive> Open(const Options& o, Env& env, const streamarc::Clock& clock,
                              Logger& logger, double* ms) {
  auto t0 = Steady::now();
  auto a = OpenLocalArchive(o, env, clock, logger);
  if (ms) *ms = Ms(t0, Steady::now());
  if (!a.ok()) {
    std::fprintf(stderr, "open: %s\n", a.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*a);
}

// Loads n 2-second fragments into stream "cam" of a new archive at o.root.
bool Load(const Options& o, Env& env, const streamarc::Clock& clock, Logger& logger, int64_t n) {
  std::filesystem::remove_all(o.root);
  auto a = Open(o, env, clock, logger, nullptr);
  CreateStreamRequest req;
  req.name = "cam";
  req.retention_hours = kMaxRetentionHours;
  if (!a->CreateStream(req).ok()) return false;
  const std::string payload(16, 'f');
  std::atomic<int64_t> failed{0};
  auto t0 = Steady::now();
  for (int64_t i = 0; i < n; ++i) {
    FragmentInput f;
    f.bytes = payload;
    f.server_timestamp_us = kStartUs + i * kTwoSeconds;
    f.producer_timestamp_us = f.server_timestamp_us - 300'000;
    f.duration_us = kTwoSeconds;
    f.track_info = "V_MPEG4/ISO/AVC 1920x1080 (codec private)";
    f.key_frame_offsets = {0};
    for (;;) {
      auto r = a->Append(StreamRef::Name("cam"), f, [&](const Status& s, const FragmentInfo&) {
        if (!s.ok()) ++failed;
      });
      if (r.ok()) break;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    if (i % 1'000'000 == 999'999) {
      const int64_t loaded = i + 1;
      std::fprintf(stderr, "  loaded %lld fragments (%.0f/s)\n", static_cast<long long>(loaded),
                   static_cast<double>(loaded) / (Ms(t0, Steady::now()) / 1e3));
    }
  }
  a->Flush();
  if (failed) std::fprintf(stderr, "%lld appends failed\n", static_cast<long long>(failed.load()));
  return failed == 0;
}

// The history queries at random places of an index of n 2-second fragments, p99 in ms.
struct HistoryP99 {
  double list = 0, playlist = 0, clip = 0;
};

HistoryP99 HistoryQueries(Archive& a, int64_t n, int queries) {
  constexpr int64_t kTenMinutes = 600'000'000, kMinute = 60'000'000;
  const StreamRef cam = StreamRef::Name("cam");
  std::mt19937_64 rng(11);
  std::vector<double> list, playlist, clip;
  auto each = [&](int64_t from, int64_t to, const std::function<bool(FragmentInfo&)>& visit) {
    ListRequest lr;
    lr.stream = cam;
    lr.start_us = from;
    lr.end_us = to - 1;
    if (!ForEachFragment(a, lr, visit).ok()) std::exit(1);
  };
  const auto span = static_cast<uint64_t>(std::max<int64_t>(1, n - kTenMinutes / kTwoSeconds));
  for (int q = 0; q < queries; ++q) {
    const int64_t from = kStartUs + static_cast<int64_t>(rng() % span) * kTwoSeconds;
    // ListFragments: every page of ten minutes (300 rows).
    auto s0 = Steady::now();
    size_t rows = 0;
    each(from, from + kTenMinutes, [&](FragmentInfo&) { return ++rows, true; });
    list.push_back(Ms(s0, Steady::now()));
    // An ON_DEMAND playlist: where the session starts, then its fragments in order.
    s0 = Steady::now();
    Result<FragmentInfo> first = a.FirstAtOrAfter(cam, TimestampType::kServer, from);
    if (!first.ok()) std::exit(1);
    std::vector<FragmentInfo> window;
    each(first->server_timestamp_us, from + kTenMinutes, [&](FragmentInfo& f) {
      window.push_back(std::move(f));
      return window.size() < 1000;
    });
    playlist.push_back(Ms(s0, Steady::now()));
    // GetClip of a minute: its fragments, then each one's bytes.
    s0 = Steady::now();
    std::vector<FragmentInfo> picked;
    each(from, from + kMinute,
         [&](FragmentInfo& f) { return picked.push_back(std::move(f)), true; });
    for (const FragmentInfo& f : picked) {
      if (!a.ReadFragment(cam, f.number).ok()) std::exit(1);
    }
    clip.push_back(Ms(s0, Steady::now()));
    if (rows == 0 || window.empty() || picked.empty()) std::exit(1);
  }
  return {Percentile(list, 0.99), Percentile(playlist, 0.99), Percentile(clip, 0.99)};
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp";
  int64_t n = 10'000'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--dir") dir = argv[i + 1];
    if (k == "--fragments") n = std::stoll(argv[i + 1]);
  }
  const std::string root = dir + "/archive-index-bench";
  std::filesystem::remove_all(root);
  std::unique_ptr<Env> env = NewPosixEnv();
  ManualClock clock(kStartUs);
  Logger logger(clock, LogLevel::kWarn);
  Options o;
  o.root = root;
  o.sweep_interval_us = 0;
  o.sync = false;  // the load only; reopened below with fsync on
  o.max_batch_fragments = 16384;

  // --- Load -------------------------------------------------------------------------
  auto t0 = Steady::now();
  if (!Load(o, *env, clock, logger, n)) return 1;
  const double load_ms = Ms(t0, Steady::now());
  std::unique_ptr<Archive> a;
  CreateStreamRequest req;
  req.retention_hours = kMaxRetentionHours;
  uint64_t index_bytes = 0;
  for (const char* f : {"/index.sqlite", "/index.sqlite-wal"}) {
    std::error_code ec;
    auto sz = std::filesystem::file_size(root + f, ec);
    if (!ec) index_bytes += sz;
  }
  std::printf(
      "archive index bench: %lld fragments (%.0f days of 2-second fragments) loaded "
      "in %.1f s (%.0f fragments/s)\n",
      static_cast<long long>(n), static_cast<double>(n) * 2 / 86400, load_ms / 1e3,
      static_cast<double>(n) / (load_ms / 1e3));
  std::printf("index size: %.1f MB, %.1f bytes per fragment (goal < 200)\n",
              static_cast<double>(index_bytes) / 1e6,
              static_cast<double>(index_bytes) / static_cast<double>(n));
  const std::string at = std::to_string(n) + " fragments: ";
  streamarc::bench::PrintFigure("archive_index_bench", at + "index bytes per fragment",
                                static_cast<double>(index_bytes) / static_cast<double>(n), "B",
                                "goal < 200");

  // --- Open ---------------------------------------------------------------------------
  o.sync = true;
  std::vector<double> opens;
  for (int i = 0; i < 5; ++i) {
    double ms = 0;
    a = Open(o, *env, clock, logger, &ms);
    opens.push_back(ms);
    if (i < 4) a.reset();
  }
  std::printf("open: first %.1f ms, median of 5 %.1f ms (goal < 1000 ms)\n", opens[0],
              Percentile(opens, 0.5));
  streamarc::bench::PrintFigure("archive_index_bench", at + "open, median of 5",
                                Percentile(opens, 0.5), "ms", "goal < 1000 ms");

  // --- Range queries -----------------------------------------------------------------
  clock.Set(kStartUs + n * kTwoSeconds);
  std::mt19937_64 rng(7);
  std::vector<double> page, hour;
  size_t rows = 0;
  for (int q = 0; q < 2000; ++q) {
    const int64_t from =
        kStartUs +
        static_cast<int64_t>(rng() % static_cast<uint64_t>(std::max<int64_t>(1, n - 1800))) *
            kTwoSeconds;
    ListRequest lr;
    lr.stream = StreamRef::Name("cam");
    lr.type = q % 2 ? TimestampType::kProducer : TimestampType::kServer;
    lr.start_us = from;
    lr.end_us = from + kMicrosPerHour - 1;
    lr.max_results = 1000;
    auto s0 = Steady::now();
    Result<ListResult> r = a->ListFragments(lr);
    page.push_back(Ms(s0, Steady::now()));
    if (!r.ok()) return 1;
    rows += r->fragments.size();
    while (!r->next_token.empty()) {
      ListRequest next;
      next.stream = lr.stream;
      next.next_token = r->next_token;
      next.max_results = 1000;
      r = a->ListFragments(next);
      if (!r.ok()) return 1;
      rows += r->fragments.size();
    }
    hour.push_back(Ms(s0, Steady::now()));
  }
  std::printf(
      "ListFragments, one hour (1800 fragments), 2000 random places: first page of "
      "1000 p50 %.2f ms p99 %.2f ms; whole hour (2 pages) p50 %.2f ms p99 %.2f ms "
      "(goal p99 < 2 ms); %zu rows\n",
      Percentile(page, 0.5), Percentile(page, 0.99), Percentile(hour, 0.5), Percentile(hour, 0.99),
      rows);
  streamarc::bench::PrintFigure("archive_index_bench", at + "ListFragments one hour p99",
                                Percentile(hour, 0.99), "ms", "goal < 2 ms");

  // --- History: the same queries over 10 million and over 1,000 ------------------------
  {
    Options small = o;
    small.root = root + "-1000";
    small.sync = false;
    if (!Load(small, *env, clock, logger, 1000)) return 1;
    std::unique_ptr<Archive> s = Open(small, *env, clock, logger, nullptr);
    const int queries = 1000;
    HistoryQueries(*a, n, 50);  // warm both the same way before measuring
    HistoryQueries(*s, 1000, 50);
    const HistoryP99 big = HistoryQueries(*a, n, queries);
    const HistoryP99 few = HistoryQueries(*s, 1000, queries);
    s.reset();
    std::filesystem::remove_all(small.root);
    std::printf(
        "history, %d queries at random places, p99 over %lld / over 1,000 fragments: "
        "ListFragments 10 min %.3f / %.3f ms, ON_DEMAND playlist 10 min %.3f / %.3f ms, "
        "GetClip 1 min (index and reads) %.3f / %.3f ms (goal within 2x)\n",
        queries, static_cast<long long>(n), big.list, few.list, big.playlist, few.playlist,
        big.clip, few.clip);
    const std::string ref = "the same over 1,000 fragments (goal within 2x)";
    streamarc::bench::PrintFigure("archive_index_bench", at + "ListFragments 10 min p99", big.list,
                                  few.list, "ms", ref);
    streamarc::bench::PrintFigure("archive_index_bench",
                                  at + "ON_DEMAND playlist 10 min, index part p99", big.playlist,
                                  few.playlist, "ms", ref);
    streamarc::bench::PrintFigure("archive_index_bench", at + "GetClip 1 min, index and reads p99",
                                  big.clip, few.clip, "ms", ref);
  }

  // --- Retention sweep under ingest -----------------------------------------------------
  // Ten other streams ingest, 64 KiB every 4 ms in turn (16 MB/s, about 30 cameras), so the
  // sweep's half second holds enough acks for a p99.
  constexpr int kLive = 10;
  for (int i = 0; i < kLive; ++i) {
    req.name = "live" + std::to_string(i);  // keeps its data: its fragments are stamped "now"
    if (!a->CreateStream(req).ok()) return 1;
  }
  std::atomic<bool> stop{false}, sweeping{false};
  std::mutex mu;
  std::vector<double> before, during;
  std::thread ingest([&] {
    const std::string live(64 << 10, 'l');
    for (int turn = 0; !stop; ++turn) {
      FragmentInput f;
      f.bytes = live;
      f.server_timestamp_us = clock.NowMicros();
      f.producer_timestamp_us = f.server_timestamp_us;
      f.duration_us = kTwoSeconds;
      const bool in_sweep = sweeping;
      const auto s0 = Steady::now();
      auto r = a->Append(StreamRef::Name("live" + std::to_string(turn % kLive)), std::move(f),
                         [&, s0, in_sweep](const Status&, const FragmentInfo&) {
                           std::lock_guard<std::mutex> lock(mu);
                           (in_sweep ? during : before).push_back(Ms(s0, Steady::now()));
                         });
      (void)r;
      std::this_thread::sleep_for(std::chrono::milliseconds(4));
    }
  });
  std::this_thread::sleep_for(std::chrono::seconds(2));
  // 56 hours of the oldest fragments (100,800 of them) fall out of 10-year retention.
  const int64_t expire = std::min<int64_t>(n, 100'800);
  clock.Set(kStartUs + expire * kTwoSeconds + kMaxRetentionHours * kMicrosPerHour);
  sweeping = true;
  auto s0 = Steady::now();
  Status swept = a->Sweep();
  const double sweep_ms = Ms(s0, Steady::now());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  sweeping = false;
  stop = true;
  ingest.join();
  a->Flush();
  ArchiveStats st = a->Stats();
  std::printf(
      "retention sweep: %llu fragments in %llu segments deleted in %.1f ms (%s; goal "
      "< 1000 ms); concurrent ingest durable-ack p99 %.1f ms before, %.1f ms during "
      "(%zu / %zu samples)\n",
      static_cast<unsigned long long>(st.fragments_expired),
      static_cast<unsigned long long>(st.segments_deleted), sweep_ms, swept.ToString().c_str(),
      Percentile(before, 0.99), Percentile(during, 0.99), before.size(), during.size());
  streamarc::bench::PrintFigure("archive_index_bench",
                                at + "other streams' durable-ack p99 during the sweep",
                                Percentile(during, 0.99), Percentile(before, 0.99), "ms",
                                "the same before the sweep (goal within 1.5x)");
  a.reset();
  std::filesystem::remove_all(root);
  return 0;
}
