// libavformat plumbing for the packagers (private to playback/): RAII owners for the C
// handles, in-memory AVIO for demuxing stored fragments and muxing into a string, and the
// one place FFmpeg error codes become Status.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavformat/avio.h>
}

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace streamarc::playback::av {

// An FFmpeg error code as a Status (the only place av_strerror is called).
Status AvStatus(int err, std::string_view what);

// Ownership contracts differ per handle, hence one deleter each.
struct AvioFree {  // a custom AVIOContext and the buffer FFmpeg may have reallocated
  void operator()(AVIOContext* c) const;
};
struct DemuxerClose {  // opened by avformat_open_input; its custom pb is not freed
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct MuxerFree {  // from avformat_alloc_output_context2; its pb belongs to the caller
  void operator()(AVFormatContext* c) const { avformat_free_context(c); }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
using AvioPtr = std::unique_ptr<AVIOContext, AvioFree>;
using DemuxerPtr = std::unique_ptr<AVFormatContext, DemuxerClose>;
using MuxerPtr = std::unique_ptr<AVFormatContext, MuxerFree>;
using PacketPtr = std::unique_ptr<AVPacket, PacketFree>;

// A Matroska demuxer over byte pieces read as one file (a header, then clusters), without
// copying them. The pieces must outlive it. Not thread-safe; one per call.
class MemoryDemuxer {
 public:
  static Result<std::unique_ptr<MemoryDemuxer>> Open(std::vector<std::string_view> pieces);
  ~MemoryDemuxer();
  MemoryDemuxer(const MemoryDemuxer&) = delete;
  MemoryDemuxer& operator=(const MemoryDemuxer&) = delete;

  AVFormatContext* ctx() const { return ctx_.get(); }
  // The next packet, or nullptr at the end of the input; an error for malformed input.
  Result<PacketPtr> Next();

 private:
  MemoryDemuxer() = default;
  static int Read(void* opaque, uint8_t* buf, int size) noexcept;
  static int64_t Seek(void* opaque, int64_t offset, int whence) noexcept;

  std::vector<std::string_view> pieces_;
  uint64_t size_ = 0;
  uint64_t pos_ = 0;
  AvioPtr avio_;  // declared before ctx_: the demuxer is closed first
  DemuxerPtr ctx_;
};

// A muxer writing into memory. The output is seekable, and the muxer may reopen it for
// reading (mp4's faststart moves the moov that way), so progressive MP4 works without a file.
class MemoryMuxer {
 public:
  // `format`: "mp4", "mpegts".
  static Result<std::unique_ptr<MemoryMuxer>> Create(const char* format);
  ~MemoryMuxer();
  MemoryMuxer(const MemoryMuxer&) = delete;
  MemoryMuxer& operator=(const MemoryMuxer&) = delete;

  AVFormatContext* ctx() const { return ctx_.get(); }
  // Sets room for `bytes` of output up front (a segment is about its fragment's size): saves
  // the copies and page faults of growing a large buffer step by step.
  void Reserve(size_t bytes) { bytes_.reserve(bytes); }
  // Bytes written so far (flushes the AVIO buffer first).
  const std::string& Bytes();
  std::string TakeBytes();

 private:
  MemoryMuxer() = default;
  static int Write(void* opaque, uint8_t* buf, int size) noexcept;
  static int ReadBack(void* opaque, uint8_t* buf, int size) noexcept;
  static int64_t Seek(void* opaque, int64_t offset, int whence) noexcept;
  static int64_t SeekBack(void* opaque, int64_t offset, int whence) noexcept;
  static int IoOpen(AVFormatContext* s, AVIOContext** pb, const char* url, int flags,
                    AVDictionary** options) noexcept;
  static int IoClose(AVFormatContext* s, AVIOContext* pb) noexcept;

  // A reader of bytes_ opened by IoOpen, with its own position.
  struct ReadBackState {
    MemoryMuxer* owner = nullptr;
    uint64_t pos = 0;
    AvioPtr avio;
  };

  std::string bytes_;
  uint64_t pos_ = 0;
  std::vector<std::unique_ptr<ReadBackState>> readers_;
  AvioPtr avio_;  // declared before ctx_: the muxer is freed first
  MuxerPtr ctx_;
};

// An AVDictionary owner for avformat_write_header's options.
class Options {
 public:
  Options() = default;
  ~Options() { av_dict_free(&dict_); }
  Options(const Options&) = delete;
  Options& operator=(const Options&) = delete;
  void Set(const char* key, const char* value) { av_dict_set(&dict_, key, value, 0); }
  AVDictionary** get() { return &dict_; }

 private:
  AVDictionary* dict_ = nullptr;
};

}  // namespace streamarc::playback::av
