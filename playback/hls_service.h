// HLS and DASH sessions as KVS serves them: GetHLSStreamingSessionURL /
// GetDASHStreamingSessionURL, then the master and media playlists, the DASH manifest, and the
// fMP4 / MPEG-TS segments those name. Playlists show a window of the archive (ON_DEMAND: a
// fixed range; LIVE: the newest fragments; LIVE_REPLAY: fragments from Start, revealed as the
// session's clock runs), numbered and placed the same way on every refresh; segments are
// remuxed once and shared by every viewer.
//
// No HTTP here: calls take the request body or query string as received and return bytes
// with their content type, or a KvsError the front door maps to KVS's error shape.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "archive/archive.h"
#include "common/clock.h"
#include "common/kvs_error.h"
#include "common/log.h"
#include "playback/hls.h"

namespace streamarc::playback {

struct HlsServiceOptions {
  std::string data_endpoint;  // base URL of the session URLs, e.g. "http://127.0.0.1:8080"
  std::string token_secret;   // HMAC key of the session tokens
  // The remuxed-segment cache, shared by every session.
  size_t cache_entries = 512;
  size_t cache_bytes = 256u << 20;
};

// A body to send. Playlists and manifests change on every refresh; segments never do.
struct Content {
  std::shared_ptr<const std::string> bytes;  // never null
  std::string content_type;
  // 0: "no-cache" (playlists, manifests). Otherwise segments, cacheable for this long; the
  // front door serves byte ranges of them.
  int max_age_seconds = 0;
};

// Thread-safe. Every call may read the archive and remux, so it blocks: call it from a worker
// thread, never from the HTTP service thread.
//
// Lifetime: owned by shared_ptr (NewHlsService); queued work holds a reference, so the
// service lives until the last job ends. It copies its options and refers to `archive`,
// `clock` and `log`, which must outlive every holder (the daemon destroys them after its
// worker pool has drained).
class HlsService {
 public:
  virtual ~HlsService() = default;

  // GetHLSStreamingSessionURL (kHls) / GetDASHStreamingSessionURL (kDash): `json_body` checked
  // as KVS does, the stream and a playable fragment looked up; returns the session URL.
  // Errors: kInvalidArgument, kResourceNotFound (stream, or no fragment in range),
  // kNoDataRetention, kUnsupportedStreamMediaType, kMissingCodecPrivateData.
  virtual Result<std::string, KvsError> CreateSession(SessionKind kind,
                                                      std::string_view json_body) = 0;

  // The GETs under /hls/v1/ and /dash/v1/, given their query string (already URL-decoded).
  // Each checks SessionToken first: kMissingParameter without one, kNotAuthorized when forged
  // or expired, kInvalidArgument for another kind's token. A fragment gone from the archive
  // (retention) is kResourceNotFound.
  virtual Result<Content, KvsError> GetMasterPlaylist(std::string_view query) = 0;  // HLS
  virtual Result<Content, KvsError> GetMediaPlaylist(std::string_view query) = 0;   // HLS
  virtual Result<Content, KvsError> GetDashManifest(std::string_view query) = 0;    // DASH
  // getMP4InitFragment (InitId=, TrackNumber=) under either prefix.
  virtual Result<Content, KvsError> GetInitSegment(SessionKind kind, std::string_view query) = 0;
  // getMP4MediaFragment (kFragmentedMp4, either prefix) / getTSFragment (kMpegTs, HLS):
  // FragmentNumber=, or DASH's Time= in milliseconds.
  virtual Result<Content, KvsError> GetMediaSegment(SessionKind kind, ContainerFormat format,
                                                    std::string_view query) = 0;
};

std::shared_ptr<HlsService> NewHlsService(HlsServiceOptions options, archive::Archive& archive,
                                          const Clock& clock, Logger& log);

}  // namespace streamarc::playback
