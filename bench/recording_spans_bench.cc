// Recorded spans at scale: listRecordingSpans against the reference of listing every
// fragment and merging in code, and what keeping the spans costs ingest.
//
// Two archives, loaded through the normal append path (fsync off for the load only):
//  - "month": 30 days of 2-second fragments (1,296,000), with a gap of 30 s to 5 min every
//    6 hours or so (about 120 gaps, placed by a seeded PRNG);
//  - "small": 1,000 fragments (33 minutes) of the same shape.
// For each: ListRecordingSpans over the whole history at a MinGapSeconds of history / 1000
// (one gap per pixel of a 1000-pixel timeline), and over one hour at random places with no
// minimum gap: p50/p99. The reference answers the same query by listing every fragment
// (Archive::ListFragments, pages of 1000) and merging them in code with the same rule
// (SpanMerger); the answers are compared, and the ratio printed.
// Then the ingest cost: FragmentIndex::Commit of group commits of 100 fragments (one each
// for 100 streams, as many cameras ingesting at once) into a SQLite index with the span
// upkeep and into one without it (a bench-only switch of the SQLite index), fsync off so
// that the index's own CPU shows: microseconds per fragment, p50 of the commits.
//
// Usage: recording_spans_bench [--dir DIR] [--hour-queries N] [--month-reference-runs N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "archive/archive.h"
#include "archive/sqlite_backend.h"
#include "bench/figures.h"
#include "playback/recording_spans.h"

using namespace streamarc;
using namespace streamarc::archive;

