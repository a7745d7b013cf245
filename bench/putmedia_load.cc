// PutMedia load: one process, N connections, each pushing a real camera's stream (1080p30 H.264
// at 4 or 2 Mbit/s with 2 s GOPs, and an AAC track unless --audio 0) in the KVS producer's
// layout, in real time, into a real streamarcd (started here, data on the real disk).
// Measures server CPU per stream, PERSISTED latency after each fragment's last byte, and
// whether the server keeps up. With --flood N, N hostile connections (idle, slow heads, slow
// bodies) are opened half-way and kept up: how many the server holds, and the ack latency
// and /health before and during. --flood-process 1 runs the flood in a child process, so that
// it takes no CPU time from this one's senders and ack readers.
//
// Usage: putmedia_load [--streamarcd PATH] [--streams 10,100,300] [--seconds 20]
//                      [--audio 1|0] [--bitrate 4|2] [--data-dir DIR] [--input FILE]
//                      [--flood N] [--flood-process 1]
// --bitrate picks the input made in bench-data/ (bench_media.h's EnsureCameraInput); --input
// names another MKV instead (its AAC track is sent unless --audio 0).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_media.h"
#include "bench/bench_process.h"
#include "bench/camera_stream.h"
#include "bench/connection_flood.h"
#include "bench/figures.h"
#include "common/mkv.h"

extern char** environ;

