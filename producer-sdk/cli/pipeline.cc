#include "producer-sdk/cli/pipeline.h"

#include <gst/app/gstappsink.h>

#include <cstdio>
#include <exception>

#include "producer-sdk/gst/gst_frames.h"

namespace streamarc::put {
namespace {

using producer::gst::kH264AvcCaps;
using producer::gst::kH265HvcCaps;
using producer::gst::TakeErrorMessage;

std::string Quote(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\"";
}

// An explicit capsfilter: the bare-caps shorthand works only between two elements, and these
// strings also end bins whose src pad is ghosted.
std::string CapsFilter(const std::string& caps) { return "capsfilter caps=\"" + caps + "\""; }

int KeyIntMax(const PutOptions& o) { return (o.fps > 0 ? o.fps : 30) * 2; }

// Raw video from here on: scaled/rated as asked, encoded with x264 for latency (no B-frames
// with zerolatency, a key frame every two seconds so fragments stay near --fragment-ms).
std::string EncodeBranch(const PutOptions& o) {
  std::string caps = "video/x-raw";
  if (o.width > 0) {
    caps += ",width=" + std::to_string(o.width) + ",height=" + std::to_string(o.height);
  }
  if (o.fps > 0) caps += ",framerate=" + std::to_string(o.fps) + "/1";
  return "videoconvert ! videoscale ! videorate ! " + caps +
         " ! x264enc tune=zerolatency speed-preset=veryfast key-int-max=" +
         std::to_string(KeyIntMax(o)) + " bitrate=" + std::to_string(o.bitrate_kbps) +
         " ! h264parse ! " + CapsFilter(kH264AvcCaps);
}

std::string AppSinkCaps() { return std::string(kH264AvcCaps) + ";" + kH265HvcCaps; }

}  // namespace

std::string RawSourceDescription(const PutOptions& o) {
  std::string src;
  if (o.source == SourceKind::kTestPattern) {
    PutOptions t = o;
    if (t.width == 0) t.width = 640, t.height = 480;
    if (t.fps == 0) t.fps = 30;
    // A live source: frames come at the frame rate, stamped with the running time. The
    // clock overlay makes end-to-end latency visible in playback.
    src = "videotestsrc is-live=true pattern=ball ! video/x-raw,width=" + std::to_string(t.width) +
          ",height=" + std::to_string(t.height) + ",framerate=" + std::to_string(t.fps) +
          "/1 ! clockoverlay time-format=\"%H:%M:%S\" ! " + EncodeBranch(t);
    if (o.audio) {
      // A 440 Hz tone as AAC-LC with its AudioSpecificConfig in codec_data (track 2).
      src +=
          " ! appsink name=sink audiotestsrc is-live=true wave=sine freq=440 volume=0.2 ! "
          "audio/x-raw,rate=48000,channels=1 ! audioconvert ! avenc_aac ! aacparse ! " +
          CapsFilter("audio/mpeg,mpegversion=4,stream-format=raw") + " ! appsink name=audio";
      return src;
    }
  } else {
    // decodebin turns a camera's MJPEG into raw video and passes raw video through.
    src = "v4l2src device=" + Quote(o.location) + " ! decodebin ! " + EncodeBranch(o);
  }
  return src + " ! appsink name=sink";
}

Result<std::unique_ptr<SourcePipeline>> SourcePipeline::Create(const PutOptions& options) {
  std::unique_ptr<SourcePipeline> p(new SourcePipeline());
  p->options_ = options;
  std::string description;
  if (options.source == SourceKind::kTestPattern || options.source == SourceKind::kDevice) {
    description = RawSourceDescription(options);
    MutexLock lock(p->mu_);  // no callback runs yet: taken for the analysis only
    p->branch_ = options.source == SourceKind::kTestPattern ? "test pattern, x264" : "camera, x264";
    p->video_linked_ = true;
  } else if (options.source == SourceKind::kFile) {
    description =
        "filesrc location=" + Quote(options.location) + " ! parsebin name=parse  appsink name=sink";
  } else {
    // TCP interleaving survives NAT and lossy Wi-Fi better than UDP; rtspsrc falls back
    // across protocols by itself if the camera refuses.
    description =
        "rtspsrc name=rtsp latency=200 location=" + Quote(options.location) + "  appsink name=sink";
  }
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  if (pipeline == nullptr || error != nullptr) {
    std::string m = TakeErrorMessage(error);
    if (pipeline != nullptr) gst_object_unref(pipeline);
    return InvalidArgument("cannot build the pipeline '" + description + "': " + m);
  }
  p->pipeline_.reset(pipeline);
  p->appsink_ = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_object_unref(p->appsink_);  // the pipeline keeps it alive
  GstCaps* caps = gst_caps_from_string(AppSinkCaps().c_str());
  // sync: only --file --realtime paces to the timestamps (live sources pace themselves);
  // no drop: a full content store pushes back on the source instead of losing frames here.
  g_object_set(p->appsink_, "caps", caps, "sync", options.realtime ? TRUE : FALSE, "max-buffers",
               64u, "drop", FALSE, nullptr);
  gst_caps_unref(caps);
  p->audio_appsink_ = gst_bin_get_by_name(GST_BIN(pipeline), "audio");
  if (p->audio_appsink_ != nullptr) {
    gst_object_unref(p->audio_appsink_);
    g_object_set(p->audio_appsink_, "sync", FALSE, "max-buffers", 256u, "drop", FALSE, nullptr);
  }
  if (options.source == SourceKind::kFile) {
    GstElement* parse = gst_bin_get_by_name(GST_BIN(pipeline), "parse");
    g_signal_connect(parse, "pad-added", G_CALLBACK(&SourcePipeline::OnParsedPad), p.get());
    g_signal_connect(parse, "autoplug-continue", G_CALLBACK(&SourcePipeline::OnAutoplugContinue),
                     nullptr);
    gst_object_unref(parse);
  } else if (options.source == SourceKind::kRtsp) {
    GstElement* rtsp = gst_bin_get_by_name(GST_BIN(pipeline), "rtsp");
    g_signal_connect(rtsp, "pad-added", G_CALLBACK(&SourcePipeline::OnRtspPad), p.get());
    gst_object_unref(rtsp);
  }
  return p;
}

SourcePipeline::~SourcePipeline() {
  if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
}

Status SourcePipeline::Start() {
  GstStateChangeReturn r = gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING);
  if (r == GST_STATE_CHANGE_FAILURE) {
    Status bus = CheckBus();
    return bus.ok() ? Unavailable("the source pipeline would not start") : bus;
  }
  return Status::Ok();
}

