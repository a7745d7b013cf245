// An Archive that holds every durable report until the test releases it, in any order: how
// the session is tested against a backend that reports fragments out of order.
#pragma once

#include <algorithm>
#include <mutex>
#include <vector>

#include "archive/archive.h"

namespace streamarc::ingest::testing {

class HoldingArchive final : public archive::Archive {
 public:
  explicit HoldingArchive(archive::Archive& inner) : a_(inner) {}

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
    return a_.Append(
        ref, std::move(fragment),
        [this, cb = std::move(on_durable)](const Status& s, const archive::FragmentInfo& info) {
          std::lock_guard<std::mutex> lock(mu_);
          held_.push_back({cb, s, info});
        });
  }

  // ---- The rest passes through ----
  Result<archive::StreamInfo> CreateStream(const archive::CreateStreamRequest& r) override {
    return a_.CreateStream(r);
  }
  Result<archive::StreamInfo> DescribeStream(const archive::StreamRef& ref) override {
    return a_.DescribeStream(ref);
  }
  Result<std::vector<archive::StreamInfo>> ListStreams(std::string_view prefix,
                                                       std::string_view after, int max) override {
    return a_.ListStreams(prefix, after, max);
  }
  Status UpdateStream(const archive::StreamRef& ref, std::string_view version,
                      std::optional<std::string> device, std::optional<std::string> type) override {
    return a_.UpdateStream(ref, version, std::move(device), std::move(type));
  }
  Status UpdateRetention(const archive::StreamRef& ref, std::string_view version,
                         int hours) override {
    return a_.UpdateRetention(ref, version, hours);
  }
  Status TagStream(const archive::StreamRef& ref,
                   const std::map<std::string, std::string>& tags) override {
    return a_.TagStream(ref, tags);
  }
  Status UntagStream(const archive::StreamRef& ref, const std::vector<std::string>& keys) override {
    return a_.UntagStream(ref, keys);
  }
  Status DeleteStream(const archive::StreamRef& ref, std::string_view version) override {
    return a_.DeleteStream(ref, version);
  }
  void Flush() override { a_.Flush(); }
  Result<archive::FragmentInfo> GetFragment(const archive::StreamRef& ref,
                                            std::string_view number) override {
    return a_.GetFragment(ref, number);
  }
  Result<archive::ListResult> ListFragments(const archive::ListRequest& req) override {
    return a_.ListFragments(req);
  }
  Result<std::vector<archive::FragmentInfo>> FragmentsAfter(const archive::StreamRef& ref,
                                                            std::string_view after,
                                                            int max) override {
    return a_.FragmentsAfter(ref, after, max);
  }
  Result<archive::FragmentInfo> FirstAtOrAfter(const archive::StreamRef& ref,
                                               archive::TimestampType type,
                                               int64_t timestamp_us) override {
    return a_.FirstAtOrAfter(ref, type, timestamp_us);
  }
  Result<archive::FragmentInfo> Latest(const archive::StreamRef& ref) override {
    return a_.Latest(ref);
  }
  Result<archive::FragmentBytes> OpenFragment(const archive::StreamRef& ref,
                                              std::string_view number) override {
    return a_.OpenFragment(ref, number);
  }
  Result<std::string> ReadFragment(const archive::StreamRef& ref,
                                   std::string_view number) override {
    return a_.ReadFragment(ref, number);
  }
  Status Sweep() override { return a_.Sweep(); }
  Status Verify() override { return a_.Verify(); }
  archive::ArchiveStats Stats() const override { return a_.Stats(); }
  archive::RecoveryReport Recovery() const override { return a_.Recovery(); }
  uint64_t AddStreamDeletedListener(StreamDeletedListener listener) override {
    return a_.AddStreamDeletedListener(std::move(listener));
  }
  void RemoveStreamDeletedListener(uint64_t id) override { a_.RemoveStreamDeletedListener(id); }

 private:
  struct Held {
    archive::DurableCallback callback;
    Status status;
    archive::FragmentInfo info;
  };
  archive::Archive& a_;
  std::mutex mu_;
  std::vector<Held> held_;
};

}  // namespace streamarc::ingest::testing
