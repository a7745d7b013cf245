// streamarc::producer: the C++ producer SDK. A Client talks to one server (endpoint, region,
// credentials); a Stream takes frames from the application (PutFrame), packs them into a
// Matroska stream of one cluster per fragment, keeps them in a bounded content store until
// the server says PERSISTED, and uploads them with PutMedia (HTTP/1.1 chunked, SigV4),
// reconnecting and resending from the first fragment not yet PERSISTED after a lost
// connection or a retriable ERROR ack. The vocabulary (acks, pressures, dropped frames) is
// the KVS producer SDK's.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/kvs_ack.h"
#include "common/status.h"

namespace streamarc::producer {

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // optional (STS)
};

struct ClientOptions {
  // Control plane. PutMedia goes to GetDataEndpoint's answer, asked again here after every
  // failed connection (see Stream).
  std::string endpoint = "http://127.0.0.1:8080";
  std::string region = "us-west-2";
  Credentials credentials;  // empty: taken from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
                            // AWS_SESSION_TOKEN
  std::string user_agent = "streamarc-producer/0.1";
  int64_t connect_timeout_ms = 5'000;
  // CA certificates (PEM file) to trust for an https endpoint, e.g. a private CA's; empty:
  // $AWS_CA_BUNDLE, else the system's store.
  std::string ca_cert;
};

enum class Codec { kH264, kH265, kAac };

struct TrackConfig {
  uint64_t number = 1;  // Matroska TrackNumber, 1..3
  Codec codec = Codec::kH264;
  std::string name = "kinesis_video";
  // H.264/H.265: avcC/hvcC. Empty: built from the SPS/PPS (and VPS) of the first key frame,
  // which must then be Annex-B. AAC: AudioSpecificConfig (required).
  std::string codec_private;
  int width = 0, height = 0;          // video (0: taken from the SPS)
  int sample_rate = 0, channels = 0;  // audio
};

enum class StreamingType { kRealtime, kOffline };

// What PutFrame does when the content store has no room.
enum class OverflowPolicy {
  kDropOldest,  // drop the oldest fragment not yet sent (reported as a dropped fragment)
  kBlock,       // block the caller until room is made (offline uploads)
  kFail,        // return kResourceExhausted and drop the frame (reported)
};

struct StreamOptions {
  std::string name;
  bool create_if_missing = true;
  int retention_hours = 2;  // for a stream this creates
  std::string media_type = "video/h264";
  int64_t fragment_duration_ms = 2'000;  // a new fragment at the first key frame past this
  size_t storage_bytes = 128u << 20;     // content store bound
  StreamingType type = StreamingType::kRealtime;
  OverflowPolicy overflow = OverflowPolicy::kDropOldest;
  std::vector<TrackConfig> tracks = {TrackConfig{}};
  // Latency pressure is reported when the oldest un-PERSISTED frame is older than this.
  int64_t max_latency_ms = 60'000;
  // No BUFFERING/IDLE ack for this long: the connection is stale and is replaced.
  int64_t connection_staleness_ms = 30'000;
  // Reconnect backoff: exponential from min to max, with full jitter.
  int64_t retry_min_ms = 100;
  int64_t retry_max_ms = 10'000;
};

struct Frame {
  uint64_t track = 1;
  int64_t pts_us = 0;
  int64_t dts_us = 0;
  int64_t duration_us = 0;
  bool key_frame = false;
  // H.264/H.265: Annex-B (start codes) or, when TrackConfig::codec_private was given,
  // 4-byte length-prefixed. AAC: raw access units. Copied by PutFrame.
  std::span<const uint8_t> data;
};

// KVS's ACK event types (common/kvs_ack.h, the definition the server writes them with).
using AckType = kvs::AckEventType;

struct FragmentAck {
  AckType type = AckType::kBuffering;
  int64_t timecode = 0;  // FragmentTimecode as sent (ms)
  std::string fragment_number;
  int error_id = 0;  // ERROR only: KVS's ErrorId (4000...; kvs::AckErrorId names them)
  std::string error_code;
};

enum class ConnectionState { kConnecting, kConnected, kDisconnected, kFailed };

struct StreamStats {
  uint64_t frames_put = 0;
  uint64_t frames_dropped = 0;
  uint64_t fragments_started = 0;
  uint64_t fragments_persisted = 0;
  uint64_t fragments_dropped = 0;
  uint64_t fragments_resent = 0;
  // Fragments whose PERSISTED was lost with a connection, found in the archive through
  // ListFragments after reconnecting and so not resent (counted in fragments_persisted too).
  uint64_t fragments_confirmed = 0;
  // Fragments whose PERSISTED was lost with a connection and which were resent without that
  // check, because ListFragments refused it for good (a key that may write but not read):
  // each may now be in the archive twice. Counted in fragments_resent too.
  uint64_t fragments_unverified = 0;
  uint64_t error_acks = 0;
  uint64_t bytes_sent = 0;
  uint64_t reconnects = 0;
  // Times GetDataEndpoint, asked again after a failed connection, named a different URL and
  // the stream moved there (the stream's owner changed).
  uint64_t endpoint_changes = 0;
  size_t store_bytes = 0;                 // held in the content store now
  size_t store_capacity = 0;              // StreamOptions::storage_bytes
  int64_t last_persisted_latency_us = 0;  // PutFrame of a fragment's first frame to its PERSISTED
};

