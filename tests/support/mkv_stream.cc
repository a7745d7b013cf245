#include "tests/support/mkv_stream.h"

namespace streamarc::testing {

mkv::TrackInfo H264Track(std::vector<uint8_t> codec_private) {
  mkv::TrackInfo t;
  t.number = 1;
  t.codec_id = "V_MPEG4/ISO/AVC";
  t.codec_private = std::move(codec_private);
  return t;
}

void WriteMkvHeader(mkv::Writer& w, const std::vector<mkv::TrackInfo>& tracks) {
  w.WriteEbmlHeader();
  w.BeginSegment();
  w.WriteInfo({});
  w.WriteTracks(tracks);
}

mkv::Bytes MkvHeader(const std::vector<mkv::TrackInfo>& tracks) {
  mkv::Bytes out;
  mkv::Writer w(out);
  WriteMkvHeader(w, tracks);
  return out;
}

}  // namespace streamarc::testing
