// `import streamarc`: the frame tap for Python. streamarc.frames(...) opens a Consumer and
// yields (image, info) pairs; the image is a numpy uint8 array (HxWx3 BGR, or HxW gray) that
// owns the frame's cv::Mat, so it stays valid as long as Python keeps it, with no copy.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <memory>
#include <optional>
#include <string>

#include "frametap/frametap.h"

namespace py = pybind11;

namespace streamarc::frametap {
namespace {

// Seconds (a Python number) to epoch microseconds.
int64_t Micros(const py::handle& seconds) { return std::llround(seconds.cast<double>() * 1e6); }

StartSelector ParseStart(const py::object& start) {
  StartSelector s;
  if (py::isinstance<py::str>(start)) {
    auto text = start.cast<std::string>();
    if (text == "NOW") return s;
    if (text == "EARLIEST") {
      s.type = StartType::kEarliest;
      return s;
    }
    throw py::value_error("start: \"NOW\", \"EARLIEST\", epoch seconds or a dict, not \"" + text +
                          "\"");
  }
  if (py::isinstance<py::float_>(start) || py::isinstance<py::int_>(start)) {
    s.type = StartType::kProducerTimestamp;
    s.timestamp_us = Micros(start);
    return s;
  }
  if (py::isinstance<py::dict>(start)) {
    auto d = start.cast<py::dict>();
    if (d.size() == 1) {
      auto [key, value] = *d.begin();
      auto k = key.cast<std::string>();
      if (k == "producer_timestamp" || k == "server_timestamp") {
        s.type =
            k == "producer_timestamp" ? StartType::kProducerTimestamp : StartType::kServerTimestamp;
        s.timestamp_us = Micros(value);
        return s;
      }
      if (k == "fragment_number" || k == "continuation_token") {
        s.type =
            k == "fragment_number" ? StartType::kFragmentNumber : StartType::kContinuationToken;
        s.value = value.cast<std::string>();
        return s;
      }
    }
  }
  throw py::value_error(
      "start: \"NOW\", \"EARLIEST\", epoch seconds, or one of {\"producer_timestamp\": s}, "
      "{\"server_timestamp\": s}, {\"fragment_number\": n}, {\"continuation_token\": t}");
}

Sampling ParseSampling(const py::object& sampling) {
  Sampling s;
  if (sampling.is_none()) return s;
  if (py::isinstance<py::str>(sampling) && sampling.cast<std::string>() == "key") {
    s.mode = Sampling::Mode::kKeyFramesOnly;
    return s;
  }
  if (py::isinstance<py::dict>(sampling)) {
    auto d = sampling.cast<py::dict>();
    if (d.size() == 1 && d.contains("every")) {
      s.mode = Sampling::Mode::kEveryNth;
      s.every_nth = d["every"].cast<int>();
      return s;
    }
    if (d.size() == 1 && d.contains("fps")) {
      s.mode = Sampling::Mode::kFps;
      s.fps = d["fps"].cast<double>();
      return s;
    }
  }
  throw py::value_error("sampling: None, \"key\", {\"every\": N} or {\"fps\": F}");
}

// streamarc.Error, raised for a Status; its `code` names the Status code. Set once at import.
py::object* error_type = nullptr;

[[noreturn]] void Raise(const Status& s) {
  py::object e = (*error_type)(s.ToString());
  e.attr("code") = std::string(CodeName(s.code()));
  PyErr_SetObject(error_type->ptr(), e.ptr());
  throw py::error_already_set();
}

py::array ToArray(cv::Mat image) {
  auto* owned = new cv::Mat(std::move(image));
  py::capsule owner(owned, [](void* p) { delete static_cast<cv::Mat*>(p); });
  const auto rows = static_cast<py::ssize_t>(owned->rows);
  const auto cols = static_cast<py::ssize_t>(owned->cols);
  const auto step = static_cast<py::ssize_t>(owned->step[0]);
  if (owned->channels() == 1) {
    return py::array_t<uint8_t>({rows, cols}, {step, py::ssize_t{1}}, owned->data, owner);
  }
  const auto channels = static_cast<py::ssize_t>(owned->channels());
  return py::array_t<uint8_t>({rows, cols, channels}, {step, channels, py::ssize_t{1}}, owned->data,
                              owner);
}

// How often a waiting iterator looks for signals.
constexpr int64_t kSignalCheckMs = 100;

class Frames {
 public:
  explicit Frames(std::unique_ptr<Consumer> c) : consumer_(std::move(c)) {}

  py::tuple Next() {
    if (!consumer_) throw py::stop_iteration();
    // Waits in slices with the GIL released (the reader thread fills the queue meanwhile;
    // other Python threads run), looking for signals between them: Python runs its handlers
    // (Ctrl-C's KeyboardInterrupt) only when asked, never inside a blocking call.
    for (;;) {
      bool ready;
      {
        py::gil_scoped_release release;
        ready = consumer_->WaitReady(kSignalCheckMs);
      }
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      if (ready) break;
    }
    std::optional<Result<std::optional<DecodedFrame>>> r;
    {
      py::gil_scoped_release release;
      r.emplace(consumer_->Next());
    }
    if (!r->ok()) Raise(r->status());
    if (!r->value()) {
      consumer_.reset();
      throw py::stop_iteration();
    }
    DecodedFrame& f = *r->value();
    return py::make_tuple(ToArray(std::move(f.image)), f.info);
  }

  void Close() {
    if (!consumer_) return;
    py::gil_scoped_release release;
    consumer_.reset();  // stops and joins the reader thread
  }

