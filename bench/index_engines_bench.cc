// The fragment index on PostgreSQL against the same index on SQLite (issue 16), in one run:
// the same N 2-second fragments of one stream are committed into both through
// FragmentIndex::Commit (the group commit's call, batches of 500 rows, a segment per hour),
// then FragmentIndex::List, the query behind ListFragments, runs for one hour and for ten
// minutes at the same random places on both. Prints p50/p99 of each, and the commit cost per
// fragment, PostgreSQL / SQLite.
//
// Usage: index_engines_bench [--fragments N] [--index postgresql://...] [--dir DIR]
//   --fragments  default 1,000,000 (about 23 days); the figure is at 10,000,000
//   --index      an EMPTY database to use; without it the benchmark starts a throwaway
//                PostgreSQL server with tests/support/pg_server.sh (as the tests do)
//   --dir        where the SQLite index and the server's state go (default a temp dir)
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "archive/pg.h"
#include "archive/sqlite_backend.h"
#include "bench/figures.h"

using namespace streamarc;
using namespace streamarc::archive;

namespace {

using Steady = std::chrono::steady_clock;
constexpr int64_t kStartUs = 1'767'225'600'000'000;  // 2026-01-01
constexpr int64_t kTwoSeconds = 2'000'000;
constexpr int64_t kHour = 3'600'000'000;
constexpr int kBatch = 500;
constexpr int kQueries = 1000;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1,
                    static_cast<size_t>(std::lround(p * static_cast<double>(v.size() - 1))))];
}

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "index_engines_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

// Commits n fragments of stream 1; microseconds of Commit per fragment.
double Load(FragmentIndex& index, int64_t n, const char* engine) {
  FragmentInput in;
  in.bytes.assign(16, 'f');
  in.duration_us = kTwoSeconds;
  in.track_info = "V_MPEG4/ISO/AVC 1920x1080 (codec private)";
  in.key_frame_offsets = {0};
  std::vector<FragmentInput> inputs(kBatch, in);
  constexpr int64_t kPerSegment = kHour / kTwoSeconds;
  double commit_s = 0;
  SegmentRow seg;
  for (int64_t first = 0; first < n; first += kBatch) {
    std::vector<NewFragmentRow> rows;
    std::vector<SegmentRow> segs;
    for (int64_t i = first; i < std::min(n, first + kBatch); ++i) {
      FragmentInput& f = inputs[static_cast<size_t>(i - first)];
      f.server_timestamp_us = kStartUs + i * kTwoSeconds;
      f.producer_timestamp_us = f.server_timestamp_us - 300'000;
      const int64_t segment = i / kPerSegment + 1;
      if (seg.id != segment) {
        if (seg.id != 0) segs.push_back(seg);
        seg = SegmentRow{segment,
                         1,
                         kStartUs + (segment - 1) * kHour,
                         static_cast<uint64_t>(i + 1),
                         0,
                         f.server_timestamp_us,
                         0,
                         0,
                         false};
      }
      const uint64_t offset = 56 + static_cast<uint64_t>(i % kPerSegment) * 40;
      rows.push_back(NewFragmentRow{static_cast<uint64_t>(i + 1), 1, segment, offset, &f});
      seg.last_seq = static_cast<uint64_t>(i + 1);
      seg.max_server_us = f.server_timestamp_us;
      seg.committed_end = offset + f.bytes.size();
    }
    segs.push_back(seg);
    const auto t0 = Steady::now();
    if (Status s = index.Commit(rows, segs); !s.ok()) Die(std::string(engine) + " commit", s);
    commit_s += std::chrono::duration<double>(Steady::now() - t0).count();
    if ((first / kBatch) % 2000 == 1999) {
      const long long loaded = first + kBatch;
      std::fprintf(stderr, "  %s: %lld fragments\n", engine, loaded);
    }
  }
  return commit_s * 1e6 / static_cast<double>(n);
}

