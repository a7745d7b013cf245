#include "playback/remux_av.h"

#include <algorithm>
#include <cstring>

namespace streamarc::playback::av {
namespace {

constexpr int kAvioBufferSize = 64 << 10;

// Seeks over a buffer of `size` bytes on behalf of an AVIO callback.
int64_t SeekIn(uint64_t size, uint64_t* pos, int64_t offset, int whence) {
  whence &= ~AVSEEK_FORCE;
  if (whence == AVSEEK_SIZE) return static_cast<int64_t>(size);
  int64_t base = 0;
  if (whence == SEEK_CUR) {
    base = static_cast<int64_t>(*pos);
  } else if (whence == SEEK_END) {
    base = static_cast<int64_t>(size);
  } else if (whence != SEEK_SET) {
    return AVERROR(EINVAL);
  }
  int64_t target = base + offset;
  if (target < 0) return AVERROR(EINVAL);
  *pos = static_cast<uint64_t>(target);
  return target;
}

AvioPtr NewAvio(bool write, void* opaque, int (*read)(void*, uint8_t*, int),
                int (*write_fn)(void*, uint8_t*, int), int64_t (*seek)(void*, int64_t, int)) {
  auto* buffer = static_cast<unsigned char*>(av_malloc(kAvioBufferSize));
  if (buffer == nullptr) return nullptr;
  AVIOContext* avio =
      avio_alloc_context(buffer, kAvioBufferSize, write ? 1 : 0, opaque, read, write_fn, seek);
  if (avio == nullptr) av_free(buffer);
  return AvioPtr(avio);
}

}  // namespace

Status AvStatus(int err, std::string_view what) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, text, sizeof(text));
  std::string message = std::string(what) + ": " + text;
  if (err == AVERROR(ENOMEM)) return ResourceExhausted(message);
  if (err == AVERROR_PATCHWELCOME || err == AVERROR_DECODER_NOT_FOUND ||
      err == AVERROR_MUXER_NOT_FOUND || err == AVERROR_DEMUXER_NOT_FOUND) {
    return FailedPrecondition(message);
  }
  if (err == AVERROR_EOF) return DataLoss(message);
  return InvalidArgument(message);
}

void AvioFree::operator()(AVIOContext* c) const {
  if (c == nullptr) return;
  av_freep(&c->buffer);  // FFmpeg may have replaced the buffer we gave it
  avio_context_free(&c);
}

// ---- MemoryDemuxer ----

Result<std::unique_ptr<MemoryDemuxer>> MemoryDemuxer::Open(std::vector<std::string_view> pieces) {
  std::unique_ptr<MemoryDemuxer> d(new MemoryDemuxer());
  d->pieces_ = std::move(pieces);
  for (std::string_view p : d->pieces_) d->size_ += p.size();
  d->avio_ = NewAvio(false, d.get(), &MemoryDemuxer::Read, nullptr, &MemoryDemuxer::Seek);
  if (!d->avio_) return ResourceExhausted("no memory for an AVIOContext");
  AVFormatContext* ctx = avformat_alloc_context();
  if (ctx == nullptr) return ResourceExhausted("no memory for an AVFormatContext");
  ctx->pb = d->avio_.get();
  ctx->flags |= AVFMT_FLAG_CUSTOM_IO;
  // The stored bytes are Matroska by construction; no probing.
  const AVInputFormat* matroska = av_find_input_format("matroska");
  if (matroska == nullptr) {
    avformat_free_context(ctx);
    return FailedPrecondition("libavformat has no matroska demuxer");
  }
  // avformat_open_input frees ctx on failure.
  int err = avformat_open_input(&ctx, nullptr, matroska, nullptr);
  if (err < 0) return AvStatus(err, "reading the fragment's Matroska header");
  d->ctx_.reset(ctx);
  return d;
}

MemoryDemuxer::~MemoryDemuxer() = default;

Result<PacketPtr> MemoryDemuxer::Next() {
  PacketPtr pkt(av_packet_alloc());
  if (!pkt) return ResourceExhausted("no memory for an AVPacket");
  int err = av_read_frame(ctx_.get(), pkt.get());
  if (err == AVERROR_EOF) return PacketPtr();
  if (err < 0) return AvStatus(err, "reading the fragment's frames");
  return pkt;
}

int MemoryDemuxer::Read(void* opaque, uint8_t* buf, int size) noexcept {
  auto* d = static_cast<MemoryDemuxer*>(opaque);
  if (d->pos_ >= d->size_) return AVERROR_EOF;
  int done = 0;
  uint64_t piece_start = 0;
  for (std::string_view piece : d->pieces_) {
    uint64_t piece_end = piece_start + piece.size();
    if (d->pos_ < piece_end && done < size) {
      uint64_t from = d->pos_ - piece_start;
      size_t n = static_cast<size_t>(
          std::min<uint64_t>(piece.size() - from, static_cast<uint64_t>(size - done)));
      std::memcpy(buf + done, piece.data() + from, n);
      done += static_cast<int>(n);
      d->pos_ += n;
    }
    piece_start = piece_end;
  }
  return done > 0 ? done : AVERROR_EOF;
}

