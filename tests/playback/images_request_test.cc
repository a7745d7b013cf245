// GetImages' request parsing (every refusal is InvalidArgument naming the field), its
// sampling instants, page tokens, the instant-to-fragment plan and the JSON answer.
#include "playback/images_request.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/kvs_error.h"
#include "playback/images.h"

namespace streamarc::playback {
namespace {

using nlohmann::json;

json Valid() {
  return {{"StreamName", "cam1"},     {"ImageSelectorType", "PRODUCER_TIMESTAMP"},
          {"StartTimestamp", 1000},   {"EndTimestamp", 1010},
          {"SamplingInterval", 1000}, {"Format", "JPEG"}};
}

Result<GetImagesRequest> Parse(const json& j) { return ParseGetImagesRequest(j.dump()); }

TEST(ImagesRequestTest, ParsesEveryField) {
  json j = Valid();
  j["FormatConfig"] = {{"JPEGQuality", "55"}};
  j["WidthPixels"] = 640;
  j["HeightPixels"] = 360;
  j["MaxResults"] = 10;
  auto r = Parse(j);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stream.name, "cam1");
  EXPECT_EQ(r->type, archive::TimestampType::kProducer);
  EXPECT_EQ(r->start_us, 1'000'000'000);
  EXPECT_EQ(r->end_us, 1'010'000'000);
  EXPECT_EQ(r->interval_us, 1'000'000);
  EXPECT_EQ(r->format, ImagesFormat::kJpeg);
  EXPECT_EQ(r->jpeg_quality, 55);
  EXPECT_EQ(r->width, 640);
  EXPECT_EQ(r->height, 360);
  EXPECT_EQ(r->page_size, 10);
  EXPECT_EQ(r->first_index, 0);
}

TEST(ImagesRequestTest, DefaultsAsKvsDocumentsThem) {
  json j = Valid();
  j.erase("SamplingInterval");
  j["Format"] = "PNG";
  j["ImageSelectorType"] = "SERVER_TIMESTAMP";
  j["StreamARN"] = "arn:aws:kinesisvideo:us-east-1:0:stream/cam1/1";
  j.erase("StreamName");
  j["MaxResults"] = 100;  // pages are 25 at most
  auto r = Parse(j);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stream.arn, "arn:aws:kinesisvideo:us-east-1:0:stream/cam1/1");
  EXPECT_EQ(r->type, archive::TimestampType::kServer);
  EXPECT_EQ(r->format, ImagesFormat::kPng);
  EXPECT_EQ(r->interval_us, kDefaultSamplingIntervalMs * 1000);
  EXPECT_EQ(r->jpeg_quality, 80);
  EXPECT_EQ(r->width, 0);
  EXPECT_EQ(r->height, 0);
  EXPECT_EQ(r->page_size, 25);
}

TEST(ImagesRequestTest, RefusesEveryMalformedField) {
  auto with = [](const char* key, json value) {
    json j = Valid();
    j[key] = std::move(value);
    return j.dump();
  };
  auto without = [](const char* key) {
    json j = Valid();
    j.erase(key);
    return j.dump();
  };
  const std::vector<std::string> bodies = {
      "",
      "{",
      "[]",
      "42",
      without("StreamName"),
      with("StreamARN", "arn:aws:kinesisvideo:us-east-1:0:stream/cam1/1"),  // both
      with("StreamName", "bad name!"),
      with("StreamName", 7),
      with("StreamName", std::string(257, 'a')),
      without("ImageSelectorType"),
      with("ImageSelectorType", "NOW"),
      with("ImageSelectorType", 1),
      without("StartTimestamp"),
      without("EndTimestamp"),
      with("StartTimestamp", "1000"),
      with("StartTimestamp", -1),
      with("EndTimestamp", 1e300),
      with("EndTimestamp", 999),       // before Start
      with("EndTimestamp", 1300.001),  // over 300 s
      with("SamplingInterval", 199),   // under KVS's minimum
      with("SamplingInterval", 0),
      with("SamplingInterval", -200),
      with("SamplingInterval", 1000.5),
      with("SamplingInterval", "1000"),
      with("SamplingInterval", 4294967296LL),
      with("SamplingInterval", 18446744073709551615ULL),
      without("Format"),
      with("Format", "GIF"),
      with("Format", "jpeg"),
      with("FormatConfig", "JPEGQuality=80"),
      with("FormatConfig", json::object()),
      with("FormatConfig", {{"Quality", "80"}}),
      with("FormatConfig", {{"JPEGQuality", "80"}, {"Other", "1"}}),
      with("FormatConfig", {{"JPEGQuality", 80}}),
      with("FormatConfig", {{"JPEGQuality", "0"}}),
      with("FormatConfig", {{"JPEGQuality", "101"}}),
      with("FormatConfig", {{"JPEGQuality", "8a"}}),
      with("FormatConfig", {{"JPEGQuality", ""}}),
      with("FormatConfig", {{"JPEGQuality", "-5"}}),
      with("WidthPixels", 0),
      with("WidthPixels", 3841),
      with("WidthPixels", "640"),
      with("HeightPixels", 0),
      with("HeightPixels", 2161),
      with("HeightPixels", 1.5),
      with("MaxResults", 0),
      with("MaxResults", 101),
      with("MaxResults", "25"),
      with("NextToken", ""),
      with("NextToken", 5),
      with("NextToken", "not base64!"),
      with("NextToken", Base64Encode("something else")),
      with("NextToken", Base64Encode("gi1:")),
      with("NextToken", Base64Encode("gi1:99999999999999999999:1:2:3:P")),
      with("NextToken", std::string(4097, 'A')),
  };
  for (const std::string& body : bodies) {
    auto r = ParseGetImagesRequest(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << body;
    EXPECT_FALSE(r.status().message().empty()) << body;
    // What the client reads: InvalidArgumentException.
    EXPECT_EQ(KvsErrorFromStatus(r.status()).type, KvsErrorType::kInvalidArgument) << body;
  }
  // The edges that are allowed.
  EXPECT_TRUE(ParseGetImagesRequest(with("EndTimestamp", 1300)).ok());
  EXPECT_TRUE(ParseGetImagesRequest(with("SamplingInterval", 200)).ok());
  EXPECT_TRUE(ParseGetImagesRequest(with("WidthPixels", 3840)).ok());
  EXPECT_TRUE(ParseGetImagesRequest(with("HeightPixels", 2160)).ok());
  EXPECT_TRUE(ParseGetImagesRequest(with("FormatConfig", {{"JPEGQuality", "1"}})).ok());
  EXPECT_TRUE(ParseGetImagesRequest(with("FormatConfig", {{"JPEGQuality", "100"}})).ok());
  EXPECT_TRUE(ParseGetImagesRequest(with("EndTimestamp", 1000)).ok());  // one instant
}

TEST(ImagesRequestTest, InstantsFollowTheIntervalFromStartToEndInclusive) {
  auto r = Parse(Valid());  // 1000..1010 s every 1 s: 11 instants
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ImageInstantCount(*r), 11);
  std::vector<int64_t> page = PageInstants(*r);
  ASSERT_EQ(page.size(), 11u);
  for (size_t i = 0; i < page.size(); ++i) {
    EXPECT_EQ(page[i], 1'000'000'000 + static_cast<int64_t>(i) * 1'000'000);
  }
  EXPECT_EQ(ImagesNextToken(*r), "");

  // A range shorter than the interval: the image at Start only.
  json j = Valid();
  j["EndTimestamp"] = 1000.5;
  auto short_range = Parse(j);
  ASSERT_TRUE(short_range.ok());
  EXPECT_EQ(PageInstants(*short_range), std::vector<int64_t>{1'000'000'000});

  // An interval that does not divide the range: the last instant is before End.
  j = Valid();
  j["SamplingInterval"] = 3000;
  auto uneven = Parse(j);
  ASSERT_TRUE(uneven.ok());
  EXPECT_EQ(PageInstants(*uneven),
            (std::vector<int64_t>{1'000'000'000, 1'003'000'000, 1'006'000'000, 1'009'000'000}));
}

TEST(ImagesRequestTest, PagesOf25WithTokensBoundToTheRequest) {
  json j = Valid();
  j["EndTimestamp"] = 1000 + 59.8;  // 0.2 s apart: 300 instants
  j["SamplingInterval"] = 200;
  auto r = Parse(j);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ImageInstantCount(*r), 300);
  std::vector<int64_t> seen;
  std::string token;
  int pages = 0;
  do {
    json page = j;
    if (!token.empty()) page["NextToken"] = token;
    auto p = Parse(page);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    std::vector<int64_t> instants = PageInstants(*p);
    EXPECT_LE(instants.size(), 25u);
    seen.insert(seen.end(), instants.begin(), instants.end());
    token = ImagesNextToken(*p);
    ++pages;
  } while (!token.empty() && pages < 100);
  EXPECT_EQ(pages, 12);
  ASSERT_EQ(seen.size(), 300u);
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i], 1'000'000'000 + static_cast<int64_t>(i) * 200'000) << i;
  }
  // MaxResults smaller than 25 makes smaller pages.
  j["MaxResults"] = 7;
  auto small = Parse(j);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(PageInstants(*small).size(), 7u);
  std::string next = ImagesNextToken(*small);
  ASSERT_FALSE(next.empty());
  // The token with another range, interval or selector is refused.
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, json>>{{"StartTimestamp", 1001},
                                                 {"EndTimestamp", 1050},
                                                 {"SamplingInterval", 400},
                                                 {"ImageSelectorType", "SERVER_TIMESTAMP"}}) {
    json other = j;
    other[key] = value;
    other["NextToken"] = next;
    EXPECT_EQ(Parse(other).status().code(), Code::kInvalidArgument) << key;
  }
  json same = j;
  same["NextToken"] = next;
  auto second = Parse(same);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->first_index, 7);
}

