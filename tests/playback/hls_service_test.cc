// playback::HlsService without a server: a real archive in a temp dir, a ManualClock, and
// the service's own calls. Window selection per playback mode, LIVE_REPLAY on a jumping
// clock, session tokens, retention, and the service's lifetime.
#include "playback/hls_service.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "tests/playback/test_archive.h"

namespace streamarc::playback {
namespace {

using testing::kSec;
using testing::kT0;
using testing::TestArchive;

const std::string kSecret(32, 'k');

// Epoch seconds, as the JSON bodies carry them.
std::string Seconds(int64_t us) { return std::to_string(us / kSec); }

std::string TokenOf(const std::string& url) {
  const size_t at = url.find("SessionToken=");
  return at == std::string::npos ? std::string() : url.substr(at + 13);
}

// The values of `key=` in `text`, in order (fragment numbers in a playlist, InitIds...).
std::vector<std::string> Values(const std::string& text, const std::string& key) {
  std::vector<std::string> out;
  for (size_t at = text.find(key + "="); at != std::string::npos;
       at = text.find(key + "=", at + 1)) {
    const size_t from = at + key.size() + 1;
    const size_t to = text.find_first_of("&\"\n", from);
    out.push_back(text.substr(from, to - from));
  }
  return out;
}

class HlsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_.CreateStream("cam");
    svc_ = NewHlsService({"http://test", kSecret}, a_.archive(), a_.clock(), a_.log());
  }

  // `count` fragments of 2 s each, the first at `from_us`: their numbers.
  std::vector<std::string> AppendEvery2s(int count, int64_t from_us) {
    std::vector<std::string> numbers;
    for (int i = 0; i < count; ++i)
      numbers.push_back(a_.Append("cam", from_us + i * 2 * kSec, 2 * kSec));
    return numbers;
  }

  std::string Session(const std::string& json, SessionKind kind = SessionKind::kHls) {
    Result<std::string, KvsError> url = svc_->CreateSession(kind, json, "");
    EXPECT_TRUE(url.ok()) << (url.ok() ? "" : url.error().status.ToString());
    return url.ok() ? TokenOf(*url) : std::string();
  }

  // The media playlist's fragment numbers; *ended: it carries EXT-X-ENDLIST.
  std::vector<std::string> Playlist(const std::string& token, bool* ended = nullptr,
                                    std::string* text = nullptr) {
    Result<Content, KvsError> c =
        svc_->GetMediaPlaylist("SessionToken=" + token + "&TrackNumber=1");
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().status.ToString());
    if (!c.ok()) return {};
    EXPECT_EQ(c->content_type, "application/vnd.apple.mpegurl");
    EXPECT_EQ(c->max_age_seconds, 0);
    if (ended) *ended = c->bytes->find("#EXT-X-ENDLIST") != std::string::npos;
    if (text) *text = *c->bytes;
    return Values(*c->bytes, "FragmentNumber");
  }

  static std::string OnDemand(int64_t start_us, int64_t end_us, const std::string& extra = "") {
    return R"({"StreamName":"cam","PlaybackMode":"ON_DEMAND","Expires":43200,)"
           R"("HLSFragmentSelector":{"FragmentSelectorType":"SERVER_TIMESTAMP",)"
           R"("TimestampRange":{"StartTimestamp":)" +
           Seconds(start_us) + R"(,"EndTimestamp":)" + Seconds(end_us) + "}}" + extra + "}";
  }

  TestArchive a_;
  std::shared_ptr<HlsService> svc_;
  const int64_t base_ = kT0 - 600 * kSec;
};

int64_t MediaSequence(const std::string& playlist) {
  const std::string tag = "#EXT-X-MEDIA-SEQUENCE:";
  const size_t at = playlist.find(tag);
  return at == std::string::npos ? -1 : std::stoll(playlist.substr(at + tag.size()));
}

std::vector<std::string> Slice(const std::vector<std::string>& v, size_t from, size_t to) {
  return {v.begin() + static_cast<ptrdiff_t>(from), v.begin() + static_cast<ptrdiff_t>(to)};
}

