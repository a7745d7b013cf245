// streamarcsink: a GStreamer sink that uploads H.264/H.265 to a streamarc (or KVS-compatible)
// server through the producer SDK. Its properties are kvssink's, so a kvssink pipeline works
// by swapping the element name. It is a GstBaseSink: one video pad; each buffer becomes one
// Stream::PutFrame; EOS calls Stream::Stop, which flushes and waits for PERSISTED.
//
// GStreamer calls every function here from C, so none lets an exception out: the C++ state
// lives in SinkState, and each vfunc trampoline catches at the edge.
#include <gst/base/gstbasesink.h>
#include <gst/gst.h>

#include <atomic>
#include <cstdlib>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include "common/clock.h"
#include "common/mutex.h"
#include "producer-sdk/gst/gst_frames.h"
#include "producer-sdk/gst/streamarc_sink_props.h"
#include "producer-sdk/producer.h"

GST_DEBUG_CATEGORY_STATIC(streamarc_sink_debug);
#define GST_CAT_DEFAULT streamarc_sink_debug

namespace streamarc::producer::gst {
namespace {

// Acks and errors from the SDK's upload thread. The first non-retriable error is kept and
// surfaces as an element error from the streaming thread's next call.
class SinkCallbacks final : public StreamCallbacks {
 public:
  explicit SinkCallbacks(GstElement* element) : element_(element) {}
  void OnFragmentAck(const FragmentAck& ack) override {
    if (ack.type == AckType::kPersisted) {
      GST_DEBUG_OBJECT(element_, "fragment %s persisted", ack.fragment_number.c_str());
    } else if (ack.type == AckType::kError) {
      GST_WARNING_OBJECT(element_, "error ack %d %s for fragment at %" G_GINT64_FORMAT,
                         ack.error_id, ack.error_code.c_str(), ack.timecode);
    }
  }
  void OnLatencyPressure(int64_t buffered_ms) override {
    GST_WARNING_OBJECT(element_, "latency pressure: %" G_GINT64_FORMAT " ms buffered", buffered_ms);
  }
  void OnStorageOverflowPressure(size_t remaining) override {
    GST_WARNING_OBJECT(element_, "content store pressure: %zu bytes left", remaining);
  }
  void OnDroppedFrame(int64_t pts_us) override {
    GST_WARNING_OBJECT(element_, "dropped frame at %" G_GINT64_FORMAT " us", pts_us);
  }
  void OnDroppedFragment(int64_t timecode_ms) override {
    GST_WARNING_OBJECT(element_, "dropped fragment at %" G_GINT64_FORMAT " ms", timecode_ms);
  }
  void OnConnectionState(ConnectionState state, const Status& why) override {
    GST_INFO_OBJECT(element_, "connection state %d: %s", static_cast<int>(state),
                    why.ToString().c_str());
  }
  void OnUnverifiedResend(const Status& why) override {
    GST_WARNING_OBJECT(element_,
                       "resending fragments the server may already have (some may be stored "
                       "twice): %s",
                       why.ToString().c_str());
  }
  void OnStreamError(const Status& status) override {
    MutexLock lock(mu_);
    if (error_.ok()) error_ = status;
    failed_.store(true);
  }
  bool failed() const { return failed_.load(); }
  Status error() const {
    MutexLock lock(mu_);
    return error_;
  }

 private:
  GstElement* element_;
  mutable Mutex mu_;
  Status error_ GUARDED_BY(mu_);
  std::atomic<bool> failed_{false};
};

// Everything C++ the element owns; created in instance_init, deleted in finalize.
struct SinkState {
  // The defaults, set here where no other thread can see the state yet.
  SinkState() { InitSinkSettings(settings); }

