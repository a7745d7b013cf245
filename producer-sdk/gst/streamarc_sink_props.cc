#include "producer-sdk/gst/streamarc_sink_props.h"

#include <algorithm>
#include <cstdlib>

namespace streamarc::producer::gst {
namespace {

enum PropId : unsigned {
  kPropNone = 0,
  kStreamName,
  kEndpoint,
  kAccessKey,
  kSecretKey,
  kSessionToken,
  kAwsRegion,
  kStorageSize,
  kRetentionPeriod,
  kFragmentDuration,
  kStreamingType,
  kMaxLatency,
  kConnectionStaleness,
  kContentType,
  kAllowCreateStream,
  kStopStreamTimeout,
  kConnectionTimeout,
  kUserAgent,
  kUseOriginalPts,
  kTrackName,
  kCaCert,
  kFirstIgnored,  // kvssink properties accepted for compatibility, without effect
};

constexpr GParamFlags kRw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

GType StreamingTypeGType() {
  static GType type = 0;
  if (g_once_init_enter(&type)) {
    static const GEnumValue values[] = {
        {static_cast<int>(SinkStreamingType::kRealtime), "Realtime", "realtime"},
        {static_cast<int>(SinkStreamingType::kNearRealtime), "Near realtime (as realtime)",
         "near-realtime"},
        {static_cast<int>(SinkStreamingType::kOffline),
         "Offline (never drops: blocks when the store is full)", "offline"},
        {0, nullptr, nullptr}};
    g_once_init_leave(&type, g_enum_register_static("GstStreamarcSinkStreamingType", values));
  }
  return type;
}

struct IgnoredProp {
  const char* name;
  GType type;
  unsigned default_uint;
  gboolean default_bool;
};

// What kvssink pipelines commonly set that our SDK decides by itself (or does not have).
constexpr IgnoredProp kIgnored[] = {
    {"framerate", G_TYPE_UINT, 25, false},
    {"avg-bandwidth-bps", G_TYPE_UINT, 4 * 1024 * 1024, false},
    {"buffer-duration", G_TYPE_UINT, 120, false},
    {"replay-duration", G_TYPE_UINT, 40, false},
    {"key-frame-fragmentation", G_TYPE_BOOLEAN, 0, true},
    {"frame-timecodes", G_TYPE_BOOLEAN, 0, true},
    {"absolute-fragment-times", G_TYPE_BOOLEAN, 0, true},
    {"fragment-acks", G_TYPE_BOOLEAN, 0, true},
    {"restart-on-error", G_TYPE_BOOLEAN, 0, true},
    {"log-config", G_TYPE_STRING, 0, false},
};

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

void SetString(std::string& out, const GValue* v) {
  const char* s = g_value_get_string(v);
  out = s != nullptr ? s : "";
}

}  // namespace

void InitSinkSettings(SinkSettings& s) { s = SinkSettings(); }

void InstallSinkProperties(GObjectClass* k) {
  auto str = [k](unsigned id, const char* name, const char* blurb, const char* def) {
    g_object_class_install_property(k, id, g_param_spec_string(name, name, blurb, def, kRw));
  };
  auto uint = [k](unsigned id, const char* name, const char* blurb, unsigned lo, unsigned hi,
                  unsigned def) {
    g_object_class_install_property(k, id, g_param_spec_uint(name, name, blurb, lo, hi, def, kRw));
  };
  auto boolean = [k](unsigned id, const char* name, const char* blurb, gboolean def) {
    g_object_class_install_property(k, id, g_param_spec_boolean(name, name, blurb, def, kRw));
  };
  str(kStreamName, "stream-name", "Name of the stream", "DEFAULT_STREAM");
  str(kEndpoint, "endpoint",
      "Control-plane URL (empty: $CONTROL_PLANE_URI, else http://127.0.0.1:8080)", "");
  str(kAccessKey, "access-key", "Access key (empty: $AWS_ACCESS_KEY_ID)", "");
  str(kSecretKey, "secret-key", "Secret key (empty: $AWS_SECRET_ACCESS_KEY)", "");
  str(kSessionToken, "session-token", "Session token (empty: $AWS_SESSION_TOKEN)", "");
  str(kAwsRegion, "aws-region", "Region for signing (empty: $AWS_DEFAULT_REGION, else us-west-2)",
      "");
  uint(kStorageSize, "storage-size", "Content store size in MB", 10, 10240, 128);
  uint(kRetentionPeriod, "retention-period", "Retention in hours of a stream this creates", 1,
       87600, 2);
  uint(kFragmentDuration, "fragment-duration",
       "Fragment duration in ms (a fragment starts at the first key frame past it)", 100, 20000,
       2000);
  g_object_class_install_property(
      k, kStreamingType,
      g_param_spec_enum("streaming-type", "streaming-type", "Streaming type", StreamingTypeGType(),
                        static_cast<int>(SinkStreamingType::kRealtime), kRw));
  uint(kMaxLatency, "max-latency", "Latency pressure threshold in seconds", 1, 3600, 60);
  uint(kConnectionStaleness, "connection-staleness",
       "Seconds without an ack before the connection is replaced", 1, 3600, 60);
  str(kContentType, "content-type", "Stream media type (empty: from the caps)", "");
  boolean(kAllowCreateStream, "allow-create-stream", "Create the stream if it is missing", true);
  uint(kStopStreamTimeout, "stop-stream-timeout",
       "Seconds to wait at end of stream for every fragment to be persisted", 1, 3600, 120);
  uint(kConnectionTimeout, "connection-timeout", "Connect timeout in seconds", 1, 600, 5);
  str(kUserAgent, "user-agent", "HTTP User-Agent", "streamarcsink/0.1");
  boolean(kUseOriginalPts, "use-original-pts",
          "Buffer timestamps are epoch times already (else the first frame is stamped now)", false);
  str(kTrackName, "track-name", "Matroska track name", "kinesis_video");
  str(kCaCert, "ca-cert",
      "CA certificates (PEM file) to trust for an https endpoint (empty: $AWS_CA_BUNDLE, else "
      "the system's)",
      "");
  unsigned id = kFirstIgnored;
  for (const IgnoredProp& p : kIgnored) {
    const char* blurb = "kvssink compatibility: accepted, no effect";
    if (p.type == G_TYPE_UINT) {
      uint(id, p.name, blurb, 0, G_MAXUINT, p.default_uint);
    } else if (p.type == G_TYPE_BOOLEAN) {
      boolean(id, p.name, blurb, p.default_bool);
    } else {
      str(id, p.name, blurb, nullptr);
    }
    ++id;
  }
}

bool SetSinkProperty(SinkSettings& s, unsigned id, const GValue* v) {
  switch (id) {
    case kStreamName:
      SetString(s.stream_name, v);
      return true;
    case kEndpoint:
      SetString(s.endpoint, v);
      return true;
    case kAccessKey:
      SetString(s.access_key, v);
      return true;
    case kSecretKey:
      SetString(s.secret_key, v);
      return true;
    case kSessionToken:
      SetString(s.session_token, v);
      return true;
    case kAwsRegion:
      SetString(s.region, v);
      return true;
    case kStorageSize:
      s.storage_size_mb = g_value_get_uint(v);
      return true;
    case kRetentionPeriod:
      s.retention_hours = g_value_get_uint(v);
      return true;
    case kFragmentDuration:
      s.fragment_duration_ms = g_value_get_uint(v);
      return true;
    case kStreamingType:
      s.streaming_type = static_cast<SinkStreamingType>(g_value_get_enum(v));
      return true;
    case kMaxLatency:
      s.max_latency_s = g_value_get_uint(v);
      return true;
    case kConnectionStaleness:
      s.connection_staleness_s = g_value_get_uint(v);
      return true;
    case kContentType:
      SetString(s.content_type, v);
      return true;
    case kAllowCreateStream:
      s.allow_create_stream = g_value_get_boolean(v);
      return true;
    case kStopStreamTimeout:
      s.stop_stream_timeout_s = g_value_get_uint(v);
      return true;
    case kConnectionTimeout:
      s.connection_timeout_s = g_value_get_uint(v);
      return true;
    case kUserAgent:
      SetString(s.user_agent, v);
      return true;
    case kUseOriginalPts:
      s.use_original_pts = g_value_get_boolean(v);
      return true;
    case kTrackName:
      SetString(s.track_name, v);
      return true;
    case kCaCert:
      SetString(s.ca_cert, v);
      return true;
    default:
      return id >= kFirstIgnored && id < kFirstIgnored + std::size(kIgnored);
  }
}

bool GetSinkProperty(const SinkSettings& s, unsigned id, GValue* v, GParamSpec* pspec) {
  switch (id) {
    case kStreamName:
      g_value_set_string(v, s.stream_name.c_str());
      return true;
    case kEndpoint:
      g_value_set_string(v, s.endpoint.c_str());
      return true;
    case kAccessKey:
      g_value_set_string(v, s.access_key.c_str());
      return true;
    // Secrets are write-only in effect: reading them back would leak them into logs.
    case kSecretKey:
      g_value_set_string(v, s.secret_key.empty() ? "" : "****");
      return true;
    case kSessionToken:
      g_value_set_string(v, s.session_token.empty() ? "" : "****");
      return true;
    case kAwsRegion:
      g_value_set_string(v, s.region.c_str());
      return true;
    case kStorageSize:
      g_value_set_uint(v, s.storage_size_mb);
      return true;
    case kRetentionPeriod:
      g_value_set_uint(v, s.retention_hours);
      return true;
    case kFragmentDuration:
      g_value_set_uint(v, s.fragment_duration_ms);
      return true;
    case kStreamingType:
      g_value_set_enum(v, static_cast<int>(s.streaming_type));
      return true;
    case kMaxLatency:
      g_value_set_uint(v, s.max_latency_s);
      return true;
    case kConnectionStaleness:
      g_value_set_uint(v, s.connection_staleness_s);
      return true;
    case kContentType:
      g_value_set_string(v, s.content_type.c_str());
      return true;
    case kAllowCreateStream:
      g_value_set_boolean(v, s.allow_create_stream);
      return true;
    case kStopStreamTimeout:
      g_value_set_uint(v, s.stop_stream_timeout_s);
      return true;
    case kConnectionTimeout:
      g_value_set_uint(v, s.connection_timeout_s);
      return true;
    case kUserAgent:
      g_value_set_string(v, s.user_agent.c_str());
      return true;
    case kUseOriginalPts:
      g_value_set_boolean(v, s.use_original_pts);
      return true;
    case kTrackName:
      g_value_set_string(v, s.track_name.c_str());
      return true;
    case kCaCert:
      g_value_set_string(v, s.ca_cert.c_str());
      return true;
    default:
      if (id >= kFirstIgnored && id < kFirstIgnored + std::size(kIgnored)) {
        g_param_value_set_default(pspec, v);
        return true;
      }
      return false;
  }
}

ClientOptions ClientOptionsFrom(const SinkSettings& s) {
  ClientOptions o;
  o.endpoint = !s.endpoint.empty() ? s.endpoint : EnvOr("CONTROL_PLANE_URI", o.endpoint);
  o.region = !s.region.empty() ? s.region : EnvOr("AWS_DEFAULT_REGION", o.region);
  o.credentials.access_key = s.access_key;
  o.credentials.secret_key = s.secret_key;
  o.credentials.session_token = s.session_token;
  o.user_agent = s.user_agent;
  o.connect_timeout_ms = int64_t{s.connection_timeout_s} * 1000;
  o.ca_cert = s.ca_cert;
  return o;
}

StreamOptions StreamOptionsFrom(const SinkSettings& s, const TrackConfig& track) {
  StreamOptions o;
  o.name = s.stream_name;
  o.create_if_missing = s.allow_create_stream;
  o.retention_hours = static_cast<int>(s.retention_hours);
  o.media_type = !s.content_type.empty()       ? s.content_type
                 : track.codec == Codec::kH265 ? "video/h265"
                                               : "video/h264";
  o.fragment_duration_ms = s.fragment_duration_ms;
  o.storage_bytes = size_t{s.storage_size_mb} << 20;
  // Offline uploads must not lose frames, so a full store blocks the pipeline instead of
  // dropping; live video drops the oldest unsent fragment, as kvssink does.
  if (s.streaming_type == SinkStreamingType::kOffline) {
    o.type = StreamingType::kOffline;
    o.overflow = OverflowPolicy::kBlock;
  } else {
    o.type = StreamingType::kRealtime;
    o.overflow = OverflowPolicy::kDropOldest;
  }
  o.tracks = {track};
  o.tracks[0].name = s.track_name;
  o.max_latency_ms = int64_t{s.max_latency_s} * 1000;
  o.connection_staleness_ms = int64_t{s.connection_staleness_s} * 1000;
  return o;
}

}  // namespace streamarc::producer::gst
