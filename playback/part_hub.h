// The fragment still arriving, frame by frame, for live views that cannot wait for it to be
// PERSISTED (LL-HLS parts). Ingest publishes what the fragmenter writes; playback subscribes
// per stream. Durability is the archive's business: nothing here is stored, and a fragment
// the producer abandons halfway simply never ends (the next start replaces it).
//
// Ingest knows only these events, nothing of HLS. It builds them only while a stream has a
// listener (HasListeners), and a frame's bytes are lent for the call: whoever keeps them
// copies them once, however many viewers follow.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/mutex.h"

namespace streamarc::playback {

struct PartEvent {
  enum class Type {
    kFragmentStart,  // a fragment opened: header, timestamps
    kFrame,          // a frame of the open fragment, in its block order
    kFragmentEnd,    // the open fragment is complete and numbered (not yet persisted)
  };
  Type type = Type::kFrame;
  std::string_view stream_name;

  // kFragmentStart (and kFragmentEnd).
  std::shared_ptr<const std::string> header;  // the Matroska header (FragmentInfo::track_info)
  int64_t producer_timestamp_us = 0;
  int64_t server_timestamp_us = 0;
  int64_t timecode_scale_ns = 1'000'000;

  // kFrame (valid during the call only).
  uint64_t track = 0;
  int64_t timecode = 0;  // absolute TimecodeScale ticks
  bool key = false;
  bool cut_track = false;  // the track fragments start on
  std::span<const uint8_t> data;

  // kFragmentEnd. Also header and timestamps: a listener that came after the start has them
  // from here.
  std::string_view fragment_number;
  int64_t duration_us = 0;
  // The fragment's cluster as it will be stored (shared, never copied per reader).
  std::shared_ptr<const std::string> cluster;
};

// Thread-safe.
class PartHub {
 public:
  // Runs on the publishing thread (ingest's service thread), in order per stream: it must be
  // quick, must not block, and must not call Subscribe/Unsubscribe.
  using Listener = std::function<void(const PartEvent&)>;

  // Returns an id for Unsubscribe. After Unsubscribe returns, the listener is not running and
  // will not run again.
  uint64_t Subscribe(const std::string& stream_name, Listener listener) EXCLUDES(mu_);
  void Unsubscribe(uint64_t id) EXCLUDES(mu_, publish_mu_);
  bool HasListeners(std::string_view stream_name) const EXCLUDES(mu_);
  void Publish(const PartEvent& event) EXCLUDES(mu_, publish_mu_);

 private:
  struct Entry {
    std::string stream;
    std::shared_ptr<Listener> listener;
  };
  // Held while listeners run, so Unsubscribe can wait for a running listener to return.
  Mutex publish_mu_ ACQUIRED_BEFORE(mu_);
  mutable Mutex mu_;
  uint64_t next_id_ GUARDED_BY(mu_) = 1;
  std::map<uint64_t, Entry> entries_ GUARDED_BY(mu_);
  std::multimap<std::string, uint64_t, std::less<>> by_stream_ GUARDED_BY(mu_);
};

}  // namespace streamarc::playback
