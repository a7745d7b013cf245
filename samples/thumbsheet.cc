// streamarc-thumbsheet: a contact sheet of a recorded range, N frames evenly spaced in it,
// each labelled with its producer time, written as one JPEG or PNG (by the name's ending).
//
//   streamarc-thumbsheet --endpoint http://127.0.0.1:8080 --stream demo
//       --start 2026-11-22T06:00:00Z --end 2026-11-22T07:00:00Z --out sheet.jpg
//       [--count 12] [--columns 4] [--width 320]
//
// --start may be EARLIEST (the range then begins at the stream's first frame); --end is
// required. The sheet is columns x ceil(count / columns) tiles of --width pixels wide (the
// height keeps the stream's aspect ratio); tiles the range has no frame for stay black.
#include <cmath>
#include <cstdio>
#include <exception>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "common/clock.h"
#include "frametap/frametap.h"
#include "samples/event_output.h"
#include "samples/sample_args.h"
#include "samples/signals.h"

namespace {

using namespace streamarc;

int Main(int argc, char** argv) {
  samples::BlockStopSignals();  // first: before the consumer starts its threads
  auto args =
      samples::ParseArgs({argv, argv + argc}, {}, {"--out", "--count", "--columns", "--width"});
  Result<double> count = args.ok() ? samples::NumberOption(*args, "--count", 12, 1, 400)
                                   : Result<double>(args.status());
  Result<double> columns = count.ok() ? samples::NumberOption(*args, "--columns", 4, 1, 50)
                                      : Result<double>(count.status());
  Result<double> width = columns.ok() ? samples::NumberOption(*args, "--width", 320, 16, 1920)
                                      : Result<double>(columns.status());
  Status bad = width.status();
  if (bad.ok() && (!args->end_us || !args->options.count("--out"))) {
    bad = InvalidArgument("--end and --out are required");
  }
  if (!bad.ok()) {
    std::fprintf(stderr,
                 "%s\nusage: streamarc-thumbsheet --endpoint URL --stream NAME "
                 "--start EARLIEST|ISO-8601 --end ISO-8601 --out FILE.jpg|.png [--count N] "
                 "[--columns C] [--width W]\n",
                 bad.message().c_str());
    return 2;
  }
  const int n = static_cast<int>(*count);
  const int cols = std::min(static_cast<int>(*columns), n);
  const int rows = (n + cols - 1) / cols;
  const int64_t end_us = *args->end_us;

  frametap::ConsumerOptions options = samples::ConsumerOptionsFor(*args);
  options.target = {frametap::PixelFormat::kBgr, static_cast<int>(*width), 0};
  auto consumer = frametap::Consumer::Open(options);
  if (!consumer.ok()) {
    std::fprintf(stderr, "streamarc-thumbsheet: %s\n", consumer.status().ToString().c_str());
    return 1;
  }
  samples::StopOnSignal stop([&] { (*consumer)->Stop(); });

  cv::Mat sheet;  // allocated at the first frame, when the tile height is known
  int64_t start_us = 0, step_us = 0;
  int taken = 0;
  Status s = (*consumer)->Run([&](const cv::Mat& bgr, const frametap::FrameInfo& info) {
    const int64_t t = info.producer_timestamp_us;
    if (sheet.empty()) {
      sheet = cv::Mat::zeros(rows * bgr.rows, cols * bgr.cols, CV_8UC3);
      start_us = args->start.type == frametap::StartType::kProducerTimestamp
                     ? args->start.timestamp_us
                     : t;
      step_us = std::max<int64_t>(1, (end_us - start_us) / n);
    }
    // Tile i shows the first frame at or after start + i * step; a gap leaves tiles black.
    if (t < start_us + taken * step_us) return true;
    const int64_t slot = (t - start_us) / step_us;
    if (slot >= n) return false;
    cv::Mat tile = sheet(cv::Rect(static_cast<int>(slot % cols) * bgr.cols,
                                  static_cast<int>(slot / cols) * bgr.rows, bgr.cols, bgr.rows));
    bgr.copyTo(tile);
    const std::string label = FormatIso8601(t);
    const double font = bgr.cols / 640.0;
    const cv::Point at(4, bgr.rows - 6);
    cv::putText(tile, label, at, cv::FONT_HERSHEY_SIMPLEX, font, {0, 0, 0}, 3, cv::LINE_AA);
    cv::putText(tile, label, at, cv::FONT_HERSHEY_SIMPLEX, font, {255, 255, 255}, 1, cv::LINE_AA);
    taken = static_cast<int>(slot) + 1;
    return taken < n;
  });
  if (!s.ok()) {
    std::fprintf(stderr, "streamarc-thumbsheet: %s\n", s.ToString().c_str());
    return 1;
  }
  if (sheet.empty()) {
    std::fprintf(stderr, "streamarc-thumbsheet: no frames in the range\n");
    return 1;
  }
  const std::string& out = args->options.at("--out");
  bool written = false;
  try {
    written = cv::imwrite(out, sheet);
  } catch (const cv::Exception& e) {  // an ending OpenCV has no encoder for
    std::fprintf(stderr, "streamarc-thumbsheet: %s\n", e.what());
  }
  if (!written) {
    std::fprintf(stderr, "streamarc-thumbsheet: cannot write %s\n", out.c_str());
    return 1;
  }
  std::printf("%s: %dx%d tiles of %dx%d\n", out.c_str(), cols, rows, sheet.cols / cols,
              sheet.rows / rows);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return streamarc::samples::RunSample("streamarc-thumbsheet", Main, argc, argv);
}
