// Feeds arbitrary bytes through the Matroska reader into the fragmenter, with limits chosen
// by the input, and checks every fragment it emits: `header + cluster` must re-read as
// Matroska, start with a key frame of the cut track and hold frame_count frames; fragment
// starts must increase. The fragmenter must never crash, hang, leak or overflow.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

#include "common/clock.h"
#include "common/mkv.h"
#include "fragmenter/fragmenter.h"

namespace {

using namespace streamarc;

struct Check : mkv::ReaderHandler {
  Status OnFrame(const mkv::Frame& f) override {
    if (frames == 0) {
      first_track = f.track;
      first_key = f.key;
      first_offset = f.block_offset;
    }
    ++frames;
    return Status::Ok();
  }
  size_t frames = 0;
  uint64_t first_track = 0;
  bool first_key = false;
  uint64_t first_offset = 0;
};

class Sink : public fragmenter::FragmentSink {
 public:
  Status OnFragment(std::shared_ptr<const fragmenter::Fragment> f) override {
    Check c;
    mkv::Reader r(c);
    if (!r.Feed(f->section->header).ok() || !r.Feed(f->cluster).ok() || !r.Finish().ok()) {
      abort();  // an emitted fragment that does not re-read
    }
    if (c.frames != f->frame_count || c.frames == 0 || !c.first_key) abort();
    if (f->section->cut_track != 0 && c.first_track != f->section->cut_track) abort();
    if (f->key_frames.empty() ||
        f->key_frames[0].offset + f->section->header.size() != c.first_offset) {
      abort();  // the key-frame index does not point at the first block
    }
    if (have_prev_ && f->producer_timestamp_ms < prev_ms_) abort();
    have_prev_ = true;
    prev_ms_ = f->producer_timestamp_ms;
    return Status::Ok();
  }

 private:
  bool have_prev_ = false;
  int64_t prev_ms_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The input format of mkv_reader_fuzzer, so its seeds fit: byte 0 picks the piece size
  // (0: all at once). The limits come from a hash of the size, so mutations that grow or
  // shrink the input also vary them.
  size_t piece = data[0] ? data[0] : size;
  const auto sel = static_cast<uint8_t>((static_cast<uint32_t>(size) * 2654435761u) >> 24);
  std::span<const uint8_t> in(data + 1, size - 1);
  fragmenter::Options o;
  o.max_duration_us = (sel & 1) ? 500'000 : 20'000'000;
  o.min_recut_duration_us = (sel & 2) ? 0 : 100'000;
  o.max_bytes = (sel & 4) ? 4096 : 1 << 20;
  o.timecode_type =
      (sel & 8) ? fragmenter::TimecodeType::kRelative : fragmenter::TimecodeType::kAbsolute;
  o.producer_start_timestamp_ms = (sel & 16) ? 1'700'000'000'000 : 0;
  if (sel & 32) o.max_fragments_per_second = 0;
  ManualClock clock;
  Sink sink;
  auto f = fragmenter::NewFragmenter(o, sink, clock);
  if (!f.ok()) abort();
  mkv::ReaderOptions ro;
  ro.max_element_size = 1 << 16;
  mkv::Reader reader(**f, ro);
  Status s;
  for (size_t p = 0; p < in.size() && s.ok(); p += piece) {
    s = reader.Feed(in.subspan(p, std::min(piece, in.size() - p)));
    clock.Advance(1000);
  }
  if (s.ok()) s = reader.Finish();
  fragmenter::FragmentError e = (*f)->ErrorFor(s);
  if (s.ok() != (e.ack == fragmenter::AckErrorId::kNone)) abort();
  return 0;
}
