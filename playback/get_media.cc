#include "playback/get_media.h"

#include <cinttypes>
#include <cstdio>
#include <vector>

#include "common/mkv.h"

namespace streamarc::playback {
namespace {

std::string ToString(const mkv::Bytes& b) { return std::string(b.begin(), b.end()); }

}  // namespace

std::string FormatEpochSeconds(int64_t micros) {
  // Rounds to the millisecond; negative times (before 1970) keep their sign on the whole.
  int64_t ms = micros >= 0 ? (micros + 500) / 1000 : -((-micros + 500) / 1000);
  const char* sign = ms < 0 ? "-" : "";
  uint64_t abs_ms = ms < 0 ? static_cast<uint64_t>(-ms) : static_cast<uint64_t>(ms);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%" PRIu64 ".%03" PRIu64, sign, abs_ms / 1000, abs_ms % 1000);
  return buf;
}

std::string LeadingTags(const archive::FragmentInfo& info) {
  mkv::Bytes out;
  mkv::Writer w(out);
  const mkv::SimpleTag tags[] = {
      {kTagFragmentNumber, info.number, false},
      {kTagServerTimestamp, FormatEpochSeconds(info.server_timestamp_us), false},
      {kTagProducerTimestamp, FormatEpochSeconds(info.producer_timestamp_us), false},
  };
  w.WriteTags(tags);
  return ToString(out);
}

std::string TrailingTags(const archive::FragmentInfo& info, int64_t now_us) {
  int64_t behind_ms = (now_us - info.server_timestamp_us) / 1000;
  if (behind_ms < 0) behind_ms = 0;  // a producer clock ahead of ours
  mkv::Bytes out;
  mkv::Writer w(out);
  const mkv::SimpleTag tags[] = {
      {kTagMillisBehindNow, std::to_string(behind_ms), false},
      {kTagContinuationToken, info.number, false},
  };
  w.WriteTags(tags);
  return ToString(out);
}

std::string BuildMediaChunk(const archive::FragmentInfo& info, std::string_view cluster,
                            int64_t now_us) {
  std::string lead = LeadingTags(info);
  std::string trail = TrailingTags(info, now_us);
  std::string out;
  out.reserve(info.track_info.size() + lead.size() + cluster.size() + trail.size());
  out += info.track_info;
  out += lead;
  out += cluster;
  out += trail;
  return out;
}

std::string BuildErrorChunk(std::string_view fragment_number, std::string_view error_code,
                            int error_id) {
  mkv::Bytes out;
  mkv::Writer w(out);
  w.WriteEbmlHeader();
  w.BeginSegment();
  std::vector<mkv::SimpleTag> tags;
  if (!fragment_number.empty()) {
    tags.push_back({kTagFragmentNumber, std::string(fragment_number), false});
  }
  tags.push_back({kTagErrorCode, std::string(error_code), false});
  tags.push_back({kTagErrorId, std::to_string(error_id), false});
  w.WriteTags(tags);
  return ToString(out);
}

bool FragmentNumberLess(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

}  // namespace streamarc::playback
