// streamarc-mkvdump: prints the structure of a Matroska/WebM stream as it arrives, using the
// same push reader the server's ingest uses. Reads a file or stdin, so it works on a live
// pipe: `ffmpeg ... -f matroska - | streamarc-mkvdump`.
//
// Usage: streamarc-mkvdump [--frames] [FILE|-]
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/mkv.h"

namespace {

using streamarc::Status;
namespace mkv = streamarc::mkv;

class Printer : public mkv::ReaderHandler {
 public:
  explicit Printer(bool frames) : print_frames_(frames) {}

  Status OnEbmlHeader(const mkv::EbmlHeader& h) override {
    std::printf("EBML header: DocType %s v%" PRIu64 "\n", h.doc_type.c_str(), h.doc_type_version);
    return Status::Ok();
  }
  Status OnSegmentStart(uint64_t offset, std::optional<uint64_t> size) override {
    if (size) {
      std::printf("Segment at %" PRIu64 ", %" PRIu64 " bytes\n", offset, *size);
    } else {
      std::printf("Segment at %" PRIu64 ", unknown size (live)\n", offset);
    }
    return Status::Ok();
  }
  Status OnInfo(const mkv::SegmentInfo& i) override {
    scale_ = i.timecode_scale_ns;
    std::printf("Info: TimecodeScale %" PRIu64 " ns, muxer \"%s\", writer \"%s\"\n",
                i.timecode_scale_ns, i.muxing_app.c_str(), i.writing_app.c_str());
    return Status::Ok();
  }
  Status OnTracks(const std::vector<mkv::TrackInfo>& tracks) override {
    for (const auto& t : tracks) {
      std::printf("Track %" PRIu64 ": %s", t.number, t.codec_id.c_str());
      if (t.type == mkv::TrackType::kVideo) std::printf(" %ux%u", t.pixel_width, t.pixel_height);
      if (t.type == mkv::TrackType::kAudio) {
        std::printf(" %.0f Hz, %u ch", t.sampling_frequency, t.channels);
      }
      std::printf(", CodecPrivate %zu bytes\n", t.codec_private.size());
    }
    return Status::Ok();
  }
  Status OnClusterStart(const mkv::ClusterStart& c) override {
    cluster_ = c;
    frames_ = keys_ = bytes_ = 0;
    return Status::Ok();
  }
  Status OnFrame(const mkv::Frame& f) override {
    ++frames_;
    keys_ += f.key;
    bytes_ += f.data.size();
    if (print_frames_) {
      std::printf("  frame track %" PRIu64 " t=%.3f s%s %zu bytes\n", f.track, f.timestamp_ns / 1e9,
                  f.key ? " key" : "", f.data.size());
    }
    return Status::Ok();
  }
  Status OnClusterEnd() override {
    std::printf("Cluster at %" PRIu64 ": t=%.3f s, %d frames (%d key), %" PRIu64 " bytes\n",
                cluster_.offset, cluster_.timecode * (scale_ / 1e9), frames_, keys_, bytes_);
    std::fflush(stdout);
    return Status::Ok();
  }
  Status OnTags(const std::vector<mkv::SimpleTag>& tags) override {
    for (const auto& t : tags) {
      std::printf("Tag %s = %s\n", t.name.c_str(), t.binary ? "(binary)" : t.value.c_str());
    }
    return Status::Ok();
  }
  Status OnSegmentEnd() override {
    std::printf("Segment end\n");
    return Status::Ok();
  }

 private:
  bool print_frames_;
  uint64_t scale_ = 1'000'000;
  mkv::ClusterStart cluster_;
  int frames_ = 0, keys_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  bool frames = false;
  const char* path = "-";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--frames") == 0) {
      frames = true;
    } else if (std::strcmp(argv[i], "--help") == 0) {
      std::printf("usage: %s [--frames] [FILE|-]\n", argv[0]);
      return 0;
    } else {
      path = argv[i];
    }
  }
  FILE* in = std::strcmp(path, "-") == 0 ? stdin : std::fopen(path, "rb");
  if (!in) {
    std::perror(path);
    return 1;
  }
  Printer printer(frames);
  mkv::Reader reader(printer);
  std::vector<uint8_t> buf(64 * 1024);
  size_t n;
  Status s;
  // read(2), not fread: print each cluster as soon as its bytes arrive on a live pipe.
  while (s.ok() && (n = static_cast<size_t>(
                        std::max<ssize_t>(0, ::read(fileno(in), buf.data(), buf.size())))) > 0) {
    s = reader.Feed({buf.data(), n});
  }
  if (s.ok()) s = reader.Finish();
  if (!s.ok()) {
    std::fprintf(stderr, "streamarc-mkvdump: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