TEST_F(HlsServiceTest, OnDemandShowsItsRangeUpToMaxResults) {
  const auto n = AppendEvery2s(10, base_);
  bool ended = false;
  // [4 s, 12 s] holds the fragments stamped 4, 6, 8, 10 and 12 s: both ends inclusive.
  EXPECT_EQ(Playlist(Session(OnDemand(base_ + 4 * kSec, base_ + 12 * kSec)), &ended),
            Slice(n, 2, 7));
  EXPECT_TRUE(ended);
  EXPECT_EQ(Playlist(Session(OnDemand(base_ + 4 * kSec, base_ + 12 * kSec,
                                      R"(,"MaxMediaPlaylistFragmentResults":3)"))),
            Slice(n, 2, 5));
  // The range outlives what was recorded: a later append inside it shows on the next refresh.
  const std::string token = Session(OnDemand(base_, base_ + 40 * kSec));
  EXPECT_EQ(Playlist(token), n);
  const std::string late = a_.Append("cam", base_ + 30 * kSec, 2 * kSec);
  auto with_late = n;
  with_late.push_back(late);
  EXPECT_EQ(Playlist(token), with_late);
}

TEST_F(HlsServiceTest, LiveShowsTheNewestFragmentsAndSlides) {
  auto n = AppendEvery2s(10, base_);
  const std::string live = Session(R"({"StreamName":"cam","PlaybackMode":"LIVE"})");
  const std::string three =
      Session(R"({"StreamName":"cam","PlaybackMode":"LIVE","MaxMediaPlaylistFragmentResults":3})");
  bool ended = true;
  std::string text;
  EXPECT_EQ(Playlist(live, &ended), Slice(n, 5, 10));  // KVS's default: 5
  EXPECT_FALSE(ended);
  EXPECT_EQ(Playlist(three, nullptr, &text), Slice(n, 7, 10));
  const int64_t seq = MediaSequence(text);
  n.push_back(a_.Append("cam", base_ + 20 * kSec, 2 * kSec));
  n.push_back(a_.Append("cam", base_ + 22 * kSec, 2 * kSec));
  EXPECT_EQ(Playlist(three, nullptr, &text), Slice(n, 9, 12));
  // The media sequence moves with the window: n[9] keeps the number it had at the window's end.
  EXPECT_EQ(MediaSequence(text), seq + 2) << text;
  EXPECT_EQ(Playlist(live), Slice(n, 7, 12));
}

// LIVE_REPLAY reveals the fragments from Start one by one: each once the session has run as
// long as the fragments before it last. A gap in the recording costs no waiting. Whatever the
// clock does, the playlist is a prefix of the recording that only grows, and never holds more
// than exists.
TEST_F(HlsServiceTest, LiveReplayFollowsAJumpingClock) {
  auto n = AppendEvery2s(6, base_);
  // A 100 s hole in the recording, then 4 more.
  for (const auto& more : AppendEvery2s(4, base_ + 112 * kSec)) n.push_back(more);
  const std::string token =
      Session(R"({"StreamName":"cam","PlaybackMode":"LIVE_REPLAY","Expires":43200,)"
              R"("MaxMediaPlaylistFragmentResults":100,"HLSFragmentSelector":)"
              R"({"FragmentSelectorType":"SERVER_TIMESTAMP","TimestampRange":{"StartTimestamp":)" +
              Seconds(base_) + "}}}");
  int64_t elapsed = 0;
  size_t shown_before = 0;
  // Small and large steps, some landing exactly on a fragment boundary.
  // The 10th step crosses the hole (fragment 7 is due after 12 s, not 112 s).
  const std::vector<int64_t> steps = {0,        300'000,  1'700'000,   0,
                                      10'000,   5 * kSec, 40'000,      2 * kSec,
                                      1 * kSec, 2 * kSec, 3600 * kSec, 10 * kSec};
  for (int64_t step : steps) {
    a_.clock().Advance(step);
    elapsed += step;
    const auto shown = Playlist(token);
    // Fragments are 2 s long: after `elapsed`, those that start by then on the replayed
    // timeline (gaps removed) are shown.
    const size_t want = std::min<size_t>(n.size(), static_cast<size_t>(elapsed / (2 * kSec)) + 1);
    EXPECT_EQ(shown, Slice(n, 0, want)) << "after " << elapsed << " us";
    EXPECT_GE(shown.size(), shown_before) << "went backwards after " << elapsed << " us";
    shown_before = shown.size();
  }
  EXPECT_EQ(shown_before, n.size());
  // Recorded later, due at once: the session has run longer than everything before it.
  n.push_back(a_.Append("cam", base_ + 200 * kSec, 2 * kSec));
  bool ended = true;
  EXPECT_EQ(Playlist(token, &ended), n);
  EXPECT_FALSE(ended);  // no EndTimestamp: a replay follows the live edge
}