namespace {

using Steady = std::chrono::steady_clock;
constexpr int64_t kStartUs = 1'767'225'600'000'000;  // 2026-01-01
constexpr int64_t kTwoSeconds = 2'000'000;
constexpr int64_t kSecondUs = 1'000'000;

double Ms(Steady::time_point a, Steady::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1,
                    static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
}

[[noreturn]] void Die(const char* what, const Status& s) {
  std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

struct Loaded {
  std::unique_ptr<Archive> archive;
  int64_t end_us = 0;  // the end of the last fragment
  int64_t fragments = 0;
  double load_s = 0;
};

// `n` 2-second fragments from kStartUs, with a gap of 30-300 s after about one in 10,800.
Loaded Load(const std::string& root, int64_t n, Env& env, const streamarc::Clock& clock,
            Logger& logger) {
  std::filesystem::remove_all(root);
  Options o;
  o.root = root;
  o.sweep_interval_us = 0;
  o.sync = false;
  o.max_batch_fragments = 16384;
  auto opened = OpenLocalArchive(o, env, clock, logger);
  if (!opened.ok()) Die("open", opened.status());
  Loaded out;
  out.archive = std::move(*opened);
  CreateStreamRequest req;
  req.name = "cam";
  req.retention_hours = kMaxRetentionHours;
  if (auto r = out.archive->CreateStream(req); !r.ok()) Die("create", r.status());
  std::mt19937_64 rng(42);
  const std::string payload(64, 'f');
  int64_t t = kStartUs;
  const auto t0 = Steady::now();
  for (int64_t i = 0; i < n; ++i) {
    FragmentInput f;
    f.bytes = payload;
    f.server_timestamp_us = t;
    f.producer_timestamp_us = t - 300'000;
    f.duration_us = kTwoSeconds;
    f.track_info = "V_MPEG4/ISO/AVC 1920x1080";
    f.key_frame_offsets = {0};
    for (;;) {
      auto r =
          out.archive->Append(StreamRef::Name("cam"), f, [](const Status& s, const FragmentInfo&) {
            if (!s.ok()) Die("append", s);
          });
      if (r.ok()) break;
      if (r.status().code() != Code::kResourceExhausted) Die("append", r.status());
      out.archive->Flush();  // back-pressure: let the commit thread catch up
    }
    t += kTwoSeconds;
    if (rng() % 10'800 == 0) t += static_cast<int64_t>(30 + rng() % 271) * kSecondUs;
  }
  out.archive->Flush();
  out.load_s = Ms(t0, Steady::now()) / 1e3;
  out.end_us = t;
  out.fragments = n;
  return out;
}

// The answer under test: every page of ListRecordingSpans.
std::vector<RecordedSpan> ListSpans(Archive& a, TimestampType type, int64_t from, int64_t to,
                                    int64_t min_gap) {
  ListSpansRequest req;
  req.stream = StreamRef::Name("cam");
  req.type = type;
  req.start_us = from;
  req.end_us = to;
  req.min_gap_us = min_gap;
  req.max_results = kMaxListSpansResults;
  std::vector<RecordedSpan> out;
  for (;;) {
    auto r = a.ListRecordingSpans(req);
    if (!r.ok()) Die("ListRecordingSpans", r.status());
    out.insert(out.end(), r->spans.begin(), r->spans.end());
    if (r->next_token.empty()) return out;
    req.next_token = r->next_token;
  }
}

// The reference: every fragment overlapping the range (ListFragments by start; a fragment
// starting up to 20 s before the range may reach into it), merged in code. (The span API
// returns spans overlapping the range whole; the reference clips to the fragments it lists,
// so the answers are compared only where both see the whole history.)
std::vector<RecordedSpan> FromFragments(Archive& a, TimestampType type, int64_t from, int64_t to,
                                        int64_t min_gap, size_t* listed) {
  ListRequest req;
  req.stream = StreamRef::Name("cam");
  req.type = type;
  req.start_us = from - 20 * kSecondUs;
  req.end_us = to;
  req.max_results = 1000;
  SpanMerger merger(type, min_gap);
  std::vector<RecordedSpan> out;
  Status s = ForEachFragment(a, req, [&](FragmentInfo& f) {
    ++*listed;
    const int64_t t =
        type == TimestampType::kProducer ? f.producer_timestamp_us : f.server_timestamp_us;
    if (t + f.duration_us < from) return true;
    if (auto closed = merger.Add({t, t + f.duration_us, 1, f.size_bytes})) out.push_back(*closed);
    return true;
  });
  if (!s.ok()) Die("ListFragments", s);
  if (auto last = merger.Finish()) out.push_back(*last);
  return out;
}

struct Figures {
  double p50 = 0, p99 = 0;
};

template <typename F>
Figures Time(int runs, F&& f) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Steady::now();
    f(i);
    ms.push_back(Ms(t0, Steady::now()));
  }
  return {Percentile(ms, 0.5), Percentile(ms, 0.99)};
}

void RunQueries(const char* name, Loaded& l, int hour_queries, int whole_reference_runs) {
  Archive& a = *l.archive;
  const int64_t history = l.end_us - kStartUs;
  const int64_t gap = history / 1000;
  std::printf("\n%s: %lld fragments over %.1f days, loaded in %.1f s (%.0f fragments/s)\n", name,
              static_cast<long long>(l.fragments), static_cast<double>(history) / 86400e6, l.load_s,
              static_cast<double>(l.fragments) / l.load_s);
  const TimestampType type = TimestampType::kProducer;
  const std::vector<RecordedSpan> spans = ListSpans(a, type, 0, l.end_us, 0);
  std::vector<RecordedSpan> merged = ListSpans(a, type, 0, l.end_us, gap);
  size_t listed = 0;
  const bool same = FromFragments(a, type, 0, l.end_us, gap, &listed) == merged &&
                    FromFragments(a, type, 0, l.end_us, 0, &listed) == spans;
  std::printf("  %zu spans (%zu at MinGapSeconds %.1f); answers equal the reference: %s\n",
              spans.size(), merged.size(), static_cast<double>(gap) / 1e6, same ? "yes" : "NO");

  Figures api = Time(std::max(20, whole_reference_runs * 10),
                     [&](int) { ListSpans(a, type, 0, l.end_us, gap); });
  Figures ref = Time(whole_reference_runs, [&](int) {
    size_t n = 0;
    FromFragments(a, type, 0, l.end_us, gap, &n);
  });
  std::printf(
      "  whole history, MinGap %.0f s: listRecordingSpans p50 %8.3f ms p99 %8.3f ms | "
      "ListFragments+merge p50 %9.2f ms p99 %9.2f ms | ratio p50 %.2e (%.0fx faster)\n",
      static_cast<double>(gap) / 1e6, api.p50, api.p99, ref.p50, ref.p99, api.p50 / ref.p50,
      ref.p50 / api.p50);
  const std::string list_merge = "ListFragments + merge, same run";
  streamarc::bench::PrintFigure("recording_spans_bench",
                                std::string(name) + ": whole history, listRecordingSpans p50",
                                api.p50, ref.p50, "ms", list_merge);

  playback::RecordingSpansService svc(a);
  const std::string body = "{\"StreamName\":\"cam\",\"MinGapSeconds\":" +
                           std::to_string(static_cast<double>(gap) / 1e6) +
                           ",\"TimestampRange\":{\"StartTimestamp\":0,\"EndTimestamp\":" +
                           std::to_string(static_cast<double>(l.end_us) / 1e6) + "}}";
  Figures json = Time(std::max(20, whole_reference_runs * 10), [&](int) {
    if (!svc.ListRecordingSpans(body).ok()) Die("service", Internal("refused"));
  });
  std::printf("  whole history through the JSON service:      p50 %8.3f ms p99 %8.3f ms\n",
              json.p50, json.p99);

  // One hour at random places (the whole of a history shorter than an hour).
  std::mt19937_64 rng(7);
  std::vector<int64_t> from;
  for (int i = 0; i < hour_queries; ++i) {
    const int64_t room = std::max<int64_t>(1, history - kMicrosPerHour);
    from.push_back(kStartUs + static_cast<int64_t>(rng() % static_cast<uint64_t>(room)));
  }
  Figures hour_api =
      Time(hour_queries, [&](int i) { ListSpans(a, type, from[i], from[i] + kMicrosPerHour, 0); });
  size_t hour_listed = 0;
  Figures hour_ref = Time(hour_queries, [&](int i) {
    FromFragments(a, type, from[i], from[i] + kMicrosPerHour, 0, &hour_listed);
  });
  std::printf(
      "  one hour, MinGap 0:           listRecordingSpans p50 %8.3f ms p99 %8.3f ms | "
      "ListFragments+merge p50 %9.2f ms p99 %9.2f ms | ratio p50 %.2e (%.0fx faster; %zu "
      "fragments per hour listed)\n",
      hour_api.p50, hour_api.p99, hour_ref.p50, hour_ref.p99, hour_api.p50 / hour_ref.p50,
      hour_ref.p50 / hour_api.p50, hour_listed / static_cast<size_t>(hour_queries));
  streamarc::bench::PrintFigure("recording_spans_bench",
                                std::string(name) + ": one hour, listRecordingSpans p50",
                                hour_api.p50, hour_ref.p50, "ms", list_merge);
}

// Group commits of one fragment for each of `streams` streams into two fresh SQLite indexes,
// one with the span upkeep and one without, alternating batch by batch so that the machine's
// load falls on both alike: microseconds per fragment of each commit, {with, without}.
std::pair<std::vector<double>, std::vector<double>> CommitCost(const std::string& path, int streams,
                                                               int batches) {
  std::unique_ptr<FragmentIndex> index[2];
  for (int k = 0; k < 2; ++k) {
    const std::string d = path + (k == 0 ? "/with" : "/without");
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    auto c = OpenSqliteConnections(d + "/index.sqlite", /*sync=*/false);
    if (!c.ok()) Die("index", c.status());
    index[k] = NewSqlFragmentIndex(*c, /*keep_spans=*/k == 0);
  }
  std::vector<FragmentInput> inputs(static_cast<size_t>(streams));
  std::vector<SegmentRow> segs(static_cast<size_t>(streams));
  std::pair<std::vector<double>, std::vector<double>> us;
  uint64_t seq = 1;
  for (int b = 0; b < batches; ++b) {
    std::vector<NewFragmentRow> rows;
    for (int s = 0; s < streams; ++s) {
      FragmentInput& in = inputs[static_cast<size_t>(s)];
      in.bytes.assign(64, 'f');
      in.server_timestamp_us = kStartUs + b * kTwoSeconds + s * 1000;
      in.producer_timestamp_us = in.server_timestamp_us - 300'000;
      in.duration_us = kTwoSeconds;
      in.track_info = "V_MPEG4/ISO/AVC 1920x1080";
      in.key_frame_offsets = {0};
      SegmentRow& seg = segs[static_cast<size_t>(s)];
      if (b == 0) {
        seg.id = s + 1;
        seg.stream_id = s + 1;
        seg.window_start_us = kStartUs;
        seg.first_seq = seq;
        seg.min_server_us = in.server_timestamp_us;
      }
      seg.last_seq = seq;
      seg.max_server_us = in.server_timestamp_us;
      seg.committed_end = 56 + 88 * static_cast<uint64_t>(b + 1);
      rows.push_back({seq++, s + 1, s + 1, seg.committed_end - 64, &in});
    }
    for (int k : {b % 2, 1 - b % 2}) {
      const auto t0 = Steady::now();
      if (Status st = index[k]->Commit(rows, segs); !st.ok()) Die("commit", st);
      (k == 0 ? us.first : us.second).push_back(Ms(t0, Steady::now()) * 1000 / streams);
    }
  }
  return us;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp";
  int hour_queries = 200;
  int month_reference_runs = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--dir") dir = argv[i + 1];
    if (k == "--hour-queries") hour_queries = std::max(1, std::stoi(argv[i + 1]));
    if (k == "--month-reference-runs") month_reference_runs = std::max(1, std::stoi(argv[i + 1]));
  }
  const std::string root = dir + "/recording-spans-bench";
  std::unique_ptr<Env> env = NewPosixEnv();
  ManualClock clock(kStartUs + 31 * 24 * kMicrosPerHour);
  Logger logger(clock, LogLevel::kWarn);
  std::printf("recording spans bench (producer time; the reference lists every fragment)\n");
  {
    Loaded small = Load(root + "/small", 1000, *env, clock, logger);
    RunQueries("small", small, hour_queries, 20);
  }
  {
    Loaded month = Load(root + "/month", 30 * 24 * 1800, *env, clock, logger);
    RunQueries("month", month, hour_queries, month_reference_runs);
  }

  auto [with, without] = CommitCost(root + "/commit", 100, 1000);
  std::printf(
      "\ningest, 1000 group commits of 100 fragments (100 streams), fsync off:\n"
      "  with span upkeep    p50 %6.2f us/fragment  p99 %6.2f\n"
      "  without (reference) p50 %6.2f us/fragment  p99 %6.2f  -> ratio p50 %.2f\n",
      Percentile(with, 0.5), Percentile(with, 0.99), Percentile(without, 0.5),
      Percentile(without, 0.99), Percentile(with, 0.5) / Percentile(without, 0.5));
  streamarc::bench::PrintFigure("recording_spans_bench", "index commit per fragment p50",
                                Percentile(with, 0.5), Percentile(without, 0.5), "us",
                                "the index without span upkeep, same run");
  std::filesystem::remove_all(root);
  return 0;
}
