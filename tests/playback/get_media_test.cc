// GetMedia's pure logic: the chunk layout parsed back with mkv::Reader, KVS's tag values,
// and the request parsers with good and malformed input.
#include "playback/get_media.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/mkv.h"
#include "playback/get_media_request.h"
#include "tests/support/mkv_stream.h"

namespace streamarc::playback {
namespace {

using nlohmann::json;

// Records every event of a parsed chunk stream.
class Events : public mkv::ReaderHandler {
 public:
  Status OnEbmlHeader(const mkv::EbmlHeader&) override {
    log.push_back("ebml");
    return Status::Ok();
  }
  Status OnTracks(const std::vector<mkv::TrackInfo>& t) override {
    log.push_back("tracks");
    tracks = t;
    return Status::Ok();
  }
  Status OnClusterStart(const mkv::ClusterStart&) override {
    log.push_back("cluster");
    return Status::Ok();
  }
  Status OnFrame(const mkv::Frame& f) override {
    frames.push_back(f.timecode);
    return Status::Ok();
  }
  Status OnTags(const std::vector<mkv::SimpleTag>& t) override {
    log.push_back("tags");
    for (const auto& tag : t) tags.emplace_back(tag.name, tag.value);
    return Status::Ok();
  }
  std::vector<std::string> log;
  std::vector<mkv::TrackInfo> tracks;
  std::vector<int64_t> frames;
  std::vector<std::pair<std::string, std::string>> tags;
};

// A stored fragment as PutMedia leaves it: the header section and one cluster.
struct Stored {
  archive::FragmentInfo info;
  std::string cluster;
};

Stored MakeFragment(const std::string& number, int64_t first_timecode_ms) {
  Stored s;
  mkv::TrackInfo video = streamarc::testing::H264Track(/*codec_private=*/{});
  video.pixel_width = 320;
  video.pixel_height = 240;
  const mkv::Bytes header = streamarc::testing::MkvHeader({video});
  s.info.track_info.assign(header.begin(), header.end());
  mkv::Bytes cluster;
  mkv::Writer cw(cluster);
  EXPECT_TRUE(cw.BeginCluster(first_timecode_ms).ok());
  const uint8_t data[] = {0, 0, 0, 1, 0x65, 1, 2, 3};
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(cw.WriteFrame(1, first_timecode_ms + i * 33, i == 0, data).ok());
  }
  EXPECT_TRUE(cw.EndCluster().ok());
  s.cluster.assign(cluster.begin(), cluster.end());
  s.info.number = number;
  s.info.server_timestamp_us = 1'511'852'109'126'000;
  s.info.producer_timestamp_us = 1'511'852'108'513'400;
  s.info.duration_us = 100'000;
  s.info.size_bytes = s.cluster.size();
  return s;
}

Events Parse(const std::string& bytes) {
  Events e;
  mkv::Reader reader(e);
  EXPECT_TRUE(reader.Feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}).ok());
  EXPECT_TRUE(reader.Finish().ok());
  return e;
}

TEST(GetMediaChunk, LayoutIsHeaderTagsClusterTagsAndEachChunkStandsAlone) {
  const std::string n1 = "91343852333181432392682062607743920146159169392";
  const std::string n2 = "91343852333181432392682062607743920146159169393";
  Stored a = MakeFragment(n1, 1000);
  Stored b = MakeFragment(n2, 2000);
  const int64_t now = a.info.server_timestamp_us + 15'858'000;
  std::string stream =
      BuildMediaChunk(a.info, a.cluster, now) + BuildMediaChunk(b.info, b.cluster, now);
  Events e = Parse(stream);
  const std::vector<std::string> want = {"ebml", "tracks", "tags", "cluster", "tags",
                                         "ebml", "tracks", "tags", "cluster", "tags"};
  EXPECT_EQ(e.log, want);
  EXPECT_EQ(e.frames, (std::vector<int64_t>{1000, 1033, 1066, 2000, 2033, 2066}));
  ASSERT_EQ(e.tags.size(), 10u);
  EXPECT_EQ(e.tags[0], std::make_pair(std::string(kTagFragmentNumber), n1));
  EXPECT_EQ(e.tags[1],
            std::make_pair(std::string(kTagServerTimestamp), std::string("1511852109.126")));
  EXPECT_EQ(e.tags[2],
            std::make_pair(std::string(kTagProducerTimestamp), std::string("1511852108.513")));
  EXPECT_EQ(e.tags[3], std::make_pair(std::string(kTagMillisBehindNow), std::string("15858")));
  EXPECT_EQ(e.tags[4], std::make_pair(std::string(kTagContinuationToken), n1));
  EXPECT_EQ(e.tags[9], std::make_pair(std::string(kTagContinuationToken), n2));
}