TEST_F(HlsServiceTest, LiveReplayWithAnEndStopsThere) {
  const auto n = AppendEvery2s(6, base_);
  const std::string token = Session(
      R"({"StreamName":"cam","PlaybackMode":"LIVE_REPLAY","Expires":43200,)"
      R"("HLSFragmentSelector":{"FragmentSelectorType":"SERVER_TIMESTAMP",)"
      R"("TimestampRange":{"StartTimestamp":)" +
      Seconds(base_ + 2 * kSec) + R"(,"EndTimestamp":)" + Seconds(base_ + 6 * kSec) + "}}}");
  bool ended = true;
  EXPECT_EQ(Playlist(token, &ended), Slice(n, 1, 2));
  EXPECT_FALSE(ended);
  a_.clock().Advance(2 * kSec);
  EXPECT_EQ(Playlist(token, &ended), Slice(n, 1, 3));
  EXPECT_FALSE(ended);
  a_.clock().Advance(600 * kSec);
  EXPECT_EQ(Playlist(token, &ended), Slice(n, 1, 4));
  EXPECT_TRUE(ended);
}

TEST_F(HlsServiceTest, RefusesForgedExpiredAndMisdirectedTokens) {
  AppendEvery2s(3, base_);
  const std::string token = Session(R"({"StreamName":"cam","PlaybackMode":"LIVE"})");
  const std::string dash =
      Session(R"({"StreamName":"cam","PlaybackMode":"LIVE"})", SessionKind::kDash);
  ASSERT_TRUE(svc_->GetMediaPlaylist("SessionToken=" + token).ok());

  auto type_of = [](const Result<Content, KvsError>& c) {
    return c.ok() ? std::string("ok") : std::to_string(static_cast<int>(c.error().type));
  };
  const std::string not_authorized = std::to_string(static_cast<int>(KvsErrorType::kNotAuthorized));
  std::string forged = token;
  forged[3] = forged[3] == 'A' ? 'B' : 'A';  // one character of the signed payload
  for (const std::string& bad : {forged, token.substr(1), std::string("x~")}) {
    EXPECT_EQ(type_of(svc_->GetMediaPlaylist("SessionToken=" + bad)), not_authorized) << bad;
    EXPECT_EQ(type_of(svc_->GetMasterPlaylist("SessionToken=" + bad)), not_authorized) << bad;
    EXPECT_EQ(type_of(svc_->GetMediaSegment(SessionKind::kHls, ContainerFormat::kFragmentedMp4,
                                            "FragmentNumber=1&SessionToken=" + bad)),
              not_authorized);
  }
  // Signed with another key: another server's session.
  auto other =
      NewHlsService({"http://test", std::string(32, 'o')}, a_.archive(), a_.clock(), a_.log());
  EXPECT_EQ(type_of(other->GetMediaPlaylist("SessionToken=" + token)), not_authorized);
  // No token; a DASH session's token on an HLS playlist.
  EXPECT_EQ(type_of(svc_->GetMediaPlaylist("TrackNumber=1")),
            std::to_string(static_cast<int>(KvsErrorType::kMissingParameter)));
  EXPECT_EQ(type_of(svc_->GetMediaPlaylist("SessionToken=" + dash)),
            std::to_string(static_cast<int>(KvsErrorType::kInvalidArgument)));
  ASSERT_TRUE(svc_->GetDashManifest("SessionToken=" + dash).ok());

  // Expires defaults to 300 s: still good at 299 s, refused from 300 s on, as expired.
  a_.clock().Advance(299 * kSec);
  EXPECT_TRUE(svc_->GetMediaPlaylist("SessionToken=" + token).ok());
  a_.clock().Advance(1 * kSec);
  Result<Content, KvsError> expired = svc_->GetMediaPlaylist("SessionToken=" + token);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().type, KvsErrorType::kNotAuthorized);
  EXPECT_TRUE(IsExpiredTokenError(expired.error().status)) << expired.error().status.ToString();
}

