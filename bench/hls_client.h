// HTTP helpers of the benchmarks that play HLS from a streamarcd they started: a keep-alive
// client, the control-plane POST (curl), and a session's media playlist. Header-only.
#pragma once

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_process.h"
#include "bench/loopback.h"

namespace streamarc::bench {

// One keep-alive HTTP/1.1 connection reading Content-Length bodies.
class Client {
 public:
  explicit Client(int port) : fd_(Connect(port)) {}
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client() {
    if (fd_ >= 0) close(fd_);
  }
  // Returns the status; the body in *body.
  int Get(const std::string& path, std::string* body) {
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd_, req.data(), req.size()) != static_cast<ssize_t>(req.size())) return -1;
    size_t head_end;
    while ((head_end = in_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return -1;
    }
    std::string head = in_.substr(0, head_end);
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t cl = head.find("content-length:");
    size_t length = cl == std::string::npos ? 0 : std::strtoul(head.c_str() + cl + 15, nullptr, 10);
    while (in_.size() < head_end + 4 + length) {
      if (!Fill()) return -1;
    }
    *body = in_.substr(head_end + 4, length);
    in_.erase(0, head_end + 4 + length);
    return std::atoi(head.c_str() + 9);
  }
  bool ok() const { return fd_ >= 0; }

 private:
  bool Fill() {
    char buf[65536];
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n <= 0) return false;
    in_.append(buf, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  std::string in_;
};

inline std::string Post(int port, const std::string& op, const std::string& body) {
  return Capture("curl -sS -X POST --data-binary '" + body +
                 "' http://127.0.0.1:" + std::to_string(port) + "/" + op);
}

inline std::string JsonString(const std::string& json, const std::string& key) {
  size_t p = json.find("\"" + key + "\":\"");
  if (p == std::string::npos) return "";
  p += key.size() + 4;
  return json.substr(p, json.find('"', p) - p);
}

// The path (from /hls/...) of a session URL's first media playlist, and its segments' paths.
struct Playlist {
  std::string media_path;
  std::vector<std::string> segments;
};

inline Playlist ReadSession(int port, const std::string& url) {
  Playlist out;
  const std::string path = url.substr(url.find("/hls/"));
  const std::string dir = path.substr(0, path.rfind('/') + 1);
  Client c(port);
  std::string master, media;
  c.Get(path, &master);
  size_t p = master.find("#EXT-X-STREAM-INF");
  if (p == std::string::npos) return out;
  p = master.find('\n', p) + 1;
  out.media_path = dir + master.substr(p, master.find('\n', p) - p);
  c.Get(out.media_path, &media);
  std::istringstream lines(media);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line[0] != '#') out.segments.push_back(dir + line);
  }
  return out;
}

}  // namespace streamarc::bench
