// The live edge of each followed stream for LL-HLS (private to playback/; HlsService uses
// it): the newest few fragments as they arrive from ingest (PartHub), cut into parts
// (PartCutter), each part a Matroska cluster remuxable on its own; and the requests parked
// until a part or a fragment exists (blocking playlist reloads, preload hints).
//
// Nothing here blocks or remuxes: events are handled on ingest's thread in a few
// microseconds; a parked request's continuation is handed to `submit` (the worker pool).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "playback/part_cutter.h"
#include "playback/part_hub.h"

namespace streamarc::playback {

// One fragment of the edge. Immutable once shared: a new part makes a new copy.
struct EdgeFragment {
  uint64_t id = 0;  // per stream, one more for each fragment started
  std::shared_ptr<const std::string> header;
  int64_t producer_timestamp_us = 0;
  int64_t server_timestamp_us = 0;
  std::vector<CutPart> parts;
  bool complete = false;
  // Once complete:
  std::string number;
  int64_t duration_us = 0;
  std::shared_ptr<const std::string> cluster;  // the whole fragment, as the archive stores it
};
using EdgeFragmentPtr = std::shared_ptr<const EdgeFragment>;

struct EdgeView {
  std::vector<EdgeFragmentPtr> fragments;  // oldest first; only the last may be incomplete
  uint64_t next_id = 0;                    // the id of the next fragment to start
};

// What a parked request waits for: part `part` of fragment `fragment_id`, or (no part) that
// fragment complete. Reached too once a later fragment has started (the wanted one was
// abandoned, or has fewer parts): the continuation then finds out what exists.
struct EdgeWant {
  uint64_t fragment_id = 0;
  std::optional<uint32_t> part;
};
bool Reached(const EdgeView& view, const EdgeWant& want);

struct LiveEdgeOptions {
  int64_t part_target_us = 333'000;  // EXT-X-PART-INF:PART-TARGET
  size_t keep_fragments = 4;         // per stream, for recent EXT-X-PART lines
  // A stream nobody asked about for this long is no longer followed (ingest then stops
  // handing its frames over).
  int64_t idle_us = 60'000'000;
};

// A parked request: answered exactly once, by whoever claims it first (the edge when the
// want is reached, or the request's own timeout).
class EdgeWaiter {
 public:
  // `ready` runs through the edge's submit; `busy` (cheap, any thread) when submit refuses.
  EdgeWaiter(std::function<void()> ready, std::function<void()> busy)
      : ready_(std::move(ready)), busy_(std::move(busy)) {}
  bool Claim() { return !done_.exchange(true); }
  // Drops the closures (and what they hold) once run; only its claimer may call it.
  void Release() {
    ready_ = nullptr;
    busy_ = nullptr;
  }

 private:
  friend class LiveEdge;
  std::function<void()> ready_;
  std::function<void()> busy_;
  std::atomic<bool> done_{false};
};

// Thread-safe. `hub` and `clock` outlive it. Owned by shared_ptr: jobs it submits hold it
// weakly. Parked waiters hold what they answer through, so Shutdown drops them (answering
// `busy`) to break any cycle back to the edge's owner.
class LiveEdge : public std::enable_shared_from_this<LiveEdge> {
 public:
  using Submit = std::function<bool(std::function<void()>)>;
  LiveEdge(PartHub& hub, const Clock& clock, LiveEdgeOptions options, Submit submit);
  ~LiveEdge();
  LiveEdge(const LiveEdge&) = delete;
  LiveEdge& operator=(const LiveEdge&) = delete;

  const LiveEdgeOptions& options() const { return options_; }

  // Follows `stream` from now on (if not yet) and returns its edge.
  EdgeView Follow(const std::string& stream) EXCLUDES(mu_);
  // Parks `waiter` until `want` is reached (or runs it through submit at once when it is).
  void Park(const std::string& stream, const EdgeWant& want,
            const std::shared_ptr<EdgeWaiter>& waiter) EXCLUDES(mu_);
  // Answers every parked request with its `busy` and takes no more.
  void Shutdown() EXCLUDES(mu_);

 private:
  struct Parked {
    EdgeWant want;
    std::shared_ptr<EdgeWaiter> waiter;
  };
  struct Stream {
    uint64_t subscription = 0;
    std::deque<EdgeFragmentPtr> fragments;
    std::optional<PartCutter> cutter;  // the open fragment's
    uint64_t next_id = 0;
    int64_t last_used_us = 0;
    bool leaving = false;
    std::vector<Parked> parked;
  };

  void OnEvent(const std::string& stream, const PartEvent& e) EXCLUDES(mu_);
  static EdgeView ViewOf(const Stream& s);
  // The parked requests of `s` now reached (claimed), removed from it.
  static std::vector<std::shared_ptr<EdgeWaiter>> Due(Stream& s);
  void Run(const std::vector<std::shared_ptr<EdgeWaiter>>& due);
  void Leave(const std::string& stream) EXCLUDES(mu_);

  PartHub& hub_;
  const Clock& clock_;
  const LiveEdgeOptions options_;
  const Submit submit_;
  Mutex mu_;
  std::map<std::string, Stream> streams_ GUARDED_BY(mu_);
  bool shut_down_ GUARDED_BY(mu_) = false;
};

}  // namespace streamarc::playback
