// With keys, the consumer's GetMedia is SigV4-signed: a one-shot loopback listener receives the
// request, checks the signature with common/sigv4 (the code a verifying server uses), and
// answers KVS's ResourceNotFoundException, which must come back as a Status with the type.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "common/digest.h"
#include "common/sigv4.h"
#include "frametap/frametap.h"

namespace streamarc::frametap {
namespace {

std::string HeaderValue(const std::string& head, const std::string& name) {
  std::string lower = head;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t p = lower.find("\r\n" + name + ":");
  if (p == std::string::npos) return "";
  p += name.size() + 3;
  while (p < head.size() && head[p] == ' ') ++p;
  return head.substr(p, head.find("\r\n", p) - p);
}

TEST(ConsumerSigning, GetMediaIsSignedAndKvsErrorsSurface) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);

  std::string request;
  std::thread server([&] {
    int fd = accept(listener, nullptr, nullptr);
    if (fd < 0) return;
    char buf[4096];
    for (;;) {
      size_t head_end = request.find("\r\n\r\n");
      if (head_end != std::string::npos &&
          request.size() >= head_end + 4 + std::stoul("0" + HeaderValue(request, "content-length")))
        break;
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    const std::string body = R"({"Message":"The stream cam1 does not exist"})";
    const std::string reply =
        "HTTP/1.1 404 Not Found\r\nx-amzn-ErrorType: ResourceNotFoundException:http://x/\r\n"
        "Content-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    (void)!write(fd, reply.data(), reply.size());
    close(fd);
  });

  ConsumerOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(port);
  o.stream_name = "cam1";
  o.start.type = StartType::kEarliest;
  o.region = "eu-west-1";
  o.access_key = "AKIDEXAMPLE";
  o.secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  o.max_reconnects = 0;
  auto c = Consumer::Open(o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto next = (*c)->Next();
  server.join();
  close(listener);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), Code::kNotFound);
  EXPECT_EQ(next.status().message(), "ResourceNotFoundException: The stream cam1 does not exist");

  // The signature, checked as a server would: rebuild the canonical request from what came.
  const size_t head_end = request.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << request;
  const std::string head = request.substr(0, head_end + 2);
  const std::string body = request.substr(head_end + 4);
  EXPECT_EQ(request.rfind("POST /getMedia HTTP/1.1\r\n", 0), 0u) << request;
  const std::string auth = HeaderValue(head, "authorization");
  const std::string date = HeaderValue(head, "x-amz-date");
  ASSERT_EQ(date.size(), 16u) << head;
  const std::string scope = date.substr(0, 8) + "/eu-west-1/kinesisvideo/aws4_request";
  EXPECT_EQ(auth.rfind("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" + scope + ", ", 0), 0u) << auth;
  const size_t sh = auth.find("SignedHeaders=");
  const size_t sig = auth.find("Signature=");
  ASSERT_NE(sh, std::string::npos);
  ASSERT_NE(sig, std::string::npos);
  std::string names = auth.substr(sh + 14, auth.find(',', sh) - sh - 14);
  sigv4::Request req;
  req.method = "POST";
  req.path = "/getMedia";
  req.payload_sha256_hex = Sha256Hex(body);
  for (size_t p = 0; p <= names.size();) {
    size_t e = names.find(';', p);
    if (e == std::string::npos) e = names.size();
    const std::string name = names.substr(p, e - p);
    req.headers.emplace_back(name, HeaderValue(head, name));
    p = e + 1;
  }
  EXPECT_NE(names.find("host"), std::string::npos);
  EXPECT_NE(names.find("x-amz-date"), std::string::npos);
  EXPECT_EQ(auth.substr(sig + 10),
            sigv4::Signature(req, o.secret_key, date, "eu-west-1", "kinesisvideo"));
  EXPECT_NE(body.find("\"StreamName\":\"cam1\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"StartSelectorType\":\"EARLIEST\""), std::string::npos) << body;
}

}  // namespace
}  // namespace streamarc::frametap
