// Analysis events at scale: listEvents latency over years of history.
//
// Loads N events (default 1 million) into one stream, spread evenly over one year of
// producer time (about one every 32 s, lasting 1 to 30 s, a fifth of them "person" with a
// box, the rest "motion"), through Archive::PutEvents in requests of 100 (fsync off for the
// load only). Then, at 1000 random places, the events overlapping one hour:
//  - through the archive (ListEvents, pages of 100), all labels and "person" only;
//  - through the HTTP-free service (playback::EventsService: JSON in, JSON out);
//  - again after one 24-hour event is stored, which widens every listing's index range to
//    the day before the hour (the per-event duration cap is the bound).
// Prints p50/p99 per query; no assertions (the goal: milliseconds).
//
// Usage: events_bench [--dir DIR] [--events N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "archive/archive.h"
#include "bench/figures.h"
#include "playback/events.h"

using namespace streamarc;
using namespace streamarc::archive;

namespace {

using Steady = std::chrono::steady_clock;
constexpr int64_t kStartUs = 1'767'225'600'000'000;  // 2026-01-01
constexpr int64_t kYearUs = 365 * 24 * kMicrosPerHour;

double Ms(Steady::time_point a, Steady::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1,
                    static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
}

// Every event overlapping one hour from `from`, in pages of 100; the rows seen.
size_t ListHour(Archive& a, int64_t from, const std::string& label) {
  ListEventsRequest req;
  req.stream = StreamRef::Name("cam");
  req.start_us = from;
  req.end_us = from + kMicrosPerHour;
  req.label = label;
  req.max_results = 100;
  size_t rows = 0;
  for (;;) {
    Result<ListEventsResult> r = a.ListEvents(req);
    if (!r.ok()) {
      std::fprintf(stderr, "ListEvents: %s\n", r.status().ToString().c_str());
      std::exit(1);
    }
    rows += r->events.size();
    if (r->next_token.empty()) return rows;
    req.next_token = r->next_token;
  }
}

void Report(const char* what, const std::vector<double>& ms, size_t rows, size_t queries) {
  std::printf("%-60s p50 %6.2f ms  p99 %6.2f ms  (%.1f events per hour)\n", what,
              Percentile(ms, 0.5), Percentile(ms, 0.99),
              static_cast<double>(rows) / static_cast<double>(queries));
  streamarc::bench::PrintFigure("events_bench", std::string(what) + ", p99", Percentile(ms, 0.99),
                                "ms", "goal: milliseconds");
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp";
  int64_t n = 1'000'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--dir") dir = argv[i + 1];
    if (k == "--events") n = std::max<int64_t>(100, std::stoll(argv[i + 1]));
  }
  const std::string root = dir + "/events-bench";
  std::filesystem::remove_all(root);
  std::unique_ptr<Env> env = NewPosixEnv();
  ManualClock clock(kStartUs + kYearUs);
  Logger logger(clock, LogLevel::kWarn);
  Options o;
  o.root = root;
  o.sweep_interval_us = 0;
  o.sync = false;
  Result<std::unique_ptr<Archive>> opened = OpenLocalArchive(o, *env, clock, logger);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  Archive& a = **opened;
  CreateStreamRequest cs;
  cs.name = "cam";
  cs.retention_hours = kMaxRetentionHours;
  if (!a.CreateStream(cs).ok()) return 1;

  // --- Load -------------------------------------------------------------------------
  std::mt19937_64 rng(11);
  const int64_t step = kYearUs / n;
  std::vector<EventInput> batch;
  const auto t0 = Steady::now();
  for (int64_t i = 0; i < n; ++i) {
    EventInput e;
    const bool person = rng() % 5 == 0;
    e.label = person ? "person" : "motion";
    e.start_us = kStartUs + i * step;
    e.end_us = e.start_us + static_cast<int64_t>(1 + rng() % 30) * 1'000'000;
    e.score = static_cast<double>(rng() % 1000) / 1000.0;
    if (person) e.box = EventBox{static_cast<int64_t>(rng() % 1800), 100, 120, 300};
    e.source = "bench";
    batch.push_back(std::move(e));
    if (batch.size() == kMaxEventsPerPut || i + 1 == n) {
      Result<std::vector<std::string>> ids = a.PutEvents(StreamRef::Name("cam"), batch);
      if (!ids.ok()) {
        std::fprintf(stderr, "PutEvents: %s\n", ids.status().ToString().c_str());
        return 1;
      }
      batch.clear();
    }
  }
  const double load_ms = Ms(t0, Steady::now());
  std::printf(
      "events bench: %lld events over one year (one every %.1f s) loaded in %.1f s "
      "(%.0f events/s)\n",
      static_cast<long long>(n), static_cast<double>(step) / 1e6, load_ms / 1e3,
      static_cast<double>(n) / (load_ms / 1e3));

  // --- Queries ------------------------------------------------------------------------
  constexpr size_t kQueries = 1000;
  auto hours = [&](uint64_t seed) {
    std::mt19937_64 r(seed);
    std::vector<int64_t> from;
    for (size_t q = 0; q < kQueries; ++q) {
      from.push_back(kStartUs +
                     static_cast<int64_t>(r() % static_cast<uint64_t>(kYearUs - kMicrosPerHour)));
    }
    return from;
  };
  auto run = [&](const char* what, const std::string& label) {
    std::vector<double> ms;
    size_t rows = 0;
    for (int64_t from : hours(3)) {
      const auto s0 = Steady::now();
      rows += ListHour(a, from, label);
      ms.push_back(Ms(s0, Steady::now()));
    }
    Report(what, ms, rows, kQueries);
  };
  run("ListEvents, one hour, all labels (pages of 100)", "");
  run("ListEvents, one hour, Label person", "person");

  playback::EventsService svc(a);
  {
    std::vector<double> ms;
    size_t bytes = 0;
    for (int64_t from : hours(5)) {
      const std::string body =
          "{\"StreamName\":\"cam\",\"MaxResults\":1000,\"TimestampRange\":{\"StartTimestamp\":" +
          std::to_string(static_cast<double>(from) / 1e6) +
          ",\"EndTimestamp\":" + std::to_string(static_cast<double>(from) / 1e6 + 3600) + "}}";
      const auto s0 = Steady::now();
      Result<std::string, KvsError> r = svc.ListEvents(body);
      ms.push_back(Ms(s0, Steady::now()));
      if (!r.ok()) return 1;
      bytes += r->size();
    }
    std::printf("%-60s p50 %6.2f ms  p99 %6.2f ms  (%.0f bytes of JSON)\n",
                "EventsService.ListEvents, one hour (JSON in and out)", Percentile(ms, 0.5),
                Percentile(ms, 0.99), static_cast<double>(bytes) / kQueries);
  }

  // One event of the longest allowed duration: from now on every listing reads the index
  // from a day before its range.
  EventInput day;
  day.label = "daylong";
  day.start_us = kStartUs;
  day.end_us = kStartUs + kMaxEventDurationUs;
  if (!a.PutEvents(StreamRef::Name("cam"), {day}).ok()) return 1;
  run("ListEvents, one hour, after one 24-hour event was stored", "");
  run("ListEvents, one hour, Label person, after the 24-hour event", "person");
  opened->reset();
  std::filesystem::remove_all(root);
  return 0;
}
