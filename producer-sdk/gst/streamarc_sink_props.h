// streamarcsink's properties: kvssink's names, units and defaults, so an existing kvssink
// pipeline works by renaming the element. Kept apart from the element so the mapping to
// ClientOptions/StreamOptions is plain C++.
#pragma once

#include <glib-object.h>

#include <cstdint>
#include <string>

#include "producer-sdk/producer.h"

namespace streamarc::producer::gst {

// kvssink's streaming-type values.
enum class SinkStreamingType { kRealtime = 0, kNearRealtime = 1, kOffline = 2 };

struct SinkSettings {
  std::string stream_name = "DEFAULT_STREAM";
  std::string endpoint;  // empty: $CONTROL_PLANE_URI, else http://127.0.0.1:8080
  std::string access_key, secret_key, session_token;  // empty: the AWS_* environment
  std::string region;                                 // empty: $AWS_DEFAULT_REGION, else us-west-2
  unsigned storage_size_mb = 128;
  unsigned retention_hours = 2;
  unsigned fragment_duration_ms = 2000;
  SinkStreamingType streaming_type = SinkStreamingType::kRealtime;
  unsigned max_latency_s = 60;
  unsigned connection_staleness_s = 60;
  std::string content_type;  // empty: from the caps (video/h264 or video/h265)
  bool allow_create_stream = true;
  unsigned stop_stream_timeout_s = 120;
  unsigned connection_timeout_s = 5;
  std::string user_agent = "streamarcsink/0.1";
  bool use_original_pts = false;
  std::string track_name = "kinesis_video";
  std::string ca_cert;  // empty: $AWS_CA_BUNDLE, else the system's CAs
};

void InitSinkSettings(SinkSettings& s);
void InstallSinkProperties(GObjectClass* klass);
// False when `id` is not a property of ours.
bool SetSinkProperty(SinkSettings& s, unsigned id, const GValue* value);
// Properties kvssink has and streamarcsink accepts without effect read back their default.
bool GetSinkProperty(const SinkSettings& s, unsigned id, GValue* value, GParamSpec* pspec);

ClientOptions ClientOptionsFrom(const SinkSettings& s);
StreamOptions StreamOptionsFrom(const SinkSettings& s, const TrackConfig& track);

}  // namespace streamarc::producer::gst
