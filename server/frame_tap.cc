#include "server/frame_tap.h"

#include <fnmatch.h>

namespace streamarc::server {

bool TapMatches(const std::vector<std::string>& patterns, const std::string& stream_name) {
  for (const std::string& p : patterns) {
    if (fnmatch(p.c_str(), stream_name.c_str(), 0) == 0) return true;
  }
  return false;
}

ServerTap::ServerTap(const std::vector<std::string>& patterns, playback::LiveHub& hub, Logger& log)
    : patterns_(patterns), hub_(hub), log_(log) {
  // The thumbnail sink needs key frames only: the rest are never decoded.
  frametap::TapOptions o;
  o.key_frames_only = true;
  tap_ = frametap::FrameTap::Create(o);
  thumbnails_ = std::make_shared<frametap::ThumbnailSink>();
  tap_->AddSink(thumbnails_);
  subscription_ = hub_.SubscribeMatching(
      [this](const std::string& name) { return TapMatches(patterns_, name); },
      [this](const playback::LiveFragmentPtr& f) { OnFragment(f); });
}

ServerTap::~ServerTap() {
  hub_.Unsubscribe(subscription_);
  const frametap::TapStats s = tap_->stats();
  tap_.reset();
  log_.Info("frametap", "tap stopped",
            {{"fragments", std::to_string(s.fragments_offered)},
             {"fragments_dropped", std::to_string(s.fragments_dropped)},
             {"fragments_failed", std::to_string(s.fragments_failed)},
             {"frames_decoded", std::to_string(s.frames_decoded)},
             {"frames_dropped", std::to_string(s.frames_dropped)}});
}

// The archive's commit thread: hands the shared bytes over and returns at once.
void ServerTap::OnFragment(const playback::LiveFragmentPtr& f) {
  frametap::TapFragment in;
  in.stream_name = f->stream_name;
  in.fragment_number = f->info.number;
  in.producer_timestamp_us = f->info.producer_timestamp_us;
  in.server_timestamp_us = f->info.server_timestamp_us;
  in.header = f->info.track_info;
  in.cluster = f->cluster;
  if (!tap_->Offer(std::move(in))) {
    const uint64_t dropped = tap_->stats().fragments_dropped;
    // 1, 10, 100, ...: visible in the log without a line per fragment.
    uint64_t p = 1;
    while (p < dropped) p *= 10;
    if (p == dropped) {
      log_.Warn("frametap", "the tap dropped fragments (decoding is behind)",
                {{"stream", f->stream_name}, {"dropped", std::to_string(dropped)}});
    }
  }
}

}  // namespace streamarc::server