  Mutex mu;  // properties may be set from any thread
  SinkSettings settings GUARDED_BY(mu);
  // The rest is used from the streaming thread (and start/stop) only.
  SystemClock clock;
  std::unique_ptr<Client> client;
  std::unique_ptr<SinkCallbacks> callbacks;
  std::unique_ptr<Stream> stream;
  TrackConfig track;
  TimestampMapper mapper;
  bool stopped = false;  // Stream::Stop already called (EOS)
};

}  // namespace
}  // namespace streamarc::producer::gst

using streamarc::producer::gst::SinkState;

struct GstStreamarcSink {
  GstBaseSink parent;
  SinkState* state;
};

struct GstStreamarcSinkClass {
  GstBaseSinkClass parent_class;
};

G_DEFINE_TYPE(GstStreamarcSink, gst_streamarc_sink, GST_TYPE_BASE_SINK)

namespace streamarc::producer::gst {
namespace {

SinkState& StateOf(GstBaseSink* sink) { return *reinterpret_cast<GstStreamarcSink*>(sink)->state; }

// Posts an element error with `text` as its message (what gst-launch prints) and `debug`.
void PostError(GstBaseSink* sink, const std::string& text, const std::string& debug = "") {
  GST_ELEMENT_ERROR(sink, RESOURCE, WRITE, ("%s", text.c_str()),
                    ("%s", debug.empty() ? text.c_str() : debug.c_str()));
}

bool Start(GstBaseSink* sink) {
  SinkState& st = StateOf(sink);
  SinkSettings s;
  {
    MutexLock lock(st.mu);
    s = st.settings;
  }
  ClientOptions opt = ClientOptionsFrom(s);
  auto client = Client::Create(opt);
  if (!client.ok()) {
    PostError(sink, "streamarcsink: cannot set up the producer for " + opt.endpoint + ": " +
                        client.status().ToString());
    return false;
  }
  st.client = std::move(client).value();
  st.callbacks = std::make_unique<SinkCallbacks>(GST_ELEMENT(sink));
  st.mapper = TimestampMapper(s.use_original_pts);
  st.stopped = false;
  return true;
}

// Stops the upload if EOS did not: a pipeline stopped without EOS (Ctrl-C without -e, an
// error upstream) still gets a bounded chance to flush what it has.
bool StopSink(GstBaseSink* sink) {
  SinkState& st = StateOf(sink);
  if (st.stream && !st.stopped) {
    int64_t timeout_ms;
    {
      MutexLock lock(st.mu);
      timeout_ms = std::min<int64_t>(st.settings.stop_stream_timeout_s * 1000, 5000);
    }
    Status s = st.stream->Stop(timeout_ms);
    if (!s.ok()) GST_WARNING_OBJECT(sink, "stopping without EOS: %s", s.ToString().c_str());
  }
  st.stream.reset();
  st.callbacks.reset();
  st.client.reset();
  return true;
}

bool SetCaps(GstBaseSink* sink, GstCaps* caps) {
  SinkState& st = StateOf(sink);
  auto track = TrackFromCaps(caps, 1);
  if (!track.ok()) {
    PostError(sink, "streamarcsink: " + track.status().message());
    return false;
  }
  if (st.stream) {
    // A renegotiation (e.g. a resolution change) keeps the stream: the track was declared
    // once in this session's MKV header.
    if (track->codec != st.track.codec) {
      PostError(sink, "streamarcsink: the codec changed mid-stream");
      return false;
    }
    if (track->codec_private != st.track.codec_private) {
      GST_WARNING_OBJECT(sink, "codec_data changed mid-stream; keeping the first one");
    }
    return true;
  }
  SinkSettings s;
  {
    MutexLock lock(st.mu);
    s = st.settings;
  }
  StreamOptions opt = StreamOptionsFrom(s, *track);
  GST_INFO_OBJECT(sink, "opening stream %s (%s)", opt.name.c_str(), opt.media_type.c_str());
  auto stream = st.client->OpenStream(opt, st.callbacks.get());
  if (!stream.ok()) {
    PostError(sink, "streamarcsink: cannot open stream '" + opt.name +
                        "': " + stream.status().ToString());
    return false;
  }
  st.stream = std::move(stream).value();
  st.track = *track;
  return true;
}

GstFlowReturn Render(GstBaseSink* sink, GstBuffer* buffer) {
  SinkState& st = StateOf(sink);
  if (!st.stream) {
    PostError(sink, "streamarcsink: data before caps");
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (st.callbacks->failed()) {
    PostError(sink, "streamarcsink: the stream failed: " + st.callbacks->error().ToString());
    return GST_FLOW_ERROR;
  }
  auto frame = BufferFrame::Make(buffer, &GST_BASE_SINK(sink)->segment, st.track.number, st.mapper,
                                 st.clock.NowMicros());
  if (!frame.ok()) {
    GST_WARNING_OBJECT(sink, "skipping a buffer: %s", frame.status().ToString().c_str());
    return GST_FLOW_OK;
  }
  Status s = st.stream->PutFrame((*frame)->frame());
  if (s.code() == Code::kResourceExhausted || s.code() == Code::kOutOfRange) {
    // The overflow policy dropped this frame, or the SDK could not place it (a timestamp
    // too far from its fragment's start); the SDK counted it. Keep streaming.
    GST_WARNING_OBJECT(sink, "frame dropped: %s", s.message().c_str());
    return GST_FLOW_OK;
  }
  if (!s.ok()) {
    PostError(sink, "streamarcsink: PutFrame failed: " + s.ToString());
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

// EOS: the last fragment is closed and every fragment waited for until PERSISTED, before
// the EOS goes on (so gst-launch -e exits only once the upload is durable).
bool Event(GstBaseSink* sink, GstEvent* event) {
  SinkState& st = StateOf(sink);
  if (GST_EVENT_TYPE(event) == GST_EVENT_EOS && st.stream && !st.stopped) {
    int64_t timeout_ms;
    {
      MutexLock lock(st.mu);
      timeout_ms = st.settings.stop_stream_timeout_s * 1000;
    }
    st.stopped = true;
    Status s = st.stream->Stop(timeout_ms);
    if (!s.ok()) {
      PostError(sink, "streamarcsink: not every fragment was persisted at end of stream: " +
                          s.ToString());
    } else if (st.callbacks->failed()) {
      PostError(sink, "streamarcsink: the stream failed: " + st.callbacks->error().ToString());
    } else {
      auto stats = st.stream->stats();
      GST_INFO_OBJECT(sink,
                      "end of stream: %" G_GUINT64_FORMAT " frames, %" G_GUINT64_FORMAT
                      " fragments persisted",
                      stats.frames_put, stats.fragments_persisted);
    }
  }
  return GST_BASE_SINK_CLASS(gst_streamarc_sink_parent_class)->event(sink, event);
}

// The trampolines: C in, no exception out.
template <typename F>
auto Guard(GstBaseSink* sink, F&& f, decltype(f()) on_throw) noexcept -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(sink, LIBRARY, FAILED, ("streamarcsink: %s", e.what()), (nullptr));
  } catch (...) {
    GST_ELEMENT_ERROR(sink, LIBRARY, FAILED, ("streamarcsink: unknown exception"), (nullptr));
  }
  return on_throw;
}

gboolean StartThunk(GstBaseSink* s) noexcept {
  return Guard(
      s, [&] { return Start(s); }, false);
}
gboolean StopThunk(GstBaseSink* s) noexcept {
  return Guard(
      s, [&] { return StopSink(s); }, false);
}
gboolean SetCapsThunk(GstBaseSink* s, GstCaps* c) noexcept {
  return Guard(
      s, [&] { return SetCaps(s, c); }, false);
}
GstFlowReturn RenderThunk(GstBaseSink* s, GstBuffer* b) noexcept {
  return Guard(
      s, [&] { return Render(s, b); }, GST_FLOW_ERROR);
}
gboolean EventThunk(GstBaseSink* s, GstEvent* e) noexcept {
  return Guard(
      s, [&] { return Event(s, e); }, false);
}

void SetPropertyThunk(GObject* object, guint id, const GValue* value, GParamSpec* pspec) noexcept {
  try {
    SinkState& st = *reinterpret_cast<GstStreamarcSink*>(object)->state;
    MutexLock lock(st.mu);
    if (!SetSinkProperty(st.settings, id, value)) {
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
    }
  } catch (...) {
    GST_ERROR_OBJECT(object, "setting property %s failed", pspec->name);
  }
}

void GetPropertyThunk(GObject* object, guint id, GValue* value, GParamSpec* pspec) noexcept {
  try {
    SinkState& st = *reinterpret_cast<GstStreamarcSink*>(object)->state;
    MutexLock lock(st.mu);
    if (!GetSinkProperty(st.settings, id, value, pspec)) {
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
    }
  } catch (...) {
    GST_ERROR_OBJECT(object, "reading property %s failed", pspec->name);
  }
}

void FinalizeThunk(GObject* object) noexcept {
  delete reinterpret_cast<GstStreamarcSink*>(object)->state;
  reinterpret_cast<GstStreamarcSink*>(object)->state = nullptr;
  G_OBJECT_CLASS(gst_streamarc_sink_parent_class)->finalize(object);
}

}  // namespace
}  // namespace streamarc::producer::gst

namespace sgst = streamarc::producer::gst;

static void gst_streamarc_sink_class_init(GstStreamarcSinkClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseSinkClass* base_class = GST_BASE_SINK_CLASS(klass);
  gobject_class->set_property = sgst::SetPropertyThunk;
  gobject_class->get_property = sgst::GetPropertyThunk;
  gobject_class->finalize = sgst::FinalizeThunk;
  sgst::InstallSinkProperties(gobject_class);

  // avc/hvc1 first, so a parser upstream converts to length-prefixed units with codec_data.
  static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
      "sink", GST_PAD_SINK, GST_PAD_ALWAYS,
      GST_STATIC_CAPS("video/x-h264, stream-format = (string) { avc, avc3, byte-stream }, "
                      "alignment = (string) au; "
                      "video/x-h265, stream-format = (string) { hvc1, hev1, byte-stream }, "
                      "alignment = (string) au"));
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_set_static_metadata(
      element_class, "streamarc sink", "Sink/Video/Network",
      "Uploads H.264/H.265 video to a streamarc or Kinesis Video Streams compatible server "
      "(PutMedia), with kvssink's properties",
      "streamarc");