// A token grants its own range of its own stream: a segment URL edited to name a fragment
// before Start or after End, by number or by DASH time, is refused as a bad token is (403
// NotAuthorized); another stream's fragment is not found in the session's stream.
TEST_F(HlsServiceTest, SegmentsOutsideTheSessionRangeAreRefused) {
  const auto n = AppendEvery2s(10, base_);  // stamped base, base + 2 s, ..., base + 18 s
  a_.CreateStream("door");
  const std::string door = a_.Append("door", base_ + 8 * kSec, 2 * kSec);
  const std::string token = Session(OnDemand(base_ + 4 * kSec, base_ + 12 * kSec));
  ASSERT_EQ(Playlist(token), Slice(n, 2, 7));
  auto segment = [&](const std::string& number, ContainerFormat format) {
    return svc_->GetMediaSegment(SessionKind::kHls, format,
                                 "FragmentNumber=" + number + "&SessionToken=" + token);
  };
  for (ContainerFormat format : {ContainerFormat::kFragmentedMp4, ContainerFormat::kMpegTs}) {
    for (size_t i : {size_t{2}, size_t{6}}) {  // the range's ends are in it
      Result<Content, KvsError> in = segment(n[i], format);
      EXPECT_TRUE(in.ok()) << i << ": " << in.error().status.ToString();
    }
    for (size_t i : {size_t{0}, size_t{1}, size_t{7}, size_t{9}}) {
      Result<Content, KvsError> out = segment(n[i], format);
      ASSERT_FALSE(out.ok()) << i;
      EXPECT_EQ(out.error().type, KvsErrorType::kNotAuthorized) << out.error().status.ToString();
      EXPECT_NE(out.error().status.message().find("outside the time range"), std::string::npos);
    }
    Result<Content, KvsError> other = segment(door, format);
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.error().type, KvsErrorType::kResourceNotFound);
  }

  // DASH addresses segments by time too: inside the range, and a fragment's own start outside.
  const std::string dash = Session(
      R"({"StreamName":"cam","PlaybackMode":"ON_DEMAND","DASHFragmentSelector":)"
      R"({"FragmentSelectorType":"SERVER_TIMESTAMP","TimestampRange":{"StartTimestamp":)" +
          Seconds(base_ + 4 * kSec) + R"(,"EndTimestamp":)" + Seconds(base_ + 12 * kSec) + "}}}",
      SessionKind::kDash);
  auto at = [&](int64_t us) {
    return svc_->GetMediaSegment(
        SessionKind::kDash, ContainerFormat::kFragmentedMp4,
        "Time=" + std::to_string(us / 1000) + "&TrackNumber=1&SessionToken=" + dash);
  };
  EXPECT_TRUE(at(base_ + 4 * kSec).ok());
  for (int64_t s : {0, 2, 14, 18}) {
    Result<Content, KvsError> out = at(base_ + s * kSec);
    ASSERT_FALSE(out.ok()) << s;
    EXPECT_EQ(out.error().type, KvsErrorType::kNotAuthorized) << out.error().status.ToString();
  }

  // LIVE has no range: any fragment of its stream.
  const std::string live = Session(R"({"StreamName":"cam","PlaybackMode":"LIVE"})");
  EXPECT_TRUE(svc_->GetMediaSegment(SessionKind::kHls, ContainerFormat::kFragmentedMp4,
                                    "FragmentNumber=" + n[0] + "&SessionToken=" + live)
                  .ok());
}