TEST(GetMediaChunk, ErrorChunkCarriesCodeAndId) {
  Events e = Parse(BuildErrorChunk("123", "FRAGMENT_NOT_FOUND", kErrorFragmentNotFound));
  ASSERT_EQ(e.tags.size(), 3u);
  EXPECT_EQ(e.tags[0].second, "123");
  EXPECT_EQ(e.tags[1],
            std::make_pair(std::string(kTagErrorCode), std::string("FRAGMENT_NOT_FOUND")));
  EXPECT_EQ(e.tags[2], std::make_pair(std::string(kTagErrorId), std::string("4000")));
  // Without a fragment number the tag is left out.
  EXPECT_EQ(Parse(BuildErrorChunk("", "INTERNAL_ERROR", kErrorInternal)).tags.size(), 2u);
}

TEST(GetMediaChunk, MillisBehindNowNeverNegative) {
  Stored a = MakeFragment("1", 0);
  Events e = Parse(BuildMediaChunk(a.info, a.cluster, a.info.server_timestamp_us - 5'000'000));
  EXPECT_EQ(e.tags[3].second, "0");
}

TEST(GetMediaChunk, EpochSecondsHaveThreeDecimals) {
  EXPECT_EQ(FormatEpochSeconds(0), "0.000");
  EXPECT_EQ(FormatEpochSeconds(1'000'000), "1.000");
  EXPECT_EQ(FormatEpochSeconds(1'234'567), "1.235");
  EXPECT_EQ(FormatEpochSeconds(1'699'999'999'999'600), "1700000000.000");
}

TEST(GetMediaChunk, FragmentNumbersOrderNumerically) {
  EXPECT_TRUE(FragmentNumberLess("", "1"));
  EXPECT_TRUE(FragmentNumberLess("9", "10"));
  EXPECT_TRUE(FragmentNumberLess("10", "11"));
  EXPECT_FALSE(FragmentNumberLess("11", "11"));
  EXPECT_FALSE(FragmentNumberLess("100", "99"));
}

// ---- Requests ----

TEST(GetMediaRequestTest, EverySelectorType) {
  auto now =
      ParseGetMediaRequest(R"({"StreamName":"cam","StartSelector":{"StartSelectorType":"NOW"}})");
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  EXPECT_EQ(now->type, StartSelectorType::kNow);
  EXPECT_EQ(now->stream.name, "cam");

  auto early = ParseGetMediaRequest(
      R"({"StreamARN":"arn:aws:kinesisvideo:us-west-2:0:stream/cam/1","StartSelector":{"StartSelectorType":"EARLIEST"}})");
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(early->type, StartSelectorType::kEarliest);
  EXPECT_EQ(early->stream.arn, "arn:aws:kinesisvideo:us-west-2:0:stream/cam/1");

  auto fn = ParseGetMediaRequest(
      R"({"StreamName":"cam","StartSelector":{"StartSelectorType":"FRAGMENT_NUMBER","AfterFragmentNumber":"123"}})");
  ASSERT_TRUE(fn.ok());
  EXPECT_EQ(fn->after_fragment_number, "123");

  auto ts = ParseGetMediaRequest(
      R"({"StreamName":"cam","StartSelector":{"StartSelectorType":"PRODUCER_TIMESTAMP","StartTimestamp":1511852108.5134}})");
  ASSERT_TRUE(ts.ok());
  EXPECT_EQ(ts->type, StartSelectorType::kProducerTimestamp);
  EXPECT_EQ(ts->start_timestamp_us, 1'511'852'108'513'400);

  auto st = ParseGetMediaRequest(
      R"({"StreamName":"cam","StartSelector":{"StartSelectorType":"SERVER_TIMESTAMP","StartTimestamp":12}})");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->start_timestamp_us, 12'000'000);

  auto ct = ParseGetMediaRequest(
      R"({"StreamName":"cam","StartSelector":{"StartSelectorType":"CONTINUATION_TOKEN","ContinuationToken":"777"}})");
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(ct->continuation_token, "777");
}

// Each malformed request is refused with kInvalidArgument and a message naming the problem.
// Every body of `cases` is refused by `parse` as InvalidArgument, with a message that contains
// the case's text.
template <typename Parse, size_t N>
void ExpectRefused(Parse parse, const std::pair<const char*, const char*> (&cases)[N]) {
  for (const auto& [body, want] : cases) {
    auto r = parse(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << body;
    EXPECT_NE(r.status().message().find(want), std::string::npos)
        << body << " -> " << r.status().message();
  }
}

TEST(GetMediaRequestTest, MalformedInputIsRefusedWithAHelpfulMessage) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "not valid JSON"},
      {"{", "not valid JSON"},
      {"[]", "JSON object"},
      {R"({"StartSelector":{"StartSelectorType":"NOW"}})", "StreamName or StreamARN"},
      {R"({"StreamName":"a","StreamARN":"b","StartSelector":{"StartSelectorType":"NOW"}})",
       "StreamName or StreamARN"},
      {R"({"StreamName":"bad name","StartSelector":{"StartSelectorType":"NOW"}})", "stream name"},
      {R"({"StreamName":7,"StartSelector":{"StartSelectorType":"NOW"}})", "must be a string"},
      {R"({"StreamName":"cam"})", "StartSelector is required"},
      {R"({"StreamName":"cam","StartSelector":"NOW"})", "must be an object"},
      {R"({"StreamName":"cam","StartSelector":{}})", "StartSelectorType is required"},
      {R"({"StreamName":"cam","StartSelector":{"StartSelectorType":"LATEST"}})", "must be one of"},
      {R"({"StreamName":"cam","StartSelector":{"StartSelectorType":"FRAGMENT_NUMBER"}})",
       "needs AfterFragmentNumber"},
      {R"({"StreamName":"cam","StartSelector":{"StartSelectorType":"FRAGMENT_NUMBER","AfterFragmentNumber":"12a"}})",
       "must be digits"},
      {R"({"StreamName":"cam","StartSelector":{"StartSelectorType":"SERVER_TIMESTAMP"}})",
       "needs StartTimestamp"},
      {R"({"StreamName":"cam","StartSelector":{"StartSelectorType":"SERVER_TIMESTAMP","StartTimestamp":"yesterday"}})",
       "seconds since the epoch"},
      {R"({"StreamName":"cam","StartSelector":{"StartSelectorType":"SERVER_TIMESTAMP","StartTimestamp":-1}})",
       "out of range"},
      {R"({"StreamName":"cam","StartSelector":{"StartSelectorType":"SERVER_TIMESTAMP","StartTimestamp":1e300}})",
       "out of range"},
      {R"({"StreamName":"cam","StartSelector":{"StartSelectorType":"CONTINUATION_TOKEN"}})",
       "needs ContinuationToken"},
      {R"({"StreamName":"cam","StartSelector":{"StartSelectorType":"CONTINUATION_TOKEN","ContinuationToken":"a b"}})",
       "[a-zA-Z0-9_.-]+"},
      {R"({"StreamName":"cam","StartSelector":{"StartSelectorType":"CONTINUATION_TOKEN","ContinuationToken":"abc"}})",
       "not issued"},
  };
  ExpectRefused([](const char* body) { return ParseGetMediaRequest(body); }, cases);
}

