// S3Client against a real S3 server: s3rver, which ctest's s3_server fixture starts
// (tests/support/s3_server.sh; STREAMARC_TEST_S3 names the file holding its endpoint). What
// our client writes is read back by the AWS CLI, and what the CLI writes is read by our client.
// Each test uses a bucket of its own. Without STREAMARC_TEST_S3 the tests are skipped.
#include "objectstore/s3.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/digest.h"
#include "tests/support/subprocess.h"

namespace streamarc::objectstore {
namespace {

using streamarc::testing::ReadFileOrDie;
using streamarc::testing::RunCommand;
using streamarc::testing::TempDir;
using streamarc::testing::WriteFileOrDie;

// s3rver's built-in account.
constexpr const char* kAccessKey = "S3RVER";
constexpr const char* kSecret = "S3RVER";

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::string Md5Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  return Hex(std::string_view(reinterpret_cast<const char*>(md), len));
}

// A loopback port nothing listens on: bound, then closed.
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

class S3Test : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* file = std::getenv("STREAMARC_TEST_S3");
    if (file == nullptr || *file == '\0') {
      GTEST_SKIP() << "STREAMARC_TEST_S3 is not set: run through ctest (the s3_server fixture)";
    }
    std::ifstream in(file);
    std::getline(in, endpoint_);
    ASSERT_FALSE(endpoint_.empty()) << "no endpoint in " << file;
    // A bucket per test (and per run: names are the test's, made DNS-safe, plus the pid).
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    bucket_ = "t-";
    for (char c : name) {
      bucket_ += std::isalnum(static_cast<unsigned char>(c)) ? std::tolower(c) : '-';
    }
    bucket_ = bucket_.substr(0, 40) + "-" + std::to_string(getpid());
  }

  S3Config Config() const {
    S3Config c;
    c.endpoint = endpoint_;
    c.bucket = bucket_;
    c.access_key_id = kAccessKey;
    c.secret_access_key = kSecret;
    return c;
  }

  std::unique_ptr<S3Client> Client(S3Config config) {
    auto client = S3Client::Create(std::move(config));
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  // A client on this test's bucket, created.
  std::unique_ptr<S3Client> ReadyClient() {
    auto client = Client(Config());
    if (client) {
      Status made = client->EnsureBucket();
      EXPECT_TRUE(made.ok()) << made.ToString();
    }
    return client;
  }

  // The real AWS CLI (Debian's awscli) with s3rver's credentials and no user config.
  streamarc::testing::CommandOutput Aws(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"env",
                                     std::string("AWS_ACCESS_KEY_ID=") + kAccessKey,
                                     std::string("AWS_SECRET_ACCESS_KEY=") + kSecret,
                                     "AWS_DEFAULT_REGION=us-east-1",
                                     "AWS_CONFIG_FILE=/dev/null",
                                     "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
                                     "AWS_PAGER=",
                                     "aws",
                                     "--endpoint-url",
                                     endpoint_};
    argv.insert(argv.end(), args.begin(), args.end());
    if (args.size() >= 2 && args[0] == "s3" && args[1] == "cp") argv.push_back("--no-progress");
    Result<streamarc::testing::CommandOutput> out = RunCommand(argv);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? out.value() : streamarc::testing::CommandOutput{};
  }

  std::string endpoint_;
  std::string bucket_;
};

