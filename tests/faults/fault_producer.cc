#include "tests/faults/fault_producer.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "common/clock.h"
#include "common/mkv.h"
#include "producer-sdk/http.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/subprocess.h"

namespace streamarc::faults {

producer::ClientOptions ClientFor(const std::string& url) {
  producer::ClientOptions o;
  o.endpoint = url;
  o.credentials = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  o.connect_timeout_ms = 1'000;
  return o;
}

producer::StreamOptions CameraOptions() {
  producer::StreamOptions so;
  so.fragment_duration_ms = 500;
  so.retry_min_ms = 20;
  so.retry_max_ms = 200;
  so.storage_bytes = 64u << 20;
  return so;
}

using producer::AckType;

namespace {

// Annex-B to Matroska's form, written apart from the SDK so the check does not share its
// bugs: each NAL unit (start code and trailing zero bytes removed) behind its 4-byte length.
std::string LengthPrefixed(const std::vector<uint8_t>& annexb) {
  std::vector<std::pair<size_t, size_t>> units;  // [begin, end)
  const size_t n = annexb.size();
  size_t begin = std::string::npos;
  for (size_t i = 0; i + 2 < n;) {
    if (annexb[i] == 0 && annexb[i + 1] == 0 && annexb[i + 2] == 1) {
      if (begin != std::string::npos) units.push_back({begin, i});
      begin = i + 3;
      i += 3;
    } else {
      ++i;
    }
  }
  if (begin != std::string::npos) units.push_back({begin, n});
  std::string out;
  for (auto [b, e] : units) {
    while (e > b && annexb[e - 1] == 0) --e;  // the next start code's leading zero, padding
    if (e == b) continue;
    const uint32_t len = static_cast<uint32_t>(e - b);
    out.push_back(static_cast<char>(len >> 24));
    out.push_back(static_cast<char>(len >> 16));
    out.push_back(static_cast<char>(len >> 8));
    out.push_back(static_cast<char>(len));
    out.append(reinterpret_cast<const char*>(annexb.data() + b), e - b);
  }
  return out;
}

class FrameCollector : public mkv::ReaderHandler {
 public:
  Status OnFrame(const mkv::Frame& f) override {
    if (f.track == 1) {
      frames.push_back({f.timecode, f.key, std::string(f.data.begin(), f.data.end())});
    }
    return Status::Ok();
  }
  std::vector<ReadFrame> frames;
};

int64_t SecondsToMs(const nlohmann::json& v) {
  return v.is_number() ? std::llround(v.get<double>() * 1000.0) : -1;
}

// At most this many failures of one kind are reported in full; the rest only counted.
constexpr size_t kReportEach = 5;

}  // namespace

Result<Source> MakeSource(int seconds, int fps, int gop, const std::string& size,
                          const std::string& bitrate) {
  producer_test::MediaSpec spec;
  spec.seconds = seconds;
  spec.fps = fps;
  spec.gop = gop;
  spec.size = size;
  spec.bitrate = bitrate;
  ASSIGN_OR_RETURN(auto frames, producer_test::MakeAnnexBFrames("", spec));
  if (frames.empty() || !frames.front().key) return Internal("no frames, or no key frame first");
  Source s;
  s.frame_ms = 1000 / fps;
  s.loop_ms = static_cast<int64_t>(frames.size()) * s.frame_ms;
  for (const auto& f : frames) {
    if (f.pts_ms < 0 || f.pts_ms >= s.loop_ms) return Internal("a frame outside one pass");
    s.stored.push_back(LengthPrefixed(f.annexb));
  }
  s.frames = std::move(frames);
  return s;
}

Status AddAudio(Source* source) {
  testing::TempDir dir;
  ASSIGN_OR_RETURN(producer_test::AacInput aac,
                   producer_test::MakeAacFrames(dir.path(), source->loop_ms / 1000 + 1));
  if (aac.sample_rate <= 0) return Internal("AAC without a sample rate");
  // One pass exactly: the units that start within it.
  const auto starts_at_us = [&](size_t i) {
    return static_cast<int64_t>(i) * 1024 * 1'000'000 / aac.sample_rate;
  };
  size_t n = 0;
  while (n < aac.frames.size() && starts_at_us(n) < source->loop_ms * 1000) ++n;
  aac.frames.resize(n);
  source->audio = std::move(aac);
  return Status::Ok();
}

FaultProducer::FaultProducer(const Source& source, std::string stream_name, bool with_audio)
    : source_(source), name_(std::move(stream_name)), with_audio_(with_audio) {}

FaultProducer::~FaultProducer() {
  StopPutting();
  if (stream_) (void)stream_->Stop(0);
}

Status FaultProducer::Start(const producer::ClientOptions& client, producer::StreamOptions options,
                            int64_t base_ms, int speed) {
  ASSIGN_OR_RETURN(client_, producer::Client::Create(client));
  options.name = name_;
  if (with_audio_) {
    if (source_.audio.frames.empty()) return FailedPrecondition("the source has no audio");
    producer::TrackConfig a;
    a.number = 2;
    a.codec = producer::Codec::kAac;
    a.name = "audio";
    a.codec_private = source_.audio.asc;
    a.sample_rate = source_.audio.sample_rate;
    a.channels = source_.audio.channels;
    options.tracks.resize(1);
    options.tracks.push_back(a);
    options.media_type = "video/h264,audio/aac";
  }
  ASSIGN_OR_RETURN(stream_, client_->OpenStream(options, this));
  if (base_ms == 0) base_ms = SystemClock().NowMicros() / 1000;
  thread_ = std::thread([this, base_ms, speed] { Run(base_ms, speed); });
  return Status::Ok();
}

// Real time (or `speed` times it): frame k goes in k frame-times after the start (a pace, not an
// ordering: nothing waits on it). Timestamps are absolute, so the stored timecodes are exactly
// these.
void FaultProducer::Run(int64_t base_ms, int speed) {
  const auto start = std::chrono::steady_clock::now();
  const auto& aac = source_.audio;
  const int64_t audio_per_loop = with_audio_ ? static_cast<int64_t>(aac.frames.size()) : 0;
  int64_t a = 0;            // the next audio unit, counted over all passes
  int64_t video_until = 0;  // the latest video time put (B-frames come out of order)
  for (int64_t k = 0; !stop_; ++k) {
    const size_t i = static_cast<size_t>(k) % source_.frames.size();
    const int64_t loop = k / static_cast<int64_t>(source_.frames.size());
    const auto& in = source_.frames[i];
    std::this_thread::sleep_until(start +
                                  std::chrono::microseconds(k * source_.frame_ms * 1000 / speed));
    producer::Frame f;
    f.pts_us = (base_ms + loop * source_.loop_ms + in.pts_ms) * 1000;
    f.dts_us = f.pts_us;
    f.duration_us = source_.frame_ms * 1000;
    f.key_frame = in.key;
    f.data = in.annexb;
    Status s = stream_->PutFrame(f);
    if (!s.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      put_status_ = s;
      return;
    }
    sent_[f.pts_us / 1000] = i;
    video_until = std::max(video_until, f.pts_us);
    // Sound up to the latest video time, as a muxer interleaves it.
    while (audio_per_loop > 0) {
      const int64_t at_us = (base_ms + a / audio_per_loop * source_.loop_ms) * 1000 +
                            a % audio_per_loop * 1024 * 1'000'000 / aac.sample_rate;
      if (at_us > video_until) break;
      producer::Frame af;
      af.track = 2;
      af.pts_us = at_us;
      af.dts_us = at_us;
      af.duration_us = int64_t{1024} * 1'000'000 / aac.sample_rate;
      af.key_frame = true;
      af.data = aac.frames[static_cast<size_t>(a % audio_per_loop)];
      Status as = stream_->PutFrame(af);
      if (!as.ok()) {
        std::lock_guard<std::mutex> l(mu_);
        put_status_ = as;
        return;
      }
      ++a;
    }
  }
}

void FaultProducer::StopPutting() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

Status FaultProducer::Finish(int64_t timeout_ms) {
  StopPutting();
  if (!stream_) return FailedPrecondition("not started");
  return stream_->Stop(timeout_ms);
}

void FaultProducer::OnFragmentAck(const producer::FragmentAck& a) {
  std::lock_guard<std::mutex> l(mu_);
  if (a.type == AckType::kPersisted) acks_.push_back({a.fragment_number, a.timecode});
  if (a.type == AckType::kError) error_acks_.push_back(a);
  cv_.notify_all();
}

void FaultProducer::OnStreamError(const Status& s) {
  std::lock_guard<std::mutex> l(mu_);
  stream_errors_.push_back(s);
  cv_.notify_all();
}

bool FaultProducer::WaitForPersisted(size_t count, std::chrono::milliseconds deadline) {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, deadline, [&] { return acks_.size() > count; });
}

