#include "playback/hls_service.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "common/digest.h"
#include "common/mutex.h"
#include "playback/api_error.h"
#include "playback/hls_cache.h"
#include "playback/hls_content.h"
#include "playback/hls_low_latency.h"
#include "playback/hls_placement.h"
#include "playback/hls_playlist.h"
#include "playback/hls_window.h"
#include "playback/live_edge.h"
#include "playback/remux.h"

namespace streamarc::playback {
namespace {

using namespace hls_internal;
using archive::FragmentInfo;
using archive::StreamRef;

// MPEG-TS timestamps are 33 bits at 90 kHz: they wrap every 2^33 / 90000 s. Rebasing every
// fragment onto that period keeps the clock from overflowing the field the way a broadcast
// encoder's does; players know that wrap.
constexpr int64_t kTsWrapMicros = (int64_t{1} << 33) * 1'000'000 / 90'000;
constexpr size_t kMaxLiveWindows = 256;
// How long a LL session reuses its stream's LIVE window (the live edge covers what is newer;
// it keeps about 8 s).
constexpr int64_t kLiveWindowReuseMicros = 500'000;

// A segment request's session: its token checked, and what the query names.
struct Opened {
  SessionParams session;
  SegmentQuery query;
};

class HlsServiceImpl final : public HlsService,
                             public std::enable_shared_from_this<HlsServiceImpl> {
 public:
  HlsServiceImpl(HlsServiceOptions options, archive::Archive& archive, const Clock& clock,
                 Logger& log, PartHub* parts)
      : options_(std::move(options)),
        edge_(MakeEdge(options_, clock, parts)),
        archive_(archive),
        clock_(clock),
        log_(log),
        cache_(options_.cache_entries, options_.cache_bytes),
        placer_(archive, clock, edge_.get()) {}

  Result<std::string, KvsError> CreateSession(SessionKind kind, std::string_view json_body,
                                              std::string_view access_key_id) override {
    auto parsed = ParseSessionRequest(kind, json_body, clock_.NowMicros());
    if (!parsed.ok()) return KvsError{KvsErrorType::kInvalidArgument, parsed.status()};
    SessionRequest& r = *parsed;
    r.params.access_key_id = std::string(access_key_id);
    StreamRef ref =
        r.stream_name.empty() ? StreamRef::Arn(r.stream_arn) : StreamRef::Name(r.stream_name);
    auto info = archive_.DescribeStream(ref);
    if (!info.ok()) return KvsErrorFromStatus(info.status());
    if (info->retention_hours == 0) {
      return Error(KvsErrorType::kNoDataRetention,
                   "The stream " + info->name + " does not retain data");
    }
    r.params.stream_name = info->name;
    auto sample = Representative(r.params);
    if (!sample.ok()) return KvsErrorFromStatus(sample.status());
    if (auto bad = CheckCodecs(sample->track_info)) return *bad;
    const std::string token = EncodeSessionToken(r.params, options_.token_secret);
    log_.Info("hls", "session created",
              {{"stream", info->name},
               {"kind", kind == SessionKind::kHls ? "HLS" : "DASH"},
               {"mode", PlaybackModeName(r.params.mode)}});
    if (kind == SessionKind::kHls) {
      return options_.data_endpoint + "/hls/v1/getHLSMasterPlaylist.m3u8?SessionToken=" + token;
    }
    return options_.data_endpoint + "/dash/v1/getDASHManifest.mpd?SessionToken=" + token;
  }

  Result<Content, KvsError> GetMasterPlaylist(std::string_view query) override {
    Result<Opened, KvsError> o = Open(SessionKind::kHls, query);
    if (!o.ok()) return o.error();
    auto shape = Shape(o->session);
    if (!shape.ok()) return KvsErrorFromStatus(shape.status());
    const std::string token = o->query.token + (LowLatencyOff(query) ? kLowLatencyOff : "");
    return Text(MasterPlaylist(o->session, token, *shape), "application/vnd.apple.mpegurl");
  }

  Result<Content, KvsError> GetMediaPlaylist(std::string_view query) override {
    Result<Opened, KvsError> o = Open(SessionKind::kHls, query);
    if (!o.ok()) return o.error();
    const SessionParams& s = o->session;
    const SegmentQuery& q = o->query;
    if (LowLatency(s, query)) {
      LiveEnd end;
      return LowLatencyPlaylist(s, q, &end);
    }
    auto window = placer_.Select(s, q.token);
    if (!window.ok()) return KvsErrorFromStatus(window.status());
    std::vector<PlaylistEntry> entries = placer_.Entries(s, q.token, *window);
    MediaPlaylistOptions mo;
    mo.track = s.container == ContainerFormat::kMpegTs ? 0 : (q.track ? q.track : 1);
    mo.ended = window->ended;
    placer_.Number(s, q.token, entries, &mo.media_sequence, &mo.discontinuity_sequence);
    return Text(MediaPlaylist(s, q.token, mo, entries), "application/vnd.apple.mpegurl");
  }

  Result<Content, KvsError> GetDashManifest(std::string_view query) override {
    Result<Opened, KvsError> o = Open(SessionKind::kDash, query);
    if (!o.ok()) return o.error();
    const SessionParams& s = o->session;
    const SegmentQuery& q = o->query;
    auto shape = Shape(s);
    if (!shape.ok()) return KvsErrorFromStatus(shape.status());
    auto window = placer_.Select(s, q.token);
    if (!window.ok()) return KvsErrorFromStatus(window.status());
    std::vector<PlaylistEntry> entries = placer_.Entries(s, q.token, *window);
    ManifestOptions mo;
    mo.dynamic = s.mode != PlaybackMode::kOnDemand;
    mo.now_us = clock_.NowMicros();
    if (mo.dynamic &&
        (s.selector == SelectorType::kProducerTimestamp || s.mode == PlaybackMode::kLiveReplay) &&
        !entries.empty()) {
      // The timeline is not wall-clock time: put its newest end at "now", rounded to whole
      // seconds so the value stays put across refreshes.
      const int64_t end = entries.back().start_us + entries.back().duration_us;
      mo.availability_start_us = (mo.now_us - end) / 1'000'000 * 1'000'000;
    }
    return Text(DashManifest(s, q.token, *shape, mo, entries), "application/dash+xml");
  }

  Result<Content, KvsError> GetInitSegment(SessionKind kind, std::string_view query) override {
    Result<Opened, KvsError> o = Open(kind, query);
    if (!o.ok()) return o.error();
    const SegmentQuery& q = o->query;
    if (q.init_id.empty()) return Error(KvsErrorType::kMissingParameter, "InitId is required");
    const uint64_t track = q.track ? q.track : 1;
    auto header = placer_.FindHeader(o->session, q.token, q.init_id);
    if (!header.ok()) return SegmentError(header.status());
    auto bytes = cache_.GetOrMake("init|" + q.init_id + "|" + std::to_string(track), [&] {
      return Fmp4InitSegment(*header, TrackSelection{{track}});
    });
    if (!bytes.ok()) return PackagingError(bytes.status());
    return Segment(std::move(bytes).value(), "video/mp4", o->session.stream_name, 0);
  }

  Result<Content, KvsError> GetMediaSegment(SessionKind kind, ContainerFormat format,
                                            std::string_view query) override {
    Result<Opened, KvsError> o = Open(kind, query);
    if (!o.ok()) return o.error();
    const SessionParams& s = o->session;
    const SegmentQuery& q = o->query;
    auto placed = placer_.FindFragment(s, q, LowLatency(s, ""));
    if (!placed.ok()) return SegmentError(placed.status());
    const FragmentInfo* info = &placed->info;
    const uint64_t track = format == ContainerFormat::kMpegTs ? 0 : (q.track ? q.track : 1);
    // Where the session's playlist placed it: the media's times must agree with the timeline.
    const int64_t ts = placed->start_us;
    const std::string key = info->number + "|" + std::to_string(track) + "|" +
                            (format == ContainerFormat::kMpegTs ? "ts" : "mp4") + "|" +
                            std::to_string(ts);
    const StreamRef ref = StreamRef::Name(s.stream_name);
    auto bytes = cache_.GetOrMake(key, [&]() -> Result<std::string> {
      std::string stored;
      if (!placed->cluster) {
        ASSIGN_OR_RETURN(stored, archive_.ReadFragment(ref, info->number));
      }
      MkvFragment f{info->track_info, placed->cluster ? *placed->cluster : stored, ts};
      TrackSelection sel;
      if (track) {
        sel.tracks.push_back(track);
      } else {
        ASSIGN_OR_RETURN(sel, Packageable(info->track_info));
      }
      if (format == ContainerFormat::kMpegTs) {
        f.start_us = ((ts % kTsWrapMicros) + kTsWrapMicros) % kTsWrapMicros;
        return TsSegment(f, sel);
      }
      // mfhd's sequence number only needs to grow along the timeline.
      return Fmp4MediaSegment(f, sel, static_cast<uint32_t>(ts / 1000));
    });
    // A fragment retention removed since the lookup reads as kNotFound: ResourceNotFound.
    if (!bytes.ok()) return PackagingError(bytes.status());
    return Segment(std::move(bytes).value(),
                   format == ContainerFormat::kMpegTs ? "video/MP2T" : "video/mp4", s.stream_name,
                   // fMP4 serves a fragment once per track: count it with its first track.
                   track <= 1 ? 1 : 0);
  }

  void GetMediaPlaylist(std::string_view query, std::shared_ptr<Responder> out) override {
    AnswerPlaylist(std::string(query), out, std::nullopt);
  }

  void GetPartSegment(std::string_view query, std::shared_ptr<Responder> out) override {
    AnswerPart(std::string(query), out, std::nullopt);
  }

  void Shutdown() override {
    if (edge_) edge_->Shutdown();
  }

 private:
  static std::shared_ptr<LiveEdge> MakeEdge(const HlsServiceOptions& options, const Clock& clock,
                                            PartHub* parts) {
    if (!parts || !options.low_latency) return nullptr;
    LiveEdgeOptions eo;
    eo.part_target_us = options.part_target_us;
    return std::make_shared<LiveEdge>(*parts, clock, eo, options.submit);
  }

  // LL-HLS: LIVE fMP4 HLS sessions, unless the server or the session (LowLatency=0) said no.
  bool LowLatency(const SessionParams& s, std::string_view query) const {
    return edge_ && s.kind == SessionKind::kHls && s.mode == PlaybackMode::kLive &&
           s.container == ContainerFormat::kFragmentedMp4 && !LowLatencyOff(query);
  }

  // A parked request's timeout: three target durations (the spec's bound for blocking
  // reloads), counted from its first arrival, however often it is parked again.
  int64_t Deadline(int64_t target_duration_us) const {
    return clock_.MonotonicMicros() + 3 * target_duration_us;
  }

  // Parks `out` on the edge until `want`; `again` then runs on a worker (submit). Answers 503
  // when `deadline_us` (monotonic) passes first.
  void Park(const std::string& stream, const EdgeWant& want, int64_t deadline_us,
            const std::shared_ptr<Responder>& out, std::function<void()> again) {
    auto waiter = std::make_shared<EdgeWaiter>(std::move(again), [out] {
      out->Send(Error(KvsErrorType::kServiceUnavailable, "the server is busy or stopping"));
    });
    // The timer holds `out` weakly: a responder may own its timers, and while the request is
    // parked the waiter's closures keep `out` alive anyway.
    std::weak_ptr<Responder> weak_out = out;
    out->PostAfter(std::max<int64_t>(deadline_us - clock_.MonotonicMicros(), 0),
                   [waiter, weak_out] {
                     if (!waiter->Claim()) return;
                     // Locked before Release: the waiter's closures may be all that hold it.
                     std::shared_ptr<Responder> o = weak_out.lock();
                     waiter->Release();
                     if (o) {
                       o->Send(Error(KvsErrorType::kServiceUnavailable,
                                     "the requested part did not arrive within three target "
                                     "durations"));
                     }
                   });
    edge_->Park(stream, want, waiter);
  }

  void AnswerPlaylist(const std::string& query, const std::shared_ptr<Responder>& out,
                      std::optional<int64_t> deadline_us) {
    Result<Opened, KvsError> o = Open(SessionKind::kHls, query);
    if (!o.ok()) return out->Send(o.error());
    if (!LowLatency(o->session, query)) return out->Send(GetMediaPlaylist(query));
    auto blocking = ParseBlockingRequest(query);
    if (!blocking.ok()) {
      return out->Send(KvsError{KvsErrorType::kInvalidArgument, blocking.status()});
    }
    LiveEnd end;
    int64_t target_us = 0;
    Result<Content, KvsError> playlist = LowLatencyPlaylist(o->session, o->query, &end, &target_us);
    if (!playlist.ok()) return out->Send(std::move(playlist));
    const uint32_t per_segment = static_cast<uint32_t>(
        std::max<int64_t>(1, target_us / std::max<int64_t>(options_.part_target_us, 1)));
    const Decision d = Decide(*blocking, end, options_.part_target_us, per_segment);
    if (d.verdict == Verdict::kNow) return out->Send(std::move(playlist));
    if (d.verdict == Verdict::kTooFar) {
      return out->Send(Error(KvsErrorType::kInvalidArgument,
                             "_HLS_msn/_HLS_part is too far ahead of the live edge"));
    }
    const int64_t deadline = deadline_us.value_or(Deadline(target_us));
    if (clock_.MonotonicMicros() >= deadline) {
      return out->Send(Error(KvsErrorType::kServiceUnavailable,
                             "the requested segment did not arrive within three target durations"));
    }
    auto self = shared_from_this();
    Park(o->session.stream_name, d.want, deadline, out,
         [self, query, out, deadline] { self->AnswerPlaylist(query, out, deadline); });
  }

  void AnswerPart(const std::string& query, const std::shared_ptr<Responder>& out,
                  std::optional<int64_t> deadline_us) {
    Result<Opened, KvsError> o = Open(SessionKind::kHls, query);
    if (!o.ok()) return out->Send(o.error());
    const SessionParams& s = o->session;
    if (!LowLatency(s, query)) {
      return out->Send(Error(KvsErrorType::kInvalidArgument, "not a low-latency HLS session"));
    }
    auto address = ParsePartAddress(query);
    if (!address.ok()) return out->Send(KvsError{KvsErrorType::kInvalidArgument, address.status()});
    const EdgeView view = edge_->Follow(s.stream_name);
    const EdgeWant want{address->fragment_id, address->part};
    for (const EdgeFragmentPtr& f : view.fragments) {
      if (f->id == address->fragment_id && address->part < f->parts.size()) {
        return out->Send(ServePart(s, o->query, *f, f->parts[address->part]));
      }
    }
    // Not there: wait only for what is coming next (the preload hint and a few parts on);
    // anything else is gone or never existed.
    const bool coming = !Reached(view, want) && address->fragment_id + 1 >= view.next_id &&
                        address->fragment_id <= view.next_id &&
                        address->part < AdvancePartLimit(options_.part_target_us);
    if (!coming) return out->Send(Error(KvsErrorType::kResourceNotFound, "no such part"));
    const int64_t deadline = deadline_us.value_or(Deadline(4 * options_.part_target_us));
    if (clock_.MonotonicMicros() >= deadline) {
      return out->Send(Error(KvsErrorType::kServiceUnavailable, "the part did not arrive"));
    }
    auto self = shared_from_this();
    Park(s.stream_name, want, deadline, out,
         [self, query, out, deadline] { self->AnswerPart(query, out, deadline); });
  }

  // One part as fMP4 (moof+mdat), on the session's timeline where its fragment is placed.
  Result<Content, KvsError> ServePart(const SessionParams& s, const SegmentQuery& q,
                                      const EdgeFragment& f, const CutPart& part) {
    const uint64_t track = q.track ? q.track : 1;
    const std::string name = f.complete ? f.number : "~" + std::to_string(f.id);
    std::optional<int64_t> placed = placer_.StartOf(q.token, name);
    if (!placed && f.complete) placed = placer_.StartOf(q.token, "~" + std::to_string(f.id));
    const int64_t start = placed.value_or(EdgeTime(f, s.selector)) + part.offset_us;
    const std::string key = "part|" + s.stream_name + "|" + std::to_string(f.id) + "|" +
                            std::to_string(part.index) + "|" + std::to_string(track) + "|" +
                            std::to_string(start);
    auto bytes = cache_.GetOrMake(key, [&]() -> Result<std::string> {
      return Fmp4MediaSegment(MkvFragment{*f.header, *part.cluster, start}, TrackSelection{{track}},
                              static_cast<uint32_t>(start / 1000));
    });
    if (!bytes.ok()) return PackagingError(bytes.status());
    return Segment(std::move(bytes).value(), "video/mp4", s.stream_name, 0);
  }

  // The LL media playlist: the archive's window extended with the live edge, the newest
  // segments' parts, and the preload hint. *end: where it ends (for blocking reloads);
  // *target_us: its target duration.
  Result<Content, KvsError> LowLatencyPlaylist(const SessionParams& s, const SegmentQuery& q,
                                               LiveEnd* end, int64_t* target_us = nullptr) {
    auto window = LiveArchiveWindow(s, q.token);
    if (!window.ok()) return KvsErrorFromStatus(window.status());
    const EdgeView view = edge_->Follow(s.stream_name);
    LiveWindow lw =
        MergeEdge(std::move(window).value(), view, s.selector, static_cast<size_t>(s.max_results));
    std::vector<PlaylistEntry> entries = placer_.Entries(s, q.token, lw.window);
    MediaPlaylistOptions mo;
    mo.track = q.track ? q.track : 1;
    placer_.Number(s, q.token, entries, &mo.media_sequence, &mo.discontinuity_sequence);
    int64_t longest_us = 1'000'000;
    for (const PlaylistEntry& e : entries) longest_us = std::max(longest_us, e.duration_us);
    const int64_t target = (longest_us + 999'999) / 1'000'000 * 1'000'000;
    if (target_us) *target_us = target;
    LowLatencyOptions ll = ListParts(entries, lw, options_.part_target_us, target);
    mo.low_latency = &ll;
    end->msn = mo.media_sequence + (entries.empty() ? 0 : entries.size() - 1);
    end->parts = entries.empty() ? 0 : static_cast<uint32_t>(ll.parts.back().size());
    end->open = lw.last_open;
    end->fragment_id = lw.end_fragment_id;
    return Text(MediaPlaylist(s, q.token, mo, entries), "application/vnd.apple.mpegurl");
  }

  // The archive's LIVE window of a LL session, shared by the stream's sessions for a moment:
  // a blocking reload wakes every viewer at once, and the edge (MergeEdge) covers what the
  // archive gained since, so they need not each query the index.
  Result<Window> LiveArchiveWindow(const SessionParams& s, const std::string& token) {
    const std::string key = s.stream_name + "|" + std::to_string(s.max_results);
    const int64_t now = clock_.MonotonicMicros();
    {
      MutexLock lock(live_mu_);
      auto it = live_windows_.find(key);
      if (it != live_windows_.end() && now - it->second.first < kLiveWindowReuseMicros) {
        return it->second.second;
      }
    }
    ASSIGN_OR_RETURN(Window w, placer_.Select(s, token));
    MutexLock lock(live_mu_);
    if (live_windows_.size() > kMaxLiveWindows) live_windows_.clear();
    live_windows_[key] = {now, w};
    return w;
  }

  // Checks the token of a GET under /hls/v1/ or /dash/v1/.
  Result<Opened, KvsError> Open(SessionKind kind, std::string_view query) {
    auto q = ParseSegmentQuery(query);
    if (!q.ok()) {
      const bool missing = q.status().message().find("SessionToken") != std::string::npos;
      return KvsError{missing ? KvsErrorType::kMissingParameter : KvsErrorType::kInvalidArgument,
                      q.status()};
    }
    auto session = DecodeSessionToken(q->token, options_.token_secret, clock_.NowMicros());
    if (!session.ok()) return KvsError{KvsErrorType::kNotAuthorized, session.status()};
    if (session->kind != kind) {
      return Error(KvsErrorType::kInvalidArgument,
                   "The session token belongs to another kind of session");
    }
    // The key that made the session must still be there, and still may read the stream.
    if (options_.check_key) {
      Status allowed = options_.check_key(session->access_key_id, session->stream_name);
      if (!allowed.ok()) return KvsError{KvsErrorType::kNotAuthorized, std::move(allowed)};
    }
    return Opened{std::move(session).value(), std::move(q).value()};
  }

  // A segment or init request's refusal: a fragment outside the session (kPermissionDenied)
  // is refused as a bad token is; the rest as KVS maps them.
  static KvsError SegmentError(const Status& status) {
    if (status.code() == Code::kPermissionDenied) return {KvsErrorType::kNotAuthorized, status};
    return KvsErrorFromStatus(status);
  }

  // A fragment the session can play, for its codecs: the newest for LIVE, else the first in
  // range. kNotFound when there is none (KVS answers ResourceNotFoundException).
  Result<FragmentInfo> Representative(const SessionParams& s) {
    const StreamRef ref = StreamRef::Name(s.stream_name);
    if (s.mode == PlaybackMode::kLive) {
      auto latest = archive_.Latest(ref);
      if (!latest.ok() && latest.status().code() == Code::kNotFound) {
        return NotFound("No fragments found in the stream " + s.stream_name);
      }
      return latest;
    }
    auto first = archive_.FirstAtOrAfter(ref, ArchiveType(s.selector), s.start_us);
    if ((!first.ok() && first.status().code() == Code::kNotFound) ||
        (first.ok() && s.has_end && SelectorTime(*first, s.selector) > s.end_us)) {
      return NotFound("No fragments found in the requested time range");
    }
    return first;
  }

  Result<StreamShape> Shape(const SessionParams& s) {
    ASSIGN_OR_RETURN(FragmentInfo f, Representative(s));
    StreamShape shape;
    ASSIGN_OR_RETURN(std::vector<TrackDescription> tracks, DescribeTracks(f.track_info));
    for (const TrackDescription& t : tracks) {
      if (CheckPackageable(t).ok()) shape.tracks.push_back(t);
    }
    if (f.duration_us > 0) {
      // Peak rate with headroom: one fragment says little about the rest.
      shape.bandwidth = static_cast<int64_t>(f.size_bytes) * 8 * 1'000'000 / f.duration_us * 3 / 2;
    }
    return shape;
  }

  const HlsServiceOptions options_;
  std::shared_ptr<LiveEdge> edge_;  // null: no LL-HLS
  Mutex live_mu_;
  // "stream|max_results" -> (when, LIVE window), bounded.
  std::map<std::string, std::pair<int64_t, Window>> live_windows_ GUARDED_BY(live_mu_);
  archive::Archive& archive_;
  const Clock& clock_;
  Logger& log_;
  SegmentCache cache_;
  SessionPlacer placer_;
};

}  // namespace

std::shared_ptr<HlsService> NewHlsService(HlsServiceOptions options, archive::Archive& archive,
                                          const Clock& clock, Logger& log, PartHub* parts) {
  return std::make_shared<HlsServiceImpl>(std::move(options), archive, clock, log, parts);
}

}  // namespace streamarc::playback
