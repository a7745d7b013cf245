// Analysis events in the archive: stored next to the fragments, listed by overlap with a
// keyset walk, and deleted with the stream's data.
#include <gtest/gtest.h>

#include <set>

#include "tests/archive/test_util.h"

namespace streamarc::archive::testing {
namespace {

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = kMicrosPerHour;

EventInput Ev(const std::string& label, int64_t start_us, int64_t end_us, double score = 0.5) {
  EventInput e;
  e.label = label;
  e.start_us = start_us;
  e.end_us = end_us;
  e.score = score;
  return e;
}

class EventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(h_.Open().ok());
    h_.Create("cam");
  }

  std::vector<std::string> Put(const std::vector<EventInput>& events,
                               const std::string& stream = "cam") {
    Result<std::vector<std::string>> ids = h_.a().PutEvents(StreamRef::Name(stream), events);
    EXPECT_TRUE(ids.ok()) << ids.status().ToString();
    return ids.ok() ? *ids : std::vector<std::string>{};
  }

  // Every event overlapping [start, end] with `label`, paging with `page`.
  std::vector<EventInfo> ListAll(int64_t start, int64_t end, const std::string& label = "",
                                 int page = 1000, int* pages = nullptr) {
    ListEventsRequest req;
    req.stream = StreamRef::Name("cam");
    req.start_us = start;
    req.end_us = end;
    req.label = label;
    req.max_results = page;
    std::vector<EventInfo> out;
    for (int guard = 0; guard < 10'000; ++guard) {
      Result<ListEventsResult> r = h_.a().ListEvents(req);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) break;
      if (pages) ++*pages;
      EXPECT_LE(r->events.size(), static_cast<size_t>(page));
      for (EventInfo& e : r->events) out.push_back(std::move(e));
      if (r->next_token.empty()) break;
      req.next_token = r->next_token;
      req.start_us = req.end_us = 0;  // the token carries the query
      req.label.clear();
    }
    return out;
  }

  Harness h_;
};

TEST_F(EventsTest, PutThenListReturnsTheOverlappingEventsInStartOrder) {
  const int64_t t = kStartUs;
  EventInput boxed = Ev("person", t + 10 * kSecond, t + 12 * kSecond, 0.875);
  boxed.box = EventBox{10, 20, 300, 400};
  boxed.source = "hog-detector";
  std::vector<std::string> ids = Put({Ev("motion", t, t + 5 * kSecond), boxed,
                                      Ev("motion", t + 30 * kSecond, t + 90 * kSecond),
                                      Ev("motion", t - kHour, t + 2 * kHour)});
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 4u);

  // [t+11 s, t+40 s]: the boxed one (ends inside), the long one (spans it), the one starting
  // inside; not the first (ended at t+5 s).
  std::vector<EventInfo> got = ListAll(t + 11 * kSecond, t + 40 * kSecond);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].id, ids[3]);  // starts an hour earlier
  EXPECT_EQ(got[1].id, ids[1]);
  EXPECT_EQ(got[2].id, ids[2]);
  EXPECT_EQ(got[1].event.label, "person");
  EXPECT_EQ(got[1].event.start_us, t + 10 * kSecond);
  EXPECT_EQ(got[1].event.end_us, t + 12 * kSecond);
  EXPECT_DOUBLE_EQ(got[1].event.score, 0.875);
  ASSERT_TRUE(got[1].event.box.has_value());
  EXPECT_EQ(*got[1].event.box, (EventBox{10, 20, 300, 400}));
  EXPECT_EQ(got[1].event.source, "hog-detector");
  EXPECT_FALSE(got[2].event.box.has_value());
  EXPECT_EQ(got[2].event.source, "");

  // Touching ends count (both inclusive); a range between events finds nothing but the long one.
  EXPECT_EQ(ListAll(t + 5 * kSecond, t + 5 * kSecond).size(), 2u);
  EXPECT_EQ(ListAll(t + 90 * kSecond, t + 90 * kSecond).size(), 2u);
  EXPECT_EQ(ListAll(t + 3 * kHour, t + 4 * kHour).size(), 0u);
}

