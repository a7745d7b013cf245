// The content store side of StreamImpl: PutFrame, the overflow policy, Stop, stats.
#include <algorithm>
#include <chrono>
#include <limits>

#include "producer-sdk/stream_impl.h"

namespace streamarc::producer {

namespace {
// Timestamps before 2000-01-01 are taken as relative (a pipeline's running time) and moved
// to the wall clock at the first frame, since PutMedia's timecodes are ABSOLUTE.
constexpr int64_t kAbsoluteEpochUs = 946'684'800'000'000;
}  // namespace

StreamImpl::StreamImpl(std::shared_ptr<CurlGlobal> curl, const StreamOptions& options,
                       Packager packager, UploadConfig upload, StreamCallbacks* callbacks,
                       const Clock& clock)
    : curl_global_(std::move(curl)),
      opt_(options),
      upload_(std::move(upload)),
      callbacks_(callbacks ? callbacks : &no_callbacks_),
      clock_(clock),
      packager_(std::move(packager)),
      data_endpoint_(upload_.data_endpoint),
      rng_(std::random_device{}()) {
  stats_.store_capacity = opt_.storage_bytes;
}

StreamImpl::~StreamImpl() { Stop(0).IgnoreError(); }

StoredFragment* StreamImpl::FindByTimecode(int64_t tc) {
  for (StoredFragment& f : store_) {
    if (f.timecode_ms == tc && !f.persisted) return &f;
  }
  return nullptr;
}

std::deque<StoredFragment>::iterator StreamImpl::IterOf(const StoredFragment& f) {
  // A deque's elements are not contiguous: found by sequence number, not pointer arithmetic.
  return std::find_if(store_.begin(), store_.end(),
                      [&](const StoredFragment& s) { return s.seq == f.seq; });
}

void StreamImpl::Queue(Event e) { events_.push_back(std::move(e)); }

void StreamImpl::Wake() {
  if (multi_) curl_multi_wakeup(multi_.get());
}

void StreamImpl::Fail(const Status& s) {
  if (!failure_.ok()) return;
  failure_ = s;
  Queue([s](StreamCallbacks& cb) {
    cb.OnConnectionState(ConnectionState::kFailed, s);
    cb.OnStreamError(s);
  });
  cv_.NotifyAll();
}

void StreamImpl::CloseOpenFragment() {
  if (open_fragment_) store_.back().complete = true;
  open_fragment_ = false;
}

void StreamImpl::EraseFragment(const std::deque<StoredFragment>::iterator& it) {
  store_bytes_ -= it->bytes.size();
  if (open_fragment_ && &*it == &store_.back()) open_fragment_ = false;
  store_.erase(it);
  cv_.NotifyAll();
}

// The oldest fragment that is not the open one and not half-way out on the live connection
// (cutting that one would corrupt the MKV stream the server is parsing).
bool StreamImpl::DropOldestDroppable() {
  for (auto it = store_.begin(); it != store_.end(); ++it) {
    bool is_open = open_fragment_ && std::next(it) == store_.end();
    bool on_wire = transfer_active_ && it->seq == send_seq_ && send_off_ > 0;
    if (is_open || on_wire) continue;
    ++stats_.fragments_dropped;
    stats_.frames_dropped += it->frames;
    int64_t tc = it->timecode_ms;
    Queue([tc](StreamCallbacks& cb) { cb.OnDroppedFragment(tc); });
    EraseFragment(it);
    return true;
  }
  return false;
}

void StreamImpl::DropFrame(int64_t pts_us) {
  ++stats_.frames_dropped;
  Queue([pts_us](StreamCallbacks& cb) { cb.OnDroppedFrame(pts_us); });
}

Status StreamImpl::MakeRoom(size_t need) {
  OverflowPolicy policy = opt_.overflow;
  // Offline uploads never lose data to a full store: they wait.
  if (opt_.type == StreamingType::kOffline && policy == OverflowPolicy::kDropOldest) {
    policy = OverflowPolicy::kBlock;
  }
  while (store_bytes_ + need > opt_.storage_bytes) {
    if (!failure_.ok()) return failure_;
    if (policy == OverflowPolicy::kDropOldest) {
      if (!DropOldestDroppable()) return ResourceExhausted("the content store is full");
    } else if (policy == OverflowPolicy::kBlock) {
      // Only the open fragment left and still no room: waiting would never end.
      bool only_open = store_.size() == 1 && open_fragment_;
      if (store_.empty() || only_open || shutdown_) {
        return ResourceExhausted("the content store is full");
      }
      cv_.WaitFor(mu_, std::chrono::milliseconds(100));
    } else {
      return ResourceExhausted("the content store is full");
    }
  }
  return Status::Ok();
}

Status StreamImpl::PutFrame(const Frame& frame) {
  MutexLock lock(mu_);
  if (!failure_.ok()) return failure_;
  if (ending_) return FailedPrecondition("PutFrame after Stop");
  ++stats_.frames_put;
  if (!have_offset_) {
    have_offset_ = true;
    if (frame.pts_us < kAbsoluteEpochUs) pts_offset_us_ = clock_.NowMicros() - frame.pts_us;
  }
  const int64_t pts_ms = (frame.pts_us + pts_offset_us_) / 1000;
  if (pts_ms < 0) {
    // A Cluster timecode is unsigned: such a frame cannot be sent.
    DropFrame(frame.pts_us);
    Wake();
    return OutOfRange("frame timestamp before the Unix epoch");
  }
  if (!packager_.ready() && !frame.key_frame) {
    // Joined mid-GOP (an RTSP camera does this): nothing to decode until a key frame. Normal
    // operation, reported as a dropped frame, not an error.
    DropFrame(frame.pts_us);
    Wake();
    return Status::Ok();
  }
  mkv::Bytes payload;
  Status conv = packager_.Convert(frame, payload);
  if (!conv.ok() || !packager_.ready()) {
    // Frames before the first usable key frame cannot be decoded: KVS drops them too.
    DropFrame(frame.pts_us);
    Wake();
    return conv;
  }
  const bool cut = frame.track == packager_.cut_track() && frame.key_frame;
  const bool new_fragment =
      cut && (!open_fragment_ || pts_ms - store_.back().timecode_ms >= opt_.fragment_duration_ms ||
              pts_ms - store_.back().timecode_ms > std::numeric_limits<int16_t>::max());
  if (!new_fragment && (!open_fragment_ || skip_until_key_)) {
    DropFrame(frame.pts_us);
    Wake();
    return Status::Ok();
  }
  if (!new_fragment) {
    int64_t rel = pts_ms - store_.back().timecode_ms;
    if (rel < std::numeric_limits<int16_t>::min() || rel > std::numeric_limits<int16_t>::max()) {
      DropFrame(frame.pts_us);
      skip_until_key_ = frame.track == packager_.cut_track();
      Wake();
      return OutOfRange("frame timestamp too far from its fragment's start");
    }
  }
  size_t need = payload.size() + 16 + (new_fragment ? 16 : 0);
  Status room = MakeRoom(need);
  if (!room.ok()) {
    DropFrame(frame.pts_us);
    if (frame.track == packager_.cut_track()) skip_until_key_ = true;
    Wake();
    if (opt_.overflow == OverflowPolicy::kDropOldest && room.code() == Code::kResourceExhausted) {
      return Status::Ok();  // the policy's normal working, reported through the callback
    }
    return room;
  }
  if (new_fragment) {
    CloseOpenFragment();
    skip_until_key_ = false;
    StoredFragment f;
    f.seq = next_seq_++;
    f.timecode_ms = pts_ms;
    f.first_put_us = clock_.MonotonicMicros();
    // Room for a fragment like the previous one, so it grows without repeated copying.
    if (store_.size() > 0) {
      f.bytes.reserve(store_.back().bytes.size() + store_.back().bytes.size() / 4);
    }
    // Cannot fail: pts_ms >= 0 and a new StoredFragment has no open Cluster.
    Status started = Packager::AppendClusterStart(pts_ms, f.bytes);
    if (!started.ok()) return started;
    store_bytes_ += f.bytes.size();
    store_.push_back(std::move(f));
    open_fragment_ = true;
    ++stats_.fragments_started;
  }
  StoredFragment& f = store_.back();
  size_t before = f.bytes.size();
  // Cannot fail: the track is 1..3 and the relative time was checked above.
  Status appended = Packager::AppendSimpleBlock(f.timecode_ms, frame.track,
                                                static_cast<int16_t>(pts_ms - f.timecode_ms),
                                                frame.key_frame, payload, f.bytes);
  if (!appended.ok()) return appended;
  store_bytes_ += f.bytes.size() - before;
  ++f.frames;
  last_pts_ms_ = pts_ms;
  size_t remaining = opt_.storage_bytes - std::min(opt_.storage_bytes, store_bytes_);
  if (remaining < opt_.storage_bytes / 10) {
    if (!pressure_reported_) {
      pressure_reported_ = true;
      Queue([remaining](StreamCallbacks& cb) { cb.OnStorageOverflowPressure(remaining); });
    }
  } else if (remaining > opt_.storage_bytes / 5) {
    pressure_reported_ = false;
  }
  data_ready_ = true;
  Wake();
  return Status::Ok();
}

Status StreamImpl::Stop(int64_t timeout_ms) {
  // From a callback, Stop would wait for the thread it runs on.
  if (std::this_thread::get_id() == thread_.get_id()) {
    return FailedPrecondition("Stop called from a stream callback");
  }
  MutexLock lock(mu_);
  if (!thread_.joinable()) return failure_;
  ending_ = true;
  CloseOpenFragment();
  data_ready_ = true;
  Wake();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!store_.empty() && failure_.ok()) {
    if (!cv_.WaitUntil(mu_, deadline)) break;
  }
  size_t left = store_.size();
  shutdown_ = true;
  Wake();
  lock.Unlock();
  thread_.join();
  lock.Lock();
  if (!failure_.ok()) return failure_;
  if (left > 0) {
    return Unavailable(std::to_string(left) + " fragment(s) not PERSISTED when Stop's " +
                       std::to_string(timeout_ms) + " ms ran out");
  }
  return Status::Ok();
}

StreamStats StreamImpl::stats() const {
  MutexLock lock(mu_);
  StreamStats s = stats_;
  s.store_bytes = store_bytes_;
  s.store_capacity = opt_.storage_bytes;
  return s;
}

}  // namespace streamarc::producer
