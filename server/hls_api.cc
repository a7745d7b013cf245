#include "server/hls_api.h"

#include <openssl/evp.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "playback/hls.h"
#include "playback/hls_cache.h"
#include "playback/hls_playlist.h"
#include "playback/remux.h"
#include "server/http_range.h"

namespace streamarc::server {
namespace {

using archive::FragmentInfo;
using archive::StreamRef;
using archive::TimestampType;
using namespace streamarc::playback;

constexpr size_t kCacheEntries = 512;
constexpr size_t kCacheBytes = 256u << 20;
// MPEG-TS timestamps are 33 bits at 90 kHz: they wrap every 2^33 / 90000 s. Rebasing every
// fragment onto that period keeps the clock from overflowing the field the way a broadcast
// encoder's does; players know that wrap.
constexpr int64_t kTsWrapMicros = (int64_t{1} << 33) * 1'000'000 / 90'000;
// Live windows are looked up by time, widening from this guess of a fragment's length.
constexpr int64_t kWindowGuessMicros = 4'000'000;
constexpr int64_t kLiveSequenceStepMicros = 10'000;  // see LiveSequencer's floor

const std::vector<Header> kCors = {
    {"access-control-allow-origin", "*"},
    {"access-control-expose-headers", "Content-Length, Content-Range, Accept-Ranges"}};

HttpResponse WithCors(HttpResponse r) {
  r.headers.insert(r.headers.end(), kCors.begin(), kCors.end());
  return r;
}

TimestampType ArchiveType(SelectorType s) {
  return s == SelectorType::kProducerTimestamp ? TimestampType::kProducer : TimestampType::kServer;
}

int64_t Ts(const FragmentInfo& f, SelectorType s) {
  return s == SelectorType::kProducerTimestamp ? f.producer_timestamp_us : f.server_timestamp_us;
}

// Names a header in init URLs: the first 8 bytes of its SHA-256, in hex.
std::string HeaderId(std::string_view header) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(header.data(), header.size(), md, &len, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned i = 0; i < 8 && i < len; ++i) {
    id += kHex[md[i] >> 4];
    id += kHex[md[i] & 15];
  }
  return id;
}

// What a playlist shows: fragments ascending, with the one just before them for context.
struct Window {
  std::vector<FragmentInfo> fragments;
  std::optional<FragmentInfo> previous;
  bool ended = false;
};

class HlsService {
 public:
  explicit HlsService(const ApiContext& ctx) : ctx_(ctx), cache_(kCacheEntries, kCacheBytes) {}

  HttpResponse CreateSession(SessionKind kind, const HttpRequest& req) {
    const int64_t now = ctx_.clock.NowMicros();
    auto parsed = ParseSessionRequest(kind, req.body, now);
    if (!parsed.ok()) return KvsError(400, "InvalidArgumentException", parsed.status().message());
    SessionRequest& r = *parsed;
    StreamRef ref =
        r.stream_name.empty() ? StreamRef::Arn(r.stream_arn) : StreamRef::Name(r.stream_name);
    auto info = ctx_.archive.DescribeStream(ref);
    if (!info.ok()) return KvsErrorFromStatus(info.status());
    if (info->retention_hours == 0) {
      return KvsError(400, "NoDataRetentionException",
                      "The stream " + info->name + " does not retain data");
    }
    r.params.stream_name = info->name;
    auto sample = Representative(r.params);
    if (!sample.ok()) return KvsErrorFromStatus(sample.status());
    if (HttpResponse bad = CheckCodecs(sample->track_info); bad.status != 200) return bad;
    const std::string token = EncodeSessionToken(r.params, ctx_.token_secret);
    nlohmann::json j;
    if (kind == SessionKind::kHls) {
      j["HLSStreamingSessionURL"] =
          ctx_.data_endpoint + "/hls/v1/getHLSMasterPlaylist.m3u8?SessionToken=" + token;
    } else {
      j["DASHStreamingSessionURL"] =
          ctx_.data_endpoint + "/dash/v1/getDASHManifest.mpd?SessionToken=" + token;
    }
    ctx_.log.Info("hls", "session created",
                  {{"stream", info->name},
                   {"kind", kind == SessionKind::kHls ? "HLS" : "DASH"},
                   {"mode", PlaybackModeName(r.params.mode)}});
    return JsonOk(j.dump());
  }

