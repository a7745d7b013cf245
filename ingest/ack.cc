#include <cstdio>

#include "ingest/ingest.h"

namespace streamarc::ingest {
namespace {

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out->append(buf);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

}  // namespace

std::string FormatAck(const AckEvent& event) {
  std::string out = "{\"EventType\":";
  AppendJsonString(&out, kvs::AckEventTypeName(event.type));
  if (event.fragment_timecode) {
    out += ",\"FragmentTimecode\":";
    out += std::to_string(*event.fragment_timecode);
  }
  if (!event.fragment_number.empty()) {
    out += ",\"FragmentNumber\":";
    AppendJsonString(&out, event.fragment_number);
  }
  if (event.type == AckEventType::kError) {
    out += ",\"ErrorCode\":";
    AppendJsonString(&out, kvs::AckErrorCodeName(event.error_id));
    out += ",\"ErrorId\":";
    out += std::to_string(static_cast<int>(event.error_id));
  }
  out += '}';
  return out;
}

std::string FormatAckLine(const AckEvent& event) { return FormatAck(event) + "\n"; }

Result<fragmenter::TimecodeType> ParseTimecodeType(std::string_view header) {
  if (header == "ABSOLUTE") return fragmenter::TimecodeType::kAbsolute;
  if (header == "RELATIVE") return fragmenter::TimecodeType::kRelative;
  return InvalidArgument("x-amzn-fragment-timecode-type must be ABSOLUTE or RELATIVE, not \"" +
                         std::string(header.substr(0, 32)) + "\"");
}

Result<int64_t> ParseProducerStartTimestampMs(std::string_view header) {
  auto bad = [&] {
    return InvalidArgument("x-amzn-producer-start-timestamp is not <seconds>.<millis>: \"" +
                           std::string(header.substr(0, 32)) + "\"");
  };
  size_t dot = header.find('.');
  std::string_view secs = header.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? "" : header.substr(dot + 1);
  if (secs.empty() || secs.size() > 12) return bad();  // 12 digits: past year 30000
  if (dot != std::string_view::npos && frac.empty()) return bad();
  int64_t s = 0;
  for (char c : secs) {
    if (c < '0' || c > '9') return bad();
    s = s * 10 + (c - '0');
  }
  for (char c : frac) {
    if (c < '0' || c > '9') return bad();
  }
  int64_t ms = 0;
  if (frac.size() <= 3) {
    for (char c : frac) ms = ms * 10 + (c - '0');  // "%llu" of the millis
  } else {
    for (size_t i = 0; i < 3; ++i) ms = ms * 10 + (frac[i] - '0');  // a decimal fraction
  }
  return s * 1000 + ms;
}

}  // namespace streamarc::ingest
