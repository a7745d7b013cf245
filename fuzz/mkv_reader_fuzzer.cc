// Feeds arbitrary bytes to the Matroska push reader, split at places chosen by the input,
// with a small element bound so memory limits are exercised too. The reader must never
// crash, hang, leak or hold more than the bound.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "common/mkv.h"

namespace {

class Sink : public streamarc::mkv::ReaderHandler {
 public:
  streamarc::Status OnFrame(const streamarc::mkv::Frame& f) override {
    // Touch every payload byte so ASan sees any view that points past its buffer.
    for (uint8_t b : f.data) sum_ += b;
    return streamarc::Status::Ok();
  }
  unsigned sum_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The first byte picks the piece size: 1..255 bytes, or all at once when 0.
  size_t piece = data[0] ? data[0] : size;
  std::span<const uint8_t> in(data + 1, size - 1);
  Sink sink;
  streamarc::mkv::ReaderOptions options;
  options.max_element_size = 1 << 16;
  streamarc::mkv::Reader reader(sink, options);
  size_t p = 0;
  while (p < in.size()) {
    size_t n = std::min(piece, in.size() - p);
    if (!reader.Feed(in.subspan(p, n)).ok()) break;
    if (reader.buffered_bytes() > options.max_element_size + 65536) abort();
    p += n;
  }
  reader.Finish().IgnoreError();
  return 0;
}