// Every request with a token asks check_key about the key that made the session; a refusal
// there ends the session on every URL, as a bad token would.
TEST_F(HlsServiceTest, ATokenIsRefusedOnceItsKeyIsRefused) {
  const auto n = AppendEvery2s(3, base_);
  std::vector<std::pair<std::string, std::string>> asked;
  bool allowed = true;
  HlsServiceOptions o{"http://test", kSecret};
  o.check_key = [&](const std::string& key, const std::string& stream) {
    asked.emplace_back(key, stream);
    return allowed ? Status::Ok() : PermissionDenied("key " + key + " is gone");
  };
  svc_ = NewHlsService(o, a_.archive(), a_.clock(), a_.log());
  Result<std::string, KvsError> url =
      svc_->CreateSession(SessionKind::kHls, OnDemand(base_, base_ + 10 * kSec), "AKIDVIEWER");
  ASSERT_TRUE(url.ok());
  const std::string token = TokenOf(*url);
  std::string text;
  ASSERT_EQ(Playlist(token, nullptr, &text), n);
  ASSERT_FALSE(asked.empty());
  EXPECT_EQ(asked.back(), (std::pair<std::string, std::string>{"AKIDVIEWER", "cam"}));
  const std::string init = "InitId=" + Values(text, "InitId").at(0) + "&SessionToken=" + token;
  const std::string seg = "FragmentNumber=" + n[0] + "&SessionToken=" + token;
  ASSERT_TRUE(svc_->GetInitSegment(SessionKind::kHls, init).ok());
  ASSERT_TRUE(svc_->GetMediaSegment(SessionKind::kHls, ContainerFormat::kFragmentedMp4, seg).ok());

  allowed = false;
  const std::vector<Result<Content, KvsError>> refused = {
      svc_->GetMasterPlaylist("SessionToken=" + token),
      svc_->GetMediaPlaylist("SessionToken=" + token),
      svc_->GetInitSegment(SessionKind::kHls, init),
      svc_->GetMediaSegment(SessionKind::kHls, ContainerFormat::kFragmentedMp4, seg)};
  for (const auto& r : refused) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().type, KvsErrorType::kNotAuthorized);
    EXPECT_EQ(r.error().status.message(), "key AKIDVIEWER is gone");
  }
}

// A player holding a playlist asks for a fragment retention has removed since: a clean
// ResourceNotFound, whether or not the segment was remuxed (and cached) before.
TEST_F(HlsServiceTest, AFragmentExpiredByRetentionIsNotFound) {
  a_.CreateStream("short", /*retention_hours=*/1);
  std::vector<std::string> n;
  for (int i = 0; i < 4; ++i)
    n.push_back(a_.Append("short", kT0 - 60 * kSec + i * 2 * kSec, 2 * kSec));
  const std::string token =
      Session(R"({"StreamName":"short","PlaybackMode":"ON_DEMAND","Expires":43200,)"
              R"("HLSFragmentSelector":{"FragmentSelectorType":"SERVER_TIMESTAMP",)"
              R"("TimestampRange":{"StartTimestamp":)" +
              Seconds(kT0 - 60 * kSec) + R"(,"EndTimestamp":)" + Seconds(kT0) + "}}}");
  std::string text;
  ASSERT_EQ(Playlist(token, nullptr, &text), n);
  const auto init_ids = Values(text, "InitId");
  ASSERT_FALSE(init_ids.empty()) << text;

  auto segment = [&](const std::string& number) {
    return svc_->GetMediaSegment(
        SessionKind::kHls, ContainerFormat::kFragmentedMp4,
        "FragmentNumber=" + number + "&TrackNumber=1&SessionToken=" + token);
  };
  Result<Content, KvsError> first = segment(n[0]);
  ASSERT_TRUE(first.ok()) << first.error().status.ToString();
  EXPECT_EQ(first->content_type, "video/mp4");
  EXPECT_EQ(first->max_age_seconds, 3600);
  EXPECT_NE(first->bytes->find("moof"), std::string::npos);
  Result<Content, KvsError> init =
      svc_->GetInitSegment(SessionKind::kHls, "InitId=" + init_ids[0] + "&SessionToken=" + token);
  ASSERT_TRUE(init.ok()) << init.error().status.ToString();
  EXPECT_NE(init->bytes->find("moov"), std::string::npos);

  a_.clock().Advance(2 * 3600 * kSec);
  ASSERT_TRUE(a_.archive().Sweep().ok());
  for (const std::string& number : {n[0], n[1]}) {  // remuxed before, and never asked for
    Result<Content, KvsError> gone = segment(number);
    ASSERT_FALSE(gone.ok()) << number;
    EXPECT_EQ(gone.error().type, KvsErrorType::kResourceNotFound) << gone.error().status.ToString();
  }
  EXPECT_TRUE(Playlist(token).empty());
}

