// LL-HLS through playback::HlsService without a server: real H.264 + AAC cut by the project's
// fragmenter, its frames replayed to a PartHub as ingest hands them over, a real archive for
// what is persisted, a fake responder for parked requests (its timers fired by the test)
// and a manual clock. Blocking reloads answered when the part is published, 400 too far
// ahead, the timeout, hinted parts, parts before the fragment is persisted, and the whole
// segment's samples equal to its parts'.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "playback/hls_service.h"
#include "playback/part_hub.h"
#include "tests/playback/test_archive.h"

namespace streamarc::playback {
namespace {

using testing::kSec;
using testing::kT0;
using testing::TestArchive;

const std::string kSecret(32, 'k');
constexpr int64_t kPartTarget = 333'000;

// The fragmenter's output with every frame it wrote, as ingest would hand them over.
struct RecordingSink : fragmenter::testing::CollectingSink {
  struct Frame {
    uint64_t track;
    int64_t timecode;
    bool key, cut_track;
    std::string data;
  };
  std::vector<std::vector<Frame>> frames;  // per fragment
  Status OnFragmentStart(const fragmenter::FragmentHead& head) override {
    frames.emplace_back();
    return CollectingSink::OnFragmentStart(head);
  }
  void OnFrameWritten(const fragmenter::FragmentHead&, const fragmenter::WrittenFrame& f) override {
    frames.back().push_back(
        {f.track, f.timecode, f.key, f.cut_track, std::string(f.data.begin(), f.data.end())});
  }
};

const RecordingSink& Recorded() {
  static const RecordingSink* sink = [] {
    auto* s = new RecordingSink;
    auto path = streamarc::testing::MakeMedia(streamarc::testing::kH264AacMkv);
    EXPECT_TRUE(path.ok());
    if (!path.ok()) return s;
    const std::string bytes = streamarc::testing::ReadFileOrDie(*path);
    ManualClock clock(kT0);
    fragmenter::Options o;
    o.max_fragments_per_second = 0;
    o.max_bytes_per_second = 0;
    auto run =
        fragmenter::testing::RunStream(fragmenter::testing::AsBytes(bytes), o, *s, clock, 65536);
    EXPECT_TRUE(run.status.ok()) << run.status.ToString();
    return s;
  }();
  return *sink;
}

// Every "key=" value in `text`, in order.
std::vector<std::string> Values(const std::string& text, const std::string& key) {
  std::vector<std::string> out;
  for (size_t at = text.find(key + "="); at != std::string::npos;
       at = text.find(key + "=", at + 1)) {
    const size_t from = at + key.size() + 1;
    out.push_back(text.substr(from, text.find_first_of("&\"\n,", from) - from));
  }
  return out;
}

// The last value of an attribute-style tag line ("#EXT-X-MEDIA-SEQUENCE:12").
uint64_t TagNumber(const std::string& text, const std::string& tag) {
  const size_t at = text.find(tag + ":");
  return at == std::string::npos ? 0 : std::stoull(text.substr(at + tag.size() + 1));
}

class FakeResponder : public Responder {
 public:
  void Send(Result<Content, KvsError> c) override { answers.push_back(std::move(c)); }
  void PostAfter(int64_t delay_us, std::function<void()> task) override {
    timers.emplace_back(delay_us, std::move(task));
  }
  std::vector<Result<Content, KvsError>> answers;
  std::vector<std::pair<int64_t, std::function<void()>>> timers;
};

// The payload of every mdat box in an fMP4 byte string, concatenated.
std::string Mdat(const std::string& mp4) {
  std::string out;
  for (size_t p = 0; p + 8 <= mp4.size();) {
    const uint32_t size = (uint8_t(mp4[p]) << 24) | (uint8_t(mp4[p + 1]) << 16) |
                          (uint8_t(mp4[p + 2]) << 8) | uint8_t(mp4[p + 3]);
    if (size < 8 || p + size > mp4.size()) break;
    if (mp4.compare(p + 4, 4, "mdat") == 0) out += mp4.substr(p + 8, size - 8);
    p += size;
  }
  return out;
}

class LowLatencyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(Recorded().fragments.size(), 5u);
    a_.CreateStream("cam");
    HlsServiceOptions o{"http://test", kSecret};
    o.part_target_us = kPartTarget;
    svc_ = NewHlsService(o, a_.archive(), a_.clock(), a_.log(), &hub_);
    header_ = std::make_shared<const std::string>(Recorded().fragments[0]->section->header.begin(),
                                                  Recorded().fragments[0]->section->header.end());
    // Two fragments already persisted, so the session has something to show.
    Start(0);
    Frames(0, 0, SIZE_MAX);
    End(0);
    Start(1);
    Frames(1, 0, SIZE_MAX);
    End(1);
    auto url = svc_->CreateSession(
        SessionKind::kHls,
        R"({"StreamName":"cam","PlaybackMode":"LIVE","DisplayFragmentTimestamp":"ALWAYS"})", "");
    ASSERT_TRUE(url.ok());
    token_ = url->substr(url->find("SessionToken=") + 13);
  }