SourcePipeline::Pulled SourcePipeline::Pull(int64_t timeout_ms, SamplePtr* sample) {
  GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(appsink_),
                                              static_cast<GstClockTime>(timeout_ms) * GST_MSECOND);
  if (s != nullptr) {
    sample->reset(s);
    return Pulled::kSample;
  }
  return gst_app_sink_is_eos(GST_APP_SINK(appsink_)) ? Pulled::kEos : Pulled::kTimeout;
}

SourcePipeline::Pulled SourcePipeline::PullAudio(int64_t timeout_ms, SamplePtr* sample) {
  if (audio_appsink_ == nullptr) return Pulled::kEos;
  GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(audio_appsink_),
                                              static_cast<GstClockTime>(timeout_ms) * GST_MSECOND);
  if (s != nullptr) {
    sample->reset(s);
    return Pulled::kSample;
  }
  return gst_app_sink_is_eos(GST_APP_SINK(audio_appsink_)) ? Pulled::kEos : Pulled::kTimeout;
}

Status SourcePipeline::CheckBus() {
  {
    MutexLock lock(mu_);
    if (!pending_.ok()) return pending_;
  }
  std::unique_ptr<GstBus, GstObjectUnref> bus(gst_element_get_bus(pipeline_.get()));
  for (;;) {
    GstMessage* msg = gst_bus_pop_filtered(
        bus.get(), static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_WARNING));
    if (msg == nullptr) return Status::Ok();
    GError* error = nullptr;
    gchar* debug = nullptr;
    bool is_error = GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR;
    if (is_error) {
      gst_message_parse_error(msg, &error, &debug);
    } else {
      gst_message_parse_warning(msg, &error, &debug);
    }
    std::string from = GST_MESSAGE_SRC_NAME(msg) ? GST_MESSAGE_SRC_NAME(msg) : "?";
    std::string text = TakeErrorMessage(error);
    std::string detail = debug != nullptr ? debug : "";
    g_free(debug);
    gst_message_unref(msg);
    if (!is_error) {
      std::fprintf(stderr, "\nstreamarc-put: warning from %s: %s\n", from.c_str(), text.c_str());
      continue;
    }
    return Unavailable(from + ": " + text + (detail.empty() ? "" : " (" + detail + ")"));
  }
}

