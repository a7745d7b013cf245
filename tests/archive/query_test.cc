#include <gtest/gtest.h>

#include "tests/archive/test_util.h"

namespace streamarc::archive::testing {
namespace {

constexpr int64_t kSecond = 1'000'000;

// 2500 two-second fragments on "cam" and a few on "other".
class QueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(h_.Open().ok());
    h_.Create("cam");
    h_.Create("other");
    for (int i = 0; i < 2500; ++i) {
      FragmentInput f = MakeFragment(kStartUs + i * 2 * kSecond, 64, i);
      f.producer_timestamp_us = kStartUs - 3600 * kSecond + i * 2 * kSecond;
      ASSERT_TRUE(h_.a()
                      .Append(StreamRef::Name("cam"), std::move(f),
                              [](const Status& s, const FragmentInfo&) { ASSERT_TRUE(s.ok()); })
                      .ok());
    }
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(AppendSync(h_.a(), "other", MakeFragment(kStartUs + i * kSecond, 8, i)).ok());
    }
    h_.a().Flush();
    h_.clock.Set(kStartUs + 5001 * kSecond);
  }
  Harness h_;
};

TEST_F(QueryTest, ListsARangeInPagesWithTokens) {
  ListRequest req;
  req.stream = StreamRef::Name("cam");
  req.type = TimestampType::kServer;
  req.start_us = kStartUs + 100 * kSecond;  // fragment 50
  req.end_us = kStartUs + 4100 * kSecond;   // fragment 2050, inclusive
  req.max_results = 1000;
  std::vector<FragmentInfo> all;
  int pages = 0;
  for (;;) {
    Result<ListResult> r = h_.a().ListFragments(req);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ++pages;
    all.insert(all.end(), r->fragments.begin(), r->fragments.end());
    if (r->next_token.empty()) break;
    req = ListRequest{};
    req.stream = StreamRef::Name("cam");
    req.next_token = r->next_token;
    req.max_results = 1000;
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(all.size(), 2001u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].server_timestamp_us, kStartUs + (50 + static_cast<int64_t>(i)) * 2 * kSecond);
    if (i) {
      EXPECT_LT(all[i - 1].number, all[i].number);
    }
  }
}

TEST_F(QueryTest, ListsByProducerTime) {
  ListRequest req;
  req.stream = StreamRef::Name("cam");
  req.type = TimestampType::kProducer;
  req.start_us = kStartUs - 3600 * kSecond;
  req.end_us = kStartUs - 3600 * kSecond + 9 * kSecond;
  Result<ListResult> r = h_.a().ListFragments(req);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->fragments.size(), 5u);
  EXPECT_TRUE(r->next_token.empty());
  EXPECT_EQ(r->fragments[4].producer_timestamp_us, kStartUs - 3600 * kSecond + 8 * kSecond);
}

