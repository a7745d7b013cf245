// What a flood of hostile connections does to a server while producers stream (putmedia_load
// --flood): idle connections, slow heads and slow bodies, opened from 127.0.0.2 and up and
// reopened when the server closes them, with /health timed from 127.0.0.1 meanwhile.
// Header-only, like bench_process.h.
#pragma once

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/loopback.h"

namespace streamarc::bench {

using SteadyClock = std::chrono::steady_clock;

inline double Since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

// Idle connections, heads sent one byte per 5 s, and buffered bodies trickled one byte per
// 5 s (a third each), the slowloris and slow-POST attacks, from 127.0.0.2 and up since the
// server caps connections per address. A connection the server closes is opened again, as an
// attacker would.
class Flood {
 public:
  struct Result {
    size_t opened = 0, closed_by_server = 0, connect_failed = 0;
    size_t held_max = 0, held_end = 0;  // the server's sockets beyond those before the flood
    std::vector<double> health_ms;
    size_t health_failed = 0;
  };

  Flood(int port, pid_t server, size_t n, size_t per_address)
      : port_(port), server_(server), n_(n), per_address_(per_address) {}

  // epoll, so that the flood's own cost does not grow with its size and take the machine
  // from the server.
  void Run(const std::atomic<bool>& stop) {
    const size_t base = ServerSockets();
    const auto t0 = SteadyClock::now();
    double next_health = 0, next_sample = 0;
    std::vector<Conn> conns(n_);
    std::deque<size_t> closed;
    for (size_t i = 0; i < n_; ++i) closed.push_back(i);
    std::deque<Due> due;  // FIFO: every connection is due again 5 s after its last byte
    const int ep = epoll_create1(0);
    std::vector<epoll_event> events(1024);
    while (!stop.load()) {
      double now = Since(t0);
      for (int k = 0; k < 200 && !closed.empty(); ++k) {  // ~4,000 a second at most
        size_t i = closed.front();
        closed.pop_front();
        if (!Open(i, conns[i], ep)) {
          closed.push_back(i);
          break;
        }
        if (conns[i].kind != 0) due.push_back({now + 0.2, i, conns[i].gen});
      }
      const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 50);
      for (int k = 0; k < n; ++k) {
        const size_t i = events[static_cast<size_t>(k)].data.u64;
        Conn& c = conns[i];
        char b[512];
        ssize_t r = read(c.fd, b, sizeof b);
        if (r == 0 || (r < 0 && errno != EAGAIN)) {
          ++res_.closed_by_server;
          close(c.fd);  // also leaves the epoll set
          c.fd = -1;
          ++c.gen;
          closed.push_back(i);
        }
      }
      now = Since(t0);
      while (!due.empty() && due.front().at <= now) {
        Due d = due.front();
        due.pop_front();
        Conn& c = conns[d.conn];
        if (c.fd < 0 || c.gen != d.gen) continue;
        const char one = c.kind == 1 ? kSlowHead[c.sent % kSlowHead.size()] : 'x';
        if (write(c.fd, &one, 1) == 1) ++c.sent;
        due.push_back({now + 5, d.conn, c.gen});
      }
      if (now >= next_sample) {
        size_t held = ServerSockets();
        held = held > base ? held - base : 0;
        res_.held_max = std::max(res_.held_max, held);
        res_.held_end = held;
        next_sample = now + 1;
      }
      if (now >= next_health) {
        Health();
        next_health = now + 0.5;
      }
    }
    for (Conn& c : conns) {
      if (c.fd >= 0) close(c.fd);
    }
    close(ep);
  }

  const Result& result() const { return res_; }

 private:
  struct Conn {
    int fd = -1;
    int kind = 0;  // 0 idle, 1 slow head, 2 slow body
    size_t sent = 0;
    uint64_t gen = 0;  // which opening of this slot
  };
  struct Due {
    double at;
    size_t conn;
    uint64_t gen;
  };
  inline static const std::string kSlowHead = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
  inline static const std::string kSlowBodyHead =
      "POST /describeStream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n";

