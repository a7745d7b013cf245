// An Archive that holds every durable report until the test releases it, in any order: how
// the session is tested against a backend that reports fragments out of order.
#pragma once

#include <algorithm>
#include <mutex>
#include <vector>

#include "tests/support/forwarding_archive.h"

namespace streamarc::ingest::testing {

class HoldingArchive final : public streamarc::testing::ForwardingArchive {
 public:
  explicit HoldingArchive(archive::Archive& inner) : ForwardingArchive(inner) {}

  // Calls the held reports, newest first, on the calling thread.
  size_t ReleaseNewestFirst() {
    std::vector<Held> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      held.swap(held_);
    }
    std::reverse(held.begin(), held.end());
    for (Held& h : held) h.callback(h.status, h.info);
    return held.size();
  }

  Result<std::string> Append(const archive::StreamRef& ref, archive::FragmentInput fragment,
                             archive::DurableCallback on_durable) override {
    return inner().Append(
        ref, std::move(fragment),
        [this, cb = std::move(on_durable)](const Status& s, const archive::FragmentInfo& info) {
          std::lock_guard<std::mutex> lock(mu_);
          held_.push_back({cb, s, info});
        });
  }

 private:
  struct Held {
    archive::DurableCallback callback;
    Status status;
    archive::FragmentInfo info;
  };
  std::mutex mu_;
  std::vector<Held> held_;
};

}  // namespace streamarc::ingest::testing
