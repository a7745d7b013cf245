// The cost of SigV4 verification. Two figures:
//  1. in process: server::Authenticate on a signed DescribeStream, GetMedia and PutMedia head,
//     microseconds per request on one core, with the signing key derived per request and
//     with it cached (as streamarcd verifies);
//  2. over loopback: a real streamarcd answering DescribeStream on one keep-alive connection,
//     signed (with an access key configured) vs unsigned (no keys: the reference), same run:
//     the server's CPU per request and the client's round-trip p50/p99.
// PutMedia is verified once per connection (its body is a stream), so its cost per camera
// is one in-process verification per connection, which producers keep open for 40 minutes.
//
// Usage: sigv4_auth_bench [STREAMARCD] [REQUESTS]   (default: the build's, 5000)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_process.h"
#include "bench/figures.h"
#include "common/digest.h"
#include "common/sigv4.h"
#include "server/auth.h"

namespace {

using namespace streamarc;
using Clock = std::chrono::steady_clock;

constexpr char kKeyId[] = "AKIDBENCH";
constexpr char kSecret[] = "bench-secret-0123456789abcdef";

server::HttpRequest SignedRequest(const std::string& path, const std::string& body,
                                  int64_t now_us) {
  server::HttpRequest r;
  r.method = "POST";
  r.path = path;
  r.body = body;
  r.headers = {{"host", "127.0.0.1:8080"},
               {"content-type", "application/json"},
               {"user-agent", "aws-cli/2.9.19 Python/3.11.2"}};
  if (path == "/putMedia") r.headers.push_back({"x-amzn-stream-name", "cam-1"});
  sigv4::Request s;
  s.method = r.method;
  s.path = r.path;
  for (const auto& h : r.headers) s.headers.emplace_back(h.name, h.value);
  s.payload_sha256_hex =
      path == "/putMedia" ? std::string(sigv4::kEmptyPayloadSha256) : Sha256Hex(body);
  auto add = sigv4::Sign(s, {kKeyId, kSecret, ""}, "us-east-1", "kinesisvideo", now_us);
  for (const auto& [name, value] : *add) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers.push_back({lower, value});
  }
  return r;
}

double InProcessMicros(const server::HttpRequest& r, const server::AuthOptions& o, int64_t now) {
  constexpr int kRounds = 20000;
  int refused = 0;
  const auto t0 = Clock::now();
  for (int i = 0; i < kRounds; ++i) refused += server::Authenticate(r, o, now) ? 1 : 0;
  const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / kRounds;
  if (refused != 0) std::printf("  (unexpected: %d refusals)\n", refused);
  return us;
}

// One keep-alive connection; each request's bytes are made before the clock starts.
struct LoopbackResult {
  double cpu_us_per_request = 0;
  double p50_us = 0;
  double p99_us = 0;
  int failures = 0;
};

LoopbackResult Drive(const bench::BenchServer& server, const std::vector<std::string>& requests) {
  LoopbackResult out;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server.port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    out.failures = static_cast<int>(requests.size());
    close(fd);
    return out;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::vector<double> rtt;
  const double cpu0 = bench::CpuSeconds(server.pid);
  char buf[65536];
  for (const std::string& req : requests) {
    const auto t0 = Clock::now();
    if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) break;
    // Responses are small JSON with a Content-Length: read until the body is complete.
    std::string resp;
    size_t need = std::string::npos;
    while (need == std::string::npos || resp.size() < need) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) break;
      resp.append(buf, static_cast<size_t>(n));
      size_t end = resp.find("\r\n\r\n");
      size_t cl = resp.find("content-length: ");
      if (end != std::string::npos && cl != std::string::npos) {
        need = end + 4 + std::stoul(resp.substr(cl + 16));
      }
    }
    rtt.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (resp.compare(0, 12, "HTTP/1.1 200") != 0) ++out.failures;
  }
  out.cpu_us_per_request =
      (bench::CpuSeconds(server.pid) - cpu0) * 1e6 / static_cast<double>(requests.size());
  out.p50_us = bench::Percentile(rtt, 0.50);
  out.p99_us = bench::Percentile(rtt, 0.99);
  close(fd);
  return out;
}

std::string Wire(const server::HttpRequest& r) {
  std::string out = r.method + " " + r.path + " HTTP/1.1\r\n";
  for (const auto& h : r.headers) out += h.name + ": " + h.value + "\r\n";
  out += "content-length: " + std::to_string(r.body.size()) + "\r\n\r\n" + r.body;
  return out;
}

}  // namespace

