// SigV4 against AWS's published examples and against botocore (Debian's, which awscli
// brings) signing the same request.
#include "common/sigv4.h"

#include <gtest/gtest.h>

#include <ctime>

#include "tests/support/subprocess.h"

namespace streamarc::sigv4 {
namespace {

constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

// The "get-vanilla" case of AWS's SigV4 test suite.
TEST(SigV4Test, AwsTestSuiteGetVanilla) {
  Request r;
  r.method = "GET";
  r.path = "/";
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  r.payload_sha256_hex = Sha256Hex(std::string_view());
  EXPECT_EQ(CanonicalRequest(r),
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n" +
                std::string(kEmptyPayloadSha256));
  EXPECT_EQ(Signature(r, kSecret, "20150830T123600Z", "us-east-1", "service"),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

// The IAM ListUsers example of AWS's SigV4 documentation: signing key and signature.
TEST(SigV4Test, AwsDocumentationIamExample) {
  EXPECT_EQ(Hex(SigningKey(kSecret, "20150830", "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
  Request r;
  r.method = "GET";
  r.path = "/";
  r.query = "Version=2010-05-08&Action=ListUsers";
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
               {"Host", "iam.amazonaws.com"},
               {"X-Amz-Date", "20150830T123600Z"}};
  r.payload_sha256_hex = Sha256Hex(std::string_view());
  EXPECT_EQ(Signature(r, kSecret, "20150830T123600Z", "us-east-1", "iam"),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

TEST(SigV4Test, CanonicalFormTrimsSortsAndEncodes) {
  Request r;
  r.path = "/a b/c";
  r.query = "b=2&a=x%20y&a=1";
  r.headers = {{"X-B", "  two   words "}, {"x-a", "1"}, {"X-A", "2"}, {"host", "h"}};
  r.payload_sha256_hex = "p";
  EXPECT_EQ(CanonicalRequest(r),
            "POST\n/a%20b/c\na=1&a=x%20y&b=2\nhost:h\nx-a:1,2\nx-b:two words\n\nhost;x-a;x-b\np");
}

TEST(SigV4Test, SignNeedsCredentials) {
  Request r;
  r.headers = {{"host", "h"}};
  EXPECT_EQ(Sign(r, {}, "us-west-2", "kinesisvideo", 0).status().code(), Code::kPermissionDenied);
}

TEST(SigV4Test, AmzDate) { EXPECT_EQ(AmzDate(1'440'938'160'000'000), "20150830T123600Z"); }

// botocore signs a PutMedia-shaped and a control-plane request; ours must match byte for
// byte (same Authorization header).
TEST(SigV4Test, MatchesBotocore) {
  // botocore reads the clock itself: it prints the X-Amz-Date it used, we sign at that time.
  const std::string script = R"PY(
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
creds = Credentials('AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY')
req = AWSRequest(method='POST', url='http://127.0.0.1:8080/describeStream',
                 data=b'{"StreamName":"cam"}',
                 headers={'content-type': 'application/json', 'user-agent': 'streamarc'})
SigV4Auth(creds, 'kinesisvideo', 'us-west-2').add_auth(req)
print(req.headers['X-Amz-Date'])
print(req.headers['Authorization'])
)PY";
  auto out = streamarc::testing::RunCommand({"python3", "-c", script});
  ASSERT_TRUE(out.ok());
  // install-deps installs python3-botocore (Debian's awscli does not bring it): its absence is a
  // failure, not a skip.
  ASSERT_EQ(out->exit_code, 0) << "botocore not usable: " << out->out;
  size_t nl = out->out.find('\n');
  ASSERT_NE(nl, std::string::npos);
  std::string amz_date = out->out.substr(0, nl);
  struct tm tm {};
  ASSERT_NE(strptime(amz_date.c_str(), "%Y%m%dT%H%M%SZ", &tm), nullptr);
  int64_t when_us = static_cast<int64_t>(timegm(&tm)) * 1'000'000;
  Request r;
  r.method = "POST";
  r.path = "/describeStream";
  // botocore signs every header but user-agent, expect and x-amzn-trace-id: mirror that.
  r.headers = {{"content-type", "application/json"}, {"host", "127.0.0.1:8080"}};
  r.payload_sha256_hex = Sha256Hex(std::string_view(R"({"StreamName":"cam"})"));
  auto signed_headers = Sign(r, {"AKIDEXAMPLE", kSecret, ""}, "us-west-2", "kinesisvideo", when_us);
  ASSERT_TRUE(signed_headers.ok());
  std::string auth;
  for (const auto& [k, v] : *signed_headers) {
    if (k == "Authorization") auth = v;
  }
  EXPECT_EQ(auth + "\n", out->out.substr(nl + 1));
}

}  // namespace
}  // namespace streamarc::sigv4
