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
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "archive/archive.h"
#include "common/clock.h"
#include "common/kvs_error.h"
#include "common/log.h"
#include "playback/hls.h"
#include "playback/part_hub.h"

namespace streamarc::playback {

struct HlsServiceOptions {
  std::string data_endpoint;  // base URL of the session URLs, e.g. "http://127.0.0.1:8080"
  std::string token_secret;   // HMAC key of the session tokens
  // The remuxed-segment cache, shared by every session.
  size_t cache_entries = 512;
  size_t cache_bytes = 256u << 20;
  // Low-Latency HLS (RFC 8216bis) for LIVE fMP4 sessions: partial segments of the fragment
  // still arriving, preload hints and blocking playlist reloads. Needs the part feed given to
  // NewHlsService; a session opts out with LowLatency=0 on its URL (README, HLS).
  bool low_latency = true;
  int64_t part_target_us = 333'000;  // parts are cut at frames, at most this long
  // Whether the access key that made a session (SessionParams::access_key_id, "" without
  // authentication) may still read `stream`: called on every request with a session token, so
  // a token dies with its key. kPermissionDenied (answered as NotAuthorizedException) when
  // not. Thread-safe; unset: every key is. The server checks its current access keys.
  std::function<Status(const std::string& access_key_id, const std::string& stream)> check_key;
  // Where the continuation of a parked request runs (the worker pool); false: busy. Unset:
  // runs on the thread that published the awaited part (tests).
  std::function<bool(std::function<void()>)> submit;
};

// A body to send. Playlists and manifests change on every refresh; segments never do.
struct Content {
  std::shared_ptr<const std::string> bytes;  // never null
  std::string content_type;
  // 0: "no-cache" (playlists, manifests). Otherwise segments, cacheable for this long; the
  // front door serves byte ranges of them.
  int max_age_seconds = 0;
  // A media segment or part: its stream, and the fragments it carries (1 for a whole
  // fragment's segment, of its first track when fMP4 serves each track apart; 0 for an init
  // segment, a part, or another track's segment), for the front's egress counts.
  // Playlists and manifests leave the name empty.
  std::string stream_name;
  int fragments = 0;
};

// Answers a request that may have to wait for the live edge (a blocking playlist reload, a
// preload-hinted part). The HTTP front implements it over its response writer.
class Responder {
 public:
  virtual ~Responder() = default;
  // The answer. Called once, from any thread.
  virtual void Send(Result<Content, KvsError> content) = 0;
  // Runs `task` after about `delay_us` on a timer (no thread waits for it); the task must be
  // quick. Any thread.
  virtual void PostAfter(int64_t delay_us, std::function<void()> task) = 0;
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
  // as KVS does, the stream and a playable fragment looked up; returns the session URL. Its
  // token records `access_key_id`, the key that signed the request ("" when none was checked).
  // Errors: kInvalidArgument, kResourceNotFound (stream, or no fragment in range),
  // kNoDataRetention, kUnsupportedStreamMediaType, kMissingCodecPrivateData.
  virtual Result<std::string, KvsError> CreateSession(SessionKind kind, std::string_view json_body,
                                                      std::string_view access_key_id) = 0;

  // The GETs under /hls/v1/ and /dash/v1/, given their query string (already URL-decoded).
  // Each checks SessionToken first: kMissingParameter without one, kNotAuthorized when forged
  // or expired or when its access key is gone (check_key), kInvalidArgument for another kind's
  // token. A segment is served only for a fragment of the session's stream within its range
  // (ON_DEMAND, LIVE_REPLAY), an init segment only for a header of its stream: otherwise
  // kNotAuthorized. A fragment gone from the archive (retention) is kResourceNotFound.
  virtual Result<Content, KvsError> GetMasterPlaylist(std::string_view query) = 0;  // HLS
  virtual Result<Content, KvsError> GetMediaPlaylist(std::string_view query) = 0;   // HLS
  virtual Result<Content, KvsError> GetDashManifest(std::string_view query) = 0;    // DASH
  // getMP4InitFragment (InitId=, TrackNumber=) under either prefix.
  virtual Result<Content, KvsError> GetInitSegment(SessionKind kind, std::string_view query) = 0;
  // getMP4MediaFragment (kFragmentedMp4, either prefix) / getTSFragment (kMpegTs, HLS):
  // FragmentNumber=, or DASH's Time= in milliseconds.
  virtual Result<Content, KvsError> GetMediaSegment(SessionKind kind, ContainerFormat format,
                                                    std::string_view query) = 0;

  // ---- Low-Latency HLS ----
  // The media playlist with blocking reloads: with _HLS_msn (and _HLS_part) the answer goes
  // out once that segment (part) is in the playlist, kInvalidArgument (400) when it is too
  // far ahead (RFC 8216bis 6.2.5.2), kServiceUnavailable (503) when it has not come within
  // three target durations. Call from a worker: it may read the archive, then parks the
  // request (no thread waits) when it has to wait. Without directives, or for a session that
  // is not low-latency, as GetMediaPlaylist(query).
  virtual void GetMediaPlaylist(std::string_view query, std::shared_ptr<Responder> out) = 0;
  // getMP4PartFragment.mp4 (LiveFragment=, Part=, TrackNumber=): one part (fMP4 moof+mdat).
  // The part a preload hint names is answered once it exists; kResourceNotFound for a part
  // that is gone or will never exist.
  virtual void GetPartSegment(std::string_view query, std::shared_ptr<Responder> out) = 0;
  // Answers every parked request (503) and parks no more: the server is stopping.
  virtual void Shutdown() = 0;
};

// `parts`, when given (LiveHub::parts()), feeds the live edge of Low-Latency HLS; it outlives
// the service. Without it, or with options.low_latency false, every playlist is plain HLS.
std::shared_ptr<HlsService> NewHlsService(HlsServiceOptions options, archive::Archive& archive,
                                          const Clock& clock, Logger& log,
                                          PartHub* parts = nullptr);

}  // namespace streamarc::playback
