// The S3 client without a server: its XML parsers on good, odd and malformed replies, and
// S3Client::Create's config checks.
#include <gtest/gtest.h>

#include <string>

#include "objectstore/s3.h"

namespace streamarc::objectstore {
namespace {

constexpr const char* kAwsPage = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>seg/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents><Key>seg/a.bin</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>
    <ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>1024</Size>
    <StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>seg/b &amp; c.bin</Key><ETag>"d41d8cd98f00b204e9800998ecf8427e"</ETag>
    <Size>0</Size></Contents>
</ListBucketResult>)";

TEST(S3XmlTest, ParsesAListPage) {
  Result<ListPage> page = ParseListObjectsV2(kAwsPage);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  ASSERT_EQ(page->entries.size(), 2u);
  EXPECT_EQ(page->entries[0].key, "seg/a.bin");
  EXPECT_EQ(page->entries[0].size, 1024u);
  EXPECT_EQ(page->entries[0].etag, "9b2cf535f27731c974343645a3985328");
  EXPECT_EQ(page->entries[1].key, "seg/b & c.bin");
  EXPECT_EQ(page->entries[1].size, 0u);
  EXPECT_EQ(page->entries[1].etag, "d41d8cd98f00b204e9800998ecf8427e");
}

TEST(S3XmlTest, LastPageAndEmptyPage) {
  Result<ListPage> page =
      ParseListObjectsV2("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_FALSE(page->truncated);
  EXPECT_TRUE(page->entries.empty());
  // s3rver's namespace, no IsTruncated at all.
  page = ParseListObjectsV2(
      "<ListBucketResult xmlns=\"http://doc.s3.amazonaws.com/2006-03-01/\"><Contents><Key>k</Key>"
      "<Size>18446744073709551615</Size></Contents></ListBucketResult>");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->entries.size(), 1u);
  EXPECT_EQ(page->entries[0].size, UINT64_MAX);
}

TEST(S3XmlTest, UrlEncodedKeysAreDecoded) {
  Result<ListPage> page = ParseListObjectsV2(
      "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a+b%2Bc%2F%C3%BC%01</Key>"
      "<Size>1</Size></Contents><IsTruncated>false</IsTruncated></ListBucketResult>");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->entries.size(), 1u);
  EXPECT_EQ(page->entries[0].key, "a b+c/\xC3\xBC\x01");
}

TEST(S3XmlTest, RefusesMalformedListReplies) {
  struct Case {
    std::string xml;
    std::string says;
  };
  const Case cases[] = {
      {"", "empty"},
      {"not xml at all", "malformed XML"},
      {"<ListBucketResult><Contents>", "malformed XML"},
      {"<ListBucketResult></ListBucketResul>", "malformed XML"},
      {"<Error><Code>AccessDenied</Code></Error>", "<Error>"},
      {"<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>", "<Key>"},
      {"<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>", "<Size>"},
      {"<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
       "not a byte count"},
      {"<ListBucketResult><Contents><Key>k</Key><Size>1x</Size></Contents></ListBucketResult>",
       "not a byte count"},
      {"<ListBucketResult><Contents><Key>k</Key><Size>18446744073709551616</Size></Contents>"
       "</ListBucketResult>",
       "not a byte count"},
      {"<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>", "IsTruncated"},
      {"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
       "NextContinuationToken"},
      // Entities of a DTD (the "billion laughs") are never expanded: a DOCTYPE is refused.
      {"<!DOCTYPE r [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>"
       "<ListBucketResult><Contents><Key>&b;</Key><Size>1</Size></Contents></ListBucketResult>",
       "DOCTYPE"},
      {"<!DOCTYPE r SYSTEM \"http://127.0.0.1:1/x.dtd\"><ListBucketResult/>", "DOCTYPE"},
      {std::string("<ListBucketResult>\0</ListBucketResult>", 38), "malformed XML"},
  };
  for (const Case& c : cases) {
    Result<ListPage> page = ParseListObjectsV2(c.xml);
    ASSERT_FALSE(page.ok()) << c.xml;
    EXPECT_EQ(page.status().code(), Code::kDataLoss) << c.xml;
    EXPECT_NE(page.status().message().find(c.says), std::string::npos)
        << c.xml << " -> " << page.status().message();
  }
}

