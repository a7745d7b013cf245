#include "producer-sdk/cli/options.h"

#include <getopt.h>

#include <cerrno>
#include <cstdlib>

namespace streamarc::put {
namespace {

enum OptId : int {
  kEndpoint = 1000,
  kStream,
  kRegion,
  kCaCert,
  kDuration,
  kRetention,
  kBitrate,
  kWidth,
  kHeight,
  kFps,
  kDevice,
  kRtsp,
  kFile,
  kTestPattern,
  kRealtime,
  kAudio,
  kFragment,
  kStorage,
  kConnectTimeout,
  kStopTimeout,
  kStatusInterval,
  kQuiet,
  kHelp,
};

Status ParseNumber(const char* name, const char* text, double lo, double hi, double* out) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !(v >= lo && v <= hi)) {
    return InvalidArgument(std::string("--") + name + " wants a number from " + std::to_string(lo) +
                           " to " + std::to_string(hi) + ", not '" + text + "'");
  }
  *out = v;
  return Status::Ok();
}

Status ParseInt(const char* name, const char* text, int lo, int hi, int* out) {
  double v = 0;
  RETURN_IF_ERROR(ParseNumber(name, text, lo, hi, &v));
  if (v != static_cast<int>(v)) {
    return InvalidArgument(std::string("--") + name + " wants a whole number");
  }
  *out = static_cast<int>(v);
  return Status::Ok();
}

}  // namespace

