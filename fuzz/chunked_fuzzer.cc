// Feeds arbitrary bytes to the chunked request-body decoder, once whole and once split at
// places chosen by the input, with small bounds so the limits are exercised too. Both runs
// must agree (same outcome, same body, same trailers): any split of the framing decodes the
// same. The decoder must never crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "ingest/chunked.h"

namespace {

struct Result {
  streamarc::Code code = streamarc::Code::kOk;
  std::string body;
  std::vector<std::string> trailers;
  bool done = false;
  size_t consumed = 0;
};

class Collect : public streamarc::ingest::ChunkedHandler {
 public:
  explicit Collect(Result* r) : r_(r) {}
  streamarc::Status OnData(std::span<const uint8_t> d) override {
    if (d.empty()) abort();  // never an empty piece
    r_->body.append(reinterpret_cast<const char*>(d.data()), d.size());
    return streamarc::Status::Ok();
  }
  streamarc::Status OnEnd(const std::vector<streamarc::ingest::Trailer>& t) override {
    for (const auto& f : t) r_->trailers.push_back(f.name + ":" + f.value);
    return streamarc::Status::Ok();
  }

 private:
  Result* r_;
};

Result Decode(std::span<const uint8_t> in, size_t piece) {
  Result r;
  Collect c(&r);
  streamarc::ingest::ChunkedOptions options;
  options.max_line_bytes = 64;
  options.max_chunk_size = 1 << 20;
  options.max_trailer_bytes = 256;
  streamarc::ingest::ChunkedDecoder d(c, options);
  size_t p = 0;
  while (p < in.size() && !d.done()) {
    size_t n = std::min(piece, in.size() - p);
    size_t used = 0;
    streamarc::Status s = d.Feed(in.subspan(p, n), &used);
    p += used;
    if (!s.ok()) {
      r.code = s.code();
      break;
    }
    if (used != n && !d.done()) abort();  // stops early only at the end of the body
  }
  r.done = d.done();
  r.consumed = r.code == streamarc::Code::kOk ? p : 0;
  if (d.body_bytes() != r.body.size() && r.code == streamarc::Code::kOk) abort();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The first byte picks the piece size of the second run: 1..255 bytes.
  size_t piece = data[0] ? data[0] : 1;
  std::span<const uint8_t> in(data + 1, size - 1);
  Result whole = Decode(in, in.size() + 1);
  Result split = Decode(in, piece);
  if (whole.code != split.code || whole.body != split.body || whole.trailers != split.trailers ||
      whole.done != split.done || whole.consumed != split.consumed) {
    abort();
  }
  return 0;
}
