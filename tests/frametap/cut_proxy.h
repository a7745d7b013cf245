// A loopback TCP proxy that breaks its first connection after a set number of response bytes
// (a network loss in the middle of a GetMedia body) and forwards every later one whole.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

namespace streamarc::frametap {

class CutProxy {
 public:
  CutProxy(int target_port, size_t cut_after_bytes)
      : target_(target_port), cut_after_(cut_after_bytes) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = Loopback(0);
    bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(listener_, 8);
    socklen_t len = sizeof a;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~CutProxy() {
    stop_ = true;
    thread_.join();
    close(listener_);
  }
  int port() const { return port_; }
  int connections() const { return connections_.load(); }

 private:
  static sockaddr_in Loopback(int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    return a;
  }

  // One connection at a time is enough: the consumer holds one.
  void Loop() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int client = accept(listener_, nullptr, nullptr);
      if (client < 0) continue;
      int server = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a = Loopback(target_);
      if (connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        Forward(client, server, connections_++ == 0 ? cut_after_ : SIZE_MAX);
      }
      close(server);
      close(client);
    }
  }

  void Forward(int client, int server, size_t limit) {
    size_t sent = 0;
    char buf[16384];
    while (!stop_) {
      pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      if (poll(p, 2, 50) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = read(p[i].fd, buf, sizeof buf);
        if (n <= 0) return;
        size_t len = static_cast<size_t>(n);
        if (i == 1 && sent + len > limit) len = limit - sent;
        if (write(p[1 - i].fd, buf, len) != static_cast<ssize_t>(len)) return;
        if (i == 1) {
          sent += len;
          if (sent >= limit) return;  // the cut
        }
      }
    }
  }

  const int target_;
  const size_t cut_after_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

}  // namespace streamarc::frametap
