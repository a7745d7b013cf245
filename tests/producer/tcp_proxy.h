// A loopback TCP proxy for fault tests: forwards connections to a target port, and on
// command swallows the target's replies (the ACKs of a PutMedia are then lost while the
// server keeps persisting) or cuts every open connection.
#pragma once

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace streamarc::producer_test {

class TcpProxy {
 public:
  explicit TcpProxy(int target_port);
  ~TcpProxy();
  int port() const { return port_; }
  // While set, bytes from the target are read and dropped instead of forwarded.
  void set_drop_replies(bool drop) { drop_replies_ = drop; }
  // Closes every connection open now (new ones are still accepted).
  void CutAll();

 private:
  void AcceptLoop();
  void Pump(int client, int server);

  int target_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> drop_replies_{false};
  std::atomic<int> generation_{0};
  std::mutex mu_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace streamarc::producer_test
