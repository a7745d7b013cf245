#include "playback/live_edge.h"

#include <utility>

namespace streamarc::playback {

bool Reached(const EdgeView& view, const EdgeWant& want) {
  if (view.next_id > want.fragment_id + 1) return true;  // a later fragment has started
  if (view.fragments.empty() || view.fragments.back()->id != want.fragment_id) return false;
  const EdgeFragment& f = *view.fragments.back();
  if (f.complete) return true;
  return want.part && f.parts.size() > *want.part;
}

LiveEdge::LiveEdge(PartHub& hub, const Clock& clock, LiveEdgeOptions options, Submit submit)
    : hub_(hub), clock_(clock), options_(options), submit_(std::move(submit)) {}

LiveEdge::~LiveEdge() {
  std::vector<uint64_t> subscriptions;
  {
    MutexLock lock(mu_);
    for (auto& [name, s] : streams_) subscriptions.push_back(s.subscription);
  }
  // Outside mu_: Unsubscribe waits for a running listener, which may be waiting for mu_.
  for (uint64_t id : subscriptions) hub_.Unsubscribe(id);
}

EdgeView LiveEdge::ViewOf(const Stream& s) {
  return EdgeView{{s.fragments.begin(), s.fragments.end()}, s.next_id};
}

EdgeView LiveEdge::Follow(const std::string& stream) {
  const int64_t now = clock_.MonotonicMicros();
  {
    MutexLock lock(mu_);
    auto it = streams_.find(stream);
    if (it != streams_.end() && !it->second.leaving) {
      it->second.last_used_us = now;
      return ViewOf(it->second);
    }
    if (it == streams_.end()) {
      Stream& s = streams_[stream];
      // Ids grow across restarts too (a player may hold a URL from before one).
      s.next_id = static_cast<uint64_t>(clock_.NowMicros());
      s.last_used_us = now;
      std::weak_ptr<LiveEdge> weak = weak_from_this();
      s.subscription = hub_.Subscribe(stream, [weak, stream](const PartEvent& e) {
        // The hub's Unsubscribe waits for this call, so the edge outlives it; weak only so
        // a copy of the listener cannot keep it alive.
        if (auto self = weak.lock()) self->OnEvent(stream, e);
      });
      return ViewOf(s);
    }
    it->second.leaving = false;  // asked for again before the leave job ran
    it->second.last_used_us = now;
    return ViewOf(it->second);
  }
}

void LiveEdge::Park(const std::string& stream, const EdgeWant& want,
                    const std::shared_ptr<EdgeWaiter>& waiter) {
  std::vector<std::shared_ptr<EdgeWaiter>> due;
  bool refused = false;
  {
    MutexLock lock(mu_);
    auto it = streams_.find(stream);
    if (!shut_down_ && it != streams_.end()) {
      // Requests answered by their timeout go here too, not only on the stream's next event
      // (which may never come).
      std::erase_if(it->second.parked, [](const Parked& p) { return p.waiter->done_.load(); });
      it->second.parked.push_back({want, waiter});
      due = Due(it->second);
    } else {
      refused = true;
    }
  }
  if (refused) {
    if (waiter->Claim() && waiter->busy_) {
      waiter->busy_();
      waiter->Release();
    }
    return;
  }
  Run(due);
}

void LiveEdge::Shutdown() {
  std::vector<std::shared_ptr<EdgeWaiter>> all;
  {
    MutexLock lock(mu_);
    shut_down_ = true;
    for (auto& [name, s] : streams_) {
      for (Parked& p : s.parked) all.push_back(std::move(p.waiter));
      s.parked.clear();
    }
  }
  for (auto& w : all) {
    if (w->Claim() && w->busy_) {
      w->busy_();
      w->Release();
    }
  }
}

std::vector<std::shared_ptr<EdgeWaiter>> LiveEdge::Due(Stream& s) {
  std::vector<std::shared_ptr<EdgeWaiter>> due;
  const EdgeView view = ViewOf(s);
  std::erase_if(s.parked, [&](Parked& p) {
    if (p.waiter->done_.load()) return true;  // answered by its timeout
    if (!Reached(view, p.want)) return false;
    if (p.waiter->Claim()) due.push_back(std::move(p.waiter));
    return true;
  });
  return due;
}

void LiveEdge::Run(const std::vector<std::shared_ptr<EdgeWaiter>>& due) {
  for (const auto& w : due) {
    if (!submit_) {
      w->ready_();  // no pool (tests): here, on the publishing thread
    } else if (!submit_(w->ready_)) {
      if (w->busy_) w->busy_();
    }
    w->Release();
  }
}

void LiveEdge::OnEvent(const std::string& stream, const PartEvent& e) {
  std::vector<std::shared_ptr<EdgeWaiter>> due;
  bool leave = false;
  {
    MutexLock lock(mu_);
    auto it = streams_.find(stream);
    if (it == streams_.end()) return;
    Stream& s = it->second;
    auto replace_open = [&s](std::optional<CutPart> part, bool complete) {
      auto f = std::make_shared<EdgeFragment>(*s.fragments.back());
      if (part) f->parts.push_back(std::move(*part));
      f->complete = complete;
      s.fragments.back() = f;
      return f;
    };
    const bool open = s.cutter && !s.fragments.empty() && !s.fragments.back()->complete;
    switch (e.type) {
      case PartEvent::Type::kFragmentStart: {
        // An open fragment that never ended was abandoned by its producer: drop it.
        if (open) s.fragments.pop_back();
        auto f = std::make_shared<EdgeFragment>();
        f->id = s.next_id++;
        f->header = e.header;
        f->producer_timestamp_us = e.producer_timestamp_us;
        f->server_timestamp_us = e.server_timestamp_us;
        s.fragments.push_back(std::move(f));
        while (s.fragments.size() > options_.keep_fragments) s.fragments.pop_front();
        s.cutter.emplace(options_.part_target_us, e.timecode_scale_ns);
        leave = !s.leaving && clock_.MonotonicMicros() - s.last_used_us > options_.idle_us;
        if (leave) s.leaving = true;
        break;
      }
      case PartEvent::Type::kFrame: {
        if (!open) return;
        std::optional<CutPart> part =
            s.cutter->Add(CutFrame{e.track, e.timecode, e.key, e.cut_track, e.data});
        if (!part) return;  // nothing new to show: nobody to wake
        replace_open(std::move(part), false);
        break;
      }
      case PartEvent::Type::kFragmentEnd: {
        if (!open) {
          // A fragment whose start the edge missed (it was under way when the edge began to
          // follow): complete, with no parts. It takes the next id, so that ids keep step
          // with the archive's fragments and a reload waiting for it is answered now.
          if (!e.header) return;
          auto f = std::make_shared<EdgeFragment>();
          f->id = s.next_id++;
          f->header = e.header;
          f->producer_timestamp_us = e.producer_timestamp_us;
          f->server_timestamp_us = e.server_timestamp_us;
          f->complete = true;
          f->number = std::string(e.fragment_number);
          f->duration_us = e.duration_us;
          f->cluster = e.cluster;
          s.fragments.push_back(std::move(f));
          while (s.fragments.size() > options_.keep_fragments) s.fragments.pop_front();
          break;
        }
        auto f = replace_open(s.cutter->Finish(e.duration_us), true);
        f->number = std::string(e.fragment_number);
        f->duration_us = e.duration_us;
        f->cluster = e.cluster;
        s.cutter.reset();
        break;
      }
    }
    due = Due(s);
  }
  Run(due);
  if (leave) {
    std::weak_ptr<LiveEdge> weak = weak_from_this();
    // Not here: Unsubscribe from a listener would wait for itself.
    if (submit_) {
      submit_([weak, stream] {
        if (auto self = weak.lock()) self->Leave(stream);
      });
    }
  }
}

void LiveEdge::Leave(const std::string& stream) {
  uint64_t subscription = 0;
  std::vector<std::shared_ptr<EdgeWaiter>> parked;
  {
    MutexLock lock(mu_);
    auto it = streams_.find(stream);
    if (it == streams_.end() || !it->second.leaving) return;  // followed again meanwhile
    subscription = it->second.subscription;
    for (Parked& p : it->second.parked) parked.push_back(std::move(p.waiter));
    streams_.erase(it);
  }
  hub_.Unsubscribe(subscription);
  for (auto& w : parked) {
    if (w->Claim() && w->busy_) {
      w->busy_();
      w->Release();
    }
  }
}

}  // namespace streamarc::playback
