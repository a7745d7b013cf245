// The HTTP/1.1 chunked transfer coding of a request body (RFC 9112 §7.1), decoded push-wise.
// Debian's libwebsockets 4.1 hands the server the raw chunk framing of a PutMedia body
// (DESIGN.md), so the server undoes it here before the Matroska reader sees the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace streamarc::ingest {

struct ChunkedOptions {
  // Longest chunk-size line (hex size plus extensions), CRLF excluded. Real clients send a
  // few bytes; the bound stops a peer from making us buffer an endless line.
  size_t max_line_bytes = 4096;
  // Largest chunk size accepted. Chunk data are streamed, never held, so this only bounds
  // the arithmetic and refuses absurd sizes early.
  uint64_t max_chunk_size = uint64_t{1} << 40;
  // Largest trailer section, all field lines together.
  size_t max_trailer_bytes = 16 << 10;
};

// A trailer field after the last chunk.
struct Trailer {
  std::string name;
  std::string value;  // surrounding whitespace removed
};

// Receives the decoded body. Returning non-OK stops the decoder (Feed returns that Status).
class ChunkedHandler {
 public:
  virtual ~ChunkedHandler() = default;
  // Body bytes, in order. The view points into the bytes passed to Feed and is valid only
  // during the call.
  virtual Status OnData(std::span<const uint8_t> data) = 0;
  // The last chunk and its trailer section arrived: the body is complete.
  virtual Status OnEnd(const std::vector<Trailer>& /*trailers*/) { return Status::Ok(); }
};

// Decodes `chunked-body = *chunk last-chunk trailer-section CRLF`, in pieces of any size.
//
// Accepts chunk extensions (`;name` or `;name=token` or `;name="quoted"`, with optional
// whitespace around `;` and `=`), upper- and lower-case hex, leading zeros, and trailer
// fields. Refuses with kInvalidArgument, naming the offset in the framing: a size that is not
// hex, a chunk-size line or trailer section over its bound, a size over max_chunk_size, a line
// not ended by CRLF (a bare LF or CR), chunk data not followed by CRLF, a malformed extension
// or trailer field (including obsolete line folding). After an error or the end, Feed keeps
// returning the same Status / refuses more data.
//
// Not thread-safe. The handler outlives the decoder.
class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(ChunkedHandler& handler, const ChunkedOptions& options = {});

  // Decodes `in`. With `consumed` set, decoding stops at the end of the body and *consumed
  // gets the bytes used (the rest belongs to the next request on the connection); without
  // it, bytes after the end of the body are an error.
  Status Feed(std::span<const uint8_t> in, size_t* consumed = nullptr);

  // The whole body, trailers included, has been decoded.
  bool done() const { return state_ == State::kDone; }
  // Decoded body bytes so far.
  uint64_t body_bytes() const { return body_bytes_; }
  // Framing bytes consumed so far.
  uint64_t offset() const { return offset_; }

 private:
  enum class State { kSizeLine, kData, kDataCr, kDataLf, kTrailerLine, kDone, kError };

  Status Step(std::span<const uint8_t>& in);
  // Collects a CRLF-ended line into line_; true once it is complete (CRLF stripped).
  Status ReadLine(std::span<const uint8_t>& in, size_t limit, const char* what, bool* complete);
  Status ParseSizeLine();
  Status ParseTrailerLine();
  Status Fail(const std::string& message);

  ChunkedHandler& handler_;
  const ChunkedOptions opt_;
  State state_ = State::kSizeLine;
  Status error_;
  std::string line_;
  bool line_cr_ = false;  // the last byte of the line so far was CR
  uint64_t remaining_ = 0;
  uint64_t offset_ = 0;
  uint64_t body_bytes_ = 0;
  size_t trailer_bytes_ = 0;
  std::vector<Trailer> trailers_;
};

}  // namespace streamarc::ingest