void SourcePipeline::SendEos() { gst_element_send_event(pipeline_.get(), gst_event_new_eos()); }

std::string SourcePipeline::Describe() const {
  std::string out;
  GstPad* pad = gst_element_get_static_pad(appsink_, "sink");
  GstCaps* caps = gst_pad_get_current_caps(pad);
  gst_object_unref(pad);
  if (caps != nullptr) {
    const GstStructure* s = gst_caps_get_structure(caps, 0);
    out = gst_structure_has_name(s, "video/x-h265") ? "H.265" : "H.264";
    int w = 0, h = 0;
    if (gst_structure_get_int(s, "width", &w) && gst_structure_get_int(s, "height", &h)) {
      out += " " + std::to_string(w) + "x" + std::to_string(h);
    }
    double fps = producer::gst::FrameRateOf(caps);
    if (fps > 0) {
      char buf[32];
      std::snprintf(buf, sizeof buf, " %.4g fps", fps);
      out += buf;
    }
    gst_caps_unref(caps);
  }
  MutexLock lock(mu_);
  return out + (branch_.empty() ? "" : ", " + branch_);
}

// A demuxer's length-prefixed access units with codec_data are exactly what the SDK takes,
// so parsebin exposes them as they are: its parser would re-insert the SEI it attaches as
// meta, and the archived frames would no longer be the file's bytes.
gboolean SourcePipeline::OnAutoplugContinue(GstElement*, GstPad*, GstCaps* caps,
                                            gpointer) noexcept {
  if (caps == nullptr || gst_caps_get_size(caps) != 1) return TRUE;
  const GstStructure* st = gst_caps_get_structure(caps, 0);
  const char* format = gst_structure_get_string(st, "stream-format");
  const char* alignment = gst_structure_get_string(st, "alignment");
  if (format == nullptr || alignment == nullptr || std::string(alignment) != "au" ||
      !gst_structure_has_field(st, "codec_data")) {
    return TRUE;
  }
  bool ready = (gst_structure_has_name(st, "video/x-h264") && std::string(format) == "avc") ||
               (gst_structure_has_name(st, "video/x-h265") && std::string(format) == "hvc1");
  return ready ? FALSE : TRUE;
}

void SourcePipeline::LinkPadGuarded(void (SourcePipeline::*link)(GstPad*), GstPad* pad) noexcept {
  try {
    (this->*link)(pad);
  } catch (const std::exception& e) {
    MutexLock lock(mu_);
    pending_ = Internal(e.what());
  } catch (...) {
    MutexLock lock(mu_);
    pending_ = Internal("unknown exception");
  }
}

void SourcePipeline::OnParsedPad(GstElement*, GstPad* pad, gpointer self) noexcept {
  static_cast<SourcePipeline*>(self)->LinkPadGuarded(&SourcePipeline::LinkParsedPad, pad);
}

void SourcePipeline::OnRtspPad(GstElement*, GstPad* pad, gpointer self) noexcept {
  static_cast<SourcePipeline*>(self)->LinkPadGuarded(&SourcePipeline::LinkRtspPad, pad);
}

Status SourcePipeline::AddAndLink(const std::string& description, GstPad* src, GstElement** added) {
  GError* error = nullptr;
  GstElement* bin = gst_parse_bin_from_description(description.c_str(), TRUE, &error);
  if (bin == nullptr || error != nullptr) {
    std::string m = TakeErrorMessage(error);
    if (bin != nullptr) gst_object_unref(bin);
    return Internal("cannot build '" + description + "': " + m);
  }
  gst_bin_add(GST_BIN(pipeline_.get()), bin);
  GstPad* sink = gst_element_get_static_pad(bin, "sink");
  GstPadLinkReturn r = gst_pad_link(src, sink);
  gst_object_unref(sink);
  if (r != GST_PAD_LINK_OK) {
    gst_bin_remove(GST_BIN(pipeline_.get()), bin);
    return Internal("cannot link to '" + description + "'");
  }
  if (added != nullptr) *added = bin;
  return Status::Ok();
}