  bool Open(size_t i, Conn& c, int ep) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = htonl(0x7f000002u + static_cast<uint32_t>(i / per_address_));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port_));
    to.sin_addr.s_addr = htonl(0x7f000001u);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
        (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS)) {
      if (fd >= 0) close(fd);
      ++res_.connect_failed;
      return false;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    c.fd = fd;
    c.kind = static_cast<int>(i % 3);
    c.sent = 0;
    ++res_.opened;
    if (c.kind == 2) {
      // The head goes at once (it fits the socket buffer); then the body trickles.
      pollfd p{fd, POLLOUT, 0};
      if (poll(&p, 1, 200) == 1) (void)!write(fd, kSlowBodyHead.data(), kSlowBodyHead.size());
    }
    return true;
  }

  // /health from 127.0.0.1 (not a flood address), timed; 5 s without an answer fails.
  void Health() {
    const auto t = SteadyClock::now();
    int fd = Connect(port_);
    if (fd < 0) {
      ++res_.health_failed;
      return;
    }
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const std::string req = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    (void)!write(fd, req.data(), req.size());
    char b[256];
    ssize_t r = read(fd, b, sizeof b);
    close(fd);
    if (r > 12 && std::string(b, 12) == "HTTP/1.1 200") {
      res_.health_ms.push_back(Since(t) * 1000);
    } else {
      ++res_.health_failed;
    }
  }

  size_t ServerSockets() const {
    size_t n = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(
             "/proc/" + std::to_string(server_) + "/fd",
             std::filesystem::directory_options::skip_permission_denied, ec)) {
      std::error_code ec2;
      if (std::filesystem::read_symlink(e.path(), ec2).string().rfind("socket:", 0) == 0) ++n;
    }
    return n;
  }

  int port_;
  pid_t server_;
  size_t n_, per_address_;
  Result res_;
};

// The flood in a child process (putmedia_load --flood-process): its connects, reads and /proc
// scans then take no time from the senders and ack readers of the process that measures. Fork
// it while that process has one thread; Stop() ends it and brings back its result.
class FloodProcess {
 public:
  explicit FloodProcess(Flood& flood) {
    int p[2];
    if (pipe(p) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(p[0]);
      std::atomic<bool>& stop = ChildStop();  // made before the handler may use it
      signal(SIGTERM, [](int) { ChildStop().store(true); });
      flood.Run(stop);
      const Flood::Result& r = flood.result();
      std::string out = std::to_string(r.opened) + " " + std::to_string(r.closed_by_server) + " " +
                        std::to_string(r.connect_failed) + " " + std::to_string(r.held_max) + " " +
                        std::to_string(r.held_end) + " " + std::to_string(r.health_failed);
      for (double ms : r.health_ms) out += " " + std::to_string(ms);
      for (size_t off = 0; off < out.size();) {
        const ssize_t w = write(p[1], out.data() + off, out.size() - off);
        if (w <= 0) break;
        off += static_cast<size_t>(w);
      }
      _exit(0);
    }
    close(p[1]);
    out_ = pid_ > 0 ? p[0] : -1;
    if (pid_ < 0) close(p[0]);
  }
  bool ok() const { return pid_ > 0; }

  Flood::Result Stop() {
    Flood::Result r;
    if (pid_ <= 0) return r;
    kill(pid_, SIGTERM);
    std::string in;
    char b[4096];
    for (ssize_t n; (n = read(out_, b, sizeof b)) > 0;) in.append(b, static_cast<size_t>(n));
    close(out_);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    std::istringstream is(in);
    is >> r.opened >> r.closed_by_server >> r.connect_failed >> r.held_max >> r.held_end >>
        r.health_failed;
    for (double ms; is >> ms;) r.health_ms.push_back(ms);
    return r;
  }

 private:
  static std::atomic<bool>& ChildStop() {
    static std::atomic<bool> stop{false};
    return stop;
  }
  pid_t pid_ = -1;
  int out_ = -1;
};

}  // namespace streamarc::bench