TEST_F(S3Test, PutHeadGetRangeGetDelete) {
  auto s3 = ReadyClient();
  ASSERT_TRUE(s3);
  const std::string data = RandomBytes(100'000, 1);
  Result<std::string> etag = s3->PutBytes("seg/a.bin", data);
  ASSERT_TRUE(etag.ok()) << etag.status().ToString();
  EXPECT_EQ(*etag, Md5Hex(data));  // a single PUT's ETag is the body's MD5

  Result<ObjectInfo> info = s3->Head("seg/a.bin");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, data.size());
  EXPECT_EQ(info->etag, *etag);

  std::string buf(5000, '\0');
  ASSERT_TRUE(s3->GetRange("seg/a.bin", 1000, buf.size(), buf.data()).ok());
  EXPECT_EQ(buf, data.substr(1000, 5000));
  // The first byte alone (s3rver answers "bytes=0-0" with the whole object), and the last.
  char one = 0;
  ASSERT_TRUE(s3->GetRange("seg/a.bin", 0, 1, &one).ok());
  EXPECT_EQ(one, data[0]);
  ASSERT_TRUE(s3->GetRange("seg/a.bin", data.size() - 1, 1, &one).ok());
  EXPECT_EQ(one, data.back());
  std::string all(data.size(), '\0');
  ASSERT_TRUE(s3->GetRange("seg/a.bin", 0, all.size(), all.data()).ok());
  EXPECT_EQ(all, data);

  Result<std::string> got = s3->Get("seg/a.bin");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, data);

  // Replaced in place.
  ASSERT_TRUE(s3->PutBytes("seg/a.bin", "short").ok());
  got = s3->Get("seg/a.bin");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "short");
  // An empty object.
  ASSERT_TRUE(s3->PutBytes("seg/empty", "").ok());
  got = s3->Get("seg/empty");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "");

  ASSERT_TRUE(s3->Delete("seg/a.bin").ok());
  EXPECT_EQ(s3->Head("seg/a.bin").status().code(), Code::kNotFound);
  Status missing = s3->GetRange("seg/a.bin", 0, 10, buf.data());
  EXPECT_EQ(missing.code(), Code::kNotFound) << missing.ToString();
  EXPECT_NE(missing.message().find("seg/a.bin"), std::string::npos) << missing.message();
  EXPECT_NE(missing.message().find("NoSuchKey"), std::string::npos) << missing.message();
  EXPECT_EQ(s3->Get("seg/a.bin").status().code(), Code::kNotFound);
  EXPECT_TRUE(s3->Delete("seg/a.bin").ok());  // already gone: still OK
}

TEST_F(S3Test, PutFile) {
  auto s3 = ReadyClient();
  ASSERT_TRUE(s3);
  TempDir dir;
  const std::string data = RandomBytes(3 << 20, 2);  // past curl's 1 MiB Expect: 100-continue
  WriteFileOrDie(dir.File("segment"), data);
  Result<std::string> etag = s3->PutFile("file/segment", dir.File("segment"));
  ASSERT_TRUE(etag.ok()) << etag.status().ToString();
  EXPECT_EQ(*etag, Md5Hex(data));
  Result<std::string> got = s3->Get("file/segment");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == data);

  Result<std::string> none = s3->PutFile("file/none", dir.File("no-such-file"));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kNotFound) << none.status().ToString();
  EXPECT_NE(none.status().message().find("no-such-file"), std::string::npos);
  EXPECT_EQ(s3->Head("file/none").status().code(), Code::kNotFound);
}

TEST_F(S3Test, RangePastTheEndIsDataLoss) {
  auto s3 = ReadyClient();
  ASSERT_TRUE(s3);
  const std::string data = RandomBytes(100, 3);
  ASSERT_TRUE(s3->PutBytes("short", data).ok());
  std::string buf(20, '\0');
  Status tail = s3->GetRange("short", 90, 20, buf.data());  // 10 bytes there of 20
  EXPECT_EQ(tail.code(), Code::kDataLoss) << tail.ToString();
  Status beyond = s3->GetRange("short", 200, 10, buf.data());  // 416
  EXPECT_EQ(beyond.code(), Code::kDataLoss) << beyond.ToString();
  Status at_end = s3->GetRange("short", 100, 1, buf.data());
  EXPECT_EQ(at_end.code(), Code::kDataLoss) << at_end.ToString();
  ASSERT_TRUE(s3->GetRange("short", 80, 20, buf.data()).ok());
  EXPECT_EQ(buf, data.substr(80));
}