TEST(S3XmlTest, ParsesErrors) {
  std::optional<S3Error> e = ParseError(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The "
      "specified key does not exist.</Message><Key>a&lt;b</Key><RequestId>1</RequestId></Error>");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, "NoSuchKey");
  EXPECT_EQ(e->message, "The specified key does not exist.");
  e = ParseError("<Error><Code>SlowDown</Code></Error>");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, "SlowDown");
  EXPECT_EQ(e->message, "");
}

TEST(S3XmlTest, NotAnError) {
  for (const char* xml :
       {"", "<html><body>502 Bad Gateway</body></html>", "<Error>",
        "<Error><Message>no code</Message></Error>", "plain text", "<ListBucketResult/>"}) {
    EXPECT_FALSE(ParseError(xml).has_value()) << xml;
  }
}

S3Config GoodConfig() {
  S3Config c;
  c.endpoint = "http://127.0.0.1:4568";
  c.bucket = "my-bucket.1";
  c.access_key_id = "AKID";
  c.secret_access_key = "secret";
  return c;
}

TEST(S3ConfigTest, CreateChecksEveryField) {
  ASSERT_TRUE(S3Client::Create(GoodConfig()).ok());
  S3Config https = GoodConfig();
  https.endpoint = "https://s3.eu-west-1.amazonaws.com";
  https.region = "eu-west-1";
  https.path_style = false;
  ASSERT_TRUE(S3Client::Create(https).ok());

  struct Case {
    void (*change)(S3Config&);
    const char* field;
  };
  const Case cases[] = {
      {[](S3Config& c) { c.endpoint = ""; }, "endpoint"},
      {[](S3Config& c) { c.endpoint = "ftp://127.0.0.1"; }, "endpoint"},
      {[](S3Config& c) { c.endpoint = "127.0.0.1:4568"; }, "endpoint"},
      {[](S3Config& c) { c.endpoint = "http://h/?x=1"; }, "endpoint"},
      {[](S3Config& c) { c.bucket = ""; }, "bucket"},
      {[](S3Config& c) { c.bucket = "ab"; }, "bucket"},
      {[](S3Config& c) { c.bucket = "My_Bucket"; }, "bucket"},
      {[](S3Config& c) { c.bucket = "-bucket"; }, "bucket"},
      {[](S3Config& c) { c.bucket = "a..b"; }, "bucket"},
      {[](S3Config& c) { c.bucket = "192.168.1.1"; }, "bucket"},
      {[](S3Config& c) { c.bucket = std::string(64, 'a'); }, "bucket"},
      {[](S3Config& c) { c.region = ""; }, "region"},
      {[](S3Config& c) { c.region = "us-east-1</x>"; }, "region"},
      {[](S3Config& c) { c.access_key_id = ""; }, "access_key_id"},
      {[](S3Config& c) { c.secret_access_key = ""; }, "secret_access_key"},
      {[](S3Config& c) { c.list_page_size = 0; }, "list_page_size"},
      {[](S3Config& c) { c.list_page_size = 1001; }, "list_page_size"},
      {[](S3Config& c) { c.request_timeout_ms = 0; }, "timeout"},
  };
  for (const Case& c : cases) {
    S3Config config = GoodConfig();
    c.change(config);
    auto client = S3Client::Create(config);
    ASSERT_FALSE(client.ok()) << c.field;
    EXPECT_EQ(client.status().code(), Code::kInvalidArgument) << c.field;
    EXPECT_NE(client.status().message().find(c.field), std::string::npos)
        << client.status().message();
  }
}

TEST(S3ConfigTest, KeysAreChecked) {
  auto client = S3Client::Create(GoodConfig());
  ASSERT_TRUE(client.ok());
  EXPECT_EQ((*client)->PutBytes("", "x").status().code(), Code::kInvalidArgument);
  EXPECT_EQ((*client)->Head(std::string(1025, 'k')).status().code(), Code::kInvalidArgument);
  char byte = 0;
  EXPECT_EQ((*client)->GetRange("k", UINT64_MAX, 2, &byte).code(), Code::kInvalidArgument);
  EXPECT_TRUE((*client)->GetRange("k", 0, 0, nullptr).ok());  // nothing asked, nothing sent
}

}  // namespace
}  // namespace streamarc::objectstore
