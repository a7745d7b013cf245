// A bare HTTP/1.1 client over a loopback socket, for what curl cannot do in a test: send a
// body in timed pieces, read a streamed response while still sending, vanish mid-request.
#pragma once

#include <string>

namespace streamarc::testing {

// A TCP connection to 127.0.0.1:`port` whose reads time out after `timeout_ms` (0: never),
// with a receive buffer of `rcvbuf_bytes` unless 0 (set before connecting, so the window is
// small from the start). Returns the socket, which the caller closes, or -1.
int ConnectLoopback(int port, int timeout_ms = 5000, int rcvbuf_bytes = 0);

class RawHttp {
 public:
  // Connects to 127.0.0.1:port; reads time out after `timeout_ms`.
  explicit RawHttp(int port, int timeout_ms = 5000);
  ~RawHttp();
  RawHttp(const RawHttp&) = delete;
  RawHttp& operator=(const RawHttp&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Sends all of `bytes`; false if the connection is gone.
  bool Send(const std::string& bytes);
  // Sends `data` as one chunk of a chunked body.
  bool SendChunk(const std::string& data);
  // Reads until `text` has appeared in everything read so far, the peer closes, or the
  // timeout passes. Returns everything read so far.
  const std::string& ReadUntil(const std::string& text);
  // Reads whatever arrives within `ms` milliseconds.
  const std::string& ReadFor(int ms);
  // Reads until the peer closes or the timeout passes.
  const std::string& ReadToEnd();
  const std::string& received() const { return in_; }
  // Closes at once (RST, as a crashed producer would).
  void Abort();

 private:
  bool ReadSome();
  int fd_ = -1;
  std::string in_;
};

}  // namespace streamarc::testing
