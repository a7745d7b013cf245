#include "tests/support/media.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>

#include "tests/support/subprocess.h"

namespace streamarc::testing {
namespace {

// Each recipe writes the file named OUT. Short, small clips: enough frames, GOPs and audio
// to exercise the parsers, cheap to make on two cores.
std::vector<std::string> Recipe(const std::string& name, const std::string& out) {
  const std::vector<std::string> ff = {"ffmpeg",    "-nostdin", "-hide_banner",
                                       "-loglevel", "error",    "-y"};
  auto with = [&](std::vector<std::string> rest) {
    std::vector<std::string> v = ff;
    v.insert(v.end(), rest.begin(), rest.end());
    return v;
  };
  const std::vector<std::string> av_in = {
      "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
      "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
      "-t", "6"};
  auto join = [](std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  if (name == kH264AacMkv) {
    return with(join(
        av_in, {"-c:v", "libx264", "-g", "25", "-bf", "2", "-c:a", "aac", "-f", "matroska", out}));
  }
  if (name == kH264AacPipeMkv) {
    // Written to a pipe, ffmpeg cannot seek back: the Segment keeps an unknown size.
    std::string cmd;
    for (const std::string& a : with(join(
             av_in, {"-c:v", "libx264", "-g", "50", "-c:a", "aac", "-f", "matroska", "pipe:1"}))) {
      cmd += ShellQuote(a) + " ";
    }
    return {"sh", "-c", cmd + "| cat > " + ShellQuote(out)};
  }
  if (name == kH265Mkv) {
    return with({"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "4", "-c:v", "libx265",
                 "-x265-params", "log-level=error:keyint=25", "-f", "matroska", out});
  }
  if (name == kGstX264Mkv || name == kGstStreamableMkv) {
    std::string mux = name == kGstX264Mkv ? "matroskamux" : "matroskamux streamable=true";
    std::string pipeline =
        "videotestsrc num-buffers=150 ! video/x-raw,width=320,height=240,framerate=25/1 ! "
        "x264enc key-int-max=25 bframes=0 ! " +
        mux + " ! filesink location=" + ShellQuote(out);
    return {"sh", "-c", "gst-launch-1.0 -q " + pipeline};
  }
  if (name == kGstX264OpusMkv) {
    // Audio and video the way kvssink-style pipelines mux them: clusters start at the
    // video key frame.
    std::string pipeline =
        "videotestsrc num-buffers=150 ! video/x-raw,width=320,height=240,framerate=25/1 ! "
        "x264enc key-int-max=25 bframes=0 ! matroskamux name=m streamable=true ! filesink "
        "location=" +
        ShellQuote(out) + " audiotestsrc num-buffers=280 ! audio/x-raw,rate=48000 ! opusenc ! m.";
    return {"sh", "-c", "gst-launch-1.0 -q " + pipeline};
  }
  if (name == kVp9OpusWebm) {
    return with(join(av_in, {"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-g",
                             "25", "-c:a", "libopus", "-f", "webm", out}));
  }
  return {};
}

}  // namespace

Result<std::string> MakeMedia(const std::string& name) {
  std::string dir = STREAMARC_TEST_MEDIA_DIR;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string path = dir + "/" + name;
  if (std::filesystem::exists(path)) return path;
  // Make it under a private name, then rename: another test process may race us.
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  std::vector<std::string> argv = Recipe(name, tmp);
  if (argv.empty()) return InvalidArgument("no recipe for test medium " + name);
  auto r = RunCommand(argv);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0 || !std::filesystem::exists(tmp)) {
    std::filesystem::remove(tmp, ec);
    return Internal("making " + name + " failed (exit " + std::to_string(r->exit_code) +
                    "): " + r->out);
  }
  // link(2), not rename: if another process published the file first, keep theirs, so a
  // test never sees the file change under it (encoders are not bit-exact run to run).
  int rc = ::link(tmp.c_str(), path.c_str());
  int err = errno;
  std::filesystem::remove(tmp, ec);
  if (rc != 0 && err != EEXIST) return ErrnoStatus(err, "link " + path);
  return path;
}

Result<std::vector<ProbePacket>> ProbePackets(const std::string& path, bool quiet) {
  auto r = RunCommand({"ffprobe", "-v", quiet ? "quiet" : "error", "-show_entries",
                       "packet=stream_index,pts,flags,size", "-of", "csv=p=0", path});
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return Internal("ffprobe failed: " + r->out);
  std::vector<ProbePacket> packets;
  std::istringstream lines(r->out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    // stream_index,pts,size,flags (ffprobe prints entries in its own order)
    std::vector<std::string> f;
    std::stringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, ',')) f.push_back(cell);
    if (f.size() < 4) return Internal("unexpected ffprobe line: " + line);
    ProbePacket p;
    p.stream_index = std::stoi(f[0]);
    p.pts = f[1] == "N/A" ? INT64_MIN : std::stoll(f[1]);
    p.size = std::stoll(f[2]);
    p.key = f[3].find('K') != std::string::npos;
    packets.push_back(p);
  }
  return packets;
}

Result<std::vector<ProbeTime>> ProbeTimes(const std::string& input,
                                          const std::vector<std::string>& extra) {
  std::vector<std::string> cmd = {"ffprobe", "-v", "error"};
  cmd.insert(cmd.end(), extra.begin(), extra.end());
  cmd.insert(cmd.end(),
             {"-show_entries", "packet=codec_type,pts_time,flags", "-of", "csv=p=0", input});
  auto r = RunCommand(cmd);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return Internal("ffprobe failed: " + r->out.substr(0, 2000));
  std::vector<ProbeTime> out;
  std::istringstream lines(r->out);
  for (std::string line; std::getline(lines, line);) {
    // codec_type,pts_time,flags (ffprobe's order)
    const size_t comma = line.find(',');
    if (comma == std::string::npos) continue;
    ProbeTime t;
    t.type = line.substr(0, comma);
    if (t.type != "video" && t.type != "audio") continue;
    if (line.compare(comma + 1, 3, "N/A") == 0) continue;
    t.pts_s = std::atof(line.c_str() + comma + 1);
    const size_t flags = line.find(',', comma + 1);
    t.key = flags != std::string::npos && line.compare(flags + 1, 1, "K") == 0;
    out.push_back(std::move(t));
  }
  return out;
}

Result<double> ProbeDuration(const std::string& input) {
  auto r = RunCommand(
      {"ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", input});
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return Internal("ffprobe failed: " + r->out.substr(0, 2000));
  return std::atof(r->out.c_str());
}

}  // namespace streamarc::testing