TEST_F(HlsServiceTest, SessionCreationRefusals) {
  a_.CreateStream("noretention", /*retention_hours=*/0);
  AppendEvery2s(2, base_);
  auto type_of = [&](const std::string& json) {
    Result<std::string, KvsError> url = svc_->CreateSession(SessionKind::kHls, json, "");
    return url.ok() ? -1 : static_cast<int>(url.error().type);
  };
  EXPECT_EQ(type_of(R"({"StreamName":"nosuch","PlaybackMode":"LIVE"})"),
            static_cast<int>(KvsErrorType::kResourceNotFound));
  EXPECT_EQ(type_of(R"({"StreamName":"noretention","PlaybackMode":"LIVE"})"),
            static_cast<int>(KvsErrorType::kNoDataRetention));
  EXPECT_EQ(type_of(OnDemand(base_ + 100 * kSec, base_ + 200 * kSec)),
            static_cast<int>(KvsErrorType::kResourceNotFound));
  EXPECT_EQ(type_of(R"({"StreamName":"cam","PlaybackMode":"SOMETIMES"})"),
            static_cast<int>(KvsErrorType::kInvalidArgument));
  Result<std::string, KvsError> url =
      svc_->CreateSession(SessionKind::kDash, R"({"StreamName":"cam"})", "");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->rfind("http://test/dash/v1/getDASHManifest.mpd?SessionToken=", 0), 0u) << *url;
}

// The service is held by whoever queues work for it: it copies its options (nothing of the
// caller's may be gone by the time a queued job runs), and a job holding the last reference
// still finds it whole. Under ASan a reference to the caller's options would be caught here.
TEST_F(HlsServiceTest, AQueuedJobKeepsTheServiceAlive) {
  AppendEvery2s(3, base_);
  std::function<void()> job;
  Result<Content, KvsError> result = KvsError{};
  {
    auto options = std::make_unique<HlsServiceOptions>(HlsServiceOptions{"http://gone", kSecret});
    std::shared_ptr<HlsService> svc = NewHlsService(*options, a_.archive(), a_.clock(), a_.log());
    Result<std::string, KvsError> url =
        svc->CreateSession(SessionKind::kHls, R"({"StreamName":"cam","PlaybackMode":"LIVE"})", "");
    ASSERT_TRUE(url.ok());
    const std::string token = TokenOf(*url);
    job = [svc, token, &result] { result = svc->GetMediaPlaylist("SessionToken=" + token); };
    options.reset();
  }
  svc_.reset();
  job();
  ASSERT_TRUE(result.ok()) << result.error().status.ToString();
  EXPECT_EQ(Values(*result->bytes, "FragmentNumber").size(), 3u);
  job = nullptr;  // the last reference: the service goes now
}

}  // namespace
}  // namespace streamarc::playback
