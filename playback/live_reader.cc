// GetMedia's reader (see LiveReader in media_internal.h for the backlog/live hand-off).
#include <optional>
#include <utility>

#include "playback/get_media.h"
#include "playback/media_internal.h"

namespace streamarc::playback {

void LiveReader::Start() {
  auto self = shared_from_this();
  if (!svc_->Submit([self] { self->Open(); })) {
    // Busy is 503 everywhere (server/kvs_error.h): clients retry it.
    out_->Fail(KvsErrorFromStatus(Unavailable(kBusyMessage)));
  }
}

void LiveReader::Stop() {
  // Unsubscribing waits for a running listener: not on the caller's (service) thread.
  auto self = shared_from_this();
  if (!svc_->Submit([self] { self->StopNow(); })) StopNow();
}

void LiveReader::StopNow() {
  uint64_t sub = 0;
  bool acquired = false;
  {
    MutexLock lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    sub = sub_id_;
    acquired = acquired_;
  }
  if (acquired) svc_->Release(stream_, this);
  if (sub) svc_->hub.Unsubscribe(sub);
}

void LiveReader::Finish() {
  out_->End();
  StopNow();
}

void LiveReader::Refuse(Status status, KvsErrorType exhausted) {
  out_->Fail(KvsErrorFromStatus(std::move(status), exhausted));
  StopNow();
}

// Job: looks the stream up, takes a connection slot, subscribes, finds the start.
void LiveReader::Open() {
  auto info = svc_->archive.DescribeStream(req_.stream);
  if (!info.ok()) return Refuse(info.status());
  if (info->status == archive::StreamStatus::kDeleting) {
    return Refuse(NotFound("the stream is being deleted"));
  }
  stream_ = info->name;
  ref_ = archive::StreamRef::Name(stream_);
  auto self = shared_from_this();
  if (!svc_->Acquire(stream_, self)) {
    return Refuse(
        ResourceExhausted("at most " + std::to_string(svc_->opt.max_get_media_per_stream) +
                          " GetMedia connections per stream"),
        KvsErrorType::kConnectionLimitExceeded);
  }
  std::weak_ptr<LiveReader> weak = self;
  uint64_t sub = svc_->hub.Subscribe(stream_, [weak](const LiveFragmentPtr& f) {
    if (auto r = weak.lock()) r->OnLive(f);
  });
  bool undo;
  {
    MutexLock lock(mu_);
    undo = stopped_;  // the client left while we looked: StopNow saw nothing to release
    if (!undo) {
      acquired_ = true;
      sub_id_ = sub;
      mode_ = Mode::kBacklog;
    }
  }
  if (undo) {
    svc_->Release(stream_, this);
    svc_->hub.Unsubscribe(sub);
    return;
  }
  std::optional<archive::FragmentInfo> first;
  if (!FindStart(first)) return;
  out_->Begin();
  if (first) {
    if (!SendStored(*first)) return;
    MutexLock lock(mu_);
    last_sent_ = first->number;
  }
  Backlog();
}

// Sets `last_sent_` to the fragment before the first one to send (or `first` to the first
// one itself, for the timestamp selectors).
bool LiveReader::FindStart(std::optional<archive::FragmentInfo>& first) {
  archive::Archive& a = svc_->archive;
  switch (req_.type) {
    case StartSelectorType::kEarliest:
      return true;
    case StartSelectorType::kFragmentNumber:
    case StartSelectorType::kContinuationToken: {
      // Any well-formed number works (a fragment expired since is simply passed over); one
      // the archive cannot decode was never issued.
      const bool by_number = req_.type == StartSelectorType::kFragmentNumber;
      const std::string after = by_number ? req_.after_fragment_number : req_.continuation_token;
      {
        // The hub's listener reads last_sent_ once the reader is live (not yet): the lock
        // costs nothing and keeps every access under it.
        MutexLock lock(mu_);
        last_sent_ = after;
      }
      auto probe = a.FragmentsAfter(ref_, after, 1);
      if (probe.ok()) return true;
      if (probe.status().code() == Code::kInvalidArgument) {
        Refuse(
            InvalidArgument(std::string(by_number ? "AfterFragmentNumber" : "ContinuationToken") +
                            " \"" + after + "\" is not a fragment number of this stream"));
      } else {
        Refuse(probe.status());
      }
      return false;
    }
    case StartSelectorType::kServerTimestamp:
    case StartSelectorType::kProducerTimestamp: {
      auto f = a.FirstAtOrAfter(ref_,
                                req_.type == StartSelectorType::kServerTimestamp
                                    ? archive::TimestampType::kServer
                                    : archive::TimestampType::kProducer,
                                req_.start_timestamp_us);
      if (f.ok()) {
        first = std::move(*f);
        return true;
      }
      if (f.status().code() != Code::kNotFound) {
        Refuse(f.status());
        return false;
      }
      [[fallthrough]];  // nothing that late yet: start with the next fragment persisted
    }
    case StartSelectorType::kNow: {
      auto latest = a.Latest(ref_);
      if (latest.ok()) {
        MutexLock lock(mu_);
        last_sent_ = latest->number;
      } else if (latest.status().code() != Code::kNotFound) {
        Refuse(latest.status());
        return false;
      }
      return true;
    }
  }
  return true;
}

// Reads and writes one stored fragment; false when the reader ended.
bool LiveReader::SendStored(const archive::FragmentInfo& info) {
  auto bytes = svc_->archive.ReadFragment(ref_, info.number);
  if (!bytes.ok()) {
    if (bytes.status().code() == Code::kNotFound) return true;  // expired meanwhile
    svc_->log.Warn(
        kMediaLog, "cannot read a fragment",
        {{"stream", stream_}, {"fragment", info.number}, {"error", bytes.status().ToString()}});
    out_->Write(BuildErrorChunk(info.number, "INTERNAL_ERROR", kErrorInternal));
    Finish();
    return false;
  }
  out_->Write(BuildMediaChunk(info, *bytes, svc_->clock.NowMicros()));
  return true;
}

// Job: one batch of the backlog; resubmits itself, waits for the client to drain, or goes
// live.
void LiveReader::Backlog() {
  for (;;) {
    std::string after;
    {
      MutexLock lock(mu_);
      if (stopped_) return;
      after = last_sent_;
    }
    if (out_->queued_bytes() > svc_->opt.resume_queued_bytes) {
      auto self = shared_from_this();
      out_->NotifyWhenDrained(svc_->opt.resume_queued_bytes, [self] { self->Resubmit(); });
      return;
    }
    auto batch = svc_->archive.FragmentsAfter(ref_, after, svc_->opt.backlog_batch);
    if (!batch.ok()) {
      if (batch.status().code() != Code::kNotFound) {
        out_->Write(BuildErrorChunk("", "INTERNAL_ERROR", kErrorInternal));
      }
      return Finish();  // kNotFound: the stream was deleted
    }
    if (batch->empty()) {
      {
        MutexLock lock(mu_);
        if (missed_) {
          missed_ = false;
          continue;
        }
        mode_ = Mode::kLive;
      }
      svc_->log.Info(kMediaLog, "reader is at the live edge",
                     {{"stream", stream_}, {"after", after}});
      return;
    }
    for (const archive::FragmentInfo& info : *batch) {
      if (!SendStored(info)) return;
      MutexLock lock(mu_);
      if (stopped_) return;
      last_sent_ = info.number;
    }
    // Let other jobs run between batches.
    return Resubmit();
  }
}

void LiveReader::Resubmit() {
  auto self = shared_from_this();
  if (!svc_->Submit([self] { self->Backlog(); })) {
    svc_->log.Warn(kMediaLog, "job queue full: ending a reader", {{"stream", stream_}});
    out_->Write(BuildErrorChunk("", "INTERNAL_ERROR", kErrorInternal));
    // Ending needs Unsubscribe, which must not run on the commit thread: hand it over.
    out_->Post([self] { self->Finish(); });
  }
}

// The archive's commit thread, via the hub: must not block.
void LiveReader::OnLive(const LiveFragmentPtr& f) {
  std::shared_ptr<const std::string> chunk;
  bool lagging = false;
  {
    MutexLock lock(mu_);
    if (stopped_) return;
    if (mode_ != Mode::kLive) {
      missed_ = true;
      return;
    }
    if (!FragmentNumberLess(last_sent_, f->info.number)) return;  // seen
    if (!f->cluster || out_->queued_bytes() > svc_->opt.max_reader_queued_bytes) {
      // Catch up from the archive (which has this fragment) once the client drains.
      mode_ = Mode::kBacklog;
      lagging = f->cluster != nullptr;
    } else {
      chunk = svc_->LiveChunk(f);
      last_sent_ = f->info.number;
    }
  }
  if (chunk) return out_->WriteShared(std::move(chunk));
  if (lagging) {
    svc_->log.Info(kMediaLog, "reader fell behind: catching up from the archive",
                   {{"stream", stream_}, {"queued_bytes", uint64_t{out_->queued_bytes()}}});
  }
  Resubmit();
}

}  // namespace streamarc::playback