  // As the daemon does when it stops: parked requests are answered and let go.
  void TearDown() override { svc_->Shutdown(); }

  int64_t ServerTime(size_t k) const {
    int64_t t = kT0;
    for (size_t i = 0; i < k; ++i) t += Recorded().fragments[i]->duration_ms * 1000;
    return t;
  }

  void Start(size_t k) {
    const auto& f = *Recorded().fragments[k];
    PartEvent e;
    e.type = PartEvent::Type::kFragmentStart;
    e.stream_name = "cam";
    e.header = header_;
    e.producer_timestamp_us = f.producer_timestamp_ms * 1000;
    e.server_timestamp_us = ServerTime(k);
    hub_.Publish(e);
  }

  // Frames [from, to) of fragment k; returns how many were sent.
  size_t Frames(size_t k, size_t from, size_t to) {
    const auto& frames = Recorded().frames[k];
    size_t n = 0;
    for (size_t i = from; i < std::min(to, frames.size()); ++i, ++n) {
      PartEvent e;
      e.type = PartEvent::Type::kFrame;
      e.stream_name = "cam";
      e.track = frames[i].track;
      e.timecode = frames[i].timecode;
      e.key = frames[i].key;
      e.cut_track = frames[i].cut_track;
      e.data = {reinterpret_cast<const uint8_t*>(frames[i].data.data()), frames[i].data.size()};
      hub_.Publish(e);
    }
    return n;
  }

  // Fragment k complete: numbered by the archive (which persists it at once here) and
  // announced to the edge.
  std::string End(size_t k, bool persist = true) {
    const auto& f = *Recorded().fragments[k];
    auto cluster = std::make_shared<const std::string>(f.cluster.begin(), f.cluster.end());
    std::string number;
    if (persist) {
      archive::FragmentInfo unused;
      archive::FragmentInput in;
      in.bytes = *cluster;
      in.server_timestamp_us = ServerTime(k);
      in.producer_timestamp_us = f.producer_timestamp_ms * 1000;
      in.duration_us = f.duration_ms * 1000;
      in.track_info = *header_;
      auto n = a_.archive().Append(archive::StreamRef::Name("cam"), std::move(in),
                                   [](const Status&, const archive::FragmentInfo&) {});
      EXPECT_TRUE(n.ok());
      a_.archive().Flush();
      number = n.ok() ? *n : "";
    }
    PartEvent e;
    e.type = PartEvent::Type::kFragmentEnd;
    e.stream_name = "cam";
    e.fragment_number = number;
    e.duration_us = f.duration_ms * 1000;
    e.cluster = cluster;
    hub_.Publish(e);
    return number;
  }

  std::string Query(const std::string& extra = "") const {
    return "SessionToken=" + token_ + "&TrackNumber=1" + extra;
  }

  std::string Playlist(const std::string& extra = "") {
    auto c = svc_->GetMediaPlaylist(Query(extra));
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().status.ToString());
    return c.ok() ? *c->bytes : "";
  }

  std::shared_ptr<FakeResponder> Ask(const std::string& extra) {
    auto out = std::make_shared<FakeResponder>();
    svc_->GetMediaPlaylist(Query(extra), out);
    return out;
  }

  // Sends frames of fragment k from `*next` until a new part is cut.
  void UntilNextPart(size_t k, size_t* next) {
    const std::string before = Playlist();
    const size_t parts = Values(before, "Part").size();
    while (*next < Recorded().frames[k].size()) {
      *next += Frames(k, *next, *next + 1);
      if (Values(Playlist(), "Part").size() > parts) return;
    }
  }

  TestArchive a_;
  PartHub hub_;
  std::shared_ptr<HlsService> svc_;
  std::shared_ptr<const std::string> header_;
  std::string token_;
};