TEST_F(EventsTest, LabelFilterKeepsOnlyThatLabel) {
  const int64_t t = kStartUs;
  std::vector<EventInput> batch;
  for (int i = 0; i < 60; ++i) {
    batch.push_back(Ev(i % 3 == 0 ? "person" : "motion", t + i * kSecond, t + i * kSecond + 500));
  }
  Put(batch);
  std::vector<EventInfo> persons = ListAll(t, t + kHour, "person", 7);
  ASSERT_EQ(persons.size(), 20u);
  for (size_t i = 0; i < persons.size(); ++i) {
    EXPECT_EQ(persons[i].event.label, "person");
    EXPECT_EQ(persons[i].event.start_us, t + static_cast<int64_t>(i) * 3 * kSecond);
  }
  EXPECT_EQ(ListAll(t, t + kHour, "motion").size(), 40u);
  EXPECT_EQ(ListAll(t, t + kHour, "car").size(), 0u);
}

TEST_F(EventsTest, PagingWithTokensVisitsEveryEventOnceInOrder) {
  const int64_t t = kStartUs;
  // 2,500 events, many sharing a start time (the keyset's tie-break on id), one per 10 s.
  for (int b = 0; b < 25; ++b) {
    std::vector<EventInput> batch;
    for (int i = 0; i < 100; ++i) {
      const int64_t start = t + ((b * 100 + i) / 2) * 10 * kSecond;
      batch.push_back(Ev("motion", start, start + 3 * kSecond));
    }
    ASSERT_EQ(Put(batch).size(), 100u);
  }
  int pages = 0;
  std::vector<EventInfo> all = ListAll(0, t + 365 * 24 * kHour, "", 97, &pages);
  ASSERT_EQ(all.size(), 2500u);
  EXPECT_EQ(pages, 26);  // 25 full pages of 97 and the last 75
  std::set<std::string> seen;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_TRUE(seen.insert(all[i].id).second) << "repeated " << all[i].id;
    if (i > 0) {
      const auto& a = all[i - 1];
      const auto& b = all[i];
      EXPECT_TRUE(a.event.start_us < b.event.start_us ||
                  (a.event.start_us == b.event.start_us && std::stoll(a.id) < std::stoll(b.id)));
    }
  }
  // A sub-range pages the same way as one big page.
  std::vector<EventInfo> one = ListAll(t + 1000 * kSecond, t + 2000 * kSecond, "", 1000);
  std::vector<EventInfo> paged = ListAll(t + 1000 * kSecond, t + 2000 * kSecond, "", 3);
  ASSERT_EQ(one.size(), paged.size());
  ASSERT_EQ(one.size(), 202u);  // starts 1000..2000 s: 101 start times, two events each
  for (size_t i = 0; i < one.size(); ++i) EXPECT_EQ(one[i].id, paged[i].id);
}

TEST_F(EventsTest, RefusesWhatTheListingCannotHold) {
  const int64_t t = kStartUs;
  auto put = [&](std::vector<EventInput> events, const std::string& stream = "cam") {
    return h_.a().PutEvents(StreamRef::Name(stream), events).status().code();
  };
  EXPECT_EQ(put({}), Code::kInvalidArgument);
  EXPECT_EQ(put(std::vector<EventInput>(kMaxEventsPerPut + 1, Ev("m", t, t))),
            Code::kInvalidArgument);
  EXPECT_EQ(put({Ev("", t, t)}), Code::kInvalidArgument);
  EXPECT_EQ(put({Ev("m", t, t - 1)}), Code::kInvalidArgument);
  EXPECT_EQ(put({Ev("m", t, t + kMaxEventDurationUs + 1)}), Code::kInvalidArgument);
  EXPECT_EQ(put({Ev("m", t, t + kMaxEventDurationUs)}), Code::kOk);
  EXPECT_EQ(put({Ev("m", t, t)}, "nope"), Code::kNotFound);
  h_.Create("live-only", 0);
  EXPECT_EQ(put({Ev("m", t, t)}, "live-only"), Code::kFailedPrecondition);

  ListEventsRequest req;
  req.stream = StreamRef::Name("cam");
  req.start_us = t;
  req.end_us = t - 1;
  EXPECT_EQ(h_.a().ListEvents(req).status().code(), Code::kInvalidArgument);
  req.end_us = t;
  req.max_results = 0;
  EXPECT_EQ(h_.a().ListEvents(req).status().code(), Code::kInvalidArgument);
  req.max_results = kMaxListEventsResults + 1;
  EXPECT_EQ(h_.a().ListEvents(req).status().code(), Code::kInvalidArgument);
  req.max_results = 1;
  for (const char* token : {"abc", "ZTE6MTox", "bm90IGEgdG9rZW4="}) {
    req.next_token = token;
    EXPECT_EQ(h_.a().ListEvents(req).status().code(), Code::kInvalidArgument) << token;
  }
  // A token of another stream is refused.
  h_.Create("other");
  Put({Ev("m", t, t), Ev("m", t, t)}, "other");
  ListEventsRequest o = req;
  o.stream = StreamRef::Name("other");
  o.next_token.clear();
  Result<ListEventsResult> first = h_.a().ListEvents(o);
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->next_token.empty());
  req.next_token = first->next_token;
  EXPECT_EQ(h_.a().ListEvents(req).status().code(), Code::kInvalidArgument);
  req.stream = StreamRef::Name("nope");
  EXPECT_EQ(h_.a().ListEvents(req).status().code(), Code::kNotFound);
}