int64_t MemoryDemuxer::Seek(void* opaque, int64_t offset, int whence) noexcept {
  auto* d = static_cast<MemoryDemuxer*>(opaque);
  return SeekIn(d->size_, &d->pos_, offset, whence);
}

// ---- MemoryMuxer ----

Result<std::unique_ptr<MemoryMuxer>> MemoryMuxer::Create(const char* format) {
  std::unique_ptr<MemoryMuxer> m(new MemoryMuxer());
  m->avio_ = NewAvio(true, m.get(), nullptr, &MemoryMuxer::Write, &MemoryMuxer::Seek);
  if (!m->avio_) return ResourceExhausted("no memory for an AVIOContext");
  AVFormatContext* ctx = nullptr;
  int err = avformat_alloc_output_context2(&ctx, nullptr, format, nullptr);
  if (err < 0 || ctx == nullptr) {
    return AvStatus(err, std::string("creating a muxer for ") + format);
  }
  m->ctx_.reset(ctx);
  ctx->pb = m->avio_.get();
  ctx->flags |= AVFMT_FLAG_CUSTOM_IO;
  ctx->opaque = m.get();
  ctx->io_open = &MemoryMuxer::IoOpen;
  ctx->io_close2 = &MemoryMuxer::IoClose;
  return m;
}

MemoryMuxer::~MemoryMuxer() = default;

const std::string& MemoryMuxer::Bytes() {
  avio_flush(avio_.get());
  return bytes_;
}

std::string MemoryMuxer::TakeBytes() {
  avio_flush(avio_.get());
  return std::move(bytes_);
}

int MemoryMuxer::Write(void* opaque, uint8_t* buf, int size) noexcept {
  auto* m = static_cast<MemoryMuxer*>(opaque);
  if (size <= 0) return 0;
  try {
    size_t n = static_cast<size_t>(size);
    if (m->pos_ + n > m->bytes_.size()) m->bytes_.resize(m->pos_ + n);
    std::memcpy(m->bytes_.data() + m->pos_, buf, n);
    m->pos_ += n;
  } catch (...) {
    return AVERROR(ENOMEM);
  }
  return size;
}

int64_t MemoryMuxer::Seek(void* opaque, int64_t offset, int whence) noexcept {
  auto* m = static_cast<MemoryMuxer*>(opaque);
  int64_t r = SeekIn(m->bytes_.size(), &m->pos_, offset, whence);
  if (r >= 0 && m->pos_ > m->bytes_.size()) {
    try {
      m->bytes_.resize(m->pos_);
    } catch (...) {
      return AVERROR(ENOMEM);
    }
  }
  return r;
}

int MemoryMuxer::ReadBack(void* opaque, uint8_t* buf, int size) noexcept {
  auto* r = static_cast<ReadBackState*>(opaque);
  const std::string& bytes = r->owner->bytes_;
  if (r->pos >= bytes.size()) return AVERROR_EOF;
  size_t n = static_cast<size_t>(std::min<uint64_t>(bytes.size() - r->pos, size));
  // NOLINTNEXTLINE(bugprone-not-null-terminated-result): bytes, not a C string
  std::memcpy(buf, bytes.data() + r->pos, n);
  r->pos += n;
  return static_cast<int>(n);
}

int64_t MemoryMuxer::SeekBack(void* opaque, int64_t offset, int whence) noexcept {
  auto* r = static_cast<ReadBackState*>(opaque);
  return SeekIn(r->owner->bytes_.size(), &r->pos, offset, whence);
}

// The mp4 muxer reopens its own output for reading to move the moov (faststart). Anything
// else it might open (other files) is refused.
int MemoryMuxer::IoOpen(AVFormatContext* s, AVIOContext** pb, const char*, int flags,
                        AVDictionary**) noexcept {
  auto* m = static_cast<MemoryMuxer*>(s->opaque);
  if ((flags & AVIO_FLAG_WRITE) != 0) return AVERROR(EPERM);
  try {
    auto state = std::make_unique<ReadBackState>();
    state->owner = m;
    // Writes buffered in the main AVIO must be visible to the reader.
    avio_flush(m->avio_.get());
    state->avio =
        NewAvio(false, state.get(), &MemoryMuxer::ReadBack, nullptr, &MemoryMuxer::SeekBack);
    if (!state->avio) return AVERROR(ENOMEM);
    *pb = state->avio.get();
    m->readers_.push_back(std::move(state));
  } catch (...) {
    return AVERROR(ENOMEM);
  }
  return 0;
}

int MemoryMuxer::IoClose(AVFormatContext* s, AVIOContext* pb) noexcept {
  auto* m = static_cast<MemoryMuxer*>(s->opaque);
  if (pb == nullptr) return 0;
  auto it = std::find_if(m->readers_.begin(), m->readers_.end(),
                         [pb](const auto& r) { return r->avio.get() == pb; });
  if (it != m->readers_.end()) m->readers_.erase(it);
  return 0;
}

}  // namespace streamarc::playback::av
