#include "producer-sdk/producer.h"

namespace streamarc::producer {

// Not built yet.
Result<std::unique_ptr<Client>> Client::Create(const ClientOptions&) {
  return Status(Code::kInternal, "the producer SDK is not built yet");
}

}  // namespace streamarc::producer
