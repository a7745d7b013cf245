#include "playback/images_request.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "playback/json_fields.h"

namespace streamarc::playback {
namespace {

using json_fields::Base64Chars;
using json_fields::Find;
using json_fields::Integer;
using json_fields::ParseObject;
using json_fields::String;
using json_fields::Timestamp;
using nlohmann::json;

// The fields a page token is bound to.
std::string TokenBody(const GetImagesRequest& r, int64_t index) {
  return "gi1:" + std::to_string(index) + ":" + std::to_string(r.start_us) + ":" +
         std::to_string(r.end_us) + ":" + std::to_string(r.interval_us) + ":" +
         (r.type == archive::TimestampType::kProducer ? "P" : "S");
}

// The instant index a NextToken names, checked against the request it came with.
Result<int64_t> TokenIndex(const GetImagesRequest& r, const std::string& token) {
  auto refused = [] { return InvalidArgument("NextToken was not issued for this request"); };
  if (!Base64Chars(token)) return InvalidArgument("NextToken must match [a-zA-Z0-9+/]+={0,2}");
  auto body = Base64Decode(token);
  if (!body.ok()) return refused();
  const std::string prefix = "gi1:";
  if (body->rfind(prefix, 0) != 0) return refused();
  const size_t colon = body->find(':', prefix.size());
  if (colon == std::string::npos || colon == prefix.size() || colon - prefix.size() > 6) {
    return refused();
  }
  const std::string digits = body->substr(prefix.size(), colon - prefix.size());
  if (!json_fields::AllDigits(digits)) return refused();
  const int64_t index = std::stoll(digits);
  if (*body != TokenBody(r, index) || index <= 0 || index >= ImageInstantCount(r)) {
    return refused();
  }
  return index;
}

}  // namespace

Result<GetImagesRequest> ParseGetImagesRequest(std::string_view body) {
  ASSIGN_OR_RETURN(json j, ParseObject(body));
  GetImagesRequest r;
  ASSIGN_OR_RETURN(r.stream, json_fields::Stream(j));

  ASSIGN_OR_RETURN(std::string type, String(j, "ImageSelectorType", 1, 64));
  if (type == "PRODUCER_TIMESTAMP") {
    r.type = archive::TimestampType::kProducer;
  } else if (type == "SERVER_TIMESTAMP") {
    r.type = archive::TimestampType::kServer;
  } else {
    return InvalidArgument("ImageSelectorType \"" + type.substr(0, 64) +
                           "\" must be PRODUCER_TIMESTAMP or SERVER_TIMESTAMP");
  }
  ASSIGN_OR_RETURN(r.start_us, Timestamp(j, "StartTimestamp"));
  ASSIGN_OR_RETURN(r.end_us, Timestamp(j, "EndTimestamp"));
  if (r.end_us < r.start_us) {
    return InvalidArgument("EndTimestamp must not be before StartTimestamp");
  }
  if (r.end_us - r.start_us > kMaxImagesRangeUs) {
    return InvalidArgument("EndTimestamp must be within 300 seconds of StartTimestamp");
  }

  ASSIGN_OR_RETURN(auto interval, Integer(j, "SamplingInterval", kMinSamplingIntervalMs,
                                          std::numeric_limits<int32_t>::max()));
  if (interval) r.interval_us = *interval * 1000;

  ASSIGN_OR_RETURN(std::string format, String(j, "Format", 1, 16));
  if (format == "JPEG") {
    r.format = ImagesFormat::kJpeg;
  } else if (format == "PNG") {
    r.format = ImagesFormat::kPng;
  } else {
    return InvalidArgument("Format \"" + format + "\" must be JPEG or PNG");
  }

  if (const json* config = Find(j, "FormatConfig")) {
    if (!config->is_object()) return InvalidArgument("FormatConfig must be a map");
    if (config->size() != 1) return InvalidArgument("FormatConfig must hold exactly one entry");
    if (!config->contains("JPEGQuality")) {
      return InvalidArgument("FormatConfig's only key is JPEGQuality");
    }
    ASSIGN_OR_RETURN(std::string q, String(*config, "JPEGQuality", 1, 3));
    if (!json_fields::AllDigits(q) || std::stoi(q) < 1 || std::stoi(q) > 100) {
      return InvalidArgument("FormatConfig JPEGQuality must be an integer from 1 to 100");
    }
    r.jpeg_quality = std::stoi(q);
  }

  ASSIGN_OR_RETURN(auto width, Integer(j, "WidthPixels", 1, kMaxImageWidth));
  ASSIGN_OR_RETURN(auto height, Integer(j, "HeightPixels", 1, kMaxImageHeight));
  r.width = width ? static_cast<int>(*width) : 0;
  r.height = height ? static_cast<int>(*height) : 0;

  ASSIGN_OR_RETURN(auto max_results, Integer(j, "MaxResults", 1, kMaxImagesMaxResults));
  r.page_size = max_results ? static_cast<int>(std::min<int64_t>(*max_results, kImagesPageSize))
                            : kImagesPageSize;

  if (Find(j, "NextToken")) {
    ASSIGN_OR_RETURN(std::string token, String(j, "NextToken", 1, 4096));
    ASSIGN_OR_RETURN(r.first_index, TokenIndex(r, token));
  }
  return r;
}

int64_t ImageInstantCount(const GetImagesRequest& r) {
  if (r.interval_us <= 0 || r.end_us < r.start_us) return 1;
  return (r.end_us - r.start_us) / r.interval_us + 1;
}

int64_t ImageInstant(const GetImagesRequest& r, int64_t index) {
  return r.start_us + index * r.interval_us;
}

std::vector<int64_t> PageInstants(const GetImagesRequest& r) {
  std::vector<int64_t> out;
  const int64_t end = std::min(ImageInstantCount(r), r.first_index + r.page_size);
  for (int64_t i = r.first_index; i < end; ++i) out.push_back(ImageInstant(r, i));
  return out;
}

std::string ImagesNextToken(const GetImagesRequest& r) {
  const int64_t next = r.first_index + r.page_size;
  if (next >= ImageInstantCount(r)) return "";
  return Base64Encode(TokenBody(r, next));
}

std::string GetImagesResponseJson(const std::vector<ImageResult>& images,
                                  const std::string& next_token) {
  json list = json::array();
  for (const ImageResult& image : images) {
    json item = {{"TimeStamp", static_cast<double>(image.timestamp_us) / 1e6}};
    if (image.content) {
      item["ImageContent"] = Base64Encode(*image.content);
    } else {
      item["Error"] = image.error;
    }
    list.push_back(std::move(item));
  }
  json out = {{"Images", std::move(list)}};
  if (!next_token.empty()) out["NextToken"] = next_token;
  return out.dump();
}

}  // namespace streamarc::playback
