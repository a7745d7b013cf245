#include "ingest/part_feed.h"

#include <utility>

namespace streamarc::ingest {

void PartFeed::FragmentStart(const std::string& stream, const fragmenter::FragmentHead& head,
                             bool retained) {
  on_ = retained && hub_.HasListeners(stream);
  if (on_) hub_.Publish(HeadEvent(playback::PartEvent::Type::kFragmentStart, stream, head));
}

void PartFeed::Frame(const std::string& stream, const fragmenter::WrittenFrame& f) {
  if (!on_) return;
  playback::PartEvent e;
  e.type = playback::PartEvent::Type::kFrame;
  e.stream_name = stream;
  e.track = f.track;
  e.timecode = f.timecode;
  e.key = f.key;
  e.cut_track = f.cut_track;
  e.data = f.data;
  hub_.Publish(e);
}

void PartFeed::FragmentEnd(const std::string& stream, const fragmenter::Fragment& f,
                           const std::string& number, std::shared_ptr<const std::string> cluster) {
  playback::PartEvent e = HeadEvent(playback::PartEvent::Type::kFragmentEnd, stream, f);
  e.fragment_number = number;
  e.duration_us = f.duration_ms * 1000;
  e.cluster = std::move(cluster);
  hub_.Publish(e);
}

playback::PartEvent PartFeed::HeadEvent(playback::PartEvent::Type type, const std::string& stream,
                                        const fragmenter::FragmentHead& head) {
  playback::PartEvent e;
  e.type = type;
  e.stream_name = stream;
  e.header = Header(head.section);
  e.producer_timestamp_us = head.producer_timestamp_ms * 1000;
  e.server_timestamp_us = head.server_timestamp_us;
  e.timecode_scale_ns = static_cast<int64_t>(head.section->info.timecode_scale_ns);
  return e;
}

std::shared_ptr<const std::string> PartFeed::Header(
    const std::shared_ptr<const fragmenter::TrackSection>& section) {
  if (section_ != section) {
    section_ = section;
    header_ = std::make_shared<const std::string>(section->header.begin(), section->header.end());
  }
  return header_;
}

}  // namespace streamarc::ingest