  base_class->start = sgst::StartThunk;
  base_class->stop = sgst::StopThunk;
  base_class->set_caps = sgst::SetCapsThunk;
  base_class->render = sgst::RenderThunk;
  base_class->event = sgst::EventThunk;
  GST_DEBUG_CATEGORY_INIT(streamarc_sink_debug, "streamarcsink", 0, "streamarc sink");
}

static void gst_streamarc_sink_init(GstStreamarcSink* self) {
  // Called from C: an allocation failure must not unwind through GObject.
  self->state = new (std::nothrow) SinkState();
  if (self->state == nullptr) g_error("streamarcsink: out of memory");
  // An upload sink does not pace to the clock: frames go out as soon as they come.
  gst_base_sink_set_sync(GST_BASE_SINK(self), FALSE);
  gst_base_sink_set_last_sample_enabled(GST_BASE_SINK(self), FALSE);
}

static gboolean plugin_init(GstPlugin* plugin) {
  return gst_element_register(plugin, "streamarcsink", GST_RANK_NONE,
                              gst_streamarc_sink_get_type());
}

#define PACKAGE "streamarc"
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, streamarc,
                  "streamarc: upload video to a streamarc / KVS-compatible server", plugin_init,
                  "0.1.0", GST_LICENSE_UNKNOWN, "streamarc", "streamarc")
