// Cluster fail-over: three streamarcd nodes (127.0.0.2-4) sharing a throwaway PostgreSQL index
// (tests/support/pg_server.sh) and an s3rver bucket (tests/support/s3_server.sh), a producer
// SDK camera in this process streaming 640x360 H.264 at 30 fps with 1 s fragments in real
// time. Each round: a fresh stream whose owner is not the node the SDK asks GetDataEndpoint
// (its control endpoint, never killed), a few PERSISTED acks, then SIGKILL of the owner; the
// time from the kill to GetDataEndpoint naming another node (the lease's expiry as the cluster
// sees it) and to the first PERSISTED after the kill (what the camera sees: that, plus the
// SDK's back-off, reconnect and resend). The killed node is started again (same data dir, port
// and node id) and the cluster left to settle before the next round. One series per
// --lease-seconds value (default 10 and 3): p50/max of the fail-over time and its ratio to the
// lease, the reference a dead owner must wait out.
//
// The SDK's reconnect back-off is capped at --retry-max-ms (default 1000; the SDK's own default
// is 10 s, which would add up to that much on top).
//
// Usage: failover_bench [--streamarcd build/server/streamarcd] [--rounds 5] [--leases 10,3]
//                       [--retry-max-ms 1000]
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_media.h"
#include "bench/bench_process.h"
#include "bench/figures.h"
#include "producer-sdk/nal.h"
#include "producer-sdk/producer.h"
#include "tests/support/free_port.h"

namespace streamarc::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

const std::string kSupport = std::string(STREAMARC_SOURCE_DIR) + "/tests/support";

double SecondsSince(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// One access unit of the camera's H.264, Annex-B with its AUD.
struct AccessUnit {
  int64_t pts_ms = 0;
  bool key = false;
  std::vector<uint8_t> data;
};

// 10 s of 640x360 30 fps H.264 (1 s GOPs, no B-frames, as cameras send), encoded once.
bool MakeCamera(const std::string& dir, std::vector<AccessUnit>* out) {
  const std::string es = dir + "/camera.h264";
  if (!std::filesystem::exists(es) &&
      RunShell("ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=640x360:rate=30 -t 10 "
               "-pix_fmt yuv420p -c:v libx264 -preset veryfast -bf 0 -g 30 -keyint_min 30 "
               "-x264-params aud=1:scenecut=0 -b:v 1M -f h264 '" +
               es + ".part' && mv '" + es + ".part' '" + es + "'") != 0) {
    return false;
  }
  const std::string bytes = Slurp(es);
  std::span<const uint8_t> all(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  std::vector<std::span<const uint8_t>> nals = producer::nal::SplitAnnexB(all);
  // Each access unit starts at its AUD (NAL type 9), start code included.
  AccessUnit* au = nullptr;
  size_t au_start = 0;
  auto finish = [&](size_t end) {
    if (au != nullptr) au->data.assign(all.begin() + au_start, all.begin() + end);
  };
  for (const auto& n : nals) {
    const auto off = static_cast<size_t>(n.data() - all.data());
    const uint8_t type = producer::nal::H264Type(n);
    if (type == 9) {
      const size_t start = off >= 4 && all[off - 4] == 0 ? off - 4 : off - 3;
      finish(start);
      out->push_back({static_cast<int64_t>(out->size()) * 1000 / 30, false, {}});
      au = &out->back();
      au_start = start;
    }
    if (au != nullptr && type == 5) au->key = true;
  }
  finish(all.size());
  return out->size() >= 60 && out->front().key;
}

// A node of the cluster: same address, port, data directory and node id at every start. Its
// stdout and stderr are appended to `data_dir`.log.
struct Node {
  std::string id, address, data_dir;
  int port = 0;
  pid_t pid = -1;
  std::string url() const { return "http://" + address + ":" + std::to_string(port); }
  std::string log() const { return data_dir + ".log"; }

  bool Start(const std::string& bin, const std::vector<std::string>& common) {
    const std::string marker = "listening address=" + address + ":" + std::to_string(port);
    auto starts = [&] {  // how many times the log says it listens
      const std::string text = Slurp(log());
      size_t n = 0;
      for (size_t at = 0; (at = text.find(marker, at)) != std::string::npos; ++at) ++n;
      return n;
    };
    const size_t before = starts();
    std::vector<std::string> args = {
        bin,          "--host", address,     "--port", std::to_string(port),
        "--data-dir", data_dir, "--node-id", id,       "--public-url",
        url()};
    args.insert(args.end(), common.begin(), common.end());
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, log().c_str(),
                                     O_CREAT | O_APPEND | O_WRONLY, 0644);
    posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
    const int rc = posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      std::fprintf(stderr, "cannot run %s: %s\n", bin.c_str(), std::strerror(rc));
      pid = -1;
      return false;
    }
    for (int i = 0; i < 400; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (starts() > before) return true;
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        std::fprintf(stderr, "%s exited at start (status %d)\n", id.c_str(), status);
        pid = -1;
        return false;
      }
    }
    Signal(SIGKILL);
    return false;
  }
  void Signal(int sig) {
    if (pid <= 0) return;
    kill(pid, sig);
    waitpid(pid, nullptr, 0);
    pid = -1;
  }
};