TEST_F(QueryTest, RejectsBadRequests) {
  ListRequest req;
  req.stream = StreamRef::Name("cam");
  req.start_us = 10;
  req.end_us = 5;
  EXPECT_EQ(h_.a().ListFragments(req).status().code(), Code::kInvalidArgument);
  req.end_us = 20;
  req.max_results = 1001;
  EXPECT_EQ(h_.a().ListFragments(req).status().code(), Code::kInvalidArgument);
  req.max_results = 10;
  req.next_token = "garbage=";
  EXPECT_EQ(h_.a().ListFragments(req).status().code(), Code::kInvalidArgument);
  // A token from one stream is refused on another.
  ListRequest first;
  first.stream = StreamRef::Name("cam");
  first.start_us = 0;
  first.end_us = kStartUs * 2;
  first.max_results = 1;
  std::string token = h_.a().ListFragments(first)->next_token;
  ASSERT_FALSE(token.empty());
  ListRequest other;
  other.stream = StreamRef::Name("other");
  other.next_token = token;
  EXPECT_EQ(h_.a().ListFragments(other).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(h_.a().GetFragment(StreamRef::Name("cam"), "1234").status().code(),
            Code::kInvalidArgument);
}

TEST_F(QueryTest, FirstLatestAndAfter) {
  Result<FragmentInfo> first =
      h_.a().FirstAtOrAfter(StreamRef::Name("cam"), TimestampType::kServer, kStartUs + 3 * kSecond);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->server_timestamp_us, kStartUs + 4 * kSecond);
  EXPECT_EQ(
      h_.a()
          .FirstAtOrAfter(StreamRef::Name("cam"), TimestampType::kServer, kStartUs + 6000 * kSecond)
          .status()
          .code(),
      Code::kNotFound);
  Result<FragmentInfo> latest = h_.a().Latest(StreamRef::Name("cam"));
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->server_timestamp_us, kStartUs + 2499 * 2 * kSecond);
  Result<std::vector<FragmentInfo>> after =
      h_.a().FragmentsAfter(StreamRef::Name("cam"), first->number, 3);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 3u);
  EXPECT_EQ((*after)[0].server_timestamp_us, kStartUs + 6 * kSecond);
  Result<std::vector<FragmentInfo>> from_start =
      h_.a().FragmentsAfter(StreamRef::Name("other"), "", 10);
  ASSERT_EQ(from_start->size(), 5u);
  // A fragment of one stream is not found through another.
  EXPECT_EQ(h_.a().GetFragment(StreamRef::Name("other"), first->number).status().code(),
            Code::kNotFound);
}

TEST_F(QueryTest, PagesThroughEqualTimestamps) {
  // Twelve fragments with the same producer time: pages of 5 must still return each once.
  h_.Create("dup");
  std::vector<std::string> numbers;
  for (int i = 0; i < 12; ++i) {
    FragmentInput f = MakeFragment(kStartUs + 5000 * kSecond, 16, i);
    f.producer_timestamp_us = 42;
    numbers.push_back(AppendSync(h_.a(), "dup", std::move(f))->number);
  }
  ListRequest req;
  req.stream = StreamRef::Name("dup");
  req.type = TimestampType::kProducer;
  req.start_us = 42;
  req.end_us = 42;
  req.max_results = 5;
  std::vector<std::string> got;
  for (;;) {
    Result<ListResult> r = h_.a().ListFragments(req);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (const FragmentInfo& f : r->fragments) got.push_back(f.number);
    if (r->next_token.empty()) break;
    req.next_token = r->next_token;
  }
  EXPECT_EQ(got, numbers);
}

TEST_F(QueryTest, RangeQueryUsesTheIndex) {
  // Not a timing test: the plan must be an index search, never a scan of the table.
  Result<ListResult> r = [&] {
    ListRequest req;
    req.stream = StreamRef::Name("cam");
    req.start_us = kStartUs;
    req.end_us = kStartUs + 3600 * kSecond;
    return h_.a().ListFragments(req);
  }();
  ASSERT_TRUE(r.ok());
  if (h_.on_postgres()) GTEST_SKIP() << "SQLite's query plan";
  // The statement ListFragments prepares (query.cc), for both timestamp kinds.
  for (const std::string ts : {"f.producer_us", "f.server_us"}) {
    auto plan = streamarc::testing::RunCommand(
        {"sqlite3", h_.options.root + "/index.sqlite",
         "EXPLAIN QUERY PLAN SELECT f.seq, f.producer_us, f.server_us, f.duration_us,"
         " f.byte_length, f.key_frames, t.blob FROM fragments f LEFT JOIN track_infos t ON"
         " t.id = f.track_info_id WHERE f.stream_id=1 AND (" +
             ts + ", f.seq) > (5, 6) AND " + ts + " <= 9 AND f.server_us >= 3 ORDER BY " + ts +
             ", f.seq LIMIT 10"});
    // scripts/install-deps.sh installs the sqlite3 CLI: its absence is a failure.
    ASSERT_TRUE(plan.ok() && plan->exit_code == 0) << (plan.ok() ? plan->out : "no sqlite3");
    const std::string index = ts == "f.server_us" ? "fragments_by_server" : "fragments_by_producer";
    EXPECT_NE(plan->out.find("SEARCH f USING"), std::string::npos) << plan->out;
    EXPECT_NE(plan->out.find(index), std::string::npos) << plan->out;
    EXPECT_EQ(plan->out.find("TEMP B-TREE"), std::string::npos) << plan->out;
  }
}

