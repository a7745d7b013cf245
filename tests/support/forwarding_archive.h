// An archive::Archive that forwards every call to another one. Tests derive from it and
// override only the calls they change (hold durable reports, run a hook after a read), so a
// new Archive method is forwarded here once instead of in every test double.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "archive/archive.h"

namespace streamarc::testing {

// Thread-safe as `inner` is; `inner` outlives this object.
class ForwardingArchive : public archive::Archive {
 public:
  explicit ForwardingArchive(archive::Archive& inner) : inner_(inner) {}

  Result<archive::StreamInfo> CreateStream(const archive::CreateStreamRequest& req) override {
    return inner_.CreateStream(req);
  }
  Result<archive::StreamInfo> DescribeStream(const archive::StreamRef& ref) override {
    return inner_.DescribeStream(ref);
  }
  Result<std::vector<archive::StreamInfo>> ListStreams(std::string_view prefix,
                                                       std::string_view after, int max) override {
    return inner_.ListStreams(prefix, after, max);
  }
  Status UpdateStream(const archive::StreamRef& ref, std::string_view version,
                      std::optional<std::string> device, std::optional<std::string> type) override {
    return inner_.UpdateStream(ref, version, std::move(device), std::move(type));
  }
  Status UpdateRetention(const archive::StreamRef& ref, std::string_view version,
                         int hours) override {
    return inner_.UpdateRetention(ref, version, hours);
  }
  Status UpdateStorageTier(const archive::StreamRef& ref, std::string_view version,
                           archive::StorageTier tier) override {
    return inner_.UpdateStorageTier(ref, version, tier);
  }
  Status TagStream(const archive::StreamRef& ref,
                   const std::map<std::string, std::string>& tags) override {
    return inner_.TagStream(ref, tags);
  }
  Status UntagStream(const archive::StreamRef& ref, const std::vector<std::string>& keys) override {
    return inner_.UntagStream(ref, keys);
  }
  Status DeleteStream(const archive::StreamRef& ref, std::string_view version) override {
    return inner_.DeleteStream(ref, version);
  }
  uint64_t AddStreamDeletedListener(StreamDeletedListener listener) override {
    return inner_.AddStreamDeletedListener(std::move(listener));
  }
  void RemoveStreamDeletedListener(uint64_t id) override { inner_.RemoveStreamDeletedListener(id); }
  Result<std::string> Append(const archive::StreamRef& ref, archive::FragmentInput fragment,
                             archive::DurableCallback on_durable) override {
    return inner_.Append(ref, std::move(fragment), std::move(on_durable));
  }
  void Flush() override { inner_.Flush(); }
  Result<archive::FragmentInfo> GetFragment(const archive::StreamRef& ref,
                                            std::string_view number) override {
    return inner_.GetFragment(ref, number);
  }
  Result<archive::ListResult> ListFragments(const archive::ListRequest& req) override {
    return inner_.ListFragments(req);
  }
  Result<std::vector<archive::FragmentInfo>> FragmentsAfter(const archive::StreamRef& ref,
                                                            std::string_view after,
                                                            int max) override {
    return inner_.FragmentsAfter(ref, after, max);
  }
  Result<archive::FragmentInfo> FirstAtOrAfter(const archive::StreamRef& ref,
                                               archive::TimestampType type,
                                               int64_t timestamp_us) override {
    return inner_.FirstAtOrAfter(ref, type, timestamp_us);
  }
  Result<archive::FragmentInfo> Latest(const archive::StreamRef& ref) override {
    return inner_.Latest(ref);
  }
  Result<archive::FragmentBytes> OpenFragment(const archive::StreamRef& ref,
                                              std::string_view number) override {
    return inner_.OpenFragment(ref, number);
  }
  Result<std::string> ReadFragment(const archive::StreamRef& ref,
                                   std::string_view number) override {
    return inner_.ReadFragment(ref, number);
  }
  Result<std::vector<std::string>> PutEvents(
      const archive::StreamRef& ref, const std::vector<archive::EventInput>& events) override {
    return inner_.PutEvents(ref, events);
  }
  Result<archive::ListEventsResult> ListEvents(const archive::ListEventsRequest& req) override {
    return inner_.ListEvents(req);
  }
  Result<archive::ListSpansResult> ListRecordingSpans(
      const archive::ListSpansRequest& req) override {
    return inner_.ListRecordingSpans(req);
  }
  Status Sweep() override { return inner_.Sweep(); }
  Status Verify() override { return inner_.Verify(); }
  archive::ArchiveStats Stats() const override { return inner_.Stats(); }
  archive::RecoveryReport Recovery() const override { return inner_.Recovery(); }
  Status CheckWritable() override { return inner_.CheckWritable(); }
  Status ClaimStream(const archive::StreamRef& ref) override { return inner_.ClaimStream(ref); }
  Status SetNodeUrl(const std::string& url) override { return inner_.SetNodeUrl(url); }
  Result<std::optional<Node>> IngestNode(const archive::StreamRef& ref) override {
    return inner_.IngestNode(ref);
  }

 protected:
  archive::Archive& inner() { return inner_; }

 private:
  archive::Archive& inner_;
};

}  // namespace streamarc::testing
