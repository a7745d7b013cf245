// Recorded spans: kept by the index as fragments are committed, expired, evicted and deleted
// with their stream, listed merged to a minimum gap and paged. Every listing is checked
// against the reference: the fragments ListFragments returns, each a span of its own, merged
// in code (SpanMerger) the same way.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>

#include "archive/pg.h"
#include "archive/sqlite_backend.h"
#include "tests/archive/test_util.h"

namespace streamarc::archive::testing {
namespace {

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kFragmentUs = 2 * kSecond;  // MakeFragment's duration
constexpr int64_t kForever = INT64_MAX / 2;

class SpansTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h_.options.sync = false;  // spans do not depend on it; much faster
    ASSERT_TRUE(h_.Open().ok());
    h_.Create("cam");
  }

  // A fragment starting at `producer_us` (producer time) arriving at `server_us`.
  void Put(int64_t server_us, int64_t producer_us, size_t size = 1000,
           const std::string& stream = "cam") {
    FragmentInput f = MakeFragment(server_us, size, seed_++);
    f.producer_timestamp_us = producer_us;
    Result<FragmentInfo> r = AppendSync(h_.a(), stream, std::move(f));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  // `n` back-to-back 2-second fragments from `t` (both times equal).
  void PutRun(int64_t t, int n, const std::string& stream = "cam") {
    for (int i = 0; i < n; ++i) Put(t + i * kFragmentUs, t + i * kFragmentUs, 1000, stream);
  }

  std::vector<RecordedSpan> List(TimestampType type, int64_t start, int64_t end,
                                 int64_t min_gap = 0, int page = 1000, int* pages = nullptr) {
    ListSpansRequest req;
    req.stream = StreamRef::Name("cam");
    req.type = type;
    req.start_us = start;
    req.end_us = end;
    req.min_gap_us = min_gap;
    req.max_results = page;
    std::vector<RecordedSpan> out;
    for (int guard = 0; guard < 10'000; ++guard) {
      Result<ListSpansResult> r = h_.a().ListRecordingSpans(req);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) break;
      if (pages) ++*pages;
      EXPECT_LE(r->spans.size(), static_cast<size_t>(page));
      out.insert(out.end(), r->spans.begin(), r->spans.end());
      if (r->next_token.empty()) break;
      req.next_token = r->next_token;
      req.start_us = req.end_us = req.min_gap_us = 0;  // the token carries the query
    }
    return out;
  }
  std::vector<RecordedSpan> ListAll(TimestampType type, int64_t min_gap = 0, int page = 1000) {
    return List(type, 0, kForever, min_gap, page);
  }

  // The reference: every visible fragment (ListFragments), each a span, merged in code.
  std::vector<RecordedSpan> FromFragments(TimestampType type, int64_t min_gap = 0) {
    ListRequest req;
    req.stream = StreamRef::Name("cam");
    req.type = type;
    req.start_us = 0;
    req.end_us = kForever;
    std::vector<FragmentInfo> frags;
    EXPECT_TRUE(ForEachFragment(h_.a(), req, [&](FragmentInfo& f) {
                  frags.push_back(f);
                  return true;
                }).ok());
    SpanMerger merger(type, min_gap);
    std::vector<RecordedSpan> out;
    for (const FragmentInfo& f : frags) {
      const int64_t t =
          type == TimestampType::kProducer ? f.producer_timestamp_us : f.server_timestamp_us;
      if (auto closed = merger.Add({t, t + f.duration_us, 1, f.size_bytes})) out.push_back(*closed);
    }
    if (auto last = merger.Finish()) out.push_back(*last);
    return out;
  }
  void ExpectMatchesFragments(int64_t min_gap = 0) {
    for (TimestampType type : {TimestampType::kProducer, TimestampType::kServer}) {
      EXPECT_EQ(ListAll(type, min_gap), FromFragments(type, min_gap))
          << (type == TimestampType::kProducer ? "producer" : "server") << " gap " << min_gap;
    }
  }
  int64_t Rows(const std::string& sql) {
    Result<int64_t> n = h_.IndexQueryInt(sql);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *n : -1;
  }
  void Exec(const std::string& sql) {
    Status s = h_.IndexExec(sql);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }

  Harness h_;
  uint64_t seed_ = 1;
};