// Group commits as many cameras make them: each commit holds one fragment of each of
// `streams` streams (ids from 1001), fragment numbers after `first_seq`; `commits` of them.
// Microseconds of Commit per fragment: the per-stream work (each stream's spans and segment
// row) shows here, where Load's one-stream batches hide it.
double LoadManyStreams(FragmentIndex& index, int streams, int commits, uint64_t first_seq,
                       const char* engine) {
  FragmentInput in;
  in.bytes.assign(16, 'f');
  in.duration_us = kTwoSeconds;
  in.track_info = "V_MPEG4/ISO/AVC 1920x1080 (codec private)";
  in.key_frame_offsets = {0};
  std::vector<FragmentInput> inputs(static_cast<size_t>(streams), in);
  std::vector<SegmentRow> segs(static_cast<size_t>(streams));
  uint64_t seq = first_seq;
  double commit_s = 0;
  for (int c = 0; c < commits; ++c) {
    std::vector<NewFragmentRow> rows;
    for (int k = 0; k < streams; ++k) {
      const int64_t stream = 1001 + k;
      FragmentInput& f = inputs[static_cast<size_t>(k)];
      f.server_timestamp_us = kStartUs + c * kTwoSeconds + k;
      f.producer_timestamp_us = f.server_timestamp_us - 300'000;
      SegmentRow& seg = segs[static_cast<size_t>(k)];
      const uint64_t offset = 56 + static_cast<uint64_t>(c) * 40;
      if (c == 0) {
        seg = SegmentRow{1'000'000 + stream,    stream, kStartUs, seq + 1, 0,
                         f.server_timestamp_us, 0,      0,        false};
      }
      ++seq;
      rows.push_back(NewFragmentRow{seq, stream, seg.id, offset, &f});
      seg.last_seq = seq;
      seg.max_server_us = f.server_timestamp_us;
      seg.committed_end = offset + f.bytes.size();
    }
    const auto t0 = Steady::now();
    if (Status s = index.Commit(rows, segs); !s.ok()) Die(std::string(engine) + " commit", s);
    commit_s += std::chrono::duration<double>(Steady::now() - t0).count();
  }
  return commit_s * 1e6 / (static_cast<double>(streams) * commits);
}

struct Latency {
  double p50 = 0, p99 = 0;
};

// List over `length` from the same kQueries random places (seeded) of an index of n fragments.
Latency Query(FragmentIndex& index, int64_t n, int64_t length) {
  std::mt19937_64 rng(7);
  const auto span = static_cast<uint64_t>(std::max<int64_t>(1, n - length / kTwoSeconds));
  std::vector<double> ms;
  for (int q = 0; q < kQueries; ++q) {
    const int64_t from = kStartUs + static_cast<int64_t>(rng() % span) * kTwoSeconds;
    const auto t0 = Steady::now();
    int64_t after_ts = from - 1, after_seq = INT64_MAX;
    for (;;) {  // pages of 1,000, as ListFragments reads them
      auto page = index.List(1, IndexTime::kServer, after_ts, after_seq, from + length - 1,
                             INT64_MIN, 1000);
      if (!page.ok()) Die("list", page.status());
      if (page->empty()) break;
      after_ts = page->back().server_us;
      after_seq = static_cast<int64_t>(page->back().seq);
      if (page->size() < 1000) break;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - t0).count());
  }
  return {Percentile(ms, 0.5), Percentile(ms, 0.99)};
}

}  // namespace