// ForEachFragment: the paging loop GetClip and HLS share.
TEST_F(QueryTest, ForEachFragmentPagesInOrderAndStopsWhenAsked) {
  ListRequest req;
  req.stream = StreamRef::Name("cam");
  req.type = TimestampType::kServer;
  req.start_us = kStartUs + 100 * kSecond;  // fragment 50
  req.end_us = kStartUs + 4100 * kSecond;   // fragment 2050, inclusive
  req.max_results = 300;                    // 7 pages
  std::vector<FragmentInfo> all;
  ASSERT_TRUE(ForEachFragment(h_.a(), req, [&](FragmentInfo& f) {
                all.push_back(std::move(f));
                return true;
              }).ok());
  ASSERT_EQ(all.size(), 2001u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].server_timestamp_us, kStartUs + (50 + static_cast<int64_t>(i)) * 2 * kSecond);
    if (i) {
      EXPECT_LT(all[i - 1].number, all[i].number);
    }
  }

  // Stopping inside the second page: exactly as many visits as asked for.
  size_t seen = 0;
  ASSERT_TRUE(ForEachFragment(h_.a(), req, [&](FragmentInfo&) { return ++seen < 450; }).ok());
  EXPECT_EQ(seen, 450u);

  // Continuing from a token a caller already holds.
  ListRequest first = req;
  first.max_results = 1000;
  Result<ListResult> page = h_.a().ListFragments(first);
  ASSERT_TRUE(page.ok());
  ListRequest rest;
  rest.stream = StreamRef::Name("cam");
  rest.next_token = page->next_token;
  rest.max_results = 500;
  size_t after = 0;
  int64_t first_ts = 0;
  ASSERT_TRUE(ForEachFragment(h_.a(), rest, [&](FragmentInfo& f) {
                if (after++ == 0) first_ts = f.server_timestamp_us;
                return true;
              }).ok());
  EXPECT_EQ(after, 1001u);
  EXPECT_EQ(first_ts, kStartUs + 1050 * 2 * kSecond);
}

TEST_F(QueryTest, ForEachFragmentReportsListErrors) {
  ListRequest req;
  req.stream = StreamRef::Name("nope");
  req.start_us = kStartUs;
  req.end_us = kStartUs + kSecond;
  int visits = 0;
  auto count = [&](FragmentInfo&) { return ++visits > 0; };
  EXPECT_EQ(ForEachFragment(h_.a(), req, count).code(), Code::kNotFound);
  req.stream = StreamRef::Name("cam");
  req.end_us = kStartUs - kSecond;  // end before start
  EXPECT_EQ(ForEachFragment(h_.a(), req, count).code(), Code::kInvalidArgument);
  req.end_us = kStartUs + kSecond;
  req.next_token = "not-a-token";
  EXPECT_EQ(ForEachFragment(h_.a(), req, count).code(), Code::kInvalidArgument);
  EXPECT_EQ(visits, 0);
  // An empty range visits nothing and succeeds.
  req.next_token.clear();
  req.start_us = kStartUs - 100 * kSecond;
  req.end_us = kStartUs - 50 * kSecond;
  EXPECT_TRUE(ForEachFragment(h_.a(), req, count).ok());
  EXPECT_EQ(visits, 0);
}

}  // namespace
}  // namespace streamarc::archive::testing