std::string HelpText() {
  return R"(streamarc-put: stream a camera, an RTSP feed, a file or a test pattern to streamarc.

Usage:
  streamarc-put --endpoint URL --stream NAME [options] SOURCE

SOURCE (exactly one):
  --device PATH        a V4L2 camera (e.g. /dev/video0), encoded with x264
  --rtsp URL           an IP camera; H.264/H.265 is passed through (no re-encode),
                       anything else is decoded and encoded with x264
  --file PATH          an .mp4/.mkv/.ts/... file; H.264/H.265 is passed through. Uploaded
                       as fast as the server takes it unless --realtime is given
  --test-pattern       a moving test pattern (videotestsrc), encoded with x264, live

Options:
  --endpoint URL       control-plane URL (default http://127.0.0.1:8080)
  --stream NAME        stream name (created if missing)
  --region REGION      signing region (default $AWS_DEFAULT_REGION or us-west-2)
  --ca-cert PATH       trust the CA certificates in this PEM file for an https
                       endpoint (default $AWS_CA_BUNDLE, else the system's)
  --duration SECONDS   stop after this much media time (default: until Ctrl-C or the
                       source ends)
  --retention HOURS    retention of a stream this creates (default 2)
  --bitrate KBPS       x264 bitrate for raw sources (default 1000)
  --width W --height H --fps F
                       picture size and rate for raw sources (test pattern default
                       640x480 at 30; a camera's own otherwise)
  --realtime           --file: pace frames to their timestamps, like a live camera
  --audio              --test-pattern: add a 440 Hz tone as AAC (a second track)
  --fragment-ms MS     fragment duration (default 2000)
  --storage-mb MB      content store size (default 128)
  --connect-timeout S  at start, keep retrying an unreachable server for S seconds
                       (default 30)
  --stop-timeout S     at the end, wait S seconds for every fragment to be persisted
                       (default 30)
  --status-interval S  status line period (default 1 s on a terminal, 10 s otherwise)
  --quiet              no status line
  --help               this text

Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
Ctrl-C (SIGINT) or SIGTERM ends the source, flushes and waits for PERSISTED acks; a second
Ctrl-C quits at once.

Exit status:
  0  every frame sent was persisted
  1  the source or the stream failed while streaming (camera gone, stream deleted, ...)
  2  bad command line
  3  the server could not be reached, or the stream could not be opened
  4  stopped, but some fragments were not persisted within --stop-timeout
)";
}

Result<PutOptions> ParseOptions(int argc, char** argv) {
  static const option kLong[] = {{"endpoint", required_argument, nullptr, kEndpoint},
                                 {"stream", required_argument, nullptr, kStream},
                                 {"region", required_argument, nullptr, kRegion},
                                 {"ca-cert", required_argument, nullptr, kCaCert},
                                 {"duration", required_argument, nullptr, kDuration},
                                 {"retention", required_argument, nullptr, kRetention},
                                 {"bitrate", required_argument, nullptr, kBitrate},
                                 {"width", required_argument, nullptr, kWidth},
                                 {"height", required_argument, nullptr, kHeight},
                                 {"fps", required_argument, nullptr, kFps},
                                 {"device", required_argument, nullptr, kDevice},
                                 {"rtsp", required_argument, nullptr, kRtsp},
                                 {"file", required_argument, nullptr, kFile},
                                 {"test-pattern", no_argument, nullptr, kTestPattern},
                                 {"realtime", no_argument, nullptr, kRealtime},
                                 {"audio", no_argument, nullptr, kAudio},
                                 {"fragment-ms", required_argument, nullptr, kFragment},
                                 {"storage-mb", required_argument, nullptr, kStorage},
                                 {"connect-timeout", required_argument, nullptr, kConnectTimeout},
                                 {"stop-timeout", required_argument, nullptr, kStopTimeout},
                                 {"status-interval", required_argument, nullptr, kStatusInterval},
                                 {"quiet", no_argument, nullptr, kQuiet},
                                 {"help", no_argument, nullptr, kHelp},
                                 {nullptr, 0, nullptr, 0}};
  PutOptions o;
  int sources = 0;
  auto source = [&](SourceKind kind, const char* location) {
    o.source = kind;
    o.location = location != nullptr ? location : "";
    ++sources;
  };
  optind = 1;
  opterr = 0;
  for (;;) {
    int c = getopt_long(argc, argv, "h", kLong, nullptr);
    if (c == -1) break;
    double d = 0;
    switch (c) {
      case kEndpoint:
        o.endpoint = optarg;
        break;
      case kStream:
        o.stream = optarg;
        break;
      case kRegion:
        o.region = optarg;
        break;
      case kCaCert:
        o.ca_cert = optarg;
        break;
      case kDuration:
        RETURN_IF_ERROR(ParseNumber("duration", optarg, 0.001, 1e9, &o.duration_s));
        break;
      case kRetention:
        RETURN_IF_ERROR(ParseInt("retention", optarg, 1, 87600, &o.retention_hours));
        break;
      case kBitrate:
        RETURN_IF_ERROR(ParseInt("bitrate", optarg, 16, 200000, &o.bitrate_kbps));
        break;
      case kWidth:
        RETURN_IF_ERROR(ParseInt("width", optarg, 16, 8192, &o.width));
        break;
      case kHeight:
        RETURN_IF_ERROR(ParseInt("height", optarg, 16, 8192, &o.height));
        break;
      case kFps:
        RETURN_IF_ERROR(ParseInt("fps", optarg, 1, 240, &o.fps));
        break;
      case kDevice:
        source(SourceKind::kDevice, optarg);
        break;
      case kRtsp:
        source(SourceKind::kRtsp, optarg);
        break;
      case kFile:
        source(SourceKind::kFile, optarg);
        break;
      case kTestPattern:
        source(SourceKind::kTestPattern, nullptr);
        break;
      case kRealtime:
        o.realtime = true;
        break;
      case kAudio:
        o.audio = true;
        break;
      case kFragment:
        RETURN_IF_ERROR(ParseNumber("fragment-ms", optarg, 100, 20000, &d));
        o.fragment_ms = static_cast<int64_t>(d);
        break;
      case kStorage:
        RETURN_IF_ERROR(ParseInt("storage-mb", optarg, 10, 10240, &o.storage_mb));
        break;
      case kConnectTimeout:
        RETURN_IF_ERROR(ParseNumber("connect-timeout", optarg, 0, 86400, &o.connect_timeout_s));
        break;
      case kStopTimeout:
        RETURN_IF_ERROR(ParseNumber("stop-timeout", optarg, 0, 86400, &o.stop_timeout_s));
        break;
      case kStatusInterval:
        RETURN_IF_ERROR(ParseNumber("status-interval", optarg, 0.1, 3600, &o.status_interval_s));
        break;
      case kQuiet:
        o.quiet = true;
        break;
      case 'h':
      case kHelp:
        o.help = true;
        return o;
      default: {
        std::string bad = optind - 1 < argc ? argv[optind - 1] : "?";
        return InvalidArgument("unknown or incomplete option '" + bad + "' (see --help)");
      }
    }
  }
  if (optind < argc) {
    return InvalidArgument(std::string("unexpected argument '") + argv[optind] + "' (see --help)");
  }
  if (o.stream.empty()) return InvalidArgument("--stream NAME is required");
  if (sources != 1) {
    return InvalidArgument("give exactly one source: --device, --rtsp, --file or --test-pattern");
  }
  if (o.realtime && o.source != SourceKind::kFile) {
    return InvalidArgument("--realtime applies to --file only (other sources are live)");
  }
  if (o.audio && o.source != SourceKind::kTestPattern) {
    return InvalidArgument("--audio applies to --test-pattern only");
  }
  if ((o.width == 0) != (o.height == 0)) {
    return InvalidArgument("--width and --height go together");
  }
  return o;
}

}  // namespace streamarc::put
