#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/archive/test_util.h"

namespace streamarc::archive::testing {
namespace {

namespace fs = std::filesystem;

CreateStreamRequest Req(const std::string& name, int hours = 2) {
  CreateStreamRequest r;
  r.name = name;
  r.media_type = "video/h264";
  r.device_name = "dev-1";
  r.kms_key_id = "arn:aws:kms:us-west-2:1:key/abc";
  r.retention_hours = hours;
  r.tags = {{"site", "lab"}};
  return r;
}

TEST(RegistryTest, CreateDescribeAndPersist) {
  Harness h;
  ASSERT_TRUE(h.Open().ok());
  Result<StreamInfo> created = h.a().CreateStream(Req("cam.front-1"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->arn, "arn:aws:kinesisvideo:us-west-2:000000000000:stream/cam.front-1/" +
                              std::to_string(kStartUs / 1000));
  EXPECT_EQ(created->version.size(), 20u);
  EXPECT_EQ(created->status, StreamStatus::kActive);
  EXPECT_EQ(h.a().CreateStream(Req("cam.front-1")).status().code(), Code::kAlreadyExists);

  ASSERT_TRUE(h.Open().ok());  // reopen: everything came from SQLite
  Result<StreamInfo> by_arn = h.a().DescribeStream(StreamRef::Arn(created->arn));
  ASSERT_TRUE(by_arn.ok()) << by_arn.status().ToString();
  EXPECT_EQ(by_arn->name, "cam.front-1");
  EXPECT_EQ(by_arn->version, created->version);
  EXPECT_EQ(by_arn->media_type, "video/h264");
  EXPECT_EQ(by_arn->device_name, "dev-1");
  EXPECT_EQ(by_arn->kms_key_id, "arn:aws:kms:us-west-2:1:key/abc");
  EXPECT_EQ(by_arn->retention_hours, 2);
  EXPECT_EQ(by_arn->creation_time_us, kStartUs);
  EXPECT_EQ(by_arn->tags.at("site"), "lab");
  EXPECT_EQ(h.a().DescribeStream(StreamRef::Name("nope")).status().code(), Code::kNotFound);
  EXPECT_EQ(h.a().DescribeStream(StreamRef::Arn(created->arn + "1")).status().code(),
            Code::kNotFound);
}

TEST(RegistryTest, ValidatesNamesAndRetention) {
  Harness h;
  ASSERT_TRUE(h.Open().ok());
  EXPECT_EQ(h.a().CreateStream(Req("../../etc")).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(h.a().CreateStream(Req("a/b")).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(h.a().CreateStream(Req(std::string(257, 'x'))).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(h.a().CreateStream(Req("r", -1)).status().code(), Code::kOutOfRange);
  EXPECT_EQ(h.a().CreateStream(Req("r", 87601)).status().code(), Code::kOutOfRange);
  EXPECT_TRUE(h.a().CreateStream(Req("r0", 0)).ok());
  EXPECT_TRUE(h.a().CreateStream(Req("r1", 1)).ok());
  EXPECT_TRUE(h.a().CreateStream(Req("r10y", 87600)).ok());
  // A stream without retention archives nothing.
  EXPECT_EQ(h.a()
                .Append(StreamRef::Name("r0"), MakeFragment(kStartUs, 10, 1),
                        [](const Status&, const FragmentInfo&) {})
                .status()
                .code(),
            Code::kFailedPrecondition);
}

TEST(RegistryTest, ListsByPrefixWithPages) {
  Harness h;
  ASSERT_TRUE(h.Open().ok());
  for (const char* n : {"cam-b", "cam-a", "door", "cam-c"}) h.Create(n);
  Result<std::vector<StreamInfo>> page = h.a().ListStreams("cam-", "", 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].name, "cam-a");
  EXPECT_EQ((*page)[1].name, "cam-b");
  page = h.a().ListStreams("cam-", "cam-b", 2);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].name, "cam-c");
  EXPECT_EQ(h.a().ListStreams("", "", 100)->size(), 4u);
  EXPECT_FALSE(h.a().ListStreams("", "", 0).ok());
}

TEST(RegistryTest, UpdatesChangeTheVersionAndCheckIt) {
  Harness h;
  ASSERT_TRUE(h.Open().ok());
  Result<StreamInfo> s = h.a().CreateStream(Req("cam"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(h.a().UpdateStream(StreamRef::Name("cam"), "wrong", "d2", std::nullopt).code(),
            Code::kFailedPrecondition);
  ASSERT_TRUE(h.a().UpdateStream(StreamRef::Name("cam"), s->version, "d2", "video/h265").ok());
  StreamInfo after = *h.a().DescribeStream(StreamRef::Name("cam"));
  EXPECT_NE(after.version, s->version);
  EXPECT_EQ(after.device_name, "d2");
  EXPECT_EQ(after.media_type, "video/h265");
  ASSERT_TRUE(h.a().UpdateRetention(StreamRef::Name("cam"), after.version, 87600).ok());
  EXPECT_EQ(h.a().UpdateRetention(StreamRef::Name("cam"), "", 87601).code(), Code::kOutOfRange);
  ASSERT_TRUE(h.Open().ok());
  StreamInfo reopened = *h.a().DescribeStream(StreamRef::Name("cam"));
  EXPECT_EQ(reopened.retention_hours, 87600);
  EXPECT_NE(reopened.version, after.version);
}

TEST(RegistryTest, TagsUpToFifty) {
  Harness h;
  ASSERT_TRUE(h.Open().ok());
  h.Create("cam");
  std::map<std::string, std::string> tags;
  for (int i = 0; i < 50; ++i) tags["k" + std::to_string(i)] = "v";
  ASSERT_TRUE(h.a().TagStream(StreamRef::Name("cam"), tags).ok());
  EXPECT_EQ(h.a().TagStream(StreamRef::Name("cam"), {{"one-more", "x"}}).code(),
            Code::kResourceExhausted);
  ASSERT_TRUE(h.a().UntagStream(StreamRef::Name("cam"), {"k0", "k1"}).ok());
  EXPECT_EQ(h.a().DescribeStream(StreamRef::Name("cam"))->tags.size(), 48u);
  EXPECT_EQ(h.a().TagStream(StreamRef::Name("cam"), {{"", "x"}}).code(), Code::kInvalidArgument);
}

TEST(RegistryTest, DeleteRemovesRowsAndFiles) {
  Harness h;
  ASSERT_TRUE(h.Open().ok());
  h.Create("cam");
  h.Create("keep");
  Result<FragmentInfo> f = AppendSync(h.a(), "cam", MakeFragment(kStartUs, 1000, 1));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE(AppendSync(h.a(), "keep", MakeFragment(kStartUs, 1000, 2)).ok());
  // Directories are named by number, never by the stream name.
  for (const auto& e : fs::directory_iterator(h.options.root + "/segments")) {
    EXPECT_EQ(e.path().filename().string().find_first_not_of("0123456789"), std::string::npos);
  }
  const std::string version = h.a().DescribeStream(StreamRef::Name("cam"))->version;
  EXPECT_EQ(h.a().DeleteStream(StreamRef::Name("cam"), "bad").code(), Code::kFailedPrecondition);
  ASSERT_TRUE(h.a().DeleteStream(StreamRef::Name("cam"), version).ok());
  EXPECT_EQ(h.a().DescribeStream(StreamRef::Name("cam")).status().code(), Code::kNotFound);
  EXPECT_EQ(h.a().ReadFragment(StreamRef::Name("cam"), f->number).status().code(), Code::kNotFound);
  EXPECT_EQ(h.a().Stats().fragments_deleted_with_stream, 1u);
  size_t dirs = 0;
  for (const auto& e : fs::directory_iterator(h.options.root + "/segments")) (void)e, ++dirs;
  EXPECT_EQ(dirs, 1u);  // only "keep"'s
  // The name can be reused; the old fragment number stays unknown.
  h.Create("cam");
  EXPECT_EQ(h.a().GetFragment(StreamRef::Name("cam"), f->number).status().code(), Code::kNotFound);
  ASSERT_TRUE(h.Open().ok());
  EXPECT_TRUE(h.a().Verify().ok());
}

TEST(RegistryTest, DeleteStreamTellsListenersAfterItCommits) {
  Harness h;
  ASSERT_TRUE(h.Open().ok());
  h.Create("cam");
  h.Create("keep");
  std::vector<std::string> heard;
  Code seen_by_listener = Code::kOk;
  uint64_t id = h.a().AddStreamDeletedListener([&](const std::string& name) {
    heard.push_back(name);
    // The deletion is visible to whoever the listener tells.
    seen_by_listener = h.a().DescribeStream(StreamRef::Name(name)).status().code();
  });
  int second_calls = 0;
  uint64_t second = h.a().AddStreamDeletedListener([&](const std::string&) { ++second_calls; });
  EXPECT_NE(id, second);

  // A refused deletion tells nobody.
  EXPECT_EQ(h.a().DeleteStream(StreamRef::Name("cam"), "bad").code(), Code::kFailedPrecondition);
  EXPECT_EQ(h.a().DeleteStream(StreamRef::Name("nope"), "").code(), Code::kNotFound);
  EXPECT_TRUE(heard.empty());

  ASSERT_TRUE(h.a().DeleteStream(StreamRef::Name("cam"), "").ok());
  EXPECT_EQ(heard, std::vector<std::string>{"cam"});
  EXPECT_EQ(seen_by_listener, Code::kNotFound);
  EXPECT_EQ(second_calls, 1);

  h.a().RemoveStreamDeletedListener(second);
  ASSERT_TRUE(h.a().DeleteStream(StreamRef::Name("keep"), "").ok());
  EXPECT_EQ(heard, (std::vector<std::string>{"cam", "keep"}));
  EXPECT_EQ(second_calls, 1) << "a removed listener was called";
  h.a().RemoveStreamDeletedListener(id);
}

}  // namespace
}  // namespace streamarc::archive::testing
