// streamarc-put's GStreamer side: a pipeline from the chosen source to an appsink that hands
// out H.264/H.265 access units, length-prefixed with codec_data in the caps (what
// producer::Stream::PutFrame takes). Raw video is encoded with x264 tuned for latency;
// H.264/H.265 from an RTSP camera or a file is passed through (depay/demux + parse only).
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/mutex.h"
#include "common/status.h"
#include "producer-sdk/cli/options.h"

namespace streamarc::put {

struct GstObjectUnref {
  void operator()(gpointer p) const { gst_object_unref(p); }
};
struct GstSampleUnref {
  void operator()(GstSample* s) const { gst_sample_unref(s); }
};
using SamplePtr = std::unique_ptr<GstSample, GstSampleUnref>;

// The gst-launch description of a raw source's pipeline (test pattern, V4L2 device), ending
// in the appsink named "sink". Exposed for tests and for --help-like diagnostics.
std::string RawSourceDescription(const PutOptions& o);

// Not thread-safe: driven by main's loop. Pad-added callbacks run on GStreamer's threads
// and only build and link the branch for the first video pad.
class SourcePipeline {
 public:
  static Result<std::unique_ptr<SourcePipeline>> Create(const PutOptions& options);
  ~SourcePipeline();
  SourcePipeline(const SourcePipeline&) = delete;
  SourcePipeline& operator=(const SourcePipeline&) = delete;

  // To PLAYING. An error here (no such device, a file that cannot be read) is the source's.
  Status Start();

  enum class Pulled { kSample, kTimeout, kEos };
  // Waits up to `timeout_ms` for the next video access unit.
  Pulled Pull(int64_t timeout_ms, SamplePtr* sample);
  // The same for the audio (AAC) track; kEos at once when there is none.
  Pulled PullAudio(int64_t timeout_ms, SamplePtr* sample);
  bool has_audio() const { return audio_appsink_ != nullptr; }

  // The first error the pipeline posted, if any (kUnavailable with GStreamer's message and
  // the element that failed); warnings are logged on the way.
  Status CheckBus();

  // Ends the source: EOS travels down, and Pull returns kEos once the last unit is out.
  void SendEos();

  // A one-line description of the negotiated input ("H.264 640x480 30 fps, passthrough").
  std::string Describe() const;

 private:
  SourcePipeline() = default;
  // Links a demuxed or depayloaded pad (parsebin's) to the appsink, via a parser (H.264 /
  // H.265) or a decoder and x264 (anything else); other media go to a fakesink.
  static void OnParsedPad(GstElement* parsebin, GstPad* pad, gpointer self) noexcept;
  static gboolean OnAutoplugContinue(GstElement* parsebin, GstPad* pad, GstCaps* caps,
                                     gpointer) noexcept;
  static void OnRtspPad(GstElement* rtspsrc, GstPad* pad, gpointer self) noexcept;
  void LinkParsedPad(GstPad* pad);
  void LinkRtspPad(GstPad* pad);
  // Runs a pad-added handler; an exception becomes pending_ (nothing throws back into C).
  void LinkPadGuarded(void (SourcePipeline::*link)(GstPad*), GstPad* pad) noexcept;
  // Adds a bin made from `description` and links `src` to it; the caller links its src pad
  // (if any) and then syncs its state. `added` is owned by the pipeline.
  Status AddAndLink(const std::string& description, GstPad* src, GstElement** added);

  PutOptions options_;
  std::unique_ptr<GstElement, GstObjectUnref> pipeline_;
  GstElement* appsink_ = nullptr;        // owned by the pipeline
  GstElement* audio_appsink_ = nullptr;  // owned by the pipeline; null without audio
  mutable Mutex mu_;                     // the pad-added callbacks run on GStreamer's threads
  bool video_linked_ GUARDED_BY(mu_) = false;
  std::string branch_ GUARDED_BY(mu_);  // what the video branch does, for Describe()
  Status pending_ GUARDED_BY(mu_);      // a failure inside a pad-added callback
};

}  // namespace streamarc::put