  py::dict Stats() const {
    py::dict d;
    if (!consumer_) return d;
    ConsumerStats s = consumer_->stats();
    d["frames_read"] = s.frames_read;
    d["frames_decoded"] = s.frames_decoded;
    d["frames_delivered"] = s.frames_delivered;
    d["frames_dropped"] = s.frames_dropped;
    d["fragments_done"] = s.fragments_done;
    d["reconnects"] = s.reconnects;
    return d;
  }

 private:
  std::unique_ptr<Consumer> consumer_;
};

std::unique_ptr<Frames> OpenFrames(const std::string& endpoint, const std::string& stream,
                                   const py::object& start, const py::object& end,
                                   const py::object& sampling, const py::object& checkpoint,
                                   int width, int height, bool gray, const py::object& access_key,
                                   const py::object& secret_key, const py::object& session_token,
                                   const std::string& region, size_t queue, bool drop,
                                   const py::object& stream_arn, int decode_threads,
                                   const std::string& ca_cert) {
  ConsumerOptions o;
  o.endpoint = endpoint;
  o.stream_name = stream;
  if (!stream_arn.is_none()) {
    o.stream_arn = stream_arn.cast<std::string>();
    o.stream_name.clear();
  }
  o.start = ParseStart(start);
  if (!end.is_none()) o.end_producer_us = Micros(end);
  o.sampling = ParseSampling(sampling);
  if (!checkpoint.is_none()) o.checkpoint_path = py::str(checkpoint).cast<std::string>();
  o.target = {gray ? PixelFormat::kGray : PixelFormat::kBgr, width, height};
  if (!access_key.is_none()) o.access_key = access_key.cast<std::string>();
  if (!secret_key.is_none()) o.secret_key = secret_key.cast<std::string>();
  if (!session_token.is_none()) o.session_token = session_token.cast<std::string>();
  o.region = region;
  o.queue_frames = queue;
  o.overflow = drop ? Overflow::kDrop : Overflow::kBlock;
  o.decode_threads = decode_threads;
  o.ca_cert = ca_cert;
  auto c = Consumer::Open(o);
  if (!c.ok()) Raise(c.status());
  return std::make_unique<Frames>(std::move(*c));
}

}  // namespace
}  // namespace streamarc::frametap

PYBIND11_MODULE(streamarc, m) {
  using namespace streamarc::frametap;
  m.doc() = "streamarc's frame tap: decoded frames of a stream as numpy arrays for OpenCV";
  // Never freed: a static py::object would be released after the interpreter is gone.
  error_type = new py::object(
      py::reinterpret_steal<py::object>(PyErr_NewException("streamarc.Error", nullptr, nullptr)));
  m.attr("Error") = *error_type;

  py::class_<FrameInfo>(m, "FrameInfo")
      .def_property_readonly("producer_timestamp",
                             [](const FrameInfo& i) { return i.producer_timestamp_us / 1e6; })
      .def_property_readonly("server_timestamp",
                             [](const FrameInfo& i) { return i.server_timestamp_us / 1e6; })
      .def_readonly("producer_timestamp_us", &FrameInfo::producer_timestamp_us)
      .def_readonly("server_timestamp_us", &FrameInfo::server_timestamp_us)
      .def_readonly("fragment_number", &FrameInfo::fragment_number)
      .def_readonly("key_frame", &FrameInfo::key_frame)
      .def_readonly("frame_index", &FrameInfo::frame_index)
      .def("__repr__", [](const FrameInfo& i) {
        return "FrameInfo(producer_timestamp=" + std::to_string(i.producer_timestamp_us / 1e6) +
               ", fragment_number='" + i.fragment_number +
               "', key_frame=" + (i.key_frame ? "True" : "False") + ")";
      });

  py::class_<Frames>(m, "Frames")
      .def("__iter__", [](Frames& f) -> Frames& { return f; })
      .def("__next__", &Frames::Next)
      .def("close", &Frames::Close)
      .def("stats", &Frames::Stats)
      .def("__enter__", [](Frames& f) -> Frames& { return f; })
      .def("__exit__", [](Frames& f, const py::args&) { f.Close(); });

  m.def("frames", &OpenFrames, py::arg("endpoint"), py::arg("stream"), py::arg("start") = "NOW",
        py::arg("end") = py::none(), py::arg("sampling") = py::none(),
        py::arg("checkpoint") = py::none(), py::arg("width") = 0, py::arg("height") = 0,
        py::arg("gray") = false, py::arg("access_key") = py::none(),
        py::arg("secret_key") = py::none(), py::arg("session_token") = py::none(),
        py::arg("region") = "us-west-2", py::arg("queue") = 8, py::arg("drop") = false,
        py::arg("stream_arn") = py::none(), py::arg("decode_threads") = 0, py::arg("ca_cert") = "",
        R"(Yields (image, info) for each frame of `stream` from `start` ("NOW", "EARLIEST",
epoch seconds of producer time, or a dict naming another GetMedia start selector) until the
producer time `end` (epoch seconds; None: follow the live stream). `image` is a numpy uint8
array, HxWx3 BGR (HxW with gray=True), `info` a FrameInfo (producer_timestamp,
server_timestamp in epoch seconds, fragment_number, key_frame). sampling: None (every
frame), "key" (key frames only, the rest is not decoded), {"every": N} or {"fps": F}.
checkpoint: a file that keeps the last fragment fully handled; a restart resumes after it.
ca_cert: a PEM file of CA certificates to trust for an https endpoint (default $AWS_CA_BUNDLE,
else the system's).)");
}
