#include "producer-sdk/ack_parser.h"

#include <nlohmann/json.hpp>

namespace streamarc::producer {

Result<FragmentAck> ParseAck(std::string_view text) {
  // The non-throwing overload: a parse error gives a "discarded" value, no exception.
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("ACK is not a JSON object");
  auto type = j.find("EventType");
  if (type == j.end() || !type->is_string()) return InvalidArgument("ACK without EventType");
  FragmentAck ack;
  auto t = kvs::ParseAckEventType(type->get_ref<const std::string&>());
  if (!t) return InvalidArgument("ACK with an unknown EventType");
  ack.type = *t;
  if (auto tc = j.find("FragmentTimecode"); tc != j.end()) {
    if (!tc->is_number_integer()) return InvalidArgument("ACK FragmentTimecode is not an integer");
    ack.timecode = tc->get<int64_t>();
  } else if (ack.type != AckType::kIdle) {
    return InvalidArgument("ACK without FragmentTimecode");
  }
  if (auto n = j.find("FragmentNumber"); n != j.end()) {
    if (!n->is_string()) return InvalidArgument("ACK FragmentNumber is not a string");
    ack.fragment_number = n->get<std::string>();
  }
  if (auto id = j.find("ErrorId"); id != j.end()) {
    if (!id->is_number_integer()) return InvalidArgument("ACK ErrorId is not an integer");
    int64_t v = id->get<int64_t>();
    if (v < 0 || v > 1'000'000) return InvalidArgument("ACK ErrorId out of range");
    ack.error_id = static_cast<int>(v);
  }
  if (auto c = j.find("ErrorCode"); c != j.end() && c->is_string()) {
    ack.error_code = c->get<std::string>();
  }
  if (ack.type == AckType::kError && ack.error_id == 0) {
    return InvalidArgument("ERROR ACK without ErrorId");
  }
  return ack;
}

void AckStreamParser::Feed(std::string_view bytes, std::vector<FragmentAck>& acks) {
  while (!bytes.empty()) {
    size_t nl = bytes.find('\n');
    std::string_view piece = bytes.substr(0, nl);
    if (skipping_) {
      if (nl == std::string_view::npos) return;
      skipping_ = false;
    } else if (partial_.size() + piece.size() > kMaxLine) {
      ++malformed_;
      partial_.clear();
      skipping_ = nl == std::string_view::npos;
    } else if (nl == std::string_view::npos) {
      partial_.append(piece);
      return;
    } else if (partial_.empty()) {
      Line(piece, acks);
    } else {
      partial_.append(piece);
      Line(partial_, acks);
      partial_.clear();
    }
    if (nl == std::string_view::npos) return;
    bytes.remove_prefix(nl + 1);
  }
}

void AckStreamParser::Line(std::string_view line, std::vector<FragmentAck>& acks) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  if (line.empty()) return;
  auto ack = ParseAck(line);
  if (ack.ok()) {
    acks.push_back(std::move(*ack));
  } else {
    ++malformed_;
  }
}

}  // namespace streamarc::producer
