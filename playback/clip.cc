#include "playback/clip.h"

#include <algorithm>
#include <utility>

#include "playback/api_error.h"
#include "playback/remux.h"

namespace streamarc::playback {
namespace {

// GetClip calls a stored frame the packager cannot read InvalidMediaFrame.
KvsError ClipPackagingError(const Status& s) {
  return PackagingError(s, KvsErrorType::kInvalidMediaFrame);
}

}  // namespace

Result<std::vector<archive::FragmentInfo>> SelectClipFragments(archive::Archive& archive,
                                                               const archive::StreamRef& stream,
                                                               archive::TimestampType type,
                                                               int64_t start_us, int64_t end_us,
                                                               const ClipLimits& limits) {
  std::vector<archive::FragmentInfo> infos;
  uint64_t bytes = 0;
  archive::ListRequest list;
  list.stream = stream;
  list.type = type;
  list.start_us = start_us;
  list.end_us = end_us;
  list.max_results = static_cast<int>(std::min<size_t>(limits.max_fragments, 1000));
  RETURN_IF_ERROR(archive::ForEachFragment(archive, list, [&](archive::FragmentInfo& f) {
    if (infos.size() >= limits.max_fragments ||
        (!infos.empty() && bytes + f.size_bytes > limits.max_bytes)) {
      return false;
    }
    bytes += f.size_bytes;
    infos.push_back(std::move(f));
    return infos.size() < limits.max_fragments;
  }));
  return infos;
}

Result<std::string, KvsError> MakeClip(archive::Archive& archive, const ClipRequest& request,
                                       const ClipLimits& limits, Logger& log) {
  auto stream = archive.DescribeStream(request.stream);
  if (!stream.ok()) return KvsErrorFromStatus(stream.status());
  if (stream->retention_hours == 0) {
    return KvsError{KvsErrorType::kNoDataRetention,
                    FailedPrecondition("the stream keeps no data (DataRetentionInHours is 0)")};
  }
  const archive::StreamRef ref = archive::StreamRef::Name(stream->name);
  auto infos =
      SelectClipFragments(archive, ref, request.type, request.start_us, request.end_us, limits);
  if (!infos.ok()) return KvsErrorFromStatus(infos.status());
  if (infos->empty()) {
    return KvsError{KvsErrorType::kResourceNotFound,
                    NotFound("No fragments found in the given time range")};
  }

  std::vector<std::string> clusters;
  clusters.reserve(infos->size());
  for (const archive::FragmentInfo& f : *infos) {
    auto b = archive.ReadFragment(ref, f.number);
    if (!b.ok()) {
      // Retention may remove a fragment between the listing and the read: the clip stops.
      if (b.status().code() == Code::kNotFound && !clusters.empty()) break;
      return KvsErrorFromStatus(b.status());
    }
    clusters.push_back(std::move(b).value());
  }
  // The clip's timeline is the producer's (media time), whichever selector chose the range.
  std::vector<MkvFragment> fragments;
  for (size_t i = 0; i < clusters.size(); ++i) {
    const archive::FragmentInfo& f = (*infos)[i];
    fragments.push_back({f.track_info, clusters[i], f.producer_timestamp_us});
  }
  auto clip = Mp4ClipOf(fragments, {});
  if (!clip.ok()) {
    log.Warn("clip", "remux failed",
             {{"stream", stream->name}, {"error", clip.status().ToString()}});
    return ClipPackagingError(clip.status());
  }
  return std::move(clip->bytes);
}

}  // namespace streamarc::playback
