// streamarc-motion: when did something move? Reads a stream through the frame tap, finds
// motion by background subtraction and prints one JSON line per motion interval:
//
//   {"Label":"motion","StartTimestamp":1700000003.000000,"EndTimestamp":1700000005.040000,
//    "Score":0.0123}
//
// (epoch seconds of producer time; Score: the largest share of the picture that moved).
//
//   streamarc-motion --endpoint http://127.0.0.1:8080 --stream demo                  # live
//   streamarc-motion --endpoint URL --stream cam1 --start EARLIEST --end 2026-11-22T07:00:00Z
//   ... --post-events      # also store each interval with PutEvents (label "motion")
//   ... --progress         # one line on stderr per fragment read
//
// It ends at --end or on Ctrl-C, printing the interval still open. Keys for a server that
// wants them come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
//
// How: each frame arrives gray and downscaled (cheap, and small noise averages out);
// OpenCV's MOG2 model of the background marks the pixels that differ from it; an opening
// removes specks; the share of marked pixels goes to MotionTracker, whose hysteresis turns
// per-frame figures into intervals.
#include <cstdio>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/background_segm.hpp>

#include "frametap/frametap.h"
#include "samples/event_output.h"
#include "samples/motion_tracker.h"
#include "samples/sample_args.h"
#include "samples/signals.h"

namespace {

using namespace streamarc;

constexpr int kWidth = 320;        // analysis width; the height keeps the aspect ratio
constexpr int kWarmupFrames = 10;  // MOG2 calls every pixel foreground until it has a model

int Main(int argc, char** argv) {
  samples::BlockStopSignals();  // first: before the consumer starts its threads
  auto args = samples::ParseArgs({argv, argv + argc}, {"--post-events", "--progress"}, {});
  if (!args.ok()) {
    std::fprintf(stderr,
                 "%s\nusage: streamarc-motion --endpoint URL --stream NAME "
                 "[--start EARLIEST|NOW|ISO-8601] [--end ISO-8601] [--post-events] "
                 "[--progress]\n",
                 args.status().message().c_str());
    return 2;
  }
  const bool progress = args->options.count("--progress") > 0;

  frametap::ConsumerOptions options = samples::ConsumerOptionsFor(*args);
  options.target = {frametap::PixelFormat::kGray, kWidth, 0};
  auto consumer = frametap::Consumer::Open(options);
  if (!consumer.ok()) {
    std::fprintf(stderr, "streamarc-motion: %s\n", consumer.status().ToString().c_str());
    return 1;
  }
  samples::StopOnSignal stop([&] { (*consumer)->Stop(); });

  cv::Ptr<cv::BackgroundSubtractorMOG2> background =
      cv::createBackgroundSubtractorMOG2(/*history=*/500, /*varThreshold=*/25,
                                         /*detectShadows=*/false);
  const cv::Mat kernel = cv::getStructuringElement(cv::MORPH_ELLIPSE, {3, 3});
  samples::MotionTracker tracker;
  cv::Mat mask;
  uint64_t frames = 0;
  std::string fragment;

  samples::EventOutput out("streamarc-motion", *args);
  auto emit = [&](const samples::MotionInterval& m) {
    out.Emit({{"motion", m.start_us, m.end_us, m.score, {}, "streamarc-motion"}});
  };

  Status s = (*consumer)->Run([&](const cv::Mat& gray, const frametap::FrameInfo& info) {
    if (progress && info.fragment_number != fragment) {
      fragment = info.fragment_number;
      std::fprintf(stderr, "fragment %s at %s\n", fragment.c_str(),
                   samples::EpochSeconds(info.producer_timestamp_us).c_str());
    }
    background->apply(gray, mask);
    if (++frames <= kWarmupFrames) return true;
    cv::morphologyEx(mask, mask, cv::MORPH_OPEN, kernel);
    double moving = static_cast<double>(cv::countNonZero(mask)) / static_cast<double>(mask.total());
    if (auto m = tracker.Add(info.producer_timestamp_us, moving)) emit(*m);
    return true;
  });
  if (auto m = tracker.Finish()) emit(*m);
  return out.Finish(s);
}

}  // namespace

int main(int argc, char** argv) {
  return streamarc::samples::RunSample("streamarc-motion", Main, argc, argv);
}
