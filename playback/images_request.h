// GetImages' JSON request, parsed and checked as KVS's API model and documentation
// constrain it, its sampling instants and page tokens, and its JSON answer. Pure logic, no
// archive calls and no decoding, so it builds into a fuzz target on its own. Every refusal
// is kInvalidArgument with a message that names the field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "archive/archive.h"
#include "common/status.h"

namespace streamarc::playback {

// KVS's limits for GetImages.
inline constexpr int64_t kMaxImagesRangeUs = 300'000'000;  // End - Start at most 300 s
inline constexpr int64_t kMinSamplingIntervalMs = 200;     // today's documented minimum
// SamplingInterval is optional in today's API model; without it, one image every 3 s (the
// smallest interval the older model, which Debian's AWS CLI still carries, allows).
inline constexpr int64_t kDefaultSamplingIntervalMs = 3000;
inline constexpr int kImagesPageSize = 25;  // KVS answers at most 25 images per call
inline constexpr int kMaxImagesMaxResults = 100;
inline constexpr int kMaxImageWidth = 3840;
inline constexpr int kMaxImageHeight = 2160;
inline constexpr int kDefaultJpegQuality = 80;

enum class ImagesFormat { kJpeg, kPng };

struct GetImagesRequest {
  archive::StreamRef stream;
  archive::TimestampType type = archive::TimestampType::kProducer;
  int64_t start_us = 0;
  int64_t end_us = 0;  // inclusive
  int64_t interval_us = kDefaultSamplingIntervalMs * 1000;
  ImagesFormat format = ImagesFormat::kJpeg;
  int jpeg_quality = kDefaultJpegQuality;
  int width = 0;                    // 0: from the source (or from height, keeping the aspect ratio)
  int height = 0;                   // 0: from the source (or from width)
  int page_size = kImagesPageSize;  // min(MaxResults, 25)
  int64_t first_index = 0;          // the page's first instant (from NextToken)
};

Result<GetImagesRequest> ParseGetImagesRequest(std::string_view body);

// The sampling instants: Start, Start + interval, ... up to End inclusive (just Start when
// the range is shorter than the interval).
int64_t ImageInstantCount(const GetImagesRequest& request);
int64_t ImageInstant(const GetImagesRequest& request, int64_t index);
// The instants of the page the request asks for.
std::vector<int64_t> PageInstants(const GetImagesRequest& request);
// The NextToken after the page the request asks for; empty when it is the last page. The
// token names the next instant and the range and interval it belongs to, so a token used
// with other parameters is refused by ParseGetImagesRequest.
std::string ImagesNextToken(const GetImagesRequest& request);

// One image of the answer: the JPEG/PNG bytes, or why there are none.
struct ImageResult {
  int64_t timestamp_us = 0;
  std::optional<std::string> content;  // the encoded image (raw bytes; base64 in the JSON)
  std::string error;                   // "NO_MEDIA" | "MEDIA_ERROR" when no content
};

// {"Images":[{"TimeStamp": epoch seconds, "ImageContent": base64 | "Error": ...}],
//  "NextToken"?}
std::string GetImagesResponseJson(const std::vector<ImageResult>& images,
                                  const std::string& next_token);

}  // namespace streamarc::playback
