// The events service over a real archive in a temp dir: JSON in, JSON or a KVS exception out.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "playback/events.h"
#include "tests/archive/test_util.h"

namespace streamarc::playback {
namespace {

using archive::testing::Harness;
using nlohmann::json;

TEST(EventsServiceTest, RoundTripAndRefusals) {
  Harness h;
  ASSERT_TRUE(h.Open().ok());
  h.Create("cam");
  h.Create("nodata", 0);
  EventsService svc(h.a());
  json events = json::array();
  for (int i = 0; i < 5; ++i) {
    events.push_back({{"Label", i % 2 ? "person" : "motion"},
                      {"StartTimestamp", 1767225600 + i},
                      {"EndTimestamp", 1767225600.5 + i},
                      {"Score", 0.1 * i},
                      {"Box", {{"X", i}, {"Y", 0}, {"Width", 64}, {"Height", 128}}}});
  }
  auto put = svc.PutEvents(json{{"StreamName", "cam"}, {"Events", events}}.dump());
  ASSERT_TRUE(put.ok()) << put.error().status.ToString();
  json ids = json::parse(*put)["EventIds"];
  ASSERT_EQ(ids.size(), 5u);

  json list = {
      {"StreamName", "cam"},
      {"MaxResults", 2},
      {"TimestampRange", {{"StartTimestamp", 1767225601.2}, {"EndTimestamp", 1767225700}}}};
  std::vector<json> got;
  for (int guard = 0; guard < 10; ++guard) {
    auto page = svc.ListEvents(list.dump());
    ASSERT_TRUE(page.ok()) << page.error().status.ToString();
    json j = json::parse(*page);
    for (const json& e : j["Events"]) got.push_back(e);
    if (!j.contains("NextToken")) break;
    list = {{"StreamName", "cam"}, {"MaxResults", 2}, {"NextToken", j["NextToken"]}};
  }
  ASSERT_EQ(got.size(), 4u);  // the first ended at 600.5, before the range
  EXPECT_EQ(got[0]["EventId"], ids[1]);
  EXPECT_EQ(got[0]["Label"], "person");
  EXPECT_EQ(got[3]["Box"]["X"], 4);
  EXPECT_DOUBLE_EQ(got[3]["StartTimestamp"].get<double>(), 1767225604.0);

  auto refused = [](const Result<std::string, KvsError>& r) {
    EXPECT_FALSE(r.ok());
    return r.ok() ? KvsErrorType::kInternalFailure : r.error().type;
  };
  EXPECT_EQ(refused(svc.PutEvents(json{{"StreamName", "nope"}, {"Events", events}}.dump())),
            KvsErrorType::kResourceNotFound);
  EXPECT_EQ(refused(svc.PutEvents(json{{"StreamName", "nodata"}, {"Events", events}}.dump())),
            KvsErrorType::kNoDataRetention);
  EXPECT_EQ(refused(svc.PutEvents("{")), KvsErrorType::kInvalidArgument);
  json many = json::array();
  for (int i = 0; i < 101; ++i) many.push_back(events[0]);
  EXPECT_EQ(refused(svc.PutEvents(json{{"StreamName", "cam"}, {"Events", many}}.dump())),
            KvsErrorType::kClientLimitExceeded);
  EXPECT_EQ(refused(svc.ListEvents(R"({"StreamName":"cam","NextToken":"bm90IGEgdG9rZW4="})")),
            KvsErrorType::kInvalidArgument);
  EXPECT_EQ(refused(svc.ListEvents(R"({"StreamName":"nope","TimestampRange":)"
                                   R"({"StartTimestamp":1,"EndTimestamp":2}})")),
            KvsErrorType::kResourceNotFound);
}

}  // namespace
}  // namespace streamarc::playback