archive::FragmentInfo Fragment(int64_t producer_s, int64_t duration_ms) {
  archive::FragmentInfo f;
  f.producer_timestamp_us = producer_s * 1'000'000;
  f.server_timestamp_us = f.producer_timestamp_us + 500'000;
  f.duration_us = duration_ms * 1000;
  return f;
}

TEST(ImagesPlanTest, EachInstantFindsTheFragmentShowingItOrNoMedia) {
  // Fragments at 10-12 s, 12-14 s, then a gap, then 20-22 s.
  std::vector<archive::FragmentInfo> fragments = {Fragment(10, 2000), Fragment(12, 2000),
                                                  Fragment(20, 2000)};
  std::vector<int64_t> instants;
  for (int64_t t = 9; t <= 23; ++t) instants.push_back(t * 1'000'000);
  std::vector<InstantPlan> plan =
      PlanImages(fragments, archive::TimestampType::kProducer, instants);
  ASSERT_EQ(plan.size(), instants.size());
  auto at = [&](int64_t s) { return plan[static_cast<size_t>(s - 9)]; };
  EXPECT_EQ(at(9).fragment, -1);  // before anything
  EXPECT_EQ(at(10).fragment, 0);
  EXPECT_EQ(at(10).offset_us, 0);
  EXPECT_EQ(at(11).fragment, 0);
  EXPECT_EQ(at(11).offset_us, 1'000'000);
  EXPECT_EQ(at(12).fragment, 1);  // the next fragment's start wins
  EXPECT_EQ(at(13).fragment, 1);
  EXPECT_EQ(at(14).fragment, 1);  // its last frame still shows at its end
  EXPECT_EQ(at(14).offset_us, 2'000'000);
  for (int64_t s = 15; s <= 19; ++s) EXPECT_EQ(at(s).fragment, -1) << s;  // the gap
  EXPECT_EQ(at(20).fragment, 2);
  EXPECT_EQ(at(22).fragment, 2);
  EXPECT_EQ(at(23).fragment, -1);  // after the end

  // Server time: the same fragments 0.5 s later on that timeline.
  plan = PlanImages(fragments, archive::TimestampType::kServer, {10'000'000, 10'600'000});
  EXPECT_EQ(plan[0].fragment, -1);
  EXPECT_EQ(plan[1].fragment, 0);
  EXPECT_EQ(plan[1].offset_us, 100'000);
  EXPECT_TRUE(PlanImages({}, archive::TimestampType::kProducer, {1, 2})[1].fragment == -1);
}

TEST(ImagesPlanTest, ALastFrameShowsUntilTheNextFragment) {
  // 10 fps, 0.5 s fragments whose durations end at their last frame (as a KVS producer's do):
  // 10.0-10.4 s, then 10.5-10.9 s.
  std::vector<archive::FragmentInfo> fragments = {Fragment(10, 400), Fragment(10, 400)};
  fragments[1].producer_timestamp_us += 500'000;
  fragments[1].server_timestamp_us += 500'000;
  const std::vector<int64_t> instants = {10'450'000, 10'550'000, 10'950'000, 11'050'000};
  std::vector<InstantPlan> plan =
      PlanImages(fragments, archive::TimestampType::kProducer, instants);
  EXPECT_EQ(plan[0].fragment, 0);  // between the fragments: the first one's last frame
  EXPECT_EQ(plan[0].offset_us, 450'000);
  EXPECT_EQ(plan[1].fragment, 1);
  EXPECT_EQ(plan[2].fragment, 1);   // a frame interval after the last fragment's end
  EXPECT_EQ(plan[3].fragment, -1);  // past that: nothing more was recorded
}

TEST(ImagesResponseTest, KvsShape) {
  std::vector<ImageResult> images(2);
  images[0].timestamp_us = 1'700'000'000'500'000;
  images[0].content = std::string("\xff\xd8\xff", 3);
  images[1].timestamp_us = 1'700'000'001'500'000;
  images[1].error = "NO_MEDIA";
  json j = json::parse(GetImagesResponseJson(images, "abc="));
  ASSERT_EQ(j["Images"].size(), 2u);
  EXPECT_DOUBLE_EQ(j["Images"][0]["TimeStamp"].get<double>(), 1700000000.5);
  EXPECT_EQ(j["Images"][0]["ImageContent"], "/9j/");
  EXPECT_FALSE(j["Images"][0].contains("Error"));
  EXPECT_EQ(j["Images"][1]["Error"], "NO_MEDIA");
  EXPECT_FALSE(j["Images"][1].contains("ImageContent"));
  EXPECT_EQ(j["NextToken"], "abc=");
  EXPECT_FALSE(json::parse(GetImagesResponseJson({}, "")).contains("NextToken"));
}

}  // namespace
}  // namespace streamarc::playback
