// Feeds arbitrary bytes to the producer's PutMedia ACK stream parser, split at places chosen
// by the input. It must never crash, hang or leak, and every ACK it returns must be one of
// the KVS shapes (an ERROR always carries its ErrorId).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "producer-sdk/ack_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t piece = data[0] ? data[0] : size;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  streamarc::producer::AckStreamParser parser;
  std::vector<streamarc::producer::FragmentAck> acks;
  for (size_t i = 0; i < in.size(); i += piece) parser.Feed(in.substr(i, piece), acks);
  for (const auto& a : acks) {
    if (a.type == streamarc::producer::AckType::kError && a.error_id == 0) abort();
  }
  // The whole input as one object, too.
  (void)streamarc::producer::ParseAck(in);
  return 0;
}
