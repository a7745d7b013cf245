// A loopback TCP proxy for fault tests: forwards connections to a target port, and on
// command swallows the target's replies (the ACKs of a PutMedia are then lost while the
// server keeps persisting), cuts every open connection, or answers ListFragments itself with
// an error (a busy server, a throttling or failing front end).
#pragma once

#include <atomic>
#include <mutex>
#include <string>
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
  // The next `count` POST /listFragments requests are read whole and answered by the proxy
  // with `status`, `error_type` as x-amzn-ErrorType and a JSON body (an HTML page when
  // `error_type` is empty, as a load balancer's); they never reach the target.
  void AnswerListFragments(int status, const std::string& error_type, int count);
  // How many ListFragments requests the proxy has answered itself so far.
  int list_fragments_answered() const { return answered_; }

 private:
  void AcceptLoop();
  void Pump(int client, int server);
  // Reads a request head from `client` into `head`. If it is a ListFragments and an answer is
  // owed, reads the body, answers and returns true; else the caller forwards `head`.
  bool MaybeAnswer(int client, std::string& head);

  int target_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> drop_replies_{false};
  std::atomic<int> generation_{0};
  std::atomic<int> answered_{0};
  std::mutex mu_;
  // Owed ListFragments answers (under mu_).
  int answer_count_ = 0;
  int answer_status_ = 0;
  std::string answer_error_type_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace streamarc::producer_test