  // A GET under /hls/v1/ or /dash/v1/: the token checked, then `serve`.
  template <typename Serve>
  HttpResponse Get(SessionKind kind, const HttpRequest& req, Serve serve) {
    auto q = ParseSegmentQuery(req.query);
    if (!q.ok()) {
      return WithCors(KvsError(400,
                               q.status().message().find("SessionToken") != std::string::npos
                                   ? "MissingParameter"
                                   : "InvalidArgumentException",
                               q.status().message()));
    }
    auto session = DecodeSessionToken(q->token, ctx_.token_secret, ctx_.clock.NowMicros());
    if (!session.ok()) {
      return WithCors(KvsError(403, "NotAuthorizedException", session.status().message()));
    }
    if (session->kind != kind) {
      return WithCors(KvsError(400, "InvalidArgumentException",
                               "The session token belongs to another kind of session"));
    }
    HttpResponse r = serve(*session, *q);
    return WithCors(std::move(r));
  }

  HttpResponse Master(const SessionParams& s, const SegmentQuery& q) {
    auto shape = Shape(s);
    if (!shape.ok()) return KvsErrorFromStatus(shape.status());
    return Text(MasterPlaylist(s, q.token, *shape), "application/vnd.apple.mpegurl");
  }

  HttpResponse Media(const SessionParams& s, const SegmentQuery& q) {
    auto window = Select(s, q.token);
    if (!window.ok()) return KvsErrorFromStatus(window.status());
    std::vector<PlaylistEntry> entries = Entries(s, q.token, *window);
    MediaPlaylistOptions o;
    o.track = s.container == ContainerFormat::kMpegTs ? 0 : (q.track ? q.track : 1);
    o.ended = window->ended;
    Number(s, q.token, entries, &o.media_sequence, &o.discontinuity_sequence);
    return Text(MediaPlaylist(s, q.token, o, entries), "application/vnd.apple.mpegurl");
  }

  HttpResponse Manifest(const SessionParams& s, const SegmentQuery& q) {
    auto shape = Shape(s);
    if (!shape.ok()) return KvsErrorFromStatus(shape.status());
    auto window = Select(s, q.token);
    if (!window.ok()) return KvsErrorFromStatus(window.status());
    std::vector<PlaylistEntry> entries = Entries(s, q.token, *window);
    ManifestOptions o;
    o.dynamic = s.mode != PlaybackMode::kOnDemand;
    o.now_us = ctx_.clock.NowMicros();
    if (o.dynamic &&
        (s.selector == SelectorType::kProducerTimestamp || s.mode == PlaybackMode::kLiveReplay) &&
        !entries.empty()) {
      // The timeline is not wall-clock time: put its newest end at "now", rounded to whole
      // seconds so the value stays put across refreshes.
      const int64_t end = entries.back().start_us + entries.back().duration_us;
      o.availability_start_us = (o.now_us - end) / 1'000'000 * 1'000'000;
    }
    return Text(DashManifest(s, q.token, *shape, o, entries), "application/dash+xml");
  }

  HttpResponse Init(const HttpRequest& req, const SessionParams& s, const SegmentQuery& q) {
    if (q.init_id.empty()) return KvsError(400, "MissingParameter", "InitId is required");
    const uint64_t track = q.track ? q.track : 1;
    auto header = FindHeader(s, q.token, q.init_id);
    if (!header.ok()) return KvsErrorFromStatus(header.status());
    auto bytes = cache_.GetOrMake("init|" + q.init_id + "|" + std::to_string(track), [&] {
      return Fmp4InitSegment(*header, TrackSelection{{track}});
    });
    if (!bytes.ok()) return RemuxError(bytes.status());
    return ServeBody(req, **bytes, "video/mp4", {{"cache-control", "max-age=3600"}});
  }

