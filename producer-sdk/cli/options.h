// streamarc-put's command line.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace streamarc::put {

enum class SourceKind { kNone, kDevice, kRtsp, kFile, kTestPattern };

struct PutOptions {
  std::string endpoint = "http://127.0.0.1:8080";
  std::string stream;
  std::string region;     // empty: $AWS_DEFAULT_REGION, else us-west-2
  std::string ca_cert;    // empty: $AWS_CA_BUNDLE, else the system's CAs
  double duration_s = 0;  // 0: until Ctrl-C or the source ends
  int retention_hours = 2;
  int bitrate_kbps = 1000;             // encoder (raw sources only)
  int width = 0, height = 0, fps = 0;  // 0: the source's (test pattern: 640x480 at 30)
  SourceKind source = SourceKind::kNone;
  std::string location;   // device path, RTSP URL or file path
  bool realtime = false;  // --file: pace to the timestamps
  bool audio = false;     // --test-pattern: add a 440 Hz AAC tone as track 2
  int64_t fragment_ms = 2000;
  int storage_mb = 128;
  double connect_timeout_s = 30;  // keep retrying an unreachable server this long at start
  double stop_timeout_s = 30;     // at the end, wait this long for PERSISTED
  double status_interval_s = 0;   // 0: 1 s on a TTY, 10 s otherwise
  bool quiet = false;
  bool help = false;
};

// Exit codes (documented in --help).
inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;  // source or stream failed while streaming
inline constexpr int kExitUsage = 2;
inline constexpr int kExitConnect = 3;    // the server could not be reached / stream not opened
inline constexpr int kExitUnflushed = 4;  // stopped, but some fragments were never PERSISTED

// kInvalidArgument with a message for the user on a bad command line.
Result<PutOptions> ParseOptions(int argc, char** argv);
std::string HelpText();

}  // namespace streamarc::put
