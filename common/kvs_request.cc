#include "common/kvs_request.h"

#include <cmath>

namespace streamarc::kvs {
namespace {

constexpr size_t kMaxNameLength = 256;

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return !s.empty();
}

}  // namespace

Status ValidateStreamName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return InvalidArgument("stream name must be 1-256 characters");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return InvalidArgument("stream name may hold only [a-zA-Z0-9_.-]");
  }
  return Status::Ok();
}

std::string MakeStreamArn(std::string_view region, std::string_view account, std::string_view name,
                          int64_t creation_time_us) {
  std::string arn = "arn:aws:kinesisvideo:";
  arn += region;
  arn += ':';
  arn += account;
  arn += ":stream/";
  arn += name;
  arn += '/';
  arn += std::to_string(creation_time_us / 1000);
  return arn;
}

Result<std::string> StreamNameFromArn(std::string_view arn) {
  constexpr std::string_view kPrefix = "arn:";
  constexpr std::string_view kStream = ":stream/";
  size_t stream = arn.find(kStream);
  size_t last = arn.rfind('/');
  if (arn.substr(0, kPrefix.size()) != kPrefix || stream == std::string_view::npos ||
      last <= stream + kStream.size() || !AllDigits(arn.substr(last + 1)) ||
      arn.find(":kinesisvideo:") == std::string_view::npos) {
    return InvalidArgument("not a stream ARN: " + std::string(arn.substr(0, 200)));
  }
  std::string name(arn.substr(stream + kStream.size(), last - stream - kStream.size()));
  RETURN_IF_ERROR(ValidateStreamName(name));
  return name;
}

Result<StreamRef> ParseStreamRef(const std::string* name, const std::string* arn,
                                 std::string_view name_field, std::string_view arn_field) {
  if ((name == nullptr) == (arn == nullptr)) {
    return InvalidArgument("give exactly one of " + std::string(name_field) + " or " +
                           std::string(arn_field));
  }
  if (name) {
    RETURN_IF_ERROR(ValidateStreamName(*name));
    return StreamRef::Name(*name);
  }
  if (arn->empty() || arn->size() > kMaxArnLength) {
    return InvalidArgument(std::string(arn_field) + " must be 1 to 1024 characters");
  }
  return StreamRef::Arn(*arn);
}

Result<int64_t> EpochSecondsToMicros(double seconds, std::string_view field) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > static_cast<double>(kMaxEpochSeconds)) {
    return InvalidArgument(std::string(field) +
                           " is out of range (seconds since the epoch, 1970 to 9999)");
  }
  return static_cast<int64_t>(std::llround(seconds * 1e6));
}

}  // namespace streamarc::kvs