namespace {

using namespace streamarc;
using bench::BuildStream;
using bench::Connect;
using bench::Flood;
using bench::Since;
using bench::SteadyClock;
using bench::Stream;

// ---- The server ----

struct Server {
  pid_t pid = -1;
  int port = 0;
  std::string log;
};

bool StartServer(const std::string& bin, const std::string& data, Server* s) {
  s->log = data + ".log";
  int fd = open(s->log.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  std::vector<std::string> args = {
      bin, "--port", "0", "--data-dir", data, "--log-level", "warn", "--worker-threads", "2"};
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fd, STDERR_FILENO);
  int rc = posix_spawn(&s->pid, bin.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fd);
  if (rc != 0) return false;
  // --log-level warn hides the "listening" line: find the port from /proc instead.
  for (int i = 0; i < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    std::ifstream tcp("/proc/net/tcp");
    std::string line;
    std::string inode_dir = "/proc/" + std::to_string(s->pid) + "/fd";
    std::vector<std::string> inodes;
    for (const auto& e : std::filesystem::directory_iterator(
             inode_dir, std::filesystem::directory_options::skip_permission_denied)) {
      std::error_code ec;
      auto target = std::filesystem::read_symlink(e.path(), ec).string();
      if (target.rfind("socket:[", 0) == 0) inodes.push_back(target.substr(8, target.size() - 9));
    }
    std::getline(tcp, line);
    while (std::getline(tcp, line)) {
      std::istringstream ls(line);
      std::string sl, local, remote, state, q, t, r, uid, to, inode;
      ls >> sl >> local >> remote >> state >> q >> t >> r >> uid >> to >> inode;
      if (state == "0A" && std::find(inodes.begin(), inodes.end(), inode) != inodes.end()) {
        s->port = std::stoi(local.substr(local.find(':') + 1), nullptr, 16);
        return true;
      }
    }
  }
  return false;
}

std::string Request(int port, const std::string& path, const std::string& body) {
  int fd = Connect(port);
  // The server's own name: the request guard refuses a foreign Host.
  std::string req = "POST " + path +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    "Content-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
  (void)!write(fd, req.data(), req.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

// ---- One connection ----

struct Conn {
  int fd = -1;
  double start_s = 0;  // when it starts sending, from the run's start
  size_t sent = 0;     // stream bytes sent
  std::string out;     // framed bytes not yet accepted by the socket
  size_t next_piece = 0;
  size_t next_cluster = 0;
  std::map<int64_t, double> last_byte_at;  // cluster timecode -> when its last byte left
  std::string in;
  bool done_sending = false;
  size_t persisted = 0, errors = 0;
};

struct RunResult {
  int streams = 0;
  double mbps = 0, cpu_core = 0, cpu_per_stream = 0;
  double p50 = 0, p99 = 0, max = 0;
  size_t fragments = 0, persisted = 0, errors = 0;
  double worst_lag_s = 0;  // how late the sender ran behind real time
  // Per stream over the measured window: the server's resident memory at its end, the bytes it
  // wrote (files and sockets, /proc wchar), and this process's own CPU (the sender's cost).
  double rss_mb_per_stream = 0, written_kBps_per_stream = 0, sender_cpu_per_stream = 0;
  // With a flood: the acks before it began and during it, and what it did.
  double p99_before = 0, p99_during = 0, p50_before = 0, p50_during = 0;
  size_t acks_before = 0, acks_during = 0;
  Flood::Result flood;
};

RunResult RunOnce(const std::string& bin, const std::string& data_root, const Stream& stream, int n,
                  double seconds, size_t flood_n, bool flood_process) {
  RunResult res;
  res.streams = n;
  std::string data = data_root + "/run-" + std::to_string(n);
  std::filesystem::remove_all(data);
  Server server;
  if (!StartServer(bin, data, &server)) {
    std::fprintf(stderr, "cannot start %s\n", bin.c_str());
    return res;
  }
  for (int i = 0; i < n; ++i) {
    std::string answer =
        Request(server.port, "/createStream",
                "{\"StreamName\":\"load-" + std::to_string(i) + "\",\"DataRetentionInHours\":1}");
    if (answer.rfind("HTTP/1.1 200", 0) != 0) {
      // A run that measures nothing must not print figures.
      std::fprintf(stderr, "createStream refused: %s\n", answer.substr(0, 300).c_str());
      std::exit(1);
    }
  }
  std::vector<Conn> conns(static_cast<size_t>(n));
  const double gop_s = 2.0;
  for (int i = 0; i < n; ++i) {
    Conn& c = conns[static_cast<size_t>(i)];
    c.fd = Connect(server.port);
    std::string head = "POST /putMedia HTTP/1.1\r\nHost: 127.0.0.1\r\nx-amzn-stream-name: load-" +
                       std::to_string(i) +
                       "\r\nx-amzn-fragment-timecode-type: ABSOLUTE\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n";
    (void)!write(c.fd, head.data(), head.size());
    fcntl(c.fd, F_SETFL, O_NONBLOCK);
    c.start_s = gop_s * i / n;  // cameras are not in step: spread GOP ends over 2 s
  }

  std::vector<double> latencies, before, during;
  const auto t0 = SteadyClock::now();
  // The flood starts half-way and lasts to the end.
  const double flood_at = flood_n > 0 ? seconds / 2 : 1e18;
  std::atomic<bool> flood_stop{false};
  Flood flood(server.port, server.pid, flood_n, 900);
  std::thread flood_thread;
  std::optional<bench::FloodProcess> flood_child;
  double cpu0 = -1, cpu_t0 = 0, written0 = 0, sender_cpu0 = 0;
  const double warmup_s = 3;
  const double end_s = seconds + gop_s;
  size_t bytes_sent = 0;
  std::vector<pollfd> pfds(conns.size());
  while (true) {
    double now = Since(t0);
    if (!flood_thread.joinable() && !flood_child && now >= flood_at) {
      if (flood_process) {
        flood_child.emplace(flood);  // forked while this process has one thread
        if (!flood_child->ok()) {
          std::fprintf(stderr, "cannot fork the flood\n");
          std::exit(1);
        }
      } else {
        flood_thread = std::thread([&] { flood.Run(flood_stop); });
      }
    }
    if (cpu0 < 0 && now >= warmup_s) {
      cpu0 = bench::CpuSeconds(server.pid);
      written0 = bench::WrittenBytes(server.pid);
      sender_cpu0 = bench::CpuSeconds(getpid());
      cpu_t0 = now;
    }
    bool all_done = true;
    for (Conn& c : conns) {
      if (c.fd < 0) continue;
      double t = now - c.start_s;
      // Frame by frame as their time comes, chunk-framed.
      size_t due = c.sent;
      while (c.next_piece < stream.pieces.size() && stream.pieces[c.next_piece].due_s <= t) {
        due = stream.pieces[c.next_piece++].end;
      }
      if (c.sent == 0 && t >= 0) due = std::max(due, stream.header_end);
      if (due > c.sent) {
        char hex[32];
        std::snprintf(hex, sizeof hex, "%zx\r\n", due - c.sent);
        c.out += hex;
        c.out.append(reinterpret_cast<const char*>(stream.bytes.data()) + c.sent, due - c.sent);
        c.out += "\r\n";
        bytes_sent += due - c.sent;
        c.sent = due;
        if (t - stream.pieces[c.next_piece - 1].due_s > res.worst_lag_s) {
          res.worst_lag_s = t - stream.pieces[c.next_piece - 1].due_s;
        }
      }
      bool finished = c.next_piece >= stream.pieces.size();
      if (finished && !c.done_sending && c.out.empty() && t > 0) {
        c.out = "0\r\n\r\n";
        c.done_sending = true;
      }
      if (!c.out.empty()) {
        ssize_t w = write(c.fd, c.out.data(), c.out.size());
        if (w > 0) c.out.erase(0, static_cast<size_t>(w));
      }
      // A cluster's last byte left when everything up to its end is out of our buffer.
      size_t on_wire = c.sent - std::min(c.sent, c.out.size());
      while (c.next_cluster < stream.clusters.size() &&
             stream.clusters[c.next_cluster].end <= on_wire) {
        c.last_byte_at[stream.clusters[c.next_cluster].timecode] = now;
        ++c.next_cluster;
      }
      if (!c.done_sending || !c.out.empty() || now < end_s ||
          c.persisted + c.errors < stream.clusters.size()) {
        all_done = false;
      }
    }
    for (size_t i = 0; i < conns.size(); ++i) pfds[i] = {conns[i].fd, POLLIN, 0};
    poll(pfds.data(), pfds.size(), 5);
    now = Since(t0);
    for (size_t i = 0; i < conns.size(); ++i) {
      if (!(pfds[i].revents & POLLIN)) continue;
      Conn& c = conns[i];
      char buf[16384];
      ssize_t r = read(c.fd, buf, sizeof buf);
      if (r <= 0) continue;
      c.in.append(buf, static_cast<size_t>(r));
      size_t p;
      while ((p = c.in.find('\n')) != std::string::npos) {
        std::string line = c.in.substr(0, p);
        c.in.erase(0, p + 1);
        if (line.find("\"PERSISTED\"") != std::string::npos) {
          size_t at = line.find("\"FragmentTimecode\":");
          int64_t tc = std::stoll(line.substr(at + 19));
          auto it = c.last_byte_at.find(tc);
          if (it != c.last_byte_at.end() && Since(t0) >= warmup_s) {
            const double ms = (now - it->second) * 1000;
            latencies.push_back(ms);
            (it->second >= flood_at ? during : before).push_back(ms);
          }
          ++c.persisted;
        } else if (line.find("\"ERROR\"") != std::string::npos) {
          ++c.errors;
          std::fprintf(stderr, "ERROR ack: %s\n", line.c_str());
        }
      }
    }
    if (all_done || now > end_s + 10) break;
  }
  double cpu1 = bench::CpuSeconds(server.pid);
  double window = Since(t0) - cpu_t0;
  res.rss_mb_per_stream = bench::RssBytes(server.pid) / 1e6 / n;
  res.written_kBps_per_stream = (bench::WrittenBytes(server.pid) - written0) / 1e3 / window / n;
  res.sender_cpu_per_stream = (bench::CpuSeconds(getpid()) - sender_cpu0) / window * 100 / n;
  if (flood_thread.joinable()) {
    flood_stop = true;
    flood_thread.join();
    res.flood = flood.result();
  }
  if (flood_child) res.flood = flood_child->Stop();
  for (Conn& c : conns) {
    res.persisted += c.persisted;
    res.errors += c.errors;
    res.fragments += c.next_cluster;
    close(c.fd);
  }
  kill(server.pid, SIGTERM);
  int status = 0;
  waitpid(server.pid, &status, 0);
  res.mbps = bytes_sent * 8 / 1e6 / Since(t0);
  res.cpu_core = (cpu1 - cpu0) / window * 100;
  res.cpu_per_stream = res.cpu_core / n;
  res.p50 = bench::Percentile(latencies, 0.50);
  res.p99 = bench::Percentile(latencies, 0.99);
  res.max = bench::Percentile(latencies, 1.0);
  res.p50_before = bench::Percentile(before, 0.50);
  res.p99_before = bench::Percentile(before, 0.99);
  res.p50_during = bench::Percentile(during, 0.50);
  res.p99_during = bench::Percentile(during, 0.99);
  res.acks_before = before.size();
  res.acks_during = during.size();
  std::filesystem::remove_all(data);
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  std::string bin = "build/server/streamarcd", input;
  std::string data = "bench-data/putmedia";
  bool audio = true;
  int mbit = 4;
  std::vector<int> counts = {10, 100, 300};
  double seconds = 20;
  size_t flood = 0;
  bool flood_process = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--streamarcd") {
      bin = v;
    } else if (k == "--input") {
      input = v;
    } else if (k == "--data-dir") {
      data = v;
    } else if (k == "--seconds") {
      seconds = std::stod(v);
    } else if (k == "--flood") {
      flood = std::stoul(v);
    } else if (k == "--flood-process") {
      flood_process = v == "1";
    } else if (k == "--audio") {
      audio = v != "0";
    } else if (k == "--bitrate") {
      mbit = std::stoi(v);
    } else if (k == "--streams") {
      counts.clear();
      std::stringstream ss(v);
      std::string n;
      while (std::getline(ss, n, ',')) counts.push_back(std::stoi(n));
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  // The flood's sockets and the server's (which inherits the limit) need room.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  if (mbit != 4 && mbit != 2) {
    std::fprintf(stderr, "--bitrate is 4 or 2 (Mbit/s)\n");
    return 2;
  }
  if (input.empty()) {
    input = bench::CameraInputPath(mbit);
    if (!bench::EnsureCameraInput(input, mbit)) return 1;
  }
  std::filesystem::create_directories(data);
  int64_t base_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  Stream stream;
  if (!BuildStream(input, {.seconds = seconds, .base_ms = base_ms, .audio = audio}, &stream)) {
    std::fprintf(stderr, "cannot read %s\n", input.c_str());
    return 1;
  }
  std::printf(
      "input: %s, %s, %.1f Mbit/s in all, KVS producer layout (one cluster per 2 s GOP), %.0f s "
      "per stream\n",
      input.c_str(), bench::Describe(stream).c_str(),
      stream.bytes.size() * 8 / 1e6 / stream.duration_s, seconds);
  std::printf(
      "reference: DESIGN.md's bar, nginx-rtmp at 0.39-0.46%% of a core per 4 Mbit/s "
      "camera (measured on this kind of machine, not in this run); goal half of it\n");
  std::printf("%8s %10s %12s %14s %10s %10s %10s %10s %8s %10s\n", "streams", "Mbit/s",
              "server CPU%", "CPU%/stream", "vs nginx", "ack p50", "ack p99", "ack max", "errors",
              "late by");
  for (int n : counts) {
    RunResult r = RunOnce(bin, data, stream, n, seconds, flood, flood_process);
    std::printf(
        "%8d %10.0f %12.1f %14.3f %9.2fx %8.1fms %8.1fms %8.1fms %8zu %8.2fs   "
        "(%zu/%zu fragments persisted)\n",
        r.streams, r.mbps, r.cpu_core, r.cpu_per_stream, r.cpu_per_stream / 0.425, r.p50, r.p99,
        r.max, r.errors, r.worst_lag_s, r.persisted, r.fragments);
    std::printf(
        "%8s server RSS %.2f MB per stream, writes %.0f kB/s per stream; this sender %.3f%% of "
        "a core per stream\n",
        "", r.rss_mb_per_stream, r.written_kBps_per_stream, r.sender_cpu_per_stream);
    // The variants are separate rows in bench/run's table.
    const std::string b = "putmedia_load", at = std::to_string(n) + " cameras" +
                                                (mbit != 4 ? " at 2 Mbit/s" : "") +
                                                (stream.audio ? "" : ", video only") + ": ";
    const std::string design = "nginx-rtmp in DESIGN.md (not this run)";
    bench::PrintFigure(b, at + "server CPU per camera", r.cpu_per_stream, 0.425, "% of a core",
                       design);
    bench::PrintFigure(b, at + "server RSS per camera", r.rss_mb_per_stream, "MB", "");
    bench::PrintFigure(b, at + "bytes written per camera", r.written_kBps_per_stream, "kB/s", "");
    bench::PrintFigure(b, at + "sender CPU per camera", r.sender_cpu_per_stream, "% of a core", "");
    bench::PrintFigure(b, at + "PERSISTED ack p50", r.p50, "ms", "");
    bench::PrintFigure(b, at + "PERSISTED ack p99", r.p99, "ms", "goal < 50 ms (issue 15)");
    bench::PrintFigure(b, at + "sender late by", r.worst_lag_s, "s", "");
    // Whether the server kept up: every fragment PERSISTED, none refused (a full commit queue
    // answers ERROR 5001).
    bench::PrintFigure(b, at + "fragments not persisted",
                       static_cast<double>(r.fragments - std::min(r.fragments, r.persisted)),
                       "fragments", "goal 0");
    bench::PrintFigure(b, at + "ERROR acks", static_cast<double>(r.errors), "acks", "goal 0");
    if (flood > 0) {
      const Flood::Result& f = r.flood;
      std::printf(
          "  flood of %zu: %zu connections opened (%zu closed by the server and reopened, %zu "
          "connects failed); the server held up to %zu, %zu at the end\n"
          "  acks before: p50 %.1f ms, p99 %.1f ms (%zu); during: p50 %.1f ms, p99 %.1f ms "
          "(%zu); ratio during/before at p99 %.2fx\n"
          "  /health during: p50 %.1f ms, p99 %.1f ms, %zu answered, %zu failed\n",
          flood, f.opened, f.closed_by_server, f.connect_failed, f.held_max, f.held_end,
          r.p50_before, r.p99_before, r.acks_before, r.p50_during, r.p99_during, r.acks_during,
          r.p99_before > 0 ? r.p99_during / r.p99_before : 0.0, bench::Percentile(f.health_ms, 0.5),
          bench::Percentile(f.health_ms, 0.99), f.health_ms.size(), f.health_failed);
    }
    std::fflush(stdout);
  }
  return 0;
}