TEST_F(EventsTest, SweepDeletesEventsThatEndBeforeTheDataKept) {
  // One fragment a minute for three hours, one hour of retention, 10-minute segments.
  h_.options.segment_window_us = 10 * kMinute;
  ASSERT_TRUE(h_.Open().ok());
  h_.Create("short", 1);
  for (int i = 0; i < 180; ++i) {
    h_.clock.Set(kStartUs + i * kMinute);
    ASSERT_TRUE(AppendSync(h_.a(), "short", MakeFragment(kStartUs + i * kMinute, 512, i)).ok());
  }
  // One event per minute (producer time, as the fragments' producer timestamps).
  std::vector<EventInput> batch;
  for (int i = 0; i < 180; ++i) {
    const int64_t start = kStartUs + i * kMinute - 500'000;
    batch.push_back(Ev("motion", start, start + 10 * kSecond));
    if (batch.size() == kMaxEventsPerPut || i == 179) {
      Put(batch, "short");
      batch.clear();
    }
  }
  h_.clock.Set(kStartUs + 185 * kMinute);
  ASSERT_TRUE(h_.a().Sweep().ok());
  // The cutoff is minute 125: the twelve segments of minutes 0-119 went, and the stream
  // still stores fragments from minute 120 on (producer time 0.5 s earlier). The events that
  // ended before that went in the same pass; the one that starts there stays.
  ListEventsRequest req;
  req.stream = StreamRef::Name("short");
  req.start_us = 0;
  req.end_us = kStartUs + 365 * 24 * kHour;
  req.max_results = 1000;
  Result<ListEventsResult> left = h_.a().ListEvents(req);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->events.size(), 60u);
  EXPECT_EQ(left->events.front().event.start_us, kStartUs + 120 * kMinute - 500'000);
  EXPECT_EQ(h_.a().Stats().events_expired, 120u);
  // Once all the data is gone, so are the events (the retention cutoff is the bound).
  h_.clock.Set(kStartUs + 10 * kHour);
  ASSERT_TRUE(h_.a().Sweep().ok());
  EXPECT_TRUE(h_.a().ListEvents(req)->events.empty());
  EXPECT_EQ(h_.a().Stats().events_expired, 180u);
}

TEST_F(EventsTest, DeleteStreamDeletesItsEvents) {
  Put({Ev("motion", kStartUs, kStartUs + kSecond), Ev("person", kStartUs, kStartUs + kSecond)});
  Result<StreamInfo> info = h_.a().DescribeStream(StreamRef::Name("cam"));
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(h_.a().DeleteStream(StreamRef::Name("cam"), "").ok());
  // A stream created again under the name (it may even get the same row id) starts empty.
  h_.Create("cam");
  EXPECT_TRUE(ListAll(0, kStartUs * 2).empty());
  EXPECT_TRUE(ListAll(0, kStartUs * 2, "person").empty());
  Result<int64_t> rows = h_.IndexQueryInt("SELECT COUNT(*) FROM events");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, 0);
}

