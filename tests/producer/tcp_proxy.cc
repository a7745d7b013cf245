#include "tests/producer/tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <string_view>

#include "tests/support/raw_http.h"

namespace streamarc::producer_test {

TcpProxy::TcpProxy(int target_port) : target_port_(target_port) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  listen(listen_fd_, 16);
  socklen_t len = sizeof a;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

TcpProxy::~TcpProxy() {
  stop_ = true;
  acceptor_.join();
  close(listen_fd_);
  std::lock_guard<std::mutex> l(mu_);
  for (auto& t : threads_) t.join();
}

void TcpProxy::CutAll() { ++generation_; }

void TcpProxy::AnswerListFragments(int status, const std::string& error_type, int count) {
  std::lock_guard<std::mutex> l(mu_);
  answer_status_ = status;
  answer_error_type_ = error_type;
  answer_count_ = count;
}

namespace {

// Appends what `fd` has to `into`; false when the peer closed, failed or was quiet for 2 s.
bool ReadMore(int fd, std::string& into) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 2'000) <= 0) return false;
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n <= 0) return false;
  into.append(buf, static_cast<size_t>(n));
  return true;
}

// The Content-Length of a request head (any case), 0 without one.
size_t ContentLength(const std::string& head) {
  std::string lower(head);
  for (char& c : lower) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  constexpr std::string_view kField = "\r\ncontent-length:";
  const size_t at = lower.find(kField);
  return at == std::string::npos ? 0 : std::strtoul(head.c_str() + at + kField.size(), nullptr, 10);
}

void WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t w = write(fd, bytes.data(), bytes.size());
    if (w <= 0) return;
    bytes.remove_prefix(static_cast<size_t>(w));
  }
}

std::string ReasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

}  // namespace

bool TcpProxy::MaybeAnswer(int client, std::string& head) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (answer_count_ == 0) return false;
  }
  size_t end;
  while ((end = head.find("\r\n\r\n")) == std::string::npos && head.size() < (64u << 10)) {
    if (!ReadMore(client, head)) return false;
  }
  if (end == std::string::npos || head.rfind("POST /listFragments ", 0) != 0) return false;
  int status;
  std::string error_type;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (answer_count_ == 0) return false;
    --answer_count_;
    status = answer_status_;
    error_type = answer_error_type_;
  }
  // The body is read whole first: closing with unread bytes would reset the connection, and
  // the client would see a lost connection instead of the answer.
  const size_t want = end + 4 + ContentLength(head);
  while (head.size() < want && ReadMore(client, head)) {
  }
  const std::string body = error_type.empty()
                               ? "<html><body><h1>" + ReasonPhrase(status) + "</h1></body></html>"
                               : R"({"message":"answered by the test proxy"})";
  std::string reply = "HTTP/1.1 " + std::to_string(status) + " " + ReasonPhrase(status) + "\r\n";
  if (!error_type.empty()) reply += "x-amzn-ErrorType: " + error_type + "\r\n";
  reply += std::string("Content-Type: ") + (error_type.empty() ? "text/html" : "application/json") +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
           body;
  WriteAll(client, reply);
  ++answered_;
  return true;
}

void TcpProxy::AcceptLoop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    int client = accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    int server = streamarc::testing::ConnectLoopback(target_port_, /*timeout_ms=*/0);
    if (server < 0) {
      close(client);
      continue;
    }
    std::lock_guard<std::mutex> l(mu_);
    threads_.emplace_back([this, client, server] { Pump(client, server); });
  }
}

void TcpProxy::Pump(int client, int server) {
  const int gen = generation_;
  std::string head;
  if (MaybeAnswer(client, head)) {
    shutdown(client, SHUT_WR);
    close(client);
    close(server);
    return;
  }
  // What MaybeAnswer read of another request goes on to the target.
  WriteAll(server, head);
  char buf[65536];
  while (!stop_ && generation_ == gen) {
    pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    if (poll(p, 2, 50) <= 0) continue;
    bool done = false;
    for (int i = 0; i < 2 && !done; ++i) {
      if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(p[i].fd, buf, sizeof buf);
      if (n <= 0) {
        done = true;
        break;
      }
      if (i == 1 && drop_replies_) continue;
      int to = i == 0 ? server : client;
      for (ssize_t off = 0; off < n;) {
        ssize_t w = write(to, buf + off, static_cast<size_t>(n - off));
        if (w <= 0) {
          done = true;
          break;
        }
        off += w;
      }
    }
    if (done) break;
  }
  close(client);
  close(server);
}

}  // namespace streamarc::producer_test
