// Feeds arbitrary bytes to the packagers as a stored fragment: everything before the first
// Cluster ID is the header, the rest the cluster (seeds are small real MKV files, so the
// fuzzer mutates real headers and blocks). Every call must return a Status or a result,
// never crash, hang or leak; FFmpeg itself is not instrumented, our wrappers are.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

extern "C" {
#include <libavutil/log.h>
}

#include "playback/remux.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  av_log_set_level(AV_LOG_QUIET);  // the fuzzer's own process: FFmpeg's chatter is noise
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint8_t mode = data[0];  // the first byte picks the packagers and the track selection
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t cluster = bytes.find(std::string_view("\x1f\x43\xb6\x75", 4));
  if (cluster == std::string_view::npos) cluster = bytes.size();
  streamarc::playback::MkvFragment f{bytes.substr(0, cluster), bytes.substr(cluster), 10'000'000};
  streamarc::playback::TrackSelection tracks;
  if (mode & 0x10) tracks.tracks.push_back(1 + ((mode >> 5) & 3));

  auto described = streamarc::playback::DescribeTracks(f.header);
  (void)described;
  switch (mode & 3) {
    case 0:
      (void)streamarc::playback::Fmp4InitSegment(f.header, tracks);
      break;
    case 1:
      (void)streamarc::playback::Fmp4MediaSegment(f, tracks, 7);
      break;
    case 2:
      (void)streamarc::playback::TsSegment(f, tracks);
      break;
    case 3: {
      streamarc::playback::MkvFragment two[] = {f, f};
      two[1].start_us += 1'000'000;
      (void)streamarc::playback::Mp4ClipOf(std::span(two), tracks);
      break;
    }
  }
  return 0;
}
