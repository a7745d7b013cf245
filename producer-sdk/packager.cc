#include "producer-sdk/packager.h"

#include <random>
#include <set>

#include "producer-sdk/nal.h"

namespace streamarc::producer {

namespace {

bool IsVideo(Codec c) { return c == Codec::kH264 || c == Codec::kH265; }

const char* CodecId(Codec c) {
  switch (c) {
    case Codec::kH264:
      return "V_MPEG4/ISO/AVC";
    case Codec::kH265:
      return "V_MPEGH/ISO/HEVC";
    case Codec::kAac:
      return "A_AAC";
  }
  return "";
}

}  // namespace

Result<Packager> Packager::Create(const std::vector<TrackConfig>& tracks) {
  if (tracks.empty() || tracks.size() > 3) return InvalidArgument("a stream has 1 to 3 tracks");
  Packager p;
  std::set<uint64_t> numbers;
  bool have_cut = false;
  for (const TrackConfig& t : tracks) {
    if (t.number < 1 || t.number > 3 || !numbers.insert(t.number).second) {
      return InvalidArgument("track numbers must be distinct and within 1..3");
    }
    if (t.codec == Codec::kAac && t.codec_private.empty()) {
      return InvalidArgument("an AAC track needs its AudioSpecificConfig as codec_private");
    }
    if (IsVideo(t.codec) && !have_cut) {
      p.cut_track_ = t.number;
      have_cut = true;
    }
  }
  if (!have_cut) p.cut_track_ = tracks[0].number;
  p.tracks_ = tracks;
  std::random_device rd;
  for (int i = 0; i < 16; ++i) p.segment_uid_.push_back(static_cast<uint8_t>(rd()));
  p.MaybeBuildHeader();
  return p;
}

const TrackConfig* Packager::track(uint64_t number) const {
  for (const TrackConfig& t : tracks_) {
    if (t.number == number) return &t;
  }
  return nullptr;
}

Status Packager::Convert(const Frame& frame, mkv::Bytes& out) {
  TrackConfig* t = nullptr;
  for (TrackConfig& c : tracks_) {
    if (c.number == frame.track) t = &c;
  }
  if (!t) {
    return InvalidArgument("frame for track " + std::to_string(frame.track) +
                           ", not in the stream");
  }
  if (frame.data.empty()) return InvalidArgument("empty frame");
  if (!IsVideo(t->codec)) {
    out.insert(out.end(), frame.data.begin(), frame.data.end());
    return Status::Ok();
  }
  if (!nal::LooksAnnexB(frame.data)) {
    // Already length-prefixed: allowed only with a CodecPrivate given up front.
    if (t->codec_private.empty()) {
      return InvalidArgument("frames are not Annex-B and the track has no codec_private");
    }
    out.insert(out.end(), frame.data.begin(), frame.data.end());
    return Status::Ok();
  }
  if (t->codec_private.empty()) {
    if (!frame.key_frame) return InvalidArgument("a delta frame before the first key frame");
    RETURN_IF_ERROR(BuildCodecPrivate(*t, frame.data));
    MaybeBuildHeader();
  }
  auto nals = nal::SplitAnnexB(frame.data);
  if (nals.empty()) return InvalidArgument("an Annex-B frame without NAL units");
  nal::AppendLengthPrefixed(nals, out);
  return Status::Ok();
}

Status Packager::BuildCodecPrivate(TrackConfig& t, std::span<const uint8_t> annexb) {
  std::vector<std::span<const uint8_t>> vps, sps, pps;
  for (const auto& n : nal::SplitAnnexB(annexb)) {
    if (t.codec == Codec::kH264) {
      uint8_t type = nal::H264Type(n);
      if (type == nal::kH264Sps) sps.push_back(n);
      if (type == nal::kH264Pps) pps.push_back(n);
    } else {
      uint8_t type = nal::H265Type(n);
      if (type == nal::kH265Vps) vps.push_back(n);
      if (type == nal::kH265Sps) sps.push_back(n);
      if (type == nal::kH265Pps) pps.push_back(n);
    }
  }
  if (t.codec == Codec::kH264) {
    ASSIGN_OR_RETURN(nal::Bytes avcc, nal::BuildAvcC(sps, pps));
    if (t.width == 0 || t.height == 0) {
      auto size = nal::ParseH264SpsSize(sps[0]);
      if (size.ok()) {
        t.width = size->width;
        t.height = size->height;
      }
    }
    t.codec_private.assign(avcc.begin(), avcc.end());
  } else {
    ASSIGN_OR_RETURN(nal::Bytes hvcc, nal::BuildHvcC(vps, sps, pps));
    if (t.width == 0 || t.height == 0) {
      auto info = nal::ParseH265Sps(sps[0]);
      if (info.ok()) {
        t.width = info->size.width;
        t.height = info->size.height;
      }
    }
    t.codec_private.assign(hvcc.begin(), hvcc.end());
  }
  return Status::Ok();
}

void Packager::MaybeBuildHeader() {
  for (const TrackConfig& t : tracks_) {
    if (t.codec_private.empty()) return;
  }
  std::vector<mkv::TrackInfo> infos;
  for (const TrackConfig& t : tracks_) {
    mkv::TrackInfo i;
    i.number = t.number;
    i.uid = t.number;
    i.type = IsVideo(t.codec) ? mkv::TrackType::kVideo : mkv::TrackType::kAudio;
    i.codec_id = CodecId(t.codec);
    i.codec_private.assign(t.codec_private.begin(), t.codec_private.end());
    i.name = t.name;
    i.pixel_width = static_cast<uint32_t>(t.width);
    i.pixel_height = static_cast<uint32_t>(t.height);
    i.sampling_frequency = t.sample_rate;
    i.channels = static_cast<uint32_t>(t.channels);
    infos.push_back(std::move(i));
  }
  header_.clear();
  mkv::Writer w(header_);
  mkv::EbmlHeader eh;
  eh.doc_type_version = 2;  // what the KVS producer writes; nothing here needs v4
  w.WriteEbmlHeader(eh);
  w.BeginSegment();
  mkv::SegmentInfo info;
  info.segment_uid = segment_uid_;
  info.muxing_app = "streamarc-producer";
  info.writing_app = "streamarc-producer";
  w.WriteInfo(info);
  w.WriteTracks(infos);
  ready_ = true;
}

Status Packager::AppendClusterStart(int64_t timecode_ms, mkv::Bytes& out) {
  mkv::Writer w(out);
  return w.BeginCluster(timecode_ms, mkv::ClusterSize::kUnknown);
}

Status Packager::AppendSimpleBlock(int64_t cluster_timecode_ms, uint64_t track, int16_t relative_ms,
                                   bool key, std::span<const uint8_t> payload, mkv::Bytes& out) {
  // A fragment's bytes grow frame by frame while it waits in the content store, so each
  // frame gets a fresh Writer that continues the fragment's open Cluster.
  mkv::Writer w(out);
  RETURN_IF_ERROR(w.ResumeCluster(cluster_timecode_ms));
  return w.WriteFrame(track, cluster_timecode_ms + relative_ms, key, payload);
}

}  // namespace streamarc::producer