int main(int argc, char** argv) {
  int64_t n = 1'000'000;
  std::string url, dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--fragments" && i + 1 < argc) {
      n = std::atoll(argv[++i]);
    } else if (a == "--index" && i + 1 < argc) {
      url = argv[++i];
    } else if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: index_engines_bench [--fragments N] [--index URL] [--dir DIR]\n");
      return 2;
    }
  }
  if (n < 1000) n = 1000;
  if (dir.empty()) {
    char tmpl[] = "/tmp/index_engines_bench.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return 1;
    dir = tmpl;
  }
  std::filesystem::create_directories(dir);
  const std::string state = dir + "/pg-server";
  const std::string script = std::string(STREAMARC_SOURCE_DIR) + "/tests/support/pg_server.sh";
  if (url.empty()) {
    if (std::system(("bash " + script + " start " + state + " >&2").c_str()) != 0) return 1;
    std::ifstream f(state + "/url");
    std::getline(f, url);
    const std::string create = "psql -q '" + url + "postgres' -c 'CREATE DATABASE bench' >&2";
    if (std::system(create.c_str()) != 0) return 1;
    url += "bench";
  }

  std::filesystem::remove(dir + "/index.sqlite");
  Result<SqlBackend> sqlite = OpenSqliteBackend(dir + "/index.sqlite", /*sync=*/false);
  if (!sqlite.ok()) Die("sqlite", sqlite.status());
  Result<SqlBackend> pg = OpenPgBackend(url, /*read_only=*/false);
  if (!pg.ok()) Die("postgresql", pg.status());

  std::printf("index_engines_bench: %lld fragments of one stream, fsync off on both\n",
              static_cast<long long>(n));
  const double sqlite_commit = Load(*sqlite->index, n, "sqlite");
  const double pg_commit = Load(*pg->index, n, "postgresql");
  std::printf("  commit per fragment (batches of %d): PostgreSQL %.1f us, SQLite %.1f us\n", kBatch,
              pg_commit, sqlite_commit);
  const std::string bench = "index_engines_bench";
  const std::string label = std::to_string(n) + " fragments";
  const std::string ref = "SQLite, same fragments, same run";
  streamarc::bench::PrintFigure(bench, label + ": PostgreSQL commit per fragment", pg_commit,
                                sqlite_commit, "us", ref);
  for (const auto& [name, length] : {std::pair<const char*, int64_t>{"one hour", kHour},
                                     std::pair<const char*, int64_t>{"10 min", kHour / 6}}) {
    // Alternating engines would share the machine's noise alike; one after the other keeps
    // each engine's caches as a lone reader's would be.
    const Latency s = Query(*sqlite->index, n, length);
    const Latency p = Query(*pg->index, n, length);
    std::printf(
        "  ListFragments %s: PostgreSQL p50 %.3f p99 %.3f ms, SQLite p50 %.3f p99 %.3f ms\n", name,
        p.p50, p.p99, s.p50, s.p99);
    streamarc::bench::PrintFigure(bench, label + ": PostgreSQL ListFragments " + name + " p50",
                                  p.p50, s.p50, "ms", ref);
    streamarc::bench::PrintFigure(bench, label + ": PostgreSQL ListFragments " + name + " p99",
                                  p.p99, s.p99, "ms", ref);
  }
  constexpr int kStreams = 300, kCommits = 100;
  const double sqlite_many =
      LoadManyStreams(*sqlite->index, kStreams, kCommits, static_cast<uint64_t>(n), "sqlite");
  const double pg_many =
      LoadManyStreams(*pg->index, kStreams, kCommits, static_cast<uint64_t>(n), "postgresql");
  std::printf(
      "  commit per fragment, %d streams (each commit one fragment of each, %d commits): "
      "PostgreSQL %.1f us, SQLite %.1f us\n",
      kStreams, kCommits, pg_many, sqlite_many);
  streamarc::bench::PrintFigure(
      bench, std::to_string(kStreams) + " streams: PostgreSQL commit per fragment", pg_many,
      sqlite_many, "us", "SQLite, same commits, same run");
  sqlite->index.reset();
  pg->index.reset();
  pg->registry.reset();
  if (std::filesystem::exists(state) &&
      std::system(("bash " + script + " stop " + state + " >&2").c_str()) != 0) {
    std::fprintf(stderr, "index_engines_bench: could not stop the PostgreSQL server\n");
  }
  return 0;
}
