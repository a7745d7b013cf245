#include "tests/support/raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace streamarc::testing {

int ConnectLoopback(int port, int timeout_ms, int rcvbuf_bytes) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (rcvbuf_bytes > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf_bytes, sizeof rcvbuf_bytes);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  if (timeout_ms > 0) {
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  return fd;
}

RawHttp::RawHttp(int port, int timeout_ms) : fd_(ConnectLoopback(port, timeout_ms)) {}

RawHttp::~RawHttp() {
  if (fd_ >= 0) close(fd_);
}

bool RawHttp::Send(const std::string& bytes) {
  size_t p = 0;
  while (fd_ >= 0 && p < bytes.size()) {
    ssize_t n = send(fd_, bytes.data() + p, bytes.size() - p, MSG_NOSIGNAL);
    if (n <= 0) return false;
    p += static_cast<size_t>(n);
  }
  return fd_ >= 0;
}

bool RawHttp::SendChunk(const std::string& data) {
  char head[32];
  std::snprintf(head, sizeof head, "%zx\r\n", data.size());
  return Send(head + data + "\r\n");
}

bool RawHttp::ReadSome() {
  char buf[65536];
  ssize_t n = fd_ >= 0 ? recv(fd_, buf, sizeof buf, 0) : -1;
  if (n <= 0) return false;
  in_.append(buf, static_cast<size_t>(n));
  return true;
}

const std::string& RawHttp::ReadUntil(const std::string& text) {
  while (in_.find(text) == std::string::npos && ReadSome()) {
  }
  return in_;
}

const std::string& RawHttp::ReadFor(int ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (fd_ >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0 || !ReadSome()) break;
  }
  return in_;
}

const std::string& RawHttp::ReadToEnd() {
  while (ReadSome()) {
  }
  return in_;
}

void RawHttp::Abort() {
  if (fd_ < 0) return;
  linger l{1, 0};  // close with RST
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd_);
  fd_ = -1;
}

}  // namespace streamarc::testing