// Called on the SDK's upload thread; keep them short, and do not call Stop (refused) or
// PutFrame (may block the thread that makes room) from them. Every method has a default.
class StreamCallbacks {
 public:
  virtual ~StreamCallbacks() = default;
  virtual void OnFragmentAck(const FragmentAck&) {}
  virtual void OnLatencyPressure(int64_t /*buffered_duration_ms*/) {}
  virtual void OnStorageOverflowPressure(size_t /*remaining_bytes*/) {}
  virtual void OnDroppedFrame(int64_t /*pts_us*/) {}
  virtual void OnDroppedFragment(int64_t /*timecode_ms*/) {}
  virtual void OnConnectionState(ConnectionState, const Status& /*why*/) {}
  // A non-retriable failure (stream deleted, bad credentials, a non-retriable ERROR ack).
  virtual void OnStreamError(const Status&) {}
  // The stream could not check which fragments of a lost connection the archive already had
  // (ListFragments refused for good, `why`: typically a key without the read action), so it
  // resends them and the archive may hold some twice. Once per stream, at the first refusal;
  // the stream goes on (StreamStats::fragments_unverified counts those fragments).
  virtual void OnUnverifiedResend(const Status& /*why*/) {}
};

// Thread-safe: PutFrame from one producing thread; stats() and Stop() from any.
//
// Delivery. A fragment stays in the content store until the server says PERSISTED. After a
// lost connection the stream reconnects (backoff with full jitter) and resends from the
// first fragment not yet PERSISTED, each connection starting with a fresh MKV header. A
// fragment whose PERSISTED may have been lost with the connection (all its bytes went out)
// is looked up with ListFragments (by producer timestamp) first and not resent when the
// archive has it; while ListFragments cannot answer (unreachable, 5xx, throttled) nothing is
// resent and it is asked again after a back-off. So the archive gets every fragment the
// policy did not drop, once; the limit: if ListFragments refuses for good (a key without the
// read action), such fragments are resent (at least once: counted in
// StreamStats::fragments_unverified, reported once by OnUnverifiedResend), and the archive
// may hold them twice. Fragments a non-retriable ERROR ack refuses are dropped and reported
// (OnDroppedFragment, OnStreamError); a deleted stream, refused credentials or a malformed
// request fail the stream (OnStreamError; PutFrame and Stop return the Status).
//
// Endpoint. PutMedia (and that ListFragments check) go to the node GetDataEndpoint names,
// the one serving the stream now. When that node dies another takes the stream over, and a
// node that no longer serves it refuses PutMedia with InvalidEndpointException (retried, not
// a failure). So after every failed attempt (a connection refused, reset or stale, a 5xx, a
// limit, InvalidEndpointException, an unanswered ListFragments) the stream asks
// GetDataEndpoint on ClientOptions::endpoint again before the next one and goes on at the URL
// it names (StreamStats::endpoint_changes counts the moves); when that call fails too, the
// old URL is kept and tried after the usual back-off. A clean end of a connection asks
// nothing.
//
// Timestamps: Frame::pts_us is wall-clock time (microseconds since the epoch, the ABSOLUTE
// fragment timecodes KVS expects); timestamps before the year 2000 are taken as relative to
// the stream's start and shifted by the wall clock at the first frame. Frames go in decode
// order; a fragment starts at a key frame of the first video track once
// fragment_duration_ms has passed. Frame::dts_us and duration_us are not stored (Matroska
// SimpleBlocks carry the presentation time only).
class Stream {
 public:
  virtual ~Stream() = default;
  virtual Status PutFrame(const Frame& frame) = 0;
  // Ends the stream: closes the last fragment, waits up to `timeout_ms` for every fragment
  // to be PERSISTED, then closes the connection. kDeadlineExceeded-like kUnavailable when
  // fragments were left un-PERSISTED (their count is in stats()).
  virtual Status Stop(int64_t timeout_ms) = 0;
  virtual StreamStats stats() const = 0;
};

class Client {
 public:
  static Result<std::unique_ptr<Client>> Create(const ClientOptions& options);
  virtual ~Client() = default;
  // Describes (and creates, if allowed and missing) the stream, then starts its upload
  // thread. `callbacks` may be null; it outlives the stream.
  virtual Result<std::unique_ptr<Stream>> OpenStream(const StreamOptions& options,
                                                     StreamCallbacks* callbacks) = 0;
};

}  // namespace streamarc::producer