TEST_F(S3Test, ListPagesThroughContinuationTokens) {
  S3Config config = Config();
  config.list_page_size = 2;  // 7 keys: 4 pages
  auto s3 = Client(config);
  ASSERT_TRUE(s3);
  ASSERT_TRUE(s3->EnsureBucket().ok());
  std::vector<std::string> keys;
  for (int i = 6; i >= 0; --i) {
    std::string key = "p/seg-" + std::to_string(i);
    ASSERT_TRUE(s3->PutBytes(key, std::string(static_cast<size_t>(i) + 1, 'x')).ok());
    keys.insert(keys.begin(), key);
  }
  ASSERT_TRUE(s3->PutBytes("other/seg-1", "x").ok());
  // (Not "p" itself: s3rver lists a key after the keys below it, "p" after "p/seg-6", and
  // then loses it between pages.)
  ASSERT_TRUE(s3->PutBytes("q", "x").ok());

  Result<std::vector<ObjectEntry>> listed = s3->List("p/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ((*listed)[i].key, keys[i]);
    EXPECT_EQ((*listed)[i].size, i + 1);
    EXPECT_EQ((*listed)[i].etag, Md5Hex(std::string(i + 1, 'x')));
  }
  Result<std::vector<ObjectEntry>> everything = s3->List("");
  ASSERT_TRUE(everything.ok()) << everything.status().ToString();
  EXPECT_EQ(everything->size(), keys.size() + 2);
  Result<std::vector<ObjectEntry>> none = s3->List("nothing/");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
}

TEST_F(S3Test, KeysThatNeedPercentEncoding) {
  auto s3 = ReadyClient();
  ASSERT_TRUE(s3);
  const std::string key = "dir with space/\xC3\xBC+%&=?#~*(1)[a]!'$,;:@.bin";
  const std::string data = RandomBytes(1000, 4);
  ASSERT_TRUE(s3->PutBytes(key, data).ok());
  Result<ObjectInfo> info = s3->Head(key);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, data.size());
  std::string buf(10, '\0');
  ASSERT_TRUE(s3->GetRange(key, 5, buf.size(), buf.data()).ok());
  EXPECT_EQ(buf, data.substr(5, 10));
  Result<std::vector<ObjectEntry>> listed = s3->List("dir with space/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key, key);

  // The AWS CLI finds it under the same name.
  TempDir dir;
  auto cli = Aws({"s3", "cp", "s3://" + bucket_ + "/" + key, dir.File("out")});
  ASSERT_EQ(cli.exit_code, 0) << cli.out;
  EXPECT_TRUE(ReadFileOrDie(dir.File("out")) == data);
  ASSERT_TRUE(s3->Delete(key).ok());
  EXPECT_EQ(s3->Head(key).status().code(), Code::kNotFound);
}

