// The server's frame tap: the streams named by --frame-tap (names or shell patterns) are
// decoded as their fragments are persisted (playback's LiveHub -> frametap::FrameTap), and
// the thumbnail sink keeps each one's latest key frame for GET /thumbnail.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/log.h"
#include "frametap/tap.h"
#include "frametap/thumbnails.h"
#include "playback/live_hub.h"

namespace streamarc::server {

// Thread-safe. `hub` and `log` outlive it.
class ServerTap {
 public:
  // Subscribes to every stream whose name matches one of `patterns` (fnmatch(3) globs).
  ServerTap(const std::vector<std::string>& patterns, playback::LiveHub& hub, Logger& log);
  // Unsubscribes, then stops the tap; logs its counts.
  ~ServerTap();
  ServerTap(const ServerTap&) = delete;
  ServerTap& operator=(const ServerTap&) = delete;

  std::shared_ptr<const frametap::ThumbnailSink> thumbnails() const { return thumbnails_; }
  frametap::TapStats stats() const { return tap_->stats(); }

 private:
  void OnFragment(const playback::LiveFragmentPtr& fragment);

  const std::vector<std::string> patterns_;
  playback::LiveHub& hub_;
  Logger& log_;
  std::shared_ptr<frametap::ThumbnailSink> thumbnails_;
  std::unique_ptr<frametap::FrameTap> tap_;
  uint64_t subscription_ = 0;
};

// True when `stream_name` matches one of the --frame-tap `patterns`.
bool TapMatches(const std::vector<std::string>& patterns, const std::string& stream_name);

}  // namespace streamarc::server