// A POST with curl; the body of a 200, "" otherwise.
std::string Post(const std::string& url, const std::string& op, const nlohmann::json& body) {
  return Capture("curl -sS -m 10 -f -X POST --data-binary '" + body.dump() + "' " + url + "/" + op +
                 " 2>/dev/null");
}

std::string DataEndpoint(const Node& at, const std::string& stream) {
  auto j = nlohmann::json::parse(
      Post(at.url(), "getDataEndpoint", {{"StreamName", stream}, {"APIName", "PUT_MEDIA"}}),
      nullptr, false);
  return j.is_discarded() ? "" : j.value("DataEndpoint", "");
}

// PERSISTED acks and new connections, in the order the SDK reported them; thread-safe.
class Acks : public producer::StreamCallbacks {
 public:
  void OnFragmentAck(const producer::FragmentAck& a) override {
    if (a.type != producer::AckType::kPersisted) return;
    std::lock_guard<std::mutex> l(mu_);
    ++persisted_;
    events_.push_back({true, SteadyClock::now()});
  }
  void OnConnectionState(producer::ConnectionState s, const Status&) override {
    if (s != producer::ConnectionState::kConnected) return;
    std::lock_guard<std::mutex> l(mu_);
    events_.push_back({false, SteadyClock::now()});
  }
  size_t count() const {
    std::lock_guard<std::mutex> l(mu_);
    return persisted_;
  }
  // The first PERSISTED on a connection made after `t` (after a kill at `t`: from another
  // node, not an ack the dead one sent just before and the SDK read after).
  std::optional<SteadyClock::time_point> FirstAfter(SteadyClock::time_point t) const {
    std::lock_guard<std::mutex> l(mu_);
    bool connected = false;
    for (const Event& e : events_) {
      if (e.at <= t) continue;
      if (!e.persisted) connected = true;
      if (e.persisted && connected) return e.at;
    }
    return std::nullopt;
  }

 private:
  struct Event {
    bool persisted;  // else a new connection
    SteadyClock::time_point at;
  };
  mutable std::mutex mu_;
  size_t persisted_ = 0;
  std::vector<Event> events_;
};

// Puts the camera's access units, looped, in real time with wall-clock timestamps until
// stopped.
class Camera {
 public:
  Camera(producer::Stream& stream, const std::vector<AccessUnit>& aus)
      : stream_(stream), aus_(aus), thread_([this] { Run(); }) {}
  ~Camera() { Stop(); }
  Camera(const Camera&) = delete;
  Camera& operator=(const Camera&) = delete;
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    const int64_t loop_ms = static_cast<int64_t>(aus_.size()) * 1000 / 30;
    const int64_t base_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
    const auto start = SteadyClock::now();
    for (int64_t loop = 0; !stop_; ++loop) {
      for (const AccessUnit& au : aus_) {
        if (stop_) return;
        const int64_t t_ms = loop * loop_ms + au.pts_ms;
        std::this_thread::sleep_until(start + std::chrono::milliseconds(t_ms));
        producer::Frame f;
        f.pts_us = f.dts_us = base_us + t_ms * 1000;
        f.duration_us = 1'000'000 / 30;
        f.key_frame = au.key;
        f.data = au.data;
        (void)stream_.PutFrame(f);
      }
    }
  }
  producer::Stream& stream_;
  const std::vector<AccessUnit>& aus_;
  std::atomic<bool> stop_{false};
  std::thread thread_;  // last: starts once the rest is set up
};

struct Round {
  double endpoint_s = -1;   // kill -> GetDataEndpoint names another node
  double persisted_s = -1;  // kill -> first PERSISTED after the kill
};

