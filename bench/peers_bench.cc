// Peers side by side (issue 15): the same N cameras, in the same run on the same machine, into
//   streamarc     streamarcd through putmedia_load (PutMedia; fragments indexed, PERSISTED acks)
//   nginx-rtmp    nginx + Debian's libnginx-mod-rtmp: RTMP publish, HLS (TS) + FLV record, one
//                 worker, started here on a temporary config and port
//   ffmpeg-hls    ffmpeg -c copy -f hls -hls_segment_type fmp4, one ffmpeg per camera (ffmpeg's
//                 shape: one input per process), reading Matroska over TCP
//   gst-splitmux  one gst-launch-1.0 with a branch per camera (a GStreamer application's shape):
//                 tcpclientsrc ! matroskademux ! queue ! h264parse ! splitmuxsink (MP4, 2 s),
//                 and matroskademux's audio ! queue ! aacparse ! the same splitmuxsink
// The input is putmedia_load's: 1080p30 H.264 at 4 Mbit/s (or 2 with --bitrate 2), 2 s GOPs,
// and AAC 48 kHz mono at 64 kbit/s (unless --audio 0), paced in real time, camera i starting
// 2 s * i / N after the first. ffmpeg and GStreamer get putmedia_load's very Matroska bytes;
// nginx gets the same packets as FLV over RTMP from one in-process publisher
// (rtmp_publisher.h). Every peer records both tracks: nginx-rtmp's HLS and FLV, ffmpeg's fMP4
// segments, splitmuxsink's MP4 files. For each peer, over the same window: server CPU per
// camera (/proc of its processes), resident memory per camera (their RSS summed, at the
// window's end), bytes written per camera (their /proc wchar: files and sockets), and the
// sender's own CPU, measured apart so that it is not counted as the peer's.
//
// Usage: peers_bench [--cameras 10,40] [--seconds 30] [--peers streamarc,nginx,ffmpeg,gst]
//                    [--audio 1|0] [--bitrate 4|2] [--input FILE] [--data-dir DIR] [--keep 1]
//                    [--nginx PATH] [--rtmp-module PATH] [--putmedia-load PATH]
//                    [--streamarcd PATH] [--max-cameras FROM]
// --keep 1 leaves the peers' recordings in --data-dir, to look at by hand. --max-cameras FROM
// finds instead each peer's most cameras kept in real time (KeptUp), doubling from FROM and
// then narrowing the gap to a tenth: a run of --seconds per step, so minutes per peer.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_media.h"
#include "bench/bench_process.h"
#include "bench/camera_stream.h"
#include "bench/connection_flood.h"
#include "bench/figures.h"
#include "bench/mkv_sender.h"
#include "bench/rtmp_publisher.h"

extern char** environ;

namespace {

using namespace streamarc;
using bench::Since;
using bench::SteadyClock;

constexpr double kGopS = 2.0;     // camera starts are spread over one GOP
constexpr double kWarmupS = 3.0;  // as putmedia_load: the window starts 3 s in

struct Options {
  std::vector<int> cameras = {10};
  double seconds = 30;
  std::vector<std::string> peers = {"streamarc", "nginx", "ffmpeg", "gst"};
  std::string input;  // empty: bench_media.h's camera input at `mbit`
  bool audio = true;
  int mbit = 4;
  bool keep = false;  // leave the peers' recordings in --data-dir (to check them by hand)
  int max_from = 0;   // > 0: find each peer's most cameras kept in real time, from this many
  std::string data = "bench-data/peers";
  std::string nginx = "/usr/local/lib/streamarc-bench/nginx/usr/sbin/nginx";
  std::string rtmp_module =
      "/usr/local/lib/streamarc-bench/nginx/usr/lib/nginx/modules/ngx_rtmp_module.so";
  std::string putmedia_load = "build/bench/putmedia_load";
  std::string streamarcd = "build/server/streamarcd";
};

struct PeerResult {
  bool ok = false;
  double cpu_pct = 0, rss_mb = 0, written_kBps = 0;  // per camera
  double sender_cpu_pct = 0;                         // per camera
  double late_s = 0;
  double ack_p50_ms = 0;   // streamarc only: PERSISTED ack p50
  double unpersisted = 0;  // streamarc only: fragments not PERSISTED, and ERROR acks
  double error_acks = 0;
  size_t processes = 0;
  std::string note;
};

// Starts `args` with stdout and stderr into `log`; -1 on failure.
pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> a = args;
  std::vector<char*> argv;
  argv.reserve(a.size() + 1);
  for (auto& s : a) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log.c_str(), O_CREAT | O_APPEND | O_WRONLY,
                                   0644);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, a[0].c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