TEST_F(LowLatencyServiceTest, PlaylistListsPartsOfTheFragmentStillArriving) {
  std::string m = Playlist();  // starts following the stream
  EXPECT_NE(m.find("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.999"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("#EXT-X-PART-INF:PART-TARGET=0.333"), std::string::npos);
  // No hint before the edge has seen a fragment start: it cannot tell whether one is under way.
  EXPECT_EQ(m.find("#EXT-X-PRELOAD-HINT"), std::string::npos) << m;
  EXPECT_EQ(Values(m, "FragmentNumber").size(), 2u);

  Start(2);
  EXPECT_NE(Playlist().find("#EXT-X-PRELOAD-HINT:TYPE=PART"), std::string::npos);
  size_t next = 0;
  UntilNextPart(2, &next);
  UntilNextPart(2, &next);
  m = Playlist();
  // Two parts of the open fragment, each at most the target, the first INDEPENDENT; the
  // open fragment has its date but no EXTINF yet; the hint names its third part.
  const auto parts = Values(m, "Part");
  ASSERT_EQ(parts.size(), 3u) << m;  // two parts + the hint
  EXPECT_EQ(parts[0], "0");
  EXPECT_EQ(parts[2], "2");
  for (size_t at = m.find("#EXT-X-PART:DURATION="); at != std::string::npos;
       at = m.find("#EXT-X-PART:DURATION=", at + 1)) {
    EXPECT_LE(std::stod(m.substr(at + 21)), 0.333);
  }
  EXPECT_NE(m.find("Part=0\",INDEPENDENT=YES"), std::string::npos);
  EXPECT_EQ(Values(m, "FragmentNumber").size(), 2u);
  size_t pdt = 0;
  for (size_t p = 0; (p = m.find("#EXT-X-PROGRAM-DATE-TIME:", p)) != std::string::npos; ++p) ++pdt;
  EXPECT_EQ(pdt, 3u);

  // The fragment completes: it is a segment with its parts, and the next one is hinted.
  Frames(2, next, SIZE_MAX);
  const std::string number = End(2);
  m = Playlist();
  EXPECT_EQ(Values(m, "FragmentNumber").back(), number);
  EXPECT_LT(m.rfind("#EXT-X-PART:"), m.find("FragmentNumber=" + number));
  EXPECT_NE(m.find("Part=0\"\n", m.find("FragmentNumber=" + number)), std::string::npos);
  // Plain HLS on request: no LL tags at all.
  const std::string plain = Playlist("&LowLatency=0");
  EXPECT_EQ(plain.find("EXT-X-PART"), std::string::npos);
  EXPECT_EQ(plain.find("PRELOAD-HINT"), std::string::npos);
  EXPECT_EQ(plain.find("SERVER-CONTROL"), std::string::npos);
}

TEST_F(LowLatencyServiceTest, BlockingReloadIsAnsweredWhenThePartIsPublished) {
  Playlist();
  Start(2);
  size_t next = 0;
  UntilNextPart(2, &next);
  std::string m = Playlist();
  const uint64_t msn = TagNumber(m, "#EXT-X-MEDIA-SEQUENCE") + 2;  // the open fragment
  // Part 0 is listed: answered at once.
  auto now = Ask("&_HLS_msn=" + std::to_string(msn) + "&_HLS_part=0");
  ASSERT_EQ(now->answers.size(), 1u);
  EXPECT_TRUE(now->answers[0].ok());
  // Part 1 is not: parked, with a timeout armed at three target durations.
  auto parked = Ask("&_HLS_msn=" + std::to_string(msn) + "&_HLS_part=1");
  EXPECT_TRUE(parked->answers.empty());
  ASSERT_EQ(parked->timers.size(), 1u);
  EXPECT_EQ(parked->timers[0].first, 3 * kSec);
  // The frames of part 1 arrive, but it is cut only when the next one starts.
  while (parked->answers.empty() && next < Recorded().frames[2].size()) {
    next += Frames(2, next, next + 1);
  }
  ASSERT_EQ(parked->answers.size(), 1u);
  ASSERT_TRUE(parked->answers[0].ok());
  const std::string answer = *parked->answers[0]->bytes;
  EXPECT_NE(answer.find("Part=1\""), std::string::npos) << answer;
  // The timeout fires later: nothing more is sent.
  parked->timers[0].second();
  EXPECT_EQ(parked->answers.size(), 1u);
}

TEST_F(LowLatencyServiceTest, TooFarAheadIs400AndATimeoutIs503) {
  std::string m = Playlist();
  const uint64_t last = TagNumber(m, "#EXT-X-MEDIA-SEQUENCE") + 1;
  auto far = Ask("&_HLS_msn=" + std::to_string(last + 3));
  ASSERT_EQ(far->answers.size(), 1u);
  ASSERT_FALSE(far->answers[0].ok());
  EXPECT_EQ(far->answers[0].error().type, KvsErrorType::kInvalidArgument);
  auto far_part = Ask("&_HLS_msn=" + std::to_string(last + 1) + "&_HLS_part=40");
  ASSERT_EQ(far_part->answers.size(), 1u);
  EXPECT_FALSE(far_part->answers[0].ok());
  auto part_alone = Ask("&_HLS_part=1");
  ASSERT_EQ(part_alone->answers.size(), 1u);
  EXPECT_EQ(part_alone->answers[0].error().type, KvsErrorType::kInvalidArgument);

  // Nothing arrives for the next segment: after three target durations, 503.
  auto waiting = Ask("&_HLS_msn=" + std::to_string(last + 1) + "&_HLS_part=0");
  ASSERT_TRUE(waiting->answers.empty());
  ASSERT_EQ(waiting->timers.size(), 1u);
  a_.clock().Advance(waiting->timers[0].first);
  waiting->timers[0].second();
  ASSERT_EQ(waiting->answers.size(), 1u);
  ASSERT_FALSE(waiting->answers[0].ok());
  EXPECT_EQ(waiting->answers[0].error().type, KvsErrorType::kServiceUnavailable);
  // The part arriving afterwards does not answer it twice.
  Start(2);
  size_t next = 0;
  UntilNextPart(2, &next);
  EXPECT_EQ(waiting->answers.size(), 1u);
}

TEST_F(LowLatencyServiceTest, HintedPartWaitsThenEqualsTheSegmentOnceComplete) {
  Playlist();  // starts following the stream
  Start(2);
  std::string m = Playlist();
  // The hinted part (part 0 of the fragment just started) is asked for before it exists.
  const auto hint = Values(m.substr(m.find("#EXT-X-PRELOAD-HINT")), "LiveFragment");
  ASSERT_EQ(hint.size(), 1u);
  auto part0 = std::make_shared<FakeResponder>();
  svc_->GetPartSegment(Query("&LiveFragment=" + hint[0] + "&Part=0"), part0);
  EXPECT_TRUE(part0->answers.empty());
  size_t next = 0;
  while (part0->answers.empty() && next < Recorded().frames[2].size()) {
    next += Frames(2, next, next + 1);
  }
  ASSERT_EQ(part0->answers.size(), 1u);
  ASSERT_TRUE(part0->answers[0].ok()) << part0->answers[0].error().status.ToString();
  EXPECT_EQ(part0->answers[0]->content_type, "video/mp4");
  EXPECT_FALSE(Mdat(*part0->answers[0]->bytes).empty());

  // Once complete, the whole segment's samples are its parts' samples, in order.
  Frames(2, next, SIZE_MAX);
  const std::string number = End(2);
  m = Playlist();
  std::string parts;
  const auto ids = Values(m, "LiveFragment");
  const auto indexes = Values(m, "Part");
  size_t count = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] != hint[0]) continue;
    auto out = std::make_shared<FakeResponder>();
    svc_->GetPartSegment(Query("&LiveFragment=" + ids[i] + "&Part=" + indexes[i]), out);
    ASSERT_EQ(out->answers.size(), 1u);
    ASSERT_TRUE(out->answers[0].ok());
    parts += Mdat(*out->answers[0]->bytes);
    ++count;
  }
  EXPECT_GE(count, 3u);
  auto whole = svc_->GetMediaSegment(SessionKind::kHls, ContainerFormat::kFragmentedMp4,
                                     Query("&FragmentNumber=" + number));
  ASSERT_TRUE(whole.ok());
  EXPECT_FALSE(parts.empty());
  EXPECT_TRUE(Mdat(*whole->bytes) == parts) << "segment and parts differ";
  // A part that will never exist is 404.
  auto gone = std::make_shared<FakeResponder>();
  svc_->GetPartSegment(Query("&LiveFragment=1&Part=0"), gone);
  ASSERT_EQ(gone->answers.size(), 1u);
  EXPECT_EQ(gone->answers[0].error().type, KvsErrorType::kResourceNotFound);
}

}  // namespace
}  // namespace streamarc::playback
