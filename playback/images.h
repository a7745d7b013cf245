// GetImages: JPEG or PNG stills of a stream at a sampling interval over a range of at most
// 300 s, decoded from the stored fragments (frametap's decoder) and encoded by libavcodec.
// No HTTP here: the front door hands the request body over and maps a KvsError to KVS's
// shape (server/images_api.cc).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "archive/archive.h"
#include "common/kvs_error.h"
#include "common/log.h"
#include "common/status.h"
#include "playback/images_request.h"

namespace streamarc::playback {

struct ImagesOptions {
  // GetImages calls decoding at once; more are refused with ClientLimitExceeded (KVS's
  // answer to a caller over a limit, which the AWS SDKs back off from).
  int max_concurrent = 2;
  // How long before an instant the fragment holding it may start: the longest fragment the
  // server accepts (its --max-fragment-duration-ms).
  int64_t max_fragment_duration_us = 20'000'000;
  int decode_threads = 2;  // libavcodec threads per call
};

// One instant's place in the stored fragments, as PlanImages finds it.
struct InstantPlan {
  int64_t instant_us = 0;
  int fragment = -1;      // index into the fragments PlanImages was given; -1: NO_MEDIA
  int64_t offset_us = 0;  // instant - that fragment's start (of the selector's timeline)
};

// For each instant (ascending), the fragment that holds it: the last one starting at or
// before it whose span [start, start + duration + the span join tolerance] contains it (its
// last frame shows until the next fragment). `fragments` ascending by the
// `type` timestamp. Pure logic (the sampling rule), unit-tested on its own.
std::vector<InstantPlan> PlanImages(const std::vector<archive::FragmentInfo>& fragments,
                                    archive::TimestampType type,
                                    const std::vector<int64_t>& instants);

// Thread-safe; blocks on archive reads and decoding: call from a worker thread, never the
// HTTP service thread. `archive` and `log` outlive it.
class ImagesService {
 public:
  ImagesService(archive::Archive& archive, Logger& log, const ImagesOptions& options = {});

  // The JSON answer to a GetImages body. Errors: kInvalidArgument (the body),
  // kResourceNotFound (the stream), kNoDataRetention, kClientLimitExceeded (busy);
  // per-instant failures are images with Error NO_MEDIA / MEDIA_ERROR, not errors.
  Result<std::string, KvsError> GetImages(std::string_view body);

 private:
  Result<std::vector<ImageResult>, KvsError> Render(const GetImagesRequest& request,
                                                    const archive::StreamRef& ref);

  archive::Archive& archive_;
  Logger& log_;
  const ImagesOptions options_;
  std::atomic<int> running_{0};
};

}  // namespace streamarc::playback
