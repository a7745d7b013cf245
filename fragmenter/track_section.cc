#include "fragmenter/track_section.h"

namespace streamarc::fragmenter {
namespace {

bool SameTrack(const mkv::TrackInfo& a, const mkv::TrackInfo& b) {
  return a.number == b.number && a.uid == b.uid && a.type == b.type && a.codec_id == b.codec_id &&
         a.codec_private == b.codec_private && a.name == b.name &&
         a.default_duration_ns == b.default_duration_ns && a.codec_delay_ns == b.codec_delay_ns &&
         a.pixel_width == b.pixel_width && a.pixel_height == b.pixel_height &&
         a.sampling_frequency == b.sampling_frequency && a.channels == b.channels &&
         a.bit_depth == b.bit_depth;
}

}  // namespace

std::shared_ptr<const TrackSection> BuildTrackSection(uint64_t id, const mkv::EbmlHeader& ebml,
                                                      const mkv::SegmentInfo& info,
                                                      const std::vector<mkv::TrackInfo>& tracks) {
  auto s = std::make_shared<TrackSection>();
  s->id = id;
  s->ebml = ebml;
  s->info = info;
  s->info.duration.reset();  // a live stream has no duration
  s->tracks = tracks;
  for (const mkv::TrackInfo& t : tracks) {
    if (t.type == mkv::TrackType::kVideo) {
      s->cut_track = t.number;
      break;
    }
  }
  mkv::Writer w(s->header);
  w.WriteEbmlHeader(s->ebml);
  w.BeginSegment();
  w.WriteInfo(s->info);
  w.WriteTracks(s->tracks);
  return s;
}

bool SameTracks(const TrackSection& section, const mkv::EbmlHeader& ebml,
                const mkv::SegmentInfo& info, const std::vector<mkv::TrackInfo>& tracks) {
  if (section.ebml.doc_type != ebml.doc_type ||
      section.info.timecode_scale_ns != info.timecode_scale_ns ||
      section.tracks.size() != tracks.size()) {
    return false;
  }
  for (size_t i = 0; i < tracks.size(); ++i) {
    if (!SameTrack(section.tracks[i], tracks[i])) return false;
  }
  return true;
}

}  // namespace streamarc::fragmenter
