#include "tests/producer/sdk_media.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "producer-sdk/nal.h"
#include "tests/support/subprocess.h"

namespace streamarc::producer_test {

using streamarc::testing::ReadFileOrDie;
using streamarc::testing::RunCommand;

namespace {

Result<std::string> Run(const std::vector<std::string>& argv) {
  ASSIGN_OR_RETURN(auto out, RunCommand(argv));
  if (out.exit_code != 0) return Internal(argv[0] + " failed: " + out.out.substr(0, 2000));
  return out.out;
}

int64_t Ms(const nlohmann::json& v) {
  return v.is_string() ? std::llround(std::stod(v.get<std::string>()) * 1000.0) : 0;
}

}  // namespace

Result<std::vector<InputFrame>> MakeAnnexBFrames(const std::string& dir, const MediaSpec& spec) {
  (void)dir;
  const bool hevc = spec.codec == "libx265";
  // Encoded once per spec and cached with the other test media: several tests use the same
  // input, and encoding dominates their time. Written under temporary names and renamed, so
  // test processes running at once never read a half-written file.
  const std::string cache = std::string(STREAMARC_TEST_MEDIA_DIR) + "/producer";
  std::filesystem::create_directories(cache);
  const std::string key = spec.codec + "_" + std::to_string(spec.seconds) + "s_" +
                          std::to_string(spec.fps) + "fps_g" + std::to_string(spec.gop) + "_" +
                          spec.size + "_" + (spec.bitrate.empty() ? "crf" : spec.bitrate);
  std::string mkv = cache + "/" + key + ".mkv";
  std::string es = cache + "/" + key + (hevc ? ".h265" : ".h264");
  if (!std::filesystem::exists(mkv) || !std::filesystem::exists(es)) {
    const std::string tmp = cache + "/tmp-" + std::to_string(getpid()) + "-" + key;
    std::vector<std::string> argv = {
        "ffmpeg",       "-nostdin",
        "-hide_banner", "-loglevel",
        "error",        "-y",
        "-f",           "lavfi",
        "-i",           "testsrc2=size=" + spec.size + ":rate=" + std::to_string(spec.fps),
        "-t",           std::to_string(spec.seconds),
        "-pix_fmt",     "yuv420p",
        "-c:v",         spec.codec,
        "-g",           std::to_string(spec.gop),
        "-keyint_min",  std::to_string(spec.gop)};
    if (hevc) {
      argv.insert(argv.end(), {"-preset", "ultrafast", "-x265-params", "aud=1:log-level=error"});
    } else {
      argv.insert(argv.end(), {"-x264-params", "aud=1", "-preset", "veryfast"});
    }
    if (!spec.bitrate.empty()) argv.insert(argv.end(), {"-b:v", spec.bitrate});
    argv.push_back(tmp + ".mkv");
    RETURN_IF_ERROR(Run(argv).status());
    RETURN_IF_ERROR(
        Run({"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", tmp + ".mkv",
             "-c", "copy", "-bsf:v", hevc ? "hevc_mp4toannexb" : "h264_mp4toannexb", "-f",
             hevc ? "hevc" : "h264", tmp + ".es"})
            .status());
    std::filesystem::rename(tmp + ".es", es);
    std::filesystem::rename(tmp + ".mkv", mkv);
  }
  ASSIGN_OR_RETURN(
      std::string probe,
      Run({"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_packets", "-show_entries",
           "packet=pts_time,dts_time,duration_time,flags,size", "-of", "json", mkv}));
  auto j = nlohmann::json::parse(probe, nullptr, false);
  if (j.is_discarded() || !j.contains("packets")) return Internal("ffprobe: no packets");
  std::string bytes = ReadFileOrDie(es);
  std::span<const uint8_t> all(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  // An access unit begins at its AUD, or at the parameter sets the bitstream filter puts in
  // front of a key frame (hevc_mp4toannexb places them before the AUD).
  auto nals = producer::nal::SplitAnnexB(all);
  auto header_nal = [&](std::span<const uint8_t> n) {
    if (hevc) {
      uint8_t t = producer::nal::H265Type(n);
      return t == 35 || t == 32 || t == 33 || t == 34;
    }
    uint8_t t = producer::nal::H264Type(n);
    return t == 9 || t == 7 || t == 8;
  };
  std::vector<size_t> starts;
  bool prev_header = false;
  for (const auto& n : nals) {
    bool h = header_nal(n);
    if (h && !prev_header) {
      size_t off = static_cast<size_t>(n.data() - all.data());
      starts.push_back(off >= 4 && all[off - 4] == 0 ? off - 4 : off - 3);
    }
    prev_header = h;
  }
  const auto& packets = j["packets"];
  if (starts.size() != packets.size()) {
    return Internal("access units " + std::to_string(starts.size()) + " != packets " +
                    std::to_string(packets.size()));
  }
  std::vector<InputFrame> frames;
  for (size_t i = 0; i < starts.size(); ++i) {
    size_t end = i + 1 < starts.size() ? starts[i + 1] : all.size();
    InputFrame f;
    const auto& p = packets[i];
    f.pts_ms = Ms(p.value("pts_time", nlohmann::json()));
    f.dts_ms = Ms(p.value("dts_time", nlohmann::json()));
    f.duration_ms = Ms(p.value("duration_time", nlohmann::json()));
    f.key = p.value("flags", std::string()).find('K') != std::string::npos;
    f.mkv_size = std::stoll(p.value("size", std::string("0")));
    f.annexb.assign(all.begin() + static_cast<ptrdiff_t>(starts[i]),
                    all.begin() + static_cast<ptrdiff_t>(end));
    frames.push_back(std::move(f));
  }
  return frames;
}

Result<AacInput> MakeAacFrames(const std::string& dir, int seconds) {
  std::string adts = dir + "/in.aac";
  RETURN_IF_ERROR(Run({"ffmpeg",
                       "-nostdin",
                       "-hide_banner",
                       "-loglevel",
                       "error",
                       "-y",
                       "-f",
                       "lavfi",
                       "-i",
                       "sine=frequency=440:sample_rate=48000",
                       "-t",
                       std::to_string(seconds),
                       "-ac",
                       "2",
                       "-c:a",
                       "aac",
                       "-b:a",
                       "96k",
                       "-f",
                       "adts",
                       adts})
                      .status());
  std::string bytes = ReadFileOrDie(adts);
  AacInput out;
  size_t pos = 0;
  while (pos + 7 <= bytes.size()) {
    auto b = [&](size_t i) { return static_cast<uint8_t>(bytes[pos + i]); };
    if (b(0) != 0xFF || (b(1) & 0xF0) != 0xF0) return Internal("bad ADTS sync");
    bool crc_absent = b(1) & 1;
    size_t len = ((b(3) & 3) << 11) | (b(4) << 3) | (b(5) >> 5);
    size_t hdr = crc_absent ? 7 : 9;
    if (len < hdr || pos + len > bytes.size()) return Internal("bad ADTS length");
    if (out.asc.empty()) {
      int profile = (b(2) >> 6) + 1;
      int sfi = (b(2) >> 2) & 0xF;
      int ch = ((b(2) & 1) << 2) | (b(3) >> 6);
      static const int kRates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                   22050, 16000, 12000, 11025, 8000,  7350};
      out.sample_rate = sfi < 13 ? kRates[sfi] : 0;
      out.channels = ch;
      out.asc.push_back(static_cast<char>((profile << 3) | (sfi >> 1)));
      out.asc.push_back(static_cast<char>(((sfi & 1) << 7) | (ch << 3)));
    }
    out.frames.emplace_back(bytes.begin() + static_cast<ptrdiff_t>(pos + hdr),
                            bytes.begin() + static_cast<ptrdiff_t>(pos + len));
    pos += len;
  }
  return out;
}

}  // namespace streamarc::producer_test
