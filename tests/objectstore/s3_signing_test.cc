// S3Client's requests checked as AWS S3 checks them, which s3rver does not: a small server in
// Python verifies each request's SigV4 signature with botocore (Debian's python3-botocore,
// which install-deps installs) over the path and query as S3 re-encodes them, and the body's
// x-amz-content-sha256 and Content-MD5; it refuses a mismatch with S3's
// SignatureDoesNotMatch.
#include <gtest/gtest.h>

#include <string>

#include "objectstore/s3.h"
#include "tests/support/subprocess.h"

namespace streamarc::objectstore {
namespace {

constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

// argv[1]: the secret it accepts. Prints "port N" once listening. Path-style: /bucket/key.
constexpr const char* kServer = R"PY(
import base64, hashlib, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SECRET = sys.argv[1]
objects = {}

class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def reply(self, status, body=b'', headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def problem(self, body):
        auth = self.headers.get('Authorization', '')
        if not auth.startswith('AWS4-HMAC-SHA256 '):
            return 'no SigV4 Authorization header'
        fields = dict(p.strip().split('=', 1) for p in auth[17:].split(','))
        key_id, date, region, service, _ = fields['Credential'].split('/')
        if hashlib.sha256(body).hexdigest() != self.headers.get('x-amz-content-sha256'):
            return 'x-amz-content-sha256 is not the body hash'
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        if self.command == 'PUT' and self.headers.get('Content-MD5') != md5:
            return 'Content-MD5 is not the body MD5'
        # As S3 does: the path and the query decoded, then encoded again the canonical way.
        url = urlsplit(self.path)
        path = quote(unquote(url.path), safe='/~')
        query = '&'.join(quote(k, safe='~') + '=' + quote(v, safe='~')
                         for k, v in parse_qsl(url.query, keep_blank_values=True))
        signed = {h: self.headers[h] for h in fields['SignedHeaders'].split(';')}
        req = AWSRequest(method=self.command, headers=signed, data=body,
                         url='http://' + self.headers['Host'] + path + ('?' + query if query else ''))
        req.context['timestamp'] = self.headers['X-Amz-Date']
        auth = S3SigV4Auth(Credentials(key_id, SECRET), service, region)
        canonical = auth.canonical_request(req)
        if auth.signature(auth.string_to_sign(req, canonical), req) != fields['Signature']:
            return 'the signature is not that of ' + canonical.replace('\n', ' | ')
        return None

    def handle_any(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', '0')))
        why = self.problem(body)
        if why:
            xml = ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch'
                   '</Code><Message>' + why.replace('&', '&amp;').replace('<', '&lt;') +
                   '</Message></Error>').encode()
            return self.reply(403, xml, [('Content-Type', 'application/xml')])
        url = urlsplit(self.path)
        key = unquote(url.path).split('/', 2)[2] if url.path.count('/') >= 2 else ''
        if self.command == 'PUT':
            objects[key] = body
            return self.reply(200, headers=[('ETag', '"%s"' % hashlib.md5(body).hexdigest())])
        if self.command == 'DELETE':
            objects.pop(key, None)
            return self.reply(204)
        if not key:  # ListObjectsV2, EncodingType=url
            prefix = dict(parse_qsl(url.query, keep_blank_values=True)).get('prefix', '')
            items = ''.join('<Contents><Key>%s</Key><Size>%d</Size><ETag>"%s"</ETag></Contents>'
                            % (quote(k, safe='/'), len(v), hashlib.md5(v).hexdigest())
                            for k, v in sorted(objects.items()) if k.startswith(prefix))
            xml = ('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><EncodingType>url'
                   '</EncodingType><IsTruncated>false</IsTruncated>' + items +
                   '</ListBucketResult>').encode()
            return self.reply(200, xml, [('Content-Type', 'application/xml')])
        if key not in objects:
            return self.reply(404)
        data = objects[key]
        etag = ('ETag', '"%s"' % hashlib.md5(data).hexdigest())
        rng = self.headers.get('Range')
        if self.command == 'GET' and rng:
            first, last = (int(x) for x in rng[6:].split('-'))
            return self.reply(206, data[first:last + 1],
                              [etag, ('Content-Range', 'bytes %d-%d/%d' % (first, last, len(data)))])
        if self.command == 'HEAD':
            self.send_response(200)
            self.send_header('ETag', etag[1])
            self.send_header('Content-Length', str(len(data)))
            return self.end_headers()
        return self.reply(200, data, [etag])

    do_GET = do_PUT = do_HEAD = do_DELETE = handle_any

server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
print('port', server.server_address[1], flush=True)
server.serve_forever()
)PY";

class S3SigningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.WaitForOutput("\n", 20000))
        << "the signing server did not start (python3-botocore?): " << server_.Output();
    const std::string out = server_.Output();
    endpoint_ = "http://127.0.0.1:" + out.substr(out.find("port ") + 5, out.find('\n') - 5);
  }

  std::unique_ptr<S3Client> Client(const std::string& secret) {
    S3Config c;
    c.endpoint = endpoint_;
    c.bucket = "signed";
    c.region = "eu-west-3";
    c.access_key_id = "AKIDEXAMPLE";
    c.secret_access_key = secret;
    auto client = S3Client::Create(c);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(*client) : nullptr;
  }

  streamarc::testing::ChildProcess server_{{"python3", "-c", kServer, kSecret}};
  std::string endpoint_;
};

TEST_F(S3SigningTest, EveryOperationIsSignedAsS3ChecksIt) {
  auto client = Client(kSecret);
  ASSERT_NE(client, nullptr);
  // Keys with every kind of byte a path must encode: spaces, '+', '=', '&', '~', UTF-8.
  const std::string key = "segments/7/a key+plus=eq&amp~tilde \xc3\xbc.seg";
  std::string bytes;
  for (int i = 0; i < 100'000; ++i) bytes.push_back(static_cast<char>(i * 31 % 251));
  auto etag = client->PutBytes(key, bytes);
  ASSERT_TRUE(etag.ok()) << etag.status().ToString();
  EXPECT_EQ(etag->size(), 32u);  // the body's MD5, as the server computed it
  auto info = client->Head(key);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, bytes.size());
  EXPECT_EQ(info->etag, *etag);
  std::string got(1000, '\0');
  Status range = client->GetRange(key, 54'321, got.size(), got.data());
  ASSERT_TRUE(range.ok()) << range.ToString();
  EXPECT_EQ(got, bytes.substr(54'321, 1000));
  auto whole = client->Get(key);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ(*whole, bytes);
  auto listed = client->List("segments/7/a key+");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key, key);
  EXPECT_EQ((*listed)[0].etag, *etag);
  ASSERT_TRUE(client->Delete(key).ok());
  EXPECT_EQ(client->Head(key).status().code(), Code::kNotFound);
}

TEST_F(S3SigningTest, AWrongSecretIsRefusedWithTheServersReason) {
  auto client = Client("not-the-secret");
  ASSERT_NE(client, nullptr);
  auto etag = client->PutBytes("k", "bytes");
  ASSERT_FALSE(etag.ok());
  EXPECT_EQ(etag.status().code(), Code::kPermissionDenied);
  EXPECT_NE(etag.status().message().find("SignatureDoesNotMatch"), std::string::npos)
      << etag.status().ToString();
}

}  // namespace
}  // namespace streamarc::objectstore