TEST(ListFragmentsRequestTest, SelectorRangeAndPaging) {
  auto r = ParseListFragmentsRequest(
      R"({"StreamName":"cam","MaxResults":5,"FragmentSelector":{"FragmentSelectorType":"PRODUCER_TIMESTAMP","TimestampRange":{"StartTimestamp":10.5,"EndTimestamp":20}}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->max_results, 5);
  EXPECT_EQ(r->type, archive::TimestampType::kProducer);
  EXPECT_EQ(r->start_us, 10'500'000);
  EXPECT_EQ(r->end_us, 20'000'000);

  auto page = ParseListFragmentsRequest(R"({"StreamName":"cam","NextToken":"abc+/="})");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->next_token, "abc+/=");
  EXPECT_EQ(page->max_results, kDefaultListMaxResults);
}

TEST(ListFragmentsRequestTest, MalformedInput) {
  const std::pair<const char*, const char*> cases[] = {
      {"nope", "not valid JSON"},
      {R"({"StreamName":"cam"})", "FragmentSelector is required"},
      {R"({"StreamName":"cam","MaxResults":0,"NextToken":"a"})", "MaxResults"},
      {R"({"StreamName":"cam","MaxResults":1001,"NextToken":"a"})", "MaxResults"},
      {R"({"StreamName":"cam","MaxResults":"5","NextToken":"a"})", "MaxResults"},
      {R"({"StreamName":"cam","NextToken":"a-b"})", "NextToken"},
      {R"({"StreamName":"cam","NextToken":"==="})", "NextToken"},
      {R"({"StreamName":"cam","FragmentSelector":{"FragmentSelectorType":"NOW","TimestampRange":{"StartTimestamp":1,"EndTimestamp":2}}})",
       "PRODUCER_TIMESTAMP or SERVER_TIMESTAMP"},
      {R"({"StreamName":"cam","FragmentSelector":{"FragmentSelectorType":"SERVER_TIMESTAMP"}})",
       "TimestampRange is required"},
      {R"({"StreamName":"cam","FragmentSelector":{"FragmentSelectorType":"SERVER_TIMESTAMP","TimestampRange":{"StartTimestamp":1}}})",
       "EndTimestamp is required"},
      {R"({"StreamName":"cam","FragmentSelector":{"FragmentSelectorType":"SERVER_TIMESTAMP","TimestampRange":{"StartTimestamp":5,"EndTimestamp":2}}})",
       "not be before"},
  };
  ExpectRefused([](const char* body) { return ParseListFragmentsRequest(body); }, cases);
}