bool FaultProducer::WaitForErrors(size_t count, std::chrono::milliseconds deadline) {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, deadline, [&] { return error_acks_.size() > count; });
}

size_t FaultProducer::persisted() const {
  std::lock_guard<std::mutex> l(mu_);
  return acks_.size();
}
size_t FaultProducer::errors() const {
  std::lock_guard<std::mutex> l(mu_);
  return error_acks_.size();
}
std::vector<AckRecord> FaultProducer::acks() const {
  std::lock_guard<std::mutex> l(mu_);
  return acks_;
}
std::vector<producer::FragmentAck> FaultProducer::error_acks() const {
  std::lock_guard<std::mutex> l(mu_);
  return error_acks_;
}
std::vector<Status> FaultProducer::stream_errors() const {
  std::lock_guard<std::mutex> l(mu_);
  return stream_errors_;
}
Status FaultProducer::put_status() const {
  std::lock_guard<std::mutex> l(mu_);
  return put_status_;
}
producer::StreamStats FaultProducer::stats() const {
  return stream_ ? stream_->stats() : producer::StreamStats{};
}

std::vector<ReadFragment> ReadStream(const std::string& server_url, const std::string& stream) {
  std::vector<ReadFragment> out;
  for (const nlohmann::json& f : testing::ListAllFragments(server_url, stream)) {
    ReadFragment r;
    r.number = f.value("FragmentNumber", "");
    r.producer_ms = SecondsToMs(f.value("ProducerTimestamp", nlohmann::json()));
    r.server_ms = SecondsToMs(f.value("ServerTimestamp", nlohmann::json()));
    r.size = f.value("FragmentSizeInBytes", uint64_t{0});
    out.push_back(std::move(r));
  }
  // The server does not check signatures without access keys; the SDK's POST signs anyway.
  const producer::SignContext sign{"us-west-2", {"AKIDEXAMPLE", "x", ""}, "fault-test"};
  for (ReadFragment& r : out) {
    const nlohmann::json req = {{"StreamName", stream}, {"Fragments", {r.number}}};
    auto resp = producer::PostJson(server_url, "/getMediaForFragmentList", req.dump(), sign, 5'000,
                                   30'000, SystemClock().NowMicros());
    if (!resp.ok()) {
      r.error = resp.status().ToString();
      continue;
    }
    if (resp->status != 200) {
      r.error = "HTTP " + std::to_string(resp->status) + ": " + resp->body.substr(0, 300);
      continue;
    }
    FrameCollector c;
    mkv::Reader reader(c);
    Status s =
        reader.Feed({reinterpret_cast<const uint8_t*>(resp->body.data()), resp->body.size()});
    if (s.ok()) s = reader.Finish();
    if (!s.ok()) {
      r.error = "unparsable: " + s.ToString();
      continue;
    }
    r.frames = std::move(c.frames);
  }
  std::sort(out.begin(), out.end(), [](const ReadFragment& a, const ReadFragment& b) {
    return a.producer_ms != b.producer_ms ? a.producer_ms < b.producer_ms : a.number < b.number;
  });
  return out;
}

Tally CheckStream(const FaultProducer& p, const std::vector<ReadFragment>& stored,
                  bool allow_evicted_prefix) {
  SCOPED_TRACE("stream " + p.name());
  Tally t;
  t.fragments = stored.size();
  const Source& src = p.source();
  const auto& sent = p.sent();

  // The index.
  std::map<std::string, const ReadFragment*> by_number;
  for (size_t i = 0; i < stored.size(); ++i) {
    const ReadFragment& f = stored[i];
    if (!by_number.emplace(f.number, &f).second) {
      ++t.index_errors;
      ADD_FAILURE() << "fragment number " << f.number << " listed twice";
    }
    if (!f.error.empty()) {
      ++t.index_errors;
      if (t.index_errors <= kReportEach) {
        ADD_FAILURE() << "listed fragment " << f.number << " cannot be read: " << f.error;
      }
      continue;
    }
    if (f.frames.empty() || !f.frames.front().key) {
      ++t.index_errors;
      if (t.index_errors <= kReportEach) {
        ADD_FAILURE() << "fragment " << f.number << " is empty or does not start with a key";
      }
      continue;
    }
    int64_t lo = f.frames.front().timecode_ms, hi = lo;
    for (const ReadFrame& fr : f.frames) {
      lo = std::min(lo, fr.timecode_ms);
      hi = std::max(hi, fr.timecode_ms);
    }
    if (f.producer_ms != lo) {
      ++t.index_errors;
      if (t.index_errors <= kReportEach) {
        ADD_FAILURE() << "fragment " << f.number << " listed at " << f.producer_ms
                      << " ms holds frames from " << lo << " ms";
      }
    }
    if (i + 1 < stored.size() && stored[i + 1].producer_ms <= hi) {
      ++t.index_errors;
      if (t.index_errors <= kReportEach) {
        ADD_FAILURE() << "fragment " << f.number << " [" << lo << ", " << hi << "] ms overlaps "
                      << stored[i + 1].number << " from " << stored[i + 1].producer_ms;
      }
    }
  }

  // The frames, byte for byte, each once.
  std::set<int64_t> seen;
  std::set<std::string> bad;  // fragments holding a frame that is not what was put
  for (const ReadFragment& f : stored) {
    for (const ReadFrame& fr : f.frames) {
      ++t.frames_checked;
      if (!seen.insert(fr.timecode_ms).second) {
        bad.insert(f.number);
        if (++t.frames_duplicated <= kReportEach) {
          ADD_FAILURE() << "frame at " << fr.timecode_ms << " ms stored twice (fragment "
                        << f.number << ")";
        }
        continue;
      }
      auto it = sent.find(fr.timecode_ms);
      const bool same = it != sent.end() && src.stored[it->second] == fr.data &&
                        src.frames[it->second].key == fr.key;
      if (same) continue;
      bad.insert(f.number);
      if (++t.frames_wrong <= kReportEach) {
        ADD_FAILURE() << "frame at " << fr.timecode_ms << " ms in fragment " << f.number
                      << (it == sent.end() ? " was never put" : " differs from what was put");
      }
    }
  }
  const int64_t first_ms = stored.empty() ? INT64_MAX : stored.front().producer_ms;
  if (!allow_evicted_prefix && !sent.empty() && first_ms != sent.begin()->first) {
    ADD_FAILURE() << "the first frame put (" << sent.begin()->first
                  << " ms) is not the start of the first stored fragment (" << first_ms << ")";
  }
  for (const auto& [tc, i] : sent) {
    if (tc >= first_ms && !seen.count(tc) && ++t.frames_missing <= kReportEach) {
      ADD_FAILURE() << "frame at " << tc << " ms (source frame " << i << ") was put, not stored";
    }
  }

  // Every PERSISTED ack: stored, at the timestamp acknowledged, and its frames all right
  // (checked above). One fragment per acknowledged timestamp.
  std::map<int64_t, std::string> acked;
  for (const AckRecord& a : p.acks()) {
    auto [it, fresh] = acked.emplace(a.timecode_ms, a.number);
    if (!fresh && it->second != a.number) {
      ++t.acked_lost;
      ADD_FAILURE() << "timestamp " << a.timecode_ms << " acknowledged as " << it->second
                    << " and as " << a.number << ": stored twice";
    }
  }
  t.acked = acked.size();
  for (const auto& [tc, number] : acked) {
    auto it = by_number.find(number);
    if (it == by_number.end()) {
      if (allow_evicted_prefix && tc < first_ms) {
        ++t.evicted;
      } else if (++t.acked_lost <= kReportEach) {
        ADD_FAILURE() << "acknowledged fragment " << number << " at " << tc << " ms is gone";
      }
      continue;
    }
    if (it->second->producer_ms != tc || !it->second->error.empty() || bad.count(number)) {
      if (++t.acked_lost <= kReportEach) {
        ADD_FAILURE() << "acknowledged fragment " << number << " at " << tc << " ms is listed at "
                      << it->second->producer_ms << " ms, "
                      << (bad.count(number) ? "with wrong frames " : "") << it->second->error;
      }
    }
  }
  return t;
}

}  // namespace streamarc::faults