// Waits up to `grace_s` for `pid` to exit, then sends `sig`, then SIGKILL after 5 s more.
void Reap(pid_t pid, double grace_s, int sig) {
  const auto t0 = SteadyClock::now();
  bool signalled = false;
  while (waitpid(pid, nullptr, WNOHANG) == 0) {
    if (!signalled && Since(t0) > grace_s) {
      kill(pid, sig);
      signalled = true;
    }
    if (Since(t0) > grace_s + 5) kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// The peer's processes over the window: CPU and bytes written from its start to its end, RSS at
// its end. `pids` is read at the start (nginx's workers exist by then).
class Window {
 public:
  void Begin(const std::vector<pid_t>& pids) {
    pids_ = pids;
    t0_ = SteadyClock::now();
    cpu0_ = Cpu();
    written0_ = Written();
    self0_ = bench::CpuSeconds(getpid());
  }
  void End(int cameras, PeerResult* r) const {
    const double s = Since(t0_);
    r->cpu_pct = (Cpu() - cpu0_) / s * 100 / cameras;
    r->written_kBps = (Written() - written0_) / 1e3 / s / cameras;
    double rss = 0;
    for (pid_t p : pids_) rss += bench::RssBytes(p);
    r->rss_mb = rss / 1e6 / cameras;
    r->sender_cpu_pct = (bench::CpuSeconds(getpid()) - self0_) / s * 100 / cameras;
    r->processes = pids_.size();
    r->ok = true;
    // One that exited took its figures along: say so rather than under-count quietly.
    size_t gone = 0;
    for (pid_t p : pids_) {
      const std::string stat = bench::Slurp("/proc/" + std::to_string(p) + "/stat");
      const size_t paren = stat.rfind(')');
      if (paren == std::string::npos || stat.compare(paren + 2, 1, "Z") == 0) ++gone;
    }
    if (gone > 0) r->note = std::to_string(gone) + " of its processes exited early; ";
  }

 private:
  double Cpu() const {
    double c = 0;
    for (pid_t p : pids_) c += bench::CpuSeconds(p);
    return c;
  }
  double Written() const {
    double w = 0;
    for (pid_t p : pids_) w += bench::WrittenBytes(p);
    return w;
  }
  std::vector<pid_t> pids_;
  SteadyClock::time_point t0_;
  double cpu0_ = 0, written0_ = 0, self0_ = 0;
};

// A free port on 127.0.0.1: bound, let go, handed to nginx (a race only with another bench).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

// Paces `pump` (true while anything is left) for the run, measuring `pids()` over the window
// from kWarmupS to the end of sending. A peer whose reading holds the sender (`lag()`) more
// than kGiveUpLagS behind has lost: the run stops there instead of waiting for it (one
// gst-splitmux at 200 cameras held a 30 s run for 24 minutes).
constexpr double kGiveUpLagS = 20.0;

template <typename Pump, typename Pids, typename Lag>
void PaceAndMeasure(int cameras, Pump pump, Pids pids, Lag lag, PeerResult* r) {
  const auto t0 = SteadyClock::now();
  Window w;
  bool begun = false;
  while (true) {
    const double now = Since(t0);
    if (!begun && now >= kWarmupS) {
      w.Begin(pids());
      begun = true;
    }
    if (!pump(now) && begun) break;
    if (lag() > kGiveUpLagS) {
      r->note = "gave up more than " + std::to_string(static_cast<int>(kGiveUpLagS)) +
                " s behind real time";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (!begun) w.Begin(pids());
  w.End(cameras, r);
}

PeerResult RunMkvPeer(const Options& o, const bench::Stream& stream, int n, bool gst) {
  PeerResult r;
  const std::string dir = o.data + (gst ? "/gst-splitmux" : "/ffmpeg-hls");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  bench::MkvSender sender(stream, kGopS);
  const int port = sender.Listen();
  const std::string src = "tcp://127.0.0.1:" + std::to_string(port);
  std::vector<pid_t> pids;
  if (gst) {
    std::vector<std::string> args = {"gst-launch-1.0", "-q", "-e"};
    for (int i = 0; i < n; ++i) {
      const std::string cam = dir + "/cam" + std::to_string(i);
      const std::string demux = "d" + std::to_string(i), mux = "m" + std::to_string(i);
      args.insert(args.end(), {"tcpclientsrc", "host=127.0.0.1", "port=" + std::to_string(port),
                               "!", "matroskademux", "name=" + demux, demux + ".video_0", "!",
                               "queue", "!", "h264parse", "!", "splitmuxsink", "name=" + mux,
                               "location=" + cam + "-%05d.mp4", "max-size-time=2000000000"});
      // A queue per branch, as after any demuxer: without them splitmuxsink, holding one track
      // until the other reaches the cut, blocks the demuxer's one thread that feeds both.
      if (stream.audio) {
        args.insert(args.end(),
                    {demux + ".audio_0", "!", "queue", "!", "aacparse", "!", mux + ".audio_%u"});
      }
    }
    pids.push_back(Spawn(args, dir + ".log"));
  } else {
    for (int i = 0; i < n; ++i) {
      const std::string cam = dir + "/cam" + std::to_string(i);
      pids.push_back(Spawn({"ffmpeg",
                            "-nostdin",
                            "-loglevel",
                            "error",
                            "-f",
                            "matroska",
                            "-i",
                            src,
                            "-c",
                            "copy",
                            "-f",
                            "hls",
                            "-hls_segment_type",
                            "fmp4",
                            "-hls_time",
                            "2",
                            "-hls_list_size",
                            "0",
                            "-hls_fmp4_init_filename",
                            "cam" + std::to_string(i) + "-init.mp4",
                            "-hls_segment_filename",
                            cam + "-%05d.m4s",
                            cam + ".m3u8"},
                           dir + ".log"));
    }
  }
  for (pid_t p : pids) {
    if (p < 0) r.note = "cannot start the peer";
  }
  if (r.note.empty() && !sender.Accept(n, 30)) r.note = "not every reader connected";
  if (r.note.empty()) {
    PaceAndMeasure(
        n, [&](double now) { return sender.Pump(now); }, [&] { return pids; },
        [&] { return sender.worst_lag_s(); }, &r);
    r.late_s = sender.worst_lag_s();
    if (sender.failed() > 0) r.note += std::to_string(sender.failed()) + " connections failed";
  }
  sender.Finish();
  for (pid_t p : pids) {
    if (p > 0) Reap(p, 10, SIGINT);
  }
  if (!o.keep) std::filesystem::remove_all(dir);  // 100 cameras for a minute are gigabytes
  return r;
}

PeerResult RunNginx(const Options& o, bench::RtmpPublisher& publisher, int n) {
  PeerResult r;
  const std::string dir = std::filesystem::absolute(o.data + "/nginx-rtmp").string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/hls");
  std::filesystem::create_directories(dir + "/rec");
  const int port = FreePort();
  const std::string conf = dir + "/nginx.conf";
  std::ofstream(conf) << "load_module " << o.rtmp_module << ";\n"
                      << "daemon off;\nmaster_process on;\nworker_processes 1;\n"
                      // As root the workers would become nobody, who cannot write here; as anyone
                      // else the directive is not written (nginx ignores it with a warning).
                      << (geteuid() == 0 ? "user root;\n" : "") << "pid " << dir << "/nginx.pid;\n"
                      << "error_log " << dir << "/error.log warn;\n"
                      << "events { worker_connections 4096; }\n"
                      << "rtmp {\n  access_log off;\n  server {\n    listen 127.0.0.1:" << port
                      << ";\n"
                      << "    application live {\n      live on;\n"
                      << "      hls on; hls_path " << dir
                      << "/hls; hls_fragment 2s; hls_playlist_length 30s;\n"
                      << "      record all; record_path " << dir << "/rec; record_unique on;\n"
                      << "    }\n  }\n}\n";
  const pid_t master =
      Spawn({o.nginx, "-p", dir, "-e", dir + "/error.log", "-c", conf}, dir + ".log");
  if (master < 0) {
    r.note = "cannot start " + o.nginx;
    return r;
  }
  // Up when its port answers.
  for (int i = 0; i < 200; ++i) {
    int fd = bench::Connect(port);
    if (fd >= 0) {
      close(fd);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  if (!publisher.Open("rtmp://127.0.0.1:" + std::to_string(port) + "/live/cam", n, kGopS)) {
    r.note = "an RTMP publisher could not connect";
  } else {
    PaceAndMeasure(
        n,
        [&](double now) {
          publisher.Pump(now);
          return !publisher.done();
        },
        [&] { return bench::ProcessTree(master); }, [&] { return publisher.worst_lag_s(); }, &r);
    r.late_s = publisher.worst_lag_s();
    if (publisher.failed() > 0) r.note += std::to_string(publisher.failed()) + " publishers failed";
  }
  publisher.Close();
  kill(master, SIGQUIT);  // graceful: the recordings are closed
  Reap(master, 10, SIGTERM);
  if (!o.keep) {
    std::filesystem::remove_all(dir + "/hls");
    std::filesystem::remove_all(dir + "/rec");
  }
  return r;
}

// putmedia_load's own run, its FIGURE lines read back and passed on (bench/run shows its ack
// latency from this run); its human lines are shown indented.
PeerResult RunStreamarc(const Options& o, int n) {
  PeerResult r;
  const std::string cmd = o.putmedia_load + " --streams " + std::to_string(n) + " --seconds " +
                          std::to_string(o.seconds) + " --input '" + o.input + "' --audio " +
                          (o.audio ? "1" : "0") + " --bitrate " + std::to_string(o.mbit) +
                          " --data-dir '" + o.data + "/streamarc' --streamarcd '" + o.streamarcd +
                          "'";
  std::map<std::string, double> fig;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char line[4096];
  while (std::fgets(line, sizeof line, p) != nullptr) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string field;
    while (std::getline(ss, field, '\t')) f.push_back(field);
    if (f.size() >= 4 && f[0] == "FIGURE") {
      fig[f[2].substr(f[2].find(": ") + 2)] = std::atof(f[3].c_str());
      // Passed on, except the search's trial runs (their figures would flood bench/run's table).
      std::printf("%s%s", o.max_from > 0 ? "  | " : "", line);
    } else {
      std::printf("  | %s", line);
    }
  }
  if (pclose(p) != 0 || fig.count("server CPU per camera") == 0) {
    r.note = "putmedia_load failed";
    return r;
  }
  r.ok = true;
  r.cpu_pct = fig["server CPU per camera"];
  r.rss_mb = fig["server RSS per camera"];
  r.written_kBps = fig["bytes written per camera"];
  r.sender_cpu_pct = fig["sender CPU per camera"];
  r.late_s = fig["sender late by"];
  r.ack_p50_ms = fig["PERSISTED ack p50"];
  r.unpersisted = fig["fragments not persisted"];
  r.error_acks = fig["ERROR acks"];
  r.processes = 1;
  return r;
}

const char* PeerName(const std::string& p) {
  if (p == "streamarc") return "streamarc";
  if (p == "nginx") return "nginx-rtmp";
  if (p == "ffmpeg") return "ffmpeg-hls";
  if (p == "gst") return "gst-splitmux";
  return nullptr;
}

std::vector<std::string> Split(const std::string& v) {
  std::vector<std::string> out;
  std::stringstream ss(v);
  std::string s;
  while (std::getline(ss, s, ',')) out.push_back(s);
  return out;
}

}  // namespace

PeerResult RunPeer(const Options& o, const bench::Stream& stream, const std::string& p, int n) {
  if (p == "streamarc") return RunStreamarc(o, n);
  if (p == "nginx") {
    bench::RtmpPublisher publisher;  // its connections are used once
    if (publisher.Load(o.input, o.seconds, stream.audio)) return RunNginx(o, publisher, n);
    PeerResult r;
    r.note = "cannot read " + o.input + " with libavformat";
    return r;
  }
  return RunMkvPeer(o, stream, n, p == "gst");
}

// In real time: every camera connected and sent its whole stream, and the sender never fell
// more than a second behind (a peer that reads too slowly fills its sockets and holds the
// sender back); for streamarc also every fragment PERSISTED, no ERROR ack (a full commit
// queue refuses with 5001) and acks that do not pile up (p50 under a second).
bool KeptUp(const std::string& p, const PeerResult& r) {
  if (!r.ok || !r.note.empty() || r.late_s > 1) return false;
  return p != "streamarc" || (r.unpersisted == 0 && r.error_acks == 0 && r.ack_p50_ms < 1000);
}

// The most cameras `p` keeps in real time: doubling from `from` until one count fails, then
// halving the gap to within a tenth (at least 10 cameras). A run per step, each o.seconds.
int MostCameras(const Options& o, const bench::Stream& stream, const std::string& p, int from) {
  constexpr int kLimit = 4000;  // descriptors and the sender's own CPU end the search there
  int good = 0, bad = 0;
  auto trial = [&](int n) {
    std::printf("%s, %d cameras (most kept in real time: %d so far)...\n", PeerName(p), n, good);
    std::fflush(stdout);
    const PeerResult r = RunPeer(o, stream, p, n);
    const bool up = KeptUp(p, r);
    std::printf("  %s: %d cameras %s (CPU %.3f %%/camera, late by %.2f s%s%s)\n", PeerName(p), n,
                up ? "kept up" : "did not keep up", r.cpu_pct, r.late_s, r.note.empty() ? "" : ", ",
                r.note.c_str());
    return up;
  };
  for (int n = from; n <= kLimit; n *= 2) {
    if (!trial(n)) {
      bad = n;
      break;
    }
    good = n;
  }
  if (bad == 0) return good;  // kept up to the limit
  while (bad - good > std::max(10, good / 10)) {
    const int mid = (good + bad) / 2;
    (trial(mid) ? good : bad) = mid;
  }
  return good;
}

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--cameras") {
      o.cameras.clear();
      for (const auto& s : Split(v)) o.cameras.push_back(std::stoi(s));
    } else if (k == "--seconds") {
      o.seconds = std::stod(v);
    } else if (k == "--peers") {
      o.peers = Split(v);
    } else if (k == "--input") {
      o.input = v;
    } else if (k == "--max-cameras") {
      o.max_from = std::stoi(v);
    } else if (k == "--keep") {
      o.keep = v != "0";
    } else if (k == "--audio") {
      o.audio = v != "0";
    } else if (k == "--bitrate") {
      o.mbit = std::stoi(v);
    } else if (k == "--data-dir") {
      o.data = v;
    } else if (k == "--nginx") {
      o.nginx = v;
    } else if (k == "--rtmp-module") {
      o.rtmp_module = v;
    } else if (k == "--putmedia-load") {
      o.putmedia_load = v;
    } else if (k == "--streamarcd") {
      o.streamarcd = v;
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  for (const auto& p : o.peers) {
    if (PeerName(p) == nullptr) {
      std::fprintf(stderr, "unknown peer %s (streamarc, nginx, ffmpeg, gst)\n", p.c_str());
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  // Hundreds of cameras need more descriptors than 1024, here and in the peers (who inherit).
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  if (o.mbit != 4 && o.mbit != 2) {
    std::fprintf(stderr, "--bitrate is 4 or 2 (Mbit/s)\n");
    return 2;
  }
  if (o.input.empty()) {
    o.input = bench::CameraInputPath(o.mbit);
    if (!bench::EnsureCameraInput(o.input, o.mbit)) return 1;
  }
  std::filesystem::create_directories(o.data);
  const int64_t base_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  bench::Stream stream;
  if (!bench::BuildStream(o.input, {.seconds = o.seconds, .base_ms = base_ms, .audio = o.audio},
                          &stream)) {
    std::fprintf(stderr, "cannot read %s\n", o.input.c_str());
    return 1;
  }
  std::printf(
      "input: %s, %s, %.1f Mbit/s in all, %.0f s per camera, starts spread over %.0f s; "
      "window from %.0f s to the end of sending\n",
      o.input.c_str(), bench::Describe(stream).c_str(),
      stream.bytes.size() * 8 / 1e6 / stream.duration_s, o.seconds, kGopS, kWarmupS);
  if (o.max_from > 0) {
    std::map<std::string, int> most;
    for (const auto& p : o.peers) most[p] = MostCameras(o, stream, p, o.max_from);
    const std::string at = std::string(o.mbit != 4 ? "at 2 Mbit/s" : "at 4 Mbit/s") +
                           (stream.audio ? "" : ", video only");
    std::printf("\nmost cameras kept in real time %s, %.0f s runs:\n", at.c_str(), o.seconds);
    for (const auto& p : o.peers) std::printf("  %-14s %d\n", PeerName(p), most[p]);
    if (most.count("streamarc") == 0) return 0;
    for (const auto& p : o.peers) {
      if (p == "streamarc") continue;
      bench::PrintFigure("peers", "most cameras kept in real time " + at + " vs " + PeerName(p),
                         most["streamarc"], most[p], "cameras",
                         std::string(PeerName(p)) + ", same run (higher is better)");
    }
    return 0;
  }
  for (int n : o.cameras) {
    std::map<std::string, PeerResult> results;
    for (const auto& p : o.peers) {
      std::printf("%s, %d cameras...\n", PeerName(p), n);
      std::fflush(stdout);
      results[p] = RunPeer(o, stream, p, n);
    }
    std::printf("\n%d cameras\n%-14s %14s %14s %16s %16s %9s %6s  %s\n", n, "peer", "CPU%/camera",
                "RSS MB/camera", "written kB/s/cam", "sender CPU%/cam", "late by", "procs",
                "notes");
    for (const auto& p : o.peers) {
      const PeerResult& r = results[p];
      const std::string note =
          (r.ok ? "" : "FAILED: ") + r.note + (r.late_s > 1 ? "fell behind real time" : "");
      std::printf("%-14s %14.3f %14.2f %16.0f %16.3f %8.2fs %6zu  %s\n", PeerName(p), r.cpu_pct,
                  r.rss_mb, r.written_kBps, r.sender_cpu_pct, r.late_s, r.processes, note.c_str());
    }
    std::printf(
        "(CPU: the peer's processes only, %% of one core; RSS summed over them; written: their "
        "write calls, files and sockets; sender: this bench's own CPU, or putmedia_load's)\n\n");
    const auto ours = results.find("streamarc");
    if (ours == results.end() || !ours->second.ok) continue;
    const std::string at = std::to_string(n) + " cameras" + (o.mbit != 4 ? " at 2 Mbit/s" : "") +
                           (stream.audio ? "" : ", video only") + ": ";
    for (const auto& p : o.peers) {
      const PeerResult& r = results[p];
      if (p == "streamarc") continue;
      if (!r.ok) {  // a row that says so, rather than a missing one
        std::printf("FIGURE\tpeers\t%s%s FAILED: %s\t-\t-\t-\t-\n", at.c_str(), PeerName(p),
                    r.note.c_str());
        continue;
      }
      const std::string ref = std::string(PeerName(p)) + ", same run";
      const std::string vs = std::string(" vs ") + PeerName(p);
      bench::PrintFigure("peers", at + "server CPU per camera" + vs, ours->second.cpu_pct,
                         r.cpu_pct, "% of a core", ref);
      bench::PrintFigure("peers", at + "RSS per camera" + vs, ours->second.rss_mb, r.rss_mb, "MB",
                         ref);
      bench::PrintFigure("peers", at + "bytes written per camera" + vs, ours->second.written_kBps,
                         r.written_kBps, "kB/s", ref);
      bench::PrintFigure("peers", at + "sender CPU per camera (not the server's)" + vs,
                         ours->second.sender_cpu_pct, r.sender_cpu_pct, "% of a core",
                         ref + " (putmedia_load vs this bench's sender)");
    }
  }
  return 0;
}