void SourcePipeline::LinkParsedPad(GstPad* pad) {
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (caps == nullptr) caps = gst_pad_query_caps(pad, nullptr);
  const GstStructure* st = gst_caps_get_structure(caps, 0);
  std::string name = gst_structure_get_name(st);
  auto field = [st](const char* f) {
    const char* v = gst_structure_get_string(st, f);
    return std::string(v != nullptr ? v : "");
  };
  // Output that is already what the appsink takes goes straight there (see
  // OnAutoplugContinue); the rest gets a parser that converts it.
  bool ready =
      field("alignment") == "au" && ((name == "video/x-h264" && field("stream-format") == "avc") ||
                                     (name == "video/x-h265" && field("stream-format") == "hvc1"));
  gst_caps_unref(caps);
  bool video = name.rfind("video/", 0) == 0;
  std::string branch;
  std::string what;
  {
    MutexLock lock(mu_);
    if (video && !video_linked_) {
      video_linked_ = true;
      if (ready) {
        branch = "identity";
        what = "passthrough";
      } else if (name == "video/x-h264") {
        branch = "h264parse ! " + CapsFilter(kH264AvcCaps);
        what = "passthrough";
      } else if (name == "video/x-h265") {
        branch = "h265parse ! " + CapsFilter(kH265HvcCaps);
        what = "passthrough";
      } else {
        branch = "decodebin ! " + EncodeBranch(options_);
        what = name + " decoded, x264";
      }
      branch_ = what;
    }
  }
  if (branch.empty()) {
    // Audio and extra video tracks are not uploaded; a fakesink keeps them flowing so the
    // demuxer does not stop on not-linked.
    GstElement* bin = nullptr;
    Status s = AddAndLink("fakesink sync=false async=false", pad, &bin);
    if (s.ok()) {
      gst_element_sync_state_with_parent(bin);
    } else {
      std::fprintf(stderr, "streamarc-put: %s\n", s.message().c_str());
    }
    return;
  }
  // The branch ends where the appsink starts: link its src pad to the appsink.
  GstElement* bin = nullptr;
  Status s = AddAndLink(branch, pad, &bin);
  if (s.ok()) {
    GstPad* out = gst_element_get_static_pad(bin, "src");
    GstPad* in = gst_element_get_static_pad(appsink_, "sink");
    if (gst_pad_link(out, in) != GST_PAD_LINK_OK) s = Internal("cannot link to the appsink");
    gst_object_unref(out);
    gst_object_unref(in);
    gst_element_sync_state_with_parent(bin);
  }
  if (!s.ok()) {
    MutexLock lock(mu_);
    if (pending_.ok()) pending_ = s;
  }
}

void SourcePipeline::LinkRtspPad(GstPad* pad) {
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (caps == nullptr) caps = gst_pad_query_caps(pad, nullptr);
  const char* media = gst_structure_get_string(gst_caps_get_structure(caps, 0), "media");
  bool video = media != nullptr && std::string(media) == "video";
  gst_caps_unref(caps);
  bool take = false;
  {
    MutexLock lock(mu_);
    take = video && !video_linked_;
  }
  if (!take) {
    GstElement* bin = nullptr;
    Status s = AddAndLink("fakesink sync=false async=false", pad, &bin);
    if (s.ok()) {
      gst_element_sync_state_with_parent(bin);
    } else {
      std::fprintf(stderr, "streamarc-put: %s\n", s.message().c_str());
    }
    return;
  }
  // parsebin picks the depayloader and parser for whatever the camera sends.
  GstElement* parse = gst_element_factory_make("parsebin", nullptr);
  if (parse == nullptr) {
    MutexLock lock(mu_);
    pending_ = Internal("GStreamer has no parsebin (gstreamer1.0-plugins-base)");
    return;
  }
  g_signal_connect(parse, "pad-added", G_CALLBACK(&SourcePipeline::OnParsedPad), this);
  gst_bin_add(GST_BIN(pipeline_.get()), parse);
  GstPad* sink = gst_element_get_static_pad(parse, "sink");
  GstPadLinkReturn r = gst_pad_link(pad, sink);
  gst_object_unref(sink);
  gst_element_sync_state_with_parent(parse);
  if (r != GST_PAD_LINK_OK) {
    MutexLock lock(mu_);
    pending_ = Internal("cannot link the camera's video to parsebin");
  }
}

}  // namespace streamarc::put