TEST_F(S3Test, AwsCliReadsWhatWePut) {
  auto s3 = ReadyClient();
  ASSERT_TRUE(s3);
  const std::string data = RandomBytes(200'000, 5);
  Result<std::string> etag = s3->PutBytes("cli/ours.bin", data);
  ASSERT_TRUE(etag.ok()) << etag.status().ToString();
  TempDir dir;
  auto cli = Aws({"s3", "cp", "s3://" + bucket_ + "/cli/ours.bin", dir.File("out")});
  ASSERT_EQ(cli.exit_code, 0) << cli.out;
  EXPECT_TRUE(ReadFileOrDie(dir.File("out")) == data);
  auto head = Aws({"s3api", "head-object", "--bucket", bucket_, "--key", "cli/ours.bin"});
  ASSERT_EQ(head.exit_code, 0) << head.out;
  EXPECT_NE(head.out.find(*etag), std::string::npos) << head.out;
}

TEST_F(S3Test, WeReadWhatAwsCliPut) {
  auto s3 = ReadyClient();
  ASSERT_TRUE(s3);
  TempDir dir;
  const std::string data = RandomBytes(300'000, 6);
  WriteFileOrDie(dir.File("in"), data);
  auto cli = Aws({"s3", "cp", dir.File("in"), "s3://" + bucket_ + "/cli/theirs.bin"});
  ASSERT_EQ(cli.exit_code, 0) << cli.out;
  std::string buf(65536, '\0');
  ASSERT_TRUE(s3->GetRange("cli/theirs.bin", 12345, buf.size(), buf.data()).ok());
  EXPECT_TRUE(buf == data.substr(12345, 65536));
  Result<ObjectInfo> info = s3->Head("cli/theirs.bin");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, data.size());
  EXPECT_EQ(info->etag, Md5Hex(data));
}

TEST_F(S3Test, EnsureBucketCreatesAMissingBucket) {
  auto s3 = Client(Config());
  ASSERT_TRUE(s3);
  Result<std::string> put = s3->PutBytes("k", "x");
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), Code::kNotFound) << put.status().ToString();
  EXPECT_NE(put.status().message().find("NoSuchBucket"), std::string::npos);
  Status made = s3->EnsureBucket();
  ASSERT_TRUE(made.ok()) << made.ToString();
  Status again = s3->EnsureBucket();  // exists and is ours
  ASSERT_TRUE(again.ok()) << again.ToString();
  ASSERT_TRUE(s3->PutBytes("k", "x").ok());
  auto cli = Aws({"s3api", "head-bucket", "--bucket", bucket_});
  EXPECT_EQ(cli.exit_code, 0) << cli.out;
}

TEST_F(S3Test, UnknownAccessKeyIsPermissionDenied) {
  ASSERT_TRUE(ReadyClient());
  S3Config config = Config();
  config.access_key_id = "AKIDNOTKNOWN";
  auto s3 = Client(config);
  ASSERT_TRUE(s3);
  Result<std::string> put = s3->PutBytes("k", "x");
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), Code::kPermissionDenied) << put.status().ToString();
  EXPECT_NE(put.status().message().find("InvalidAccessKeyId"), std::string::npos);
  EXPECT_EQ(s3->Head("k").status().code(), Code::kPermissionDenied);  // no body: by status
}

// (A wrong secret: s3rver 3.7.1 does not verify SigV4 signatures; s3_signing_test.cc's
// botocore-checked server does.)

TEST_F(S3Test, ServerDownIsUnavailableQuickly) {
  S3Config config = Config();
  config.endpoint = "http://127.0.0.1:" + std::to_string(ClosedPort());
  auto s3 = Client(config);
  ASSERT_TRUE(s3);
  const auto start = std::chrono::steady_clock::now();
  Result<std::string> put = s3->PutBytes("k", "x");
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), Code::kUnavailable) << put.status().ToString();
  EXPECT_EQ(s3->Head("k").status().code(), Code::kUnavailable);
  EXPECT_EQ(s3->List("").status().code(), Code::kUnavailable);
  EXPECT_EQ(s3->EnsureBucket().code(), Code::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST_F(S3Test, ManyThreadsShareOneClient) {
  auto s3 = ReadyClient();
  ASSERT_TRUE(s3);
  constexpr int kThreads = 8;
  constexpr int kRounds = 10;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        const std::string key = "mt/" + std::to_string(t) + "-" + std::to_string(r);
        const std::string data = RandomBytes(1000 + t * 100 + r, t * 100 + r);
        if (!s3->PutBytes(key, data).ok()) ++failures[t];
        Result<std::string> got = s3->Get(key);
        if (!got.ok() || *got != data) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
  Result<std::vector<ObjectEntry>> listed = s3->List("mt/");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), static_cast<size_t>(kThreads * kRounds));
}

}  // namespace
}  // namespace streamarc::objectstore