// One series: a fresh cluster with leases of `lease_s`, `rounds` kills. Empty on a failure.
std::vector<Round> Series(const std::string& bin, const std::string& root, const std::string& pg,
                          const std::string& store, int lease_s, int rounds, int retry_max_ms,
                          const std::vector<AccessUnit>& aus) {
  const std::string dir = root + "/lease" + std::to_string(lease_s);
  std::filesystem::create_directories(dir);
  const std::string db = "failover_lease" + std::to_string(lease_s);
  if (RunShell("psql -q '" + pg + "postgres' -c 'DROP DATABASE IF EXISTS " + db +
               "' -c 'CREATE DATABASE " + db + "' >&2") != 0) {
    return {};
  }
  const std::vector<std::string> common = {"--index",
                                           pg + db,
                                           "--object-store",
                                           store,
                                           "--warm-after-seconds",
                                           "0",
                                           "--segment-window-seconds",
                                           "10",
                                           "--lease-seconds",
                                           std::to_string(lease_s),
                                           "--worker-threads",
                                           "2"};
  std::array<Node, 3> nodes;
  for (size_t i = 0; i < nodes.size(); ++i) {
    nodes[i].id = "node" + std::to_string(i + 1);
    nodes[i].address = "127.0.0." + std::to_string(i + 2);
    nodes[i].port = streamarc::testing::FreeTcpPort(nodes[i].address);
    nodes[i].data_dir = dir + "/" + nodes[i].id;
    if (nodes[i].port == 0 || !nodes[i].Start(bin, common)) {
      std::fprintf(stderr, "%s did not start (see %s)\n", nodes[i].id.c_str(),
                   nodes[i].log().c_str());
      for (Node& n : nodes) n.Signal(SIGTERM);
      return {};
    }
  }
  auto index_of = [&](const std::string& url) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].url() == url) return i;
    }
    return nodes.size();
  };
  Node& control = nodes[0];  // the SDK's control endpoint: never killed
  std::vector<Round> out;
  int serial = 0;
  for (int r = 0; r < rounds; ++r) {
    // A stream that another node serves.
    std::string stream;
    size_t owner = nodes.size();
    while (serial < 1000) {
      const std::string name = "cam-" + std::to_string(serial++);
      Post(control.url(), "createStream", {{"StreamName", name}, {"DataRetentionInHours", 2}});
      owner = index_of(DataEndpoint(control, name));
      if (owner < nodes.size() && owner != 0) {
        stream = name;
        break;
      }
    }
    if (stream.empty()) break;

    producer::ClientOptions co;
    co.endpoint = control.url();
    co.credentials = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
    co.connect_timeout_ms = 1'000;
    auto client = producer::Client::Create(co);
    producer::StreamOptions so;
    so.name = stream;
    so.create_if_missing = false;
    so.fragment_duration_ms = 1'000;
    so.retry_min_ms = 100;
    so.retry_max_ms = retry_max_ms;
    Acks acks;
    if (!client.ok()) break;
    auto s = (*client)->OpenStream(so, &acks);
    if (!s.ok()) {
      std::fprintf(stderr, "OpenStream: %s\n", s.status().ToString().c_str());
      break;
    }
    Round round;
    {
      Camera camera(**s, aus);
      const auto started = SteadyClock::now();
      while (acks.count() < 4 && SecondsSince(started) < 30) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (acks.count() < 4) {
        std::fprintf(stderr, "round %d: no PERSISTED from %s\n", r + 1, nodes[owner].id.c_str());
        break;
      }
      const auto killed = SteadyClock::now();
      nodes[owner].Signal(SIGKILL);
      // Watch GetDataEndpoint (at the control node, as the SDK asks) and the acks.
      while (SecondsSince(killed) < lease_s + 60.0 && round.persisted_s < 0) {
        if (round.endpoint_s < 0) {
          const size_t named = index_of(DataEndpoint(control, stream));
          if (named < nodes.size() && named != owner) round.endpoint_s = SecondsSince(killed);
        }
        if (auto at = acks.FirstAfter(killed)) {
          round.persisted_s = std::chrono::duration<double>(*at - killed).count();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      camera.Stop();
    }
    (void)(*s)->Stop(10'000);
    std::printf(
        "  lease %d s, round %d: %s killed; GetDataEndpoint moved after %.2f s, first "
        "PERSISTED after %.2f s\n",
        lease_s, r + 1, nodes[owner].id.c_str(), round.endpoint_s, round.persisted_s);
    std::fflush(stdout);
    if (round.persisted_s < 0) break;
    out.push_back(round);
    // Back with the same data dir, port and node id; let it heartbeat and recover.
    if (!nodes[owner].Start(bin, common)) {
      std::fprintf(stderr, "%s did not restart (see %s)\n", nodes[owner].id.c_str(),
                   nodes[owner].log().c_str());
      break;
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  for (Node& n : nodes) n.Signal(SIGTERM);
  if (static_cast<int>(out.size()) < rounds) return {};
  return out;
}

int Main(int argc, char** argv) {
  std::string bin = "build/server/streamarcd";
  int rounds = 5, retry_max_ms = 1000;
  std::vector<int> leases = {10, 3};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--streamarcd") {
      bin = v;
    } else if (k == "--rounds") {
      rounds = std::max(1, std::atoi(v.c_str()));
    } else if (k == "--retry-max-ms") {
      retry_max_ms = std::max(100, std::atoi(v.c_str()));
    } else if (k == "--leases") {
      leases.clear();
      std::stringstream in(v);
      for (std::string item; std::getline(in, item, ',');) {
        leases.push_back(std::atoi(item.c_str()));
      }
    } else {
      std::fprintf(stderr,
                   "usage: failover_bench [--streamarcd PATH] [--rounds N] [--leases 10,3] "
                   "[--retry-max-ms N]\n");
      return 2;
    }
  }
  bin = std::filesystem::absolute(bin).string();
  const std::string root = std::filesystem::absolute("bench-data/failover").string();
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  std::vector<AccessUnit> aus;
  if (!MakeCamera(root, &aus)) {
    std::fprintf(stderr, "ffmpeg could not make the camera's H.264\n");
    return 1;
  }

  // The shared index and bucket, stopped (and deleted) at the end.
  const std::string pg_state = root + "/pg-server", s3_state = root + "/s3";
  struct Stopper {
    std::string cmd;
    ~Stopper() { (void)RunShell(cmd); }
  } stop_pg{"bash " + kSupport + "/pg_server.sh stop " + pg_state + " >&2"},
      stop_s3{"bash " + kSupport + "/s3_server.sh stop " + s3_state + " >&2"};
  if (RunShell("bash " + kSupport + "/pg_server.sh start " + pg_state + " >&2") != 0 ||
      RunShell("bash " + kSupport + "/s3_server.sh start " + s3_state + " >&2") != 0) {
    std::fprintf(stderr, "PostgreSQL or s3rver did not start (scripts/install-deps.sh)\n");
    return 1;
  }
  const std::string pg = Trim(Slurp(pg_state + "/url"));
  const std::string s3 = Trim(Slurp(s3_state + "/endpoint"));
  if (RunShell("AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1 "
               "AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null aws "
               "--endpoint-url " +
               s3 + " s3 mb s3://video >&2") != 0) {
    return 1;
  }
  const std::string store = nlohmann::json{
      {"endpoint", s3},
      {"bucket", "video"},
      {"region", "us-east-1"},
      {"access-key-id", "S3RVER"},
      {"secret-access-key", "S3RVER"},
      {"path-style", true}}.dump();

  std::printf(
      "failover_bench: 3 nodes (PostgreSQL index, s3rver bucket), SDK camera 640x360 30 fps, "
      "1 s fragments, back-off 100..%d ms; %d rounds per lease\n",
      retry_max_ms, rounds);
  std::fflush(stdout);
  int failed = 0;
  for (int lease : leases) {
    std::vector<Round> series = Series(bin, root, pg, store, lease, rounds, retry_max_ms, aus);
    if (series.empty()) {
      std::fprintf(stderr, "lease %d s: the series did not complete (logs in %s/lease%d)\n", lease,
                   root.c_str(), lease);
      ++failed;
      continue;
    }
    std::vector<double> persisted, endpoint;
    for (const Round& r : series) {
      persisted.push_back(r.persisted_s);
      if (r.endpoint_s >= 0) endpoint.push_back(r.endpoint_s);
    }
    const double p50 = Percentile(persisted, 0.5);
    const double max = *std::max_element(persisted.begin(), persisted.end());
    const double ep50 = Percentile(endpoint, 0.5);
    std::printf(
        "  lease %d s: kill -> first PERSISTED p50 %.2f s, max %.2f s (p50 %.2fx the lease); "
        "kill -> GetDataEndpoint moved p50 %.2f s\n",
        lease, p50, max, p50 / lease, ep50);
    const std::string label = "lease " + std::to_string(lease) + " s: kill to first PERSISTED";
    const std::string ref = "--lease-seconds (what a dead owner's lease must wait out)";
    PrintFigure("failover_bench", label + " p50", p50, lease, "s", ref);
    PrintFigure("failover_bench", label + " max", max, lease, "s", ref);
    PrintFigure("failover_bench",
                "lease " + std::to_string(lease) + " s: kill to GetDataEndpoint moved p50", ep50,
                lease, "s", ref);
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace streamarc::bench

int main(int argc, char** argv) {
  try {
    return streamarc::bench::Main(argc, argv);
  } catch (const std::exception& e) {  // a std::bad_alloc, a JSON type error
    std::fprintf(stderr, "failover_bench: %s\n", e.what());
    return 1;
  }
}