// Only an allocation failure can throw here: ending the process is right.
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  const std::string bin = argc > 1 ? argv[1] : STREAMARCD_PATH;
  const int n = argc > 2 ? std::atoi(argv[2]) : 5000;
  const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();

  server::AuthOptions options;
  options.keys = {
      {kKeyId, kSecret, {}, server::kRightRead | server::kRightWrite | server::kRightAdmin}};
  std::printf("sigv4_auth_bench: SigV4 verification, one core\n");
  // First as before the cache (the signing key derived per request), then as streamarcd
  // verifies (the derived key cached per key, day and region).
  double describe = 0, getmedia = 0, put = 0;
  for (int cached = 0; cached < 2; ++cached) {
    if (cached) options.signing_keys = std::make_shared<sigv4::SigningKeyCache>();
    describe = InProcessMicros(SignedRequest("/describeStream", R"({"StreamName":"cam-1"})", now),
                               options, now);
    getmedia = InProcessMicros(
        SignedRequest("/getMedia",
                      R"({"StreamName":"cam-1","StartSelector":{"StartSelectorType":"NOW"}})", now),
        options, now);
    put = InProcessMicros(SignedRequest("/putMedia", "", now), options, now);
    std::printf(
        "  in process, %s: DescribeStream %.2f us, GetMedia %.2f us, PutMedia head %.2f us\n",
        cached ? "signing key cached   " : "signing key per request", describe, getmedia, put);
  }
  {
    // A key limited to some streams also reads the stream name from the JSON body (the route
    // adapter then parses the body again): the difference is that parse.
    server::AuthOptions limited = options;
    limited.keys[0].streams = {"cam-*"};
    const double d = InProcessMicros(
        SignedRequest("/describeStream", R"({"StreamName":"cam-1"})", now), limited, now);
    std::printf("  in process, key limited to cam-*: DescribeStream %.2f us (+%.2f us)\n", d,
                d - describe);
  }
  std::printf(
      "  PutMedia: verified once per connection, %.2f us per 40-minute connection "
      "(%.1e of a core per camera)\n",
      put, put / (40 * 60 * 1e6));

  const std::string dir = std::filesystem::temp_directory_path() / "sigv4_auth_bench";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    std::FILE* f = std::fopen((dir + "/keys.json").c_str(), "w");
    std::fprintf(f, R"({"access-keys": [{"access-key-id": "%s", "secret-access-key": "%s"}]})",
                 kKeyId, kSecret);
    std::fclose(f);
  }
  // Each server gets a stream to describe, made with the API it checks.
  LoopbackResult unsigned_r, signed_r;
  for (int keyed = 0; keyed < 2; ++keyed) {
    bench::BenchServer server;
    std::vector<std::string> extra;
    if (keyed) extra = {"--config", dir + "/keys.json"};
    if (!server.Start(bin, dir + (keyed ? "/signed" : "/unsigned"), extra)) {
      std::fprintf(stderr, "sigv4_auth_bench: cannot start %s\n", bin.c_str());
      return 1;
    }
    Drive(server, {Wire(SignedRequest("/createStream", R"({"StreamName":"cam-1"})", now))});
    std::vector<std::string> requests;
    requests.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      // Distinct bodies, as distinct requests would be (no cache can help).
      server::HttpRequest r = SignedRequest(
          "/describeStream", R"({"StreamName":"cam-1"} )" + std::string(i % 7, ' '), now);
      requests.push_back(Wire(r));
    }
    Drive(server, std::vector<std::string>(requests.begin(), requests.begin() + n / 10));  // warm
    (keyed ? signed_r : unsigned_r) = Drive(server, requests);
    server.Stop();
  }
  std::filesystem::remove_all(dir);
  std::printf("  loopback DescribeStream, %d requests on one connection:\n", n);
  std::printf(
      "    unsigned (reference): server CPU %.1f us/request, p50 %.0f us, p99 %.0f us, "
      "%d failed\n",
      unsigned_r.cpu_us_per_request, unsigned_r.p50_us, unsigned_r.p99_us, unsigned_r.failures);
  std::printf(
      "    signed:               server CPU %.1f us/request, p50 %.0f us, p99 %.0f us, "
      "%d failed\n",
      signed_r.cpu_us_per_request, signed_r.p50_us, signed_r.p99_us, signed_r.failures);
  bench::PrintFigure("sigv4_auth_bench", "SigV4 verification in process (DescribeStream)", describe,
                     "us", "");
  bench::PrintFigure("sigv4_auth_bench", "loopback DescribeStream server CPU per request",
                     signed_r.cpu_us_per_request, unsigned_r.cpu_us_per_request, "us",
                     "the same server without keys, same run");
  bench::PrintFigure("sigv4_auth_bench", "loopback DescribeStream p99", signed_r.p99_us,
                     unsigned_r.p99_us, "us", "the same server without keys, same run");
  std::printf("    ratio signed/unsigned: CPU %.2fx, p50 %.2fx, p99 %.2fx\n",
              signed_r.cpu_us_per_request / unsigned_r.cpu_us_per_request,
              signed_r.p50_us / unsigned_r.p50_us, signed_r.p99_us / unsigned_r.p99_us);
  return unsigned_r.failures + signed_r.failures == 0 ? 0 : 1;
}
