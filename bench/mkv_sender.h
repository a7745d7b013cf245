// Matroska over TCP in real time, for peers_bench's ffmpeg and GStreamer readers: they connect
// to this process, which sends each of them camera_stream.h's bytes frame by frame as they fall
// due, camera i starting gop * i / N seconds after the first. Header-only, like bench_media.h.
#pragma once

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "bench/camera_stream.h"
#include "bench/connection_flood.h"

namespace streamarc::bench {

// Not thread-safe: driven by one loop that calls Pump as time passes. `stream` outlives it.
class MkvSender {
 public:
  MkvSender(const Stream& s, double gop_s) : stream_(s), gop_s_(gop_s) {}
  MkvSender(const MkvSender&) = delete;
  MkvSender& operator=(const MkvSender&) = delete;
  ~MkvSender() {
    for (Conn& c : conns_) close(c.fd);
    if (listen_fd_ >= 0) close(listen_fd_);
  }

  // Listens on 127.0.0.1 and a free port; 0 on failure.
  int Listen() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    socklen_t len = sizeof a;
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        listen(listen_fd_, 1024) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return 0;
    }
    return ntohs(a.sin_port);
  }

  // Accepts `n` readers within `timeout_s`; false when fewer came.
  bool Accept(int n, double timeout_s) {
    const auto t0 = SteadyClock::now();
    while (static_cast<int>(conns_.size()) < n && Since(t0) < timeout_s) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      fcntl(fd, F_SETFL, O_NONBLOCK);
      Conn c;
      c.fd = fd;
      c.start_s = gop_s_ * static_cast<double>(conns_.size()) / n;
      conns_.push_back(c);
    }
    return static_cast<int>(conns_.size()) == n;
  }

  // Sends what is due `now_s` after the start; true while anything is left to send.
  bool Pump(double now_s) {
    bool left = false;
    for (Conn& c : conns_) {
      if (c.fd < 0) continue;
      const double t = now_s - c.start_s;
      if (t < 0) {
        left = true;
        continue;
      }
      while (c.next_piece < stream_.pieces.size() && stream_.pieces[c.next_piece].due_s <= t) {
        c.due = stream_.pieces[c.next_piece++].end;
      }
      c.due = std::max(c.due, stream_.header_end);
      if (c.due > c.sent) {
        ssize_t w = write(c.fd, stream_.bytes.data() + c.sent, c.due - c.sent);
        if (w > 0) c.sent += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN) {
          close(c.fd);
          c.fd = -1;
          ++failed_;
          continue;
        }
      }
      // How late the oldest byte not yet taken by the socket is.
      while (c.first_unsent < stream_.pieces.size() &&
             stream_.pieces[c.first_unsent].end <= c.sent) {
        ++c.first_unsent;
      }
      if (c.first_unsent < c.next_piece) {
        worst_lag_s_ = std::max(worst_lag_s_, t - stream_.pieces[c.first_unsent].due_s);
      }
      if (c.next_piece < stream_.pieces.size() || c.sent < c.due) left = true;
    }
    return left;
  }

  // Ends every stream: the readers see the end of their input.
  void Finish() {
    for (Conn& c : conns_) {
      if (c.fd >= 0) close(c.fd);
      c.fd = -1;
    }
  }

  double worst_lag_s() const { return worst_lag_s_; }
  int failed() const { return failed_; }

 private:
  struct Conn {
    int fd = -1;
    double start_s = 0;
    size_t sent = 0, due = 0, next_piece = 0, first_unsent = 0;
  };
  const Stream& stream_;
  const double gop_s_;
  int listen_fd_ = -1;
  std::vector<Conn> conns_;
  double worst_lag_s_ = 0;
  int failed_ = 0;
};

}  // namespace streamarc::bench