TEST(FragmentListRequestTest, KeepsOrderAndRefusesBadLists) {
  auto r = ParseFragmentListRequest(R"({"StreamName":"cam","Fragments":["3","1","2"]})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->fragments, (std::vector<std::string>{"3", "1", "2"}));

  json big = {{"StreamName", "cam"}, {"Fragments", json::array()}};
  for (int i = 0; i < 1001; ++i) big["Fragments"].push_back(std::to_string(i));
  const std::string too_many = big.dump();
  big["Fragments"].erase(big["Fragments"].size() - 1);
  auto at_limit = ParseFragmentListRequest(big.dump());
  ASSERT_TRUE(at_limit.ok()) << at_limit.status().ToString();
  EXPECT_EQ(at_limit->fragments.size(), kMaxFragmentList);
  // The hostile review's request: one number a thousand times (1.2 KB asking for 197 MB).
  json copies = {{"StreamName", "cam"}, {"Fragments", json::array()}};
  for (size_t i = 0; i < kMaxFragmentList; ++i) {
    copies["Fragments"].push_back("91343852333181432392682062607743920146159169392");
  }
  const std::string thousand_copies = copies.dump();
  const std::pair<std::string, const char*> cases[] = {
      {R"({"StreamName":"cam"})", "Fragments is required"},
      {R"({"StreamName":"cam","Fragments":"1"})", "must be a list"},
      {R"({"StreamName":"cam","Fragments":[]})", "1 to 1000"},
      {too_many, "1 to 1000"},
      {R"({"StreamName":"cam","Fragments":[1]})", "must hold strings"},
      {R"({"StreamName":"cam","Fragments":["x"]})", "1 to 128 digits"},
      {R"({"StreamName":"cam","Fragments":[""]})", "1 to 128 digits"},
      {R"({"StreamName":"cam","Fragments":["1","2","1"]})",
       "Fragments lists fragment number 1 more than once"},
      {thousand_copies, "more than once"},
  };
  for (const auto& [body, want] : cases) {
    auto res = ParseFragmentListRequest(body);
    ASSERT_FALSE(res.ok()) << body;
    EXPECT_NE(res.status().message().find(want), std::string::npos)
        << body << " -> " << res.status().message();
  }
}

TEST(ListFragmentsResponse, KvsShapeWithNumbers) {
  archive::ListResult result;
  archive::FragmentInfo f;
  f.number = "123";
  f.size_bytes = 4096;
  f.producer_timestamp_us = 1'500'000'000'250'000;
  f.server_timestamp_us = 1'500'000'001'500'000;
  f.duration_us = 2'002'000;
  result.fragments.push_back(f);
  result.next_token = "tok";
  json j = json::parse(ListFragmentsResponseJson(result));
  ASSERT_EQ(j["Fragments"].size(), 1u);
  const json& g = j["Fragments"][0];
  EXPECT_EQ(g["FragmentNumber"], "123");
  EXPECT_TRUE(g["FragmentSizeInBytes"].is_number());
  EXPECT_EQ(g["FragmentSizeInBytes"], 4096);
  EXPECT_DOUBLE_EQ(g["ProducerTimestamp"].get<double>(), 1'500'000'000.25);
  EXPECT_DOUBLE_EQ(g["ServerTimestamp"].get<double>(), 1'500'000'001.5);
  EXPECT_EQ(g["FragmentLengthInMilliseconds"], 2002);
  EXPECT_EQ(j["NextToken"], "tok");
  result.next_token.clear();
  EXPECT_FALSE(json::parse(ListFragmentsResponseJson(result)).contains("NextToken"));
}

}  // namespace
}  // namespace streamarc::playback
