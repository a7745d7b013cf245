// HTTP/2 vs HTTP/1.1 on the TLS port of a real streamarcd: 100 small KVS calls
// (DescribeStream) over one HTTP/2 connection, all in flight at once (libcurl multi,
// CURLPIPE_MULTIPLEX), against 100 over one kept-alive HTTP/1.1 TLS connection, one after the
// other (HTTP/1.1 cannot overlap them on one connection). Each round includes its one TLS
// handshake. Prints wall time and the server's CPU time (user + system) per round; a
// measurement, not a test (see bench/README.md). CPU time is counted in clock ticks (10 ms):
// use 1000 requests for a CPU figure.
//
// Usage: h2_bench [rounds=3] [requests=100]
#include <curl/curl.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/bench_process.h"
#include "bench/figures.h"

namespace streamarc::bench {
namespace {

constexpr char kBody[] = R"({"StreamName":"bench"})";

size_t Sink(char* /*data*/, size_t size, size_t n, void* out) {
  *static_cast<size_t*>(out) += size * n;
  return size * n;
}

struct Run {
  double wall_ms = 0;
  double server_cpu_ms = 0;
  int ok = 0;
  long connects = 0;
};

CURL* NewCall(const std::string& url, const std::string& ca, long version, size_t* bytes) {
  CURL* c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CAINFO, ca.c_str());
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, version);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, kBody);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Sink);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, bytes);
  curl_easy_setopt(c, CURLOPT_PIPEWAIT, 1L);  // wait to multiplex rather than open another
  return c;
}

long Status(CURL* c) {
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

Run Http11(const std::string& url, const std::string& ca, int n, pid_t server) {
  Run r;
  size_t bytes = 0;
  const double cpu0 = CpuSeconds(server);
  const auto t0 = std::chrono::steady_clock::now();
  CURL* c = NewCall(url, ca, CURL_HTTP_VERSION_1_1, &bytes);
  for (int i = 0; i < n; ++i) {
    if (curl_easy_perform(c) == CURLE_OK && Status(c) == 200) ++r.ok;
    long connects = 0;
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
    r.connects += connects;
  }
  curl_easy_cleanup(c);
  r.wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  r.server_cpu_ms = (CpuSeconds(server) - cpu0) * 1000;
  return r;
}

Run Http2(const std::string& url, const std::string& ca, int n, pid_t server) {
  Run r;
  size_t bytes = 0;
  const double cpu0 = CpuSeconds(server);
  const auto t0 = std::chrono::steady_clock::now();
  CURLM* m = curl_multi_init();
  curl_multi_setopt(m, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  // One connection even past the server's 100 concurrent streams (the rest wait their turn).
  curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
  std::vector<CURL*> calls;
  for (int i = 0; i < n; ++i) {
    calls.push_back(NewCall(url, ca, CURL_HTTP_VERSION_2TLS, &bytes));
    curl_multi_add_handle(m, calls.back());
  }
  int running = 0;
  do {
    curl_multi_perform(m, &running);
    if (running) curl_multi_poll(m, nullptr, 0, 1000, nullptr);
  } while (running);
  for (CURL* c : calls) {
    long connects = 0;
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
    r.connects += connects;
    long version = 0;
    curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &version);
    if (Status(c) == 200 && version == CURL_HTTP_VERSION_2_0) ++r.ok;
    curl_multi_remove_handle(m, c);
    curl_easy_cleanup(c);
  }
  curl_multi_cleanup(m);
  r.wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  r.server_cpu_ms = (CpuSeconds(server) - cpu0) * 1000;
  return r;
}

void Print(const char* what, const Run& r, int n) {
  std::printf("%-34s %4d/%d ok  %2ld connection(s)  wall %7.1f ms  server CPU %6.1f ms\n", what,
              r.ok, n, r.connects, r.wall_ms, r.server_cpu_ms);
}

int Main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 3;
  const int n = argc > 2 ? std::atoi(argv[2]) : 100;
  char dir_template[] = "/tmp/h2_bench.XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  const std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
  Capture(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext "
      "subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " 2>/dev/null");
  BenchServer server;
  if (!server.Start(STREAMARCD_PATH, dir + "/data", {"--tls-cert", cert, "--tls-key", key})) {
    std::fprintf(stderr, "streamarcd did not start (see %s/data.log)\n", dir.c_str());
    return 1;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const std::string base = "https://127.0.0.1:" + std::to_string(server.port);
  {
    size_t bytes = 0;
    CURL* c = NewCall(base + "/createStream", cert, CURL_HTTP_VERSION_1_1, &bytes);
    curl_easy_perform(c);
    curl_easy_cleanup(c);
  }
  const std::string url = base + "/describeStream";
  std::printf("%d DescribeStream calls over TLS to streamarcd, %d rounds\n", n, rounds);
  Run h1_sum, h2_sum;
  for (int i = 0; i < rounds; ++i) {
    const Run h1 = Http11(url, cert, n, server.pid), h2 = Http2(url, cert, n, server.pid);
    Print("HTTP/1.1, one kept-alive connection", h1, n);
    Print("HTTP/2, one connection, multiplexed", h2, n);
    h1_sum.wall_ms += h1.wall_ms;
    h1_sum.server_cpu_ms += h1.server_cpu_ms;
    h2_sum.wall_ms += h2.wall_ms;
    h2_sum.server_cpu_ms += h2.server_cpu_ms;
  }
  const std::string at =
      std::to_string(n) + " DescribeStream over HTTP/2, " + std::to_string(rounds) + " rounds: ";
  const std::string h1_ref = "HTTP/1.1 on the same port, same run";
  PrintFigure("h2_bench", at + "wall time", h2_sum.wall_ms, h1_sum.wall_ms, "ms", h1_ref);
  PrintFigure("h2_bench", at + "server CPU", h2_sum.server_cpu_ms, h1_sum.server_cpu_ms, "ms",
              h1_ref);
  curl_global_cleanup();
  server.Stop();
  Capture("rm -rf " + dir);
  return 0;
}

}  // namespace
}  // namespace streamarc::bench

int main(int argc, char** argv) { return streamarc::bench::Main(argc, argv); }