TEST_F(SpansTest, BackToBackFragmentsAreOneSpanAndAGapStartsAnother) {
  const int64_t t = kStartUs;
  PutRun(t, 30);                                                // [t, t+60 s]
  PutRun(t + 90 * kSecond, 10);                                 // [t+90 s, t+110 s]: a 30 s gap
  Put(t + 110 * kSecond + 50'000, t + 110 * kSecond + 50'000);  // 50 ms late: still joined
  std::vector<RecordedSpan> spans = ListAll(TimestampType::kProducer);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0], (RecordedSpan{t, t + 60 * kSecond, 30, 30'000}));
  EXPECT_EQ(spans[1], (RecordedSpan{t + 90 * kSecond, t + 112 * kSecond + 50'000, 11, 11'000}));
  ExpectMatchesFragments();
  // Rows in the index: two per type, not 41.
  EXPECT_EQ(Rows("SELECT COUNT(*) FROM spans"), 4);

  // A gap shorter than MinGap is merged; one as long is not.
  EXPECT_EQ(ListAll(TimestampType::kProducer, 31 * kSecond),
            (std::vector<RecordedSpan>{{t, t + 112 * kSecond + 50'000, 41, 41'000}}));
  EXPECT_EQ(ListAll(TimestampType::kProducer, 30 * kSecond).size(), 2u);
  ExpectMatchesFragments(31 * kSecond);

  // A range returns the spans overlapping it whole; touching counts; a gap finds nothing.
  EXPECT_EQ(List(TimestampType::kProducer, t + 10 * kSecond, t + 11 * kSecond),
            (std::vector<RecordedSpan>{spans[0]}));
  EXPECT_EQ(List(TimestampType::kProducer, t + 60 * kSecond, t + 90 * kSecond), spans);
  EXPECT_TRUE(List(TimestampType::kProducer, t + 61 * kSecond, t + 89 * kSecond).empty());
  EXPECT_TRUE(List(TimestampType::kProducer, 0, t - 1).empty());
}

TEST_F(SpansTest, ProducerAndServerTimeHaveTheirOwnSpans) {
  const int64_t t = kStartUs;
  // The producer's clock jumps an hour ahead while the fragments keep arriving back to back,
  // then a 20-second outage delays arrival (server time) with no hole in producer time.
  for (int i = 0; i < 10; ++i) Put(t + i * kFragmentUs, t + i * kFragmentUs);
  for (int i = 10; i < 20; ++i) Put(t + i * kFragmentUs, t + 3600 * kSecond + i * kFragmentUs);
  for (int i = 20; i < 25; ++i) {
    Put(t + 20 * kSecond + i * kFragmentUs, t + 3600 * kSecond + i * kFragmentUs);
  }
  EXPECT_EQ(ListAll(TimestampType::kProducer),
            (std::vector<RecordedSpan>{{t, t + 20 * kSecond, 10, 10'000},
                                       {t + 3620 * kSecond, t + 3650 * kSecond, 15, 15'000}}));
  EXPECT_EQ(ListAll(TimestampType::kServer),
            (std::vector<RecordedSpan>{{t, t + 40 * kSecond, 20, 20'000},
                                       {t + 60 * kSecond, t + 70 * kSecond, 5, 5'000}}));
  ExpectMatchesFragments();
  // Server arrival jitter under a second does not split a span.
  Put(t + 70 * kSecond + 800'000, t + 3650 * kSecond);
  EXPECT_EQ(ListAll(TimestampType::kServer).size(), 2u);
  ExpectMatchesFragments();
}

TEST_F(SpansTest, PagesVisitEveryMergedSpanOnceInOrder) {
  const int64_t t = kStartUs;
  // 57 runs of 3 fragments, 10 s apart: 57 spans.
  for (int r = 0; r < 57; ++r) PutRun(t + r * 16 * kSecond, 3);
  std::vector<RecordedSpan> all = ListAll(TimestampType::kProducer);
  ASSERT_EQ(all.size(), 57u);
  for (int page : {1, 5, 56, 57}) {
    int pages = 0;
    EXPECT_EQ(List(TimestampType::kProducer, 0, kForever, 0, page, &pages), all) << page;
    EXPECT_EQ(pages, (57 + page - 1) / page) << page;
  }
  // Merged by 11 s: runs join pairwise... all of them (10 s gaps); by 5 s: none.
  EXPECT_EQ(ListAll(TimestampType::kProducer, 11 * kSecond).size(), 1u);
  int pages = 0;
  EXPECT_EQ(
      List(TimestampType::kProducer, t + 100 * kSecond, t + 200 * kSecond, 5 * kSecond, 2, &pages)
          .size(),
      7u);  // runs 6..12 overlap [100 s, 200 s]
  EXPECT_EQ(pages, 4);
  ExpectMatchesFragments(11 * kSecond);
}

TEST_F(SpansTest, RetentionTrimsAndDropsTheOldestSpans) {
  h_.Close();
  h_.options.segment_window_us = 60 * kSecond;  // many segments: retention deletes some
  ASSERT_TRUE(h_.Open().ok());
  h_.Create("short", 1);
  const int64_t t = kStartUs;
  auto put = [&](int64_t at) {
    FragmentInput f = MakeFragment(at, 500, seed_++);
    f.producer_timestamp_us = at;
    ASSERT_TRUE(AppendSync(h_.a(), "short", std::move(f)).ok());
  };
  // 100 minutes: one span of 40 minutes, a 10-minute gap, one of 50 minutes.
  for (int64_t at = t; at < t + 40 * 60 * kSecond; at += kFragmentUs) put(at);
  for (int64_t at = t + 50 * 60 * kSecond; at < t + 100 * 60 * kSecond; at += kFragmentUs) {
    put(at);
  }
  auto list = [&](TimestampType type) {
    ListSpansRequest req;
    req.stream = StreamRef::Name("short");
    req.type = type;
    req.end_us = kForever;
    Result<ListSpansResult> r = h_.a().ListRecordingSpans(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->spans : std::vector<RecordedSpan>{};
  };
  ASSERT_EQ(list(TimestampType::kProducer).size(), 2u);
  // An hour after the 70th minute: minutes 0-70 are past retention. They are hidden at once
  // (the first span gone, the second starting at minute 70), then deleted by the sweep.
  for (bool swept : {false, true}) {
    h_.clock.Set(t + 130 * 60 * kSecond);
    if (swept) {
      ASSERT_TRUE(h_.a().Sweep().ok());
    }
    for (TimestampType type : {TimestampType::kProducer, TimestampType::kServer}) {
      std::vector<RecordedSpan> spans = list(type);
      ASSERT_EQ(spans.size(), 1u) << swept;
      EXPECT_EQ(spans[0].start_us, t + 70 * 60 * kSecond) << swept;
      EXPECT_EQ(spans[0].end_us, t + 100 * 60 * kSecond) << swept;
      EXPECT_EQ(spans[0].fragments, 30u * 30) << swept;
      EXPECT_EQ(spans[0].size_bytes, 30u * 30 * 500) << swept;
    }
  }
  EXPECT_GT(h_.a().Stats().fragments_expired, 0u);
  // Everything expires: no span is left, in the listing or the index.
  h_.clock.Set(t + 200 * 60 * kSecond);
  ASSERT_TRUE(h_.a().Sweep().ok());
  EXPECT_TRUE(list(TimestampType::kProducer).empty());
}

TEST_F(SpansTest, EvictionShrinksTheFirstSpan) {
  h_.Close();
  h_.options.max_total_bytes = 400'000;
  h_.options.reserve_bytes = 0;
  ASSERT_TRUE(h_.Open().ok());
  const int64_t t = kStartUs;
  for (int i = 0; i < 60; ++i) Put(t + i * kFragmentUs, t + i * kFragmentUs, 10'000);
  ASSERT_TRUE(h_.a().Sweep().ok());
  ASSERT_GT(h_.a().Stats().fragments_evicted, 0u);
  std::vector<RecordedSpan> spans = ListAll(TimestampType::kProducer);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_GT(spans[0].start_us, t);
  EXPECT_EQ(spans[0].end_us, t + 120 * kSecond);
  EXPECT_EQ(spans[0].fragments, 60 - h_.a().Stats().fragments_evicted);
  ExpectMatchesFragments();
}

TEST_F(SpansTest, ATimestampGoingBackOverlapsAndIsMerged) {
  const int64_t t = kStartUs;
  PutRun(t + 100 * kSecond, 10);  // producer [100 s, 120 s]
  // A new session restarts the producer clock 50 s earlier: [50 s, 80 s], overlapping nothing,
  // then [110 s, 130 s], which overlaps the first run.
  for (int i = 0; i < 15; ++i)
    Put(t + 200 * kSecond + i * kFragmentUs, t + 50 * kSecond + i * kFragmentUs);
  for (int i = 0; i < 10; ++i) {
    Put(t + 300 * kSecond + i * kFragmentUs, t + 110 * kSecond + i * kFragmentUs);
  }
  EXPECT_EQ(ListAll(TimestampType::kProducer),
            (std::vector<RecordedSpan>{{t + 50 * kSecond, t + 80 * kSecond, 15, 15'000},
                                       {t + 100 * kSecond, t + 130 * kSecond, 20, 20'000}}));
  // A range only the third run reaches: the spans that overlap it, merged (the first run,
  // which ends before the range, is not).
  EXPECT_EQ(List(TimestampType::kProducer, t + 125 * kSecond, t + 126 * kSecond),
            (std::vector<RecordedSpan>{{t + 110 * kSecond, t + 130 * kSecond, 10, 10'000}}));
  EXPECT_EQ(List(TimestampType::kProducer, t + 105 * kSecond, t + 106 * kSecond).size(), 1u);
  ExpectMatchesFragments();
}

TEST_F(SpansTest, DeletingTheStreamDeletesItsSpans) {
  PutRun(kStartUs, 5);
  ASSERT_EQ(Rows("SELECT COUNT(*) FROM spans"), 2);
  ASSERT_TRUE(h_.a().DeleteStream(StreamRef::Name("cam"), "").ok());
  EXPECT_EQ(Rows("SELECT COUNT(*) FROM spans"), 0);
  ListSpansRequest req;
  req.stream = StreamRef::Name("cam");
  req.end_us = kForever;
  EXPECT_EQ(h_.a().ListRecordingSpans(req).status().code(), Code::kNotFound);
  h_.Create("cam");
  EXPECT_TRUE(ListAll(TimestampType::kProducer).empty());
}

TEST_F(SpansTest, BadRequestsAreRefused) {
  PutRun(kStartUs, 2);
  ListSpansRequest req;
  req.stream = StreamRef::Name("cam");
  req.start_us = 10;
  req.end_us = 5;
  EXPECT_EQ(h_.a().ListRecordingSpans(req).status().code(), Code::kInvalidArgument);
  req.end_us = 10;
  req.min_gap_us = -1;
  EXPECT_EQ(h_.a().ListRecordingSpans(req).status().code(), Code::kInvalidArgument);
  req.min_gap_us = 0;
  for (int bad : {0, kMaxListSpansResults + 1}) {
    req.max_results = bad;
    EXPECT_EQ(h_.a().ListRecordingSpans(req).status().code(), Code::kInvalidArgument);
  }
  req.max_results = 1;
  req.next_token = "bm90IG91cnM=";
  EXPECT_EQ(h_.a().ListRecordingSpans(req).status().code(), Code::kInvalidArgument);
  // A token of another stream.
  h_.Create("other");
  PutRun(kStartUs, 1, "other");
  Put(kStartUs + 100 * kSecond, kStartUs + 100 * kSecond, 100, "other");
  ListSpansRequest o;
  o.stream = StreamRef::Name("other");
  o.end_us = kForever;
  o.max_results = 1;
  Result<ListSpansResult> r = h_.a().ListRecordingSpans(o);
  ASSERT_TRUE(r.ok() && !r->next_token.empty());
  req.next_token = r->next_token;
  EXPECT_EQ(h_.a().ListRecordingSpans(req).status().code(), Code::kInvalidArgument);
  req.stream = StreamRef::Name("nope");
  EXPECT_EQ(h_.a().ListRecordingSpans(req).status().code(), Code::kNotFound);
}

TEST_F(SpansTest, AVersionTwoIndexGetsItsSpansAtOpen) {
  const int64_t t = kStartUs;
  PutRun(t, 20);
  PutRun(t + 100 * kSecond, 5);
  std::vector<RecordedSpan> before = ListAll(TimestampType::kProducer);
  ASSERT_EQ(before.size(), 2u);
  h_.Close();
  Exec(
      "DROP TABLE spans; DROP TABLE span_overlaps;"
      " UPDATE meta SET value='2' WHERE key='schema_version'");
  ASSERT_TRUE(h_.Open().ok());
  EXPECT_EQ(Rows("SELECT value FROM meta WHERE key='schema_version'"), 3);
  EXPECT_EQ(ListAll(TimestampType::kProducer), before);
  ExpectMatchesFragments();
  // And the upkeep goes on from the rebuilt spans.
  PutRun(t + 150 * kSecond, 2);
  EXPECT_EQ(ListAll(TimestampType::kProducer).size(), 3u);
  ExpectMatchesFragments();
}

// The listing reads spans through their index in order (no table scan, no sort).
TEST_F(SpansTest, ListingIsAnIndexRangeScan) {
  if (h_.on_postgres()) GTEST_SKIP() << "SQLite's query plan";
  PutRun(kStartUs, 2);
  const std::string cols =
      "SELECT id, start_us, end_us, fragments, bytes, first_seq, last_seq FROM spans"
      " WHERE stream_id=1 AND time_type=0 ";
  for (const std::string where :
       {"AND start_us >= 3 AND (start_us > 3 OR id > 4) AND start_us <= 5 AND last_seq >= 6"
        " ORDER BY start_us, id LIMIT 7",
        "AND start_us < 3 AND last_seq >= 4 ORDER BY start_us DESC, id DESC LIMIT 1"}) {
    auto plan = streamarc::testing::RunCommand(
        {"sqlite3", h_.options.root + "/index.sqlite", "EXPLAIN QUERY PLAN " + cols + where});
    ASSERT_TRUE(plan.ok() && plan->exit_code == 0) << (plan.ok() ? plan->out : "no sqlite3");
    EXPECT_NE(plan->out.find("spans_by_start"), std::string::npos) << plan->out;
    EXPECT_EQ(plan->out.find("TEMP B-TREE"), std::string::npos) << plan->out;
  }
}

// The index on its own: a deletion in the middle of a span (retention by server time when the
// server clock went back) splits it.
TEST(IndexSpansTest, DeletingAMiddleSegmentSplitsTheSpan) {
  streamarc::testing::TempDir dir;
  auto pg = streamarc::testing::PgTestDatabase::FromEnvironment();
  Result<SqlBackend> b =
      pg ? OpenPgBackend(pg->url(), false) : OpenSqliteBackend(dir.path() + "/index.sqlite", false);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_TRUE(b->registry->ArchiveId(7).ok());
  std::vector<std::unique_ptr<FragmentInput>> inputs;
  // Three segments of 4 fragments each, seq 1..12, 1 s long back to back.
  for (int64_t seg = 1; seg <= 3; ++seg) {
    std::vector<NewFragmentRow> rows;
    SegmentRow s{
        seg, 1, 0,    static_cast<uint64_t>(seg * 4 - 3), static_cast<uint64_t>(seg * 4), 0,
        0,   0, false};
    for (int64_t i = 0; i < 4; ++i) {
      const uint64_t seq = static_cast<uint64_t>((seg - 1) * 4 + i + 1);
      inputs.push_back(std::make_unique<FragmentInput>());
      FragmentInput& in = *inputs.back();
      in.bytes.assign(10, 'x');
      in.producer_timestamp_us = in.server_timestamp_us = static_cast<int64_t>(seq) * kSecond;
      in.duration_us = kSecond;
      rows.push_back(NewFragmentRow{seq, 1, seg, 56 + 34 * static_cast<uint64_t>(i), &in});
    }
    ASSERT_TRUE(b->index->Commit(rows, {s}).ok());
  }
  auto list = [&] {
    Result<SpanPage> p =
        b->index->ListSpans(1, SpanQuery{IndexTime::kProducer, 0, kForever}, INT64_MIN, 100);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    std::vector<RecordedSpan> out;
    if (p.ok()) {
      for (const IndexedSpan& s : p->spans) {
        out.push_back({s.start_us, s.end_us, s.fragments, s.size_bytes});
      }
    }
    return out;
  };
  EXPECT_EQ(list(), (std::vector<RecordedSpan>{{kSecond, 13 * kSecond, 12, 120}}));
  Result<std::optional<DeletedSegment>> d = b->index->DeleteSegment(2);
  ASSERT_TRUE(d.ok() && *d);
  EXPECT_EQ(list(), (std::vector<RecordedSpan>{{kSecond, 5 * kSecond, 4, 40},
                                               {9 * kSecond, 13 * kSecond, 4, 40}}));
  // A span goes with its last rows.
  ASSERT_TRUE(b->index->DeleteSegment(3).ok());
  EXPECT_EQ(list(), (std::vector<RecordedSpan>{{kSecond, 5 * kSecond, 4, 40}}));
  ASSERT_TRUE(b->index->DeleteSegment(1).ok());
  EXPECT_TRUE(list().empty());
}

// Group commits of many streams at once, as a busy node makes them: the batched statements
// (64 rows, then powers of two) put every stream's fragments, segment and spans where one
// stream's commits would.
TEST(IndexSpansTest, CommitsOfManyStreamsKeepEachStreamsRowsAndSpans) {
  streamarc::testing::TempDir dir;
  auto pg = streamarc::testing::PgTestDatabase::FromEnvironment();
  Result<SqlBackend> b =
      pg ? OpenPgBackend(pg->url(), false) : OpenSqliteBackend(dir.path() + "/index.sqlite", false);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_TRUE(b->registry->ArchiveId(7).ok());
  constexpr int64_t kStreams = 71;  // 64 + 4 + 2 + 1 per statement kind
  std::vector<std::unique_ptr<FragmentInput>> inputs;
  uint64_t seq = 0;
  std::vector<SegmentRow> segs(kStreams);
  // Commit c holds fragment c of every stream: stream k's fragment c starts at c s (+ k ms),
  // 1 s long, 10 + k bytes; commit 2 leaves a 10 s gap before it.
  auto commit = [&](int64_t c) {
    std::vector<NewFragmentRow> rows;
    for (int64_t k = 0; k < kStreams; ++k) {
      inputs.push_back(std::make_unique<FragmentInput>());
      FragmentInput& in = *inputs.back();
      in.bytes.assign(static_cast<size_t>(10 + k), 'x');
      const int64_t start = (c + (c >= 2 ? 10 : 0)) * kSecond + k * 1000;
      in.producer_timestamp_us = in.server_timestamp_us = start;
      in.duration_us = kSecond;
      in.track_info = "track of stream " + std::to_string(k);
      ++seq;
      SegmentRow& seg = segs[static_cast<size_t>(k)];
      if (c == 0) seg = SegmentRow{100 + k, 1000 + k, 0, seq, seq, start, start, 0, false};
      seg.last_seq = seq;
      seg.max_server_us = start;
      seg.committed_end = 56 + 100 * static_cast<uint64_t>(c + 1);
      rows.push_back(
          NewFragmentRow{seq, 1000 + k, 100 + k, 56 + 100 * static_cast<uint64_t>(c), &in});
    }
    Status st = b->index->Commit(rows, segs);
    ASSERT_TRUE(st.ok()) << st.ToString();
  };
  for (int64_t c = 0; c < 3; ++c) commit(c);

  Result<std::vector<SegmentRow>> stored = b->index->Segments();
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->size(), static_cast<size_t>(kStreams));
  for (int64_t k = 0; k < kStreams; ++k) {
    SCOPED_TRACE("stream " + std::to_string(1000 + k));
    auto frags = b->index->After(1000 + k, 0, INT64_MIN, 100);
    ASSERT_TRUE(frags.ok());
    ASSERT_EQ(frags->size(), 3u);
    EXPECT_EQ((*frags)[1].seq, static_cast<uint64_t>(kStreams + k + 1));
    EXPECT_EQ((*frags)[2].size_bytes, static_cast<uint64_t>(10 + k));
    EXPECT_EQ((*frags)[2].track_info, "track of stream " + std::to_string(k));
    Result<SpanPage> p =
        b->index->ListSpans(1000 + k, SpanQuery{IndexTime::kServer, 0, kForever}, INT64_MIN, 10);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    ASSERT_EQ(p->spans.size(), 2u);
    const uint64_t bytes = static_cast<uint64_t>(10 + k);
    EXPECT_EQ(p->spans[0].start_us, k * 1000);
    EXPECT_EQ(p->spans[0].end_us, 2 * kSecond + k * 1000);
    EXPECT_EQ(p->spans[0].fragments, 2u);
    EXPECT_EQ(p->spans[0].size_bytes, 2 * bytes);
    EXPECT_EQ(p->spans[1].start_us, 12 * kSecond + k * 1000);
    EXPECT_EQ(p->spans[1].fragments, 1u);
  }
  auto seg = std::find_if(stored->begin(), stored->end(),
                          [](const SegmentRow& r) { return r.id == 100 + kStreams - 1; });
  ASSERT_NE(seg, stored->end());
  EXPECT_EQ(seg->last_seq, seq);
  EXPECT_EQ(seg->committed_end, 356u);
}

}  // namespace
}  // namespace streamarc::archive::testing
