// A TCP port free on a loopback address now, for a server that must be started (and started
// again after a crash) on a port known beforehand: a cluster node names its own URL
// (--public-url) at start. Header-only and without gtest, so the benchmarks use it too.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace streamarc::testing {

// A port the kernel picks on IPv4 `address` (e.g. "127.0.0.2"), closed again before this
// returns: another process may take it before the caller binds it, which on a test machine's
// ephemeral range is rare. 0 when `address` cannot be bound.
inline int FreeTcpPort(const std::string& address) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = 0;
  int port = 0;
  socklen_t len = sizeof a;
  if (::inet_pton(AF_INET, address.c_str(), &a.sin_addr) == 1 &&
      ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

}  // namespace streamarc::testing
