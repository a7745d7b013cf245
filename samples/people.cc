// streamarc-people: people in a stream, found by OpenCV's built-in HOG people detector (no
// model file to fetch), stored as events with boxes. Prints one JSON line per detection:
//
//   {"Label":"person","StartTimestamp":1700000003.000000,"EndTimestamp":1700000003.500000,
//    "Score":1.23,"Box":{"X":410,"Y":96,"Width":128,"Height":256}}
//
// (epoch seconds of producer time; Score: the detector's margin squashed into 0..1; Box in
// pixels of the stream's own picture; the event covers the sampling period after the frame).
//
//   streamarc-people --endpoint http://127.0.0.1:8080 --stream demo --post-events
//   streamarc-people --endpoint URL --stream cam1 --start EARLIEST --end 2026-11-22T07:00:00Z
//       [--fps 2] [--min-score 0.5]    # --min-score: the HOG margin a detection needs
//
// HOG scans the picture at many scales, which is slow, so it looks at a few frames per
// second (--fps, by the frame tap's sampling: the rest are not converted) downscaled to
// 640 pixels wide; people must be about 100 pixels tall or more there. Ends at --end or on
// Ctrl-C.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <vector>

#include "frametap/frametap.h"
#include "samples/event_output.h"
#include "samples/sample_args.h"
#include "samples/signals.h"

namespace {

using namespace streamarc;

constexpr int kAnalysisWidth = 640;

int Main(int argc, char** argv) {
  samples::BlockStopSignals();  // first: before the consumer starts its threads
  auto args = samples::ParseArgs({argv, argv + argc}, {"--post-events"}, {"--fps", "--min-score"});
  auto fps = args.ok() ? samples::NumberOption(*args, "--fps", 2, 0.01, 60) : args.status();
  auto min_score =
      args.ok() ? samples::NumberOption(*args, "--min-score", 0.5, -10, 100) : args.status();
  if (!fps.ok() || !min_score.ok()) {
    std::fprintf(stderr,
                 "%s\nusage: streamarc-people --endpoint URL --stream NAME "
                 "[--start EARLIEST|NOW|ISO-8601] [--end ISO-8601] [--fps N] [--min-score S] "
                 "[--post-events]\n",
                 (fps.ok() ? min_score.status() : fps.status()).message().c_str());
    return 2;
  }
  const int64_t period_us = static_cast<int64_t>(1e6 / *fps);

  frametap::ConsumerOptions options = samples::ConsumerOptionsFor(*args);
  options.sampling.mode = frametap::Sampling::Mode::kFps;
  options.sampling.fps = *fps;
  auto consumer = frametap::Consumer::Open(options);
  if (!consumer.ok()) {
    std::fprintf(stderr, "streamarc-people: %s\n", consumer.status().ToString().c_str());
    return 1;
  }
  samples::StopOnSignal stop([&] { (*consumer)->Stop(); });

  cv::HOGDescriptor hog;
  hog.setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
  cv::Mat small;
  samples::EventOutput out("streamarc-people", *args);
  uint64_t frames = 0, people = 0;

  Status s = (*consumer)->Run([&](const cv::Mat& bgr, const frametap::FrameInfo& info) {
    ++frames;
    // Back to the source's pixels for the boxes.
    const double scale = bgr.cols > kAnalysisWidth ? double(bgr.cols) / kAnalysisWidth : 1.0;
    if (scale > 1.0) {
      cv::resize(bgr, small, cv::Size(), 1.0 / scale, 1.0 / scale, cv::INTER_AREA);
    } else {
      small = bgr;
    }
    std::vector<cv::Rect> found;
    std::vector<double> weights;
    hog.detectMultiScale(small, found, weights, 0, cv::Size(8, 8), cv::Size(), 1.05, 2);
    std::vector<frametap::Event> events;
    for (size_t i = 0; i < found.size(); ++i) {
      if (weights[i] < *min_score) continue;
      const cv::Rect& r = found[i];
      // Clipped to the picture: HOG's windows may reach past its edge.
      int x = std::max(0, static_cast<int>(r.x * scale));
      int y = std::max(0, static_cast<int>(r.y * scale));
      frametap::Box box{x, y, std::min(static_cast<int>(r.width * scale), bgr.cols - x),
                        std::min(static_cast<int>(r.height * scale), bgr.rows - y)};
      // The SVM's margin squashed to the 0..1 that events' scores take.
      const double score = 1.0 / (1.0 + std::exp(-weights[i]));
      events.push_back({"person", info.producer_timestamp_us,
                        info.producer_timestamp_us + period_us, score, box, "streamarc-people"});
    }
    people += events.size();
    out.Emit(events);
    return true;
  });
  std::fprintf(stderr, "streamarc-people: %llu frames looked at, %llu people found\n",
               static_cast<unsigned long long>(frames), static_cast<unsigned long long>(people));
  return out.Finish(s);
}

}  // namespace

int main(int argc, char** argv) {
  return streamarc::samples::RunSample("streamarc-people", Main, argc, argv);
}
