// The HTTP front's request and response types, free of libwebsockets.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace streamarc::server {

struct Header {
  std::string name;  // lowercase
  std::string value;
};

struct HttpRequest {
  std::string method;     // "GET", "POST", ...
  std::string path;       // "/describeStream", without the query
  std::string query;      // "a=1&b=2" (lws URL-decodes each argument), without the '?'
  std::string raw_query;  // the query as received, still percent-encoded (SigV4 signs it)
  std::vector<Header> headers;
  std::string body;  // whole body for buffered handlers; empty for streaming ones
  std::string peer;  // client address

  // The value of a header by lowercase name, or nullptr.
  const std::string* FindHeader(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<Header> headers;
  std::string body;
};

// Handles a request whose body has fully arrived. Runs on a worker thread, so it may block
// on disk or SQLite; it must be thread-safe.
using BufferedHandler = std::function<HttpResponse(const HttpRequest&)>;

// Thread-safe: writes a streamed response (HTTP/1.1 chunked) from any thread. Calls after
// the connection closed are ignored. Kept alive by whoever holds it.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  // Sends the status line and headers; the body follows as chunks.
  virtual void Begin(int status, std::string content_type, std::vector<Header> headers) = 0;
  // Sends a whole response at once (for errors before Begin).
  virtual void Respond(HttpResponse response) = 0;
  virtual void Write(std::string bytes) = 0;
  // Sends immutable bytes shared with other readers (a live fragment fanned out to many
  // GetMedia readers): the writer keeps a reference until they are on the socket, with no
  // copy per reader. Null or empty is ignored.
  virtual void WriteShared(std::shared_ptr<const std::string> bytes) = 0;
  // The last chunk: the response is complete.
  virtual void End() = 0;
  // Closes the connection at once (after what was already queued).
  virtual void Close() = 0;
  // Stops (false) or resumes (true) reading the request body: back-pressure for ingest.
  virtual void SetReading(bool enabled) = 0;
  // Bytes queued for the client but not yet written to the socket.
  virtual size_t queued_bytes() const = 0;
  // Runs `task` once on the service thread as soon as queued_bytes() is at most `bytes`
  // (at once, posted, if it already is): how a paced writer resumes without polling. A later
  // call replaces an earlier pending one. Dropped if the connection closes first.
  virtual void NotifyWhenDrained(size_t bytes, std::function<void()> task) = 0;
  // Runs `task` on the service thread, even after the connection closed (dropped only
  // once the server stops): how work finished on another thread gets back to a handler.
  virtual void Post(std::function<void()> task) = 0;
  // As Post, after about `delay_us` microseconds (a libwebsockets timer, so no thread waits
  // for it): runs even after the connection closed, dropped once the server stops.
  virtual void PostAfter(int64_t delay_us, std::function<void()> task) = 0;
};

// A request handled as it streams: PutMedia (the body is an endless MKV stream) and long
// responses. Every call comes on the service thread and must not block.
class StreamingHandler {
 public:
  virtual ~StreamingHandler() = default;
  // Raw body bytes as they arrive (chunked framing included when the request is chunked:
  // libwebsockets 4.1 does not decode it).
  virtual void OnBody(std::span<const uint8_t> bytes) = 0;
  // A body of known length has fully arrived (never called for chunked bodies).
  virtual void OnBodyEnd() = 0;
  // The connection is gone; the writer ignores further calls.
  virtual void OnClose() = 0;
};

// Builds the handler for one request from its head (headers, no body).
using StreamingFactory = std::function<std::unique_ptr<StreamingHandler>(
    const HttpRequest& head, std::shared_ptr<ResponseWriter> writer)>;

}  // namespace streamarc::server