  HttpResponse Segment(const HttpRequest& req, const SessionParams& s, const SegmentQuery& q,
                       ContainerFormat format) {
    auto placed = FindFragment(s, q);
    if (!placed.ok()) return KvsErrorFromStatus(placed.status());
    const FragmentInfo* info = &placed->info;
    const uint64_t track = format == ContainerFormat::kMpegTs ? 0 : (q.track ? q.track : 1);
    // Where the session's playlist placed it: the media's times must agree with the timeline.
    const int64_t ts = placed->start_us;
    const std::string key = info->number + "|" + std::to_string(track) + "|" +
                            (format == ContainerFormat::kMpegTs ? "ts" : "mp4") + "|" +
                            std::to_string(ts);
    const StreamRef ref = StreamRef::Name(s.stream_name);
    auto bytes = cache_.GetOrMake(key, [&]() -> Result<std::string> {
      ASSIGN_OR_RETURN(std::string cluster, ctx_.archive.ReadFragment(ref, info->number));
      MkvFragment f{info->track_info, cluster, ts};
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
    if (!bytes.ok()) return RemuxError(bytes.status());
    return ServeBody(req, **bytes, format == ContainerFormat::kMpegTs ? "video/MP2T" : "video/mp4",
                     {{"cache-control", "max-age=3600"}});
  }

 private:
  static HttpResponse Text(std::string body, std::string type) {
    return HttpResponse{200, std::move(type), {{"cache-control", "no-cache"}}, std::move(body)};
  }

  static HttpResponse RemuxError(const Status& s) {
    if (IsMissingCodecPrivate(s))
      return KvsError(400, "MissingCodecPrivateDataException", s.message());
    if (IsUnsupportedCodec(s)) {
      return KvsError(400, "UnsupportedStreamMediaTypeException", s.message());
    }
    if (s.code() == Code::kDataLoss) return KvsError(500, "InternalFailure", s.message());
    return KvsErrorFromStatus(s);
  }

  // The session's rules for its codecs (KVS: track 1 H.264/H.265 or AAC, with CodecPrivate).
  // Other tracks the packagers cannot carry are left out of the playlists, not refused.
  HttpResponse CheckCodecs(const std::string& header) {
    auto tracks = DescribeTracks(header);
    if (!tracks.ok()) return RemuxError(tracks.status());
    if (tracks->empty()) return KvsError(400, "UnsupportedStreamMediaTypeException", "no tracks");
    const TrackDescription& t = tracks->front();
    if (t.codec_id != "V_MPEG4/ISO/AVC" && t.codec_id != "V_MPEGH/ISO/HEVC" &&
        t.codec_id != "A_AAC") {
      return KvsError(400, "UnsupportedStreamMediaTypeException",
                      "track 1 must be H.264, H.265 or AAC; it is " + t.codec_id);
    }
    if (Status ok = CheckPackageable(t); !ok.ok()) return RemuxError(ok);
    return HttpResponse{};
  }

  // The tracks of `header` the packagers can carry (the rest are left out).
  static Result<TrackSelection> Packageable(std::string_view header) {
    ASSIGN_OR_RETURN(std::vector<TrackDescription> tracks, DescribeTracks(header));
    TrackSelection sel;
    for (const TrackDescription& t : tracks) {
      if (CheckPackageable(t).ok()) sel.tracks.push_back(t.number);
    }
    if (sel.tracks.empty())
      return InvalidArgument(std::string(kUnsupportedCodecPrefix) + ": no track can be packaged");
    return sel;
  }

  // A fragment the session can play, for its codecs: the newest for LIVE, else the first in
  // range. kNotFound when there is none (KVS answers ResourceNotFoundException).
  Result<FragmentInfo> Representative(const SessionParams& s) {
    const StreamRef ref = StreamRef::Name(s.stream_name);
    if (s.mode == PlaybackMode::kLive) {
      auto latest = ctx_.archive.Latest(ref);
      if (!latest.ok() && latest.status().code() == Code::kNotFound) {
        return NotFound("No fragments found in the stream " + s.stream_name);
      }
      return latest;
    }
    auto first = ctx_.archive.FirstAtOrAfter(ref, ArchiveType(s.selector), s.start_us);
    if ((!first.ok() && first.status().code() == Code::kNotFound) ||
        (first.ok() && s.has_end && Ts(*first, s.selector) > s.end_us)) {
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

  // Fragments with `type` time in [start, end], ascending, at most `max` (paged through the
  // archive's 1000-row pages). With producer time, duplicates of a start time collapse to
  // the largest fragment number, as KVS does.
  Result<std::vector<FragmentInfo>> Range(const SessionParams& s, TimestampType type, int64_t start,
                                          int64_t end, size_t max) {
    std::vector<FragmentInfo> out;
    archive::ListRequest lr;
    lr.stream = StreamRef::Name(s.stream_name);
    lr.type = type;
    lr.start_us = start;
    lr.end_us = end;
    while (true) {
      lr.max_results = max >= 999 ? 1000 : static_cast<int>(max) + 1;
      ASSIGN_OR_RETURN(archive::ListResult page, ctx_.archive.ListFragments(lr));
      for (FragmentInfo& f : page.fragments) {
        if (type == TimestampType::kProducer && !out.empty() &&
            out.back().producer_timestamp_us == f.producer_timestamp_us) {
          if (f.number > out.back().number) out.back() = std::move(f);
          continue;
        }
        out.push_back(std::move(f));
      }
      // One spare row, so a duplicate start time at the cut still collapses.
      if (page.next_token.empty() || out.size() > max) break;
      lr.next_token = page.next_token;
    }
    return out;
  }

  // The last `n` (+1 for context) fragments with `type` time at most `until`, not before
  // `floor`: looked up by time, widening the span until enough are found.
  Result<std::vector<FragmentInfo>> Tail(const SessionParams& s, TimestampType type, int64_t floor,
                                         int64_t until, size_t n) {
    int64_t span = kWindowGuessMicros * static_cast<int64_t>(n + 1);
    while (true) {
      const int64_t from = std::max(floor, until - span);
      ASSIGN_OR_RETURN(auto found, Range(s, type, from, until, SIZE_MAX));
      if (found.size() > n || from == floor || span >= playback::kMaxRangeMicros) {
        if (found.size() > n + 1) found.erase(found.begin(), found.end() - (n + 1));
        return found;
      }
      span *= 4;
    }
  }

  // How far a LIVE_REPLAY session has got: fragments from Start appear one by one, each once
  // the session has run as long as the fragments before it last, so gaps in the recording
  // cost no waiting. Remembered per session (a restart replays the count from Start).
  struct ReplayState {
    bool started = false;
    std::string last_number;  // the newest fragment shown
    int64_t last_ts = 0;
    int64_t shown_us = 0;  // total duration of the fragments shown
  };

  // Returns the newest shown fragment's time (nullopt: none yet); sets *ended once a replay
  // with an EndTimestamp has shown everything up to it.
  Result<std::optional<int64_t>> AdvanceReplay(const SessionParams& s, const std::string& token,
                                               bool* ended) {
    ReplayState st;
    {
      std::lock_guard<std::mutex> lock(replay_mu_);
      if (auto it = replay_.find(token); it != replay_.end()) st = it->second;
    }
    const TimestampType type = ArchiveType(s.selector);
    const int64_t elapsed = ctx_.clock.NowMicros() - s.created_us;
    const int64_t end = s.has_end ? s.end_us : std::numeric_limits<int64_t>::max() / 2;
    bool more = true;
    while (more && (!st.started || st.shown_us <= elapsed)) {
      // The next fragments after the newest shown one, in timeline order.
      ASSIGN_OR_RETURN(auto next, Range(s, type, st.started ? st.last_ts : s.start_us, end, 64));
      more = false;
      for (FragmentInfo& f : next) {
        const int64_t ts = Ts(f, s.selector);
        if (st.started && (ts < st.last_ts || (ts == st.last_ts && f.number <= st.last_number))) {
          continue;  // shown already
        }
        more = true;
        if (st.started && st.shown_us > elapsed) break;  // not due yet
        st.started = true;
        st.last_number = f.number;
        st.last_ts = ts;
        st.shown_us += f.duration_us;
      }
    }
    *ended = s.has_end && st.started && !more;
    {
      std::lock_guard<std::mutex> lock(replay_mu_);
      if (replay_.size() > 4096) replay_.clear();  // bounded; sessions re-count from Start
      replay_[token] = st;
    }
    if (!st.started) return std::optional<int64_t>();
    return std::optional<int64_t>(st.last_ts);
  }

  Result<Window> Select(const SessionParams& s, const std::string& token) {
    Window w;
    const size_t n = static_cast<size_t>(s.max_results);
    const StreamRef ref = StreamRef::Name(s.stream_name);
    std::vector<FragmentInfo> found;
    switch (s.mode) {
      case PlaybackMode::kOnDemand: {
        ASSIGN_OR_RETURN(found, Range(s, ArchiveType(s.selector), s.start_us, s.end_us, n));
        if (found.size() > n) found.resize(n);
        w.fragments = std::move(found);
        w.ended = true;
        return w;
      }
      case PlaybackMode::kLive: {
        auto latest = ctx_.archive.Latest(ref);
        if (!latest.ok()) {
          if (latest.status().code() == Code::kNotFound) return w;  // all expired: empty
          return latest.status();
        }
        ASSIGN_OR_RETURN(found, Tail(s, TimestampType::kServer, 0, latest->server_timestamp_us, n));
        break;
      }
      case PlaybackMode::kLiveReplay: {
        ASSIGN_OR_RETURN(std::optional<int64_t> until, AdvanceReplay(s, token, &w.ended));
        if (!until) return w;  // nothing recorded from Start on yet
        ASSIGN_OR_RETURN(found, Tail(s, ArchiveType(s.selector), s.start_us, *until, n));
        break;
      }
    }
    if (found.size() > n) {
      w.previous = std::move(found.front());
      found.erase(found.begin());
    }
    w.fragments = std::move(found);
    return w;
  }

  // The window's playlist entries, placed on the session's timeline where earlier playlists of
  // the session put them (and remembered, for the segment requests that follow).
  std::vector<PlaylistEntry> Entries(const SessionParams& s, const std::string& token,
                                     const Window& w) {
    auto to_playlist = [&](const FragmentInfo& f) {
      PlaylistFragment p;
      p.number = f.number;
      p.start_us = Ts(f, s.selector);
      p.duration_us = f.duration_us;
      p.header = f.track_info;
      p.header_id = HeaderId(f.track_info);
      return p;
    };
    std::vector<PlaylistFragment> list;
    list.reserve(w.fragments.size());
    for (const FragmentInfo& f : w.fragments) list.push_back(to_playlist(f));
    std::optional<PlaylistFragment> prev;
    if (w.previous) prev = to_playlist(*w.previous);
    {
      // Remember the headers just named, so their init segments are found without a search.
      std::lock_guard<std::mutex> lock(headers_mu_);
      for (const FragmentInfo& f : w.fragments) {
        if (headers_.size() > 256) headers_.clear();
        headers_.emplace(HeaderId(f.track_info), f.track_info);
      }
    }
    timeline_.Recall(token, list, prev ? &*prev : nullptr);
    std::vector<PlaylistEntry> entries =
        BuildEntries(list, prev ? &*prev : nullptr, s.discontinuity);
    timeline_.Remember(token, entries);
    return entries;
  }

  // `find` in what the session placed; if it is not there (the server restarted, or forgot
  // the session), after placing the session's current window again.
  template <typename Find>
  auto FindPlaced(const SessionParams& s, const std::string& token, Find find)
      -> Result<decltype(find())> {
    if (auto found = find()) return found;
    ASSIGN_OR_RETURN(Window w, Select(s, token));
    Entries(s, token, w);
    return find();
  }

  void Number(const SessionParams& s, const std::string& token,
              const std::vector<PlaylistEntry>& entries, uint64_t* seq, uint64_t* disc) {
    *seq = 0;
    *disc = 0;
    if (s.mode == PlaybackMode::kOnDemand) return;
    // A floor that grows with time, so a restart (which forgets the numbering) never makes
    // the sequence go backwards for a player that keeps refreshing.
    const int64_t base = s.has_start ? s.start_us : s.created_us - playback::kMaxRangeMicros;
    const int64_t first = entries.empty() ? base : entries.front().start_us;
    const uint64_t floor =
        static_cast<uint64_t>(std::max<int64_t>(0, (first - base) / kLiveSequenceStepMicros));
    auto n = sequencer_.Assign(token, entries, floor);
    *seq = n.media_sequence;
    *disc = n.discontinuity_sequence;
  }

  Result<std::string> FindHeader(const SessionParams& s, const std::string& token,
                                 const std::string& id) {
    {
      std::lock_guard<std::mutex> lock(headers_mu_);
      if (auto it = headers_.find(id); it != headers_.end()) return it->second;
    }
    // Not seen since the server started: search what the session shows now.
    ASSIGN_OR_RETURN(Window w, Select(s, token));
    if (w.previous) w.fragments.push_back(*w.previous);
    for (const FragmentInfo& f : w.fragments) {
      if (HeaderId(f.track_info) == id) return f.track_info;
    }
    return NotFound("No such initialization segment in this session");
  }

  struct PlacedFragment {
    FragmentInfo info;
    int64_t start_us = 0;  // on the session's timeline
  };

  Result<PlacedFragment> FindFragment(const SessionParams& s, const SegmentQuery& q) {
    const StreamRef ref = StreamRef::Name(s.stream_name);
    if (!q.fragment_number.empty()) {
      ASSIGN_OR_RETURN(FragmentInfo f, ctx_.archive.GetFragment(ref, q.fragment_number));
      ASSIGN_OR_RETURN(std::optional<int64_t> start, FindPlaced(s, q.token, [&] {
                         return timeline_.StartOf(q.token, f.number);
                       }));
      // Not in the session's window (any more): served at its own time.
      const int64_t at = start.value_or(Ts(f, s.selector));
      return PlacedFragment{std::move(f), at};
    }
    if (!q.has_time) return InvalidArgument("FragmentNumber is required");
    // DASH $Time$: the fragment the manifest placed in that millisecond.
    ASSIGN_OR_RETURN(std::optional<SessionTimeline::Placement> placed,
                     FindPlaced(s, q.token, [&] { return timeline_.At(q.token, q.time_ms); }));
    if (placed) {
      ASSIGN_OR_RETURN(FragmentInfo f, ctx_.archive.GetFragment(ref, placed->number));
      return PlacedFragment{std::move(f), placed->start_us};
    }
    // Outside the session's window: the fragment starting in that millisecond of its own time.
    if (q.time_ms > std::numeric_limits<int64_t>::max() / 1000) {
      return NotFound("No fragment starts at Time=" + std::to_string(q.time_ms));
    }
    ASSIGN_OR_RETURN(FragmentInfo f,
                     ctx_.archive.FirstAtOrAfter(ref, ArchiveType(s.selector), q.time_ms * 1000));
    if (Ts(f, s.selector) / 1000 != q.time_ms) {
      return NotFound("No fragment starts at Time=" + std::to_string(q.time_ms));
    }
    const int64_t at = Ts(f, s.selector);
    return PlacedFragment{std::move(f), at};
  }

  const ApiContext& ctx_;
  SegmentCache cache_;
  LiveSequencer sequencer_;
  SessionTimeline timeline_;
  std::mutex headers_mu_;
  std::map<std::string, std::string> headers_;  // HeaderId → header, bounded
  std::mutex replay_mu_;
  std::map<std::string, ReplayState> replay_;  // by session token
};

HttpResponse Preflight(const HttpRequest&) {
  HttpResponse r{204, "text/plain", {}, ""};
  r.headers = {{"access-control-allow-origin", "*"},
               {"access-control-allow-methods", "GET, HEAD, OPTIONS"},
               {"access-control-allow-headers", "Range, Origin, Accept, Content-Type"},
               {"access-control-max-age", "86400"}};
  return r;
}

}  // namespace

void RegisterHlsApi(Router& http, const ApiContext& ctx) {
  auto svc = std::make_shared<HlsService>(ctx);
  http.Route("POST", "/getHLSStreamingSessionURL",
             [svc](const HttpRequest& r) { return svc->CreateSession(SessionKind::kHls, r); });
  http.Route("POST", "/getDASHStreamingSessionURL",
             [svc](const HttpRequest& r) { return svc->CreateSession(SessionKind::kDash, r); });
  auto get = [&http](const std::string& path, BufferedHandler h) {
    http.Route("GET", path, h);
    http.Route("OPTIONS", path, Preflight);
  };
  get("/hls/v1/getHLSMasterPlaylist.m3u8", [svc](const HttpRequest& r) {
    return svc->Get(SessionKind::kHls, r, [&](auto& s, auto& q) { return svc->Master(s, q); });
  });
  get("/hls/v1/getHLSMediaPlaylist.m3u8", [svc](const HttpRequest& r) {
    return svc->Get(SessionKind::kHls, r, [&](auto& s, auto& q) { return svc->Media(s, q); });
  });
  get("/dash/v1/getDASHManifest.mpd", [svc](const HttpRequest& r) {
    return svc->Get(SessionKind::kDash, r, [&](auto& s, auto& q) { return svc->Manifest(s, q); });
  });
  // A named copy of the kind: clang 14 cannot capture a structured binding.
  for (const auto& entry : {std::pair{"/hls/v1/", SessionKind::kHls},
                            std::pair{"/dash/v1/", SessionKind::kDash}}) {
    const std::string prefix = entry.first;
    const SessionKind kind = entry.second;
    get(prefix + "getMP4InitFragment.mp4", [svc, kind](const HttpRequest& r) {
      return svc->Get(kind, r, [&](auto& s, auto& q) { return svc->Init(r, s, q); });
    });
    get(prefix + "getMP4MediaFragment.mp4", [svc, kind](const HttpRequest& r) {
      return svc->Get(kind, r, [&](auto& s, auto& q) {
        return svc->Segment(r, s, q, ContainerFormat::kFragmentedMp4);
      });
    });
  }
  get("/hls/v1/getTSFragment.ts", [svc](const HttpRequest& r) {
    return svc->Get(SessionKind::kHls, r, [&](auto& s, auto& q) {
      return svc->Segment(r, s, q, ContainerFormat::kMpegTs);
    });
  });
}

}  // namespace streamarc::server