TEST_F(EventsTest, AReopenedArchiveStillHasThemAndIdsAreNotReused) {
  EventInput e = Ev("person", kStartUs, kStartUs + 2 * kSecond, 0.25);
  e.box = EventBox{0, 0, 1920, 1080};
  e.source = "cam-box";
  std::vector<std::string> ids = Put({e, Ev("motion", kStartUs + kSecond, kStartUs + kSecond)});
  ASSERT_TRUE(h_.Open().ok());
  std::vector<EventInfo> got = ListAll(kStartUs, kStartUs + kSecond);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, ids[0]);
  EXPECT_EQ(got[0].event.box, e.box);
  EXPECT_EQ(got[0].event.source, "cam-box");
  EXPECT_DOUBLE_EQ(got[0].event.score, 0.25);
  EXPECT_EQ(got[1].id, ids[1]);
  // The newest event deleted with its stream: its id is still never handed out again.
  h_.Create("tmp");
  std::vector<std::string> tmp = Put({Ev("m", kStartUs, kStartUs)}, "tmp");
  ASSERT_TRUE(h_.a().DeleteStream(StreamRef::Name("tmp"), "").ok());
  std::vector<std::string> next = Put({Ev("m", kStartUs, kStartUs)});
  ASSERT_EQ(next.size(), 1u);
  EXPECT_GT(std::stoll(next[0]), std::stoll(tmp[0]));
}

TEST_F(EventsTest, AVersionOneIndexIsUpgradedAtOpen) {
  h_.Close();
  ASSERT_TRUE(h_.IndexExec("DROP TABLE events; DROP TABLE event_bounds;"
                           " UPDATE meta SET value='1' WHERE key='schema_version'")
                  .ok());
  ASSERT_TRUE(h_.Open().ok());
  EXPECT_EQ(Put({Ev("motion", kStartUs, kStartUs)}).size(), 1u);
  EXPECT_EQ(ListAll(0, kStartUs * 2).size(), 1u);
  // A version this build does not know is refused.
  h_.Close();
  ASSERT_TRUE(h_.IndexExec("UPDATE meta SET value='999' WHERE key='schema_version'").ok());
  EXPECT_EQ(h_.Open().code(), Code::kDataLoss);
}

// A first start killed between the archive id and the schema version (they are now written
// in one transaction) left an index that no later start opened: it opens, at this version.
TEST_F(EventsTest, AnIndexKilledBeforeItsSchemaVersionWasWrittenOpens) {
  h_.Close();
  const std::string version = "SELECT CAST(value AS INTEGER) FROM meta WHERE key='schema_version'";
  Result<int64_t> current = h_.IndexQueryInt(version);
  ASSERT_TRUE(current.ok()) << current.status().ToString();
  ASSERT_TRUE(h_.IndexExec("DELETE FROM meta WHERE key='schema_version'").ok());
  ASSERT_TRUE(h_.Open().ok());
  EXPECT_EQ(Put({Ev("motion", kStartUs, kStartUs)}).size(), 1u);
  h_.Close();
  Result<int64_t> after = h_.IndexQueryInt(version);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(*after, *current);
  EXPECT_GT(*current, 0);
}

// The listing is an index range scan in index order (no scan of the table, no sort), with
// and without a label: the statements sql_events.cc prepares.
TEST_F(EventsTest, ListingIsAnIndexRangeScan) {
  if (h_.on_postgres()) GTEST_SKIP() << "SQLite's query plan";
  Put({Ev("motion", kStartUs, kStartUs + kSecond)});
  const std::string cols =
      "SELECT id, start_us, end_us, label, score, box_x, box_y, box_w, box_h, source FROM events ";
  const std::string page =
      "AND start_us >= 2 AND (start_us > 2 OR id > 3) AND start_us <= 4 AND end_us >= 5"
      " ORDER BY start_us, id LIMIT 6";
  for (const std::string label : {"", "AND label='x' "}) {
    auto plan = streamarc::testing::RunCommand(
        {"sqlite3", h_.options.root + "/index.sqlite",
         "EXPLAIN QUERY PLAN " + cols + "WHERE stream_id=1 " + label + page});
    ASSERT_TRUE(plan.ok() && plan->exit_code == 0) << (plan.ok() ? plan->out : "no sqlite3");
    EXPECT_NE(plan->out.find(label.empty() ? "events_by_start" : "events_by_label"),
              std::string::npos)
        << plan->out;
    EXPECT_NE(plan->out.find("start_us>? AND start_us<?"), std::string::npos) << plan->out;
    EXPECT_EQ(plan->out.find("TEMP B-TREE"), std::string::npos) << plan->out;
  }
}

}  // namespace
}  // namespace streamarc::archive::testing
