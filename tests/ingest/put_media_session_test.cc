// The PutMedia session without a server: a fake transport, a ManualClock, a real archive in
// a temp dir and real Matroska from mkv::Writer. The test thread plays the service thread.
#include "ingest/put_media_session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "common/mkv.h"
#include "tests/archive/test_util.h"
#include "tests/ingest/fake_transport.h"
#include "tests/ingest/holding_archive.h"
#include "tests/support/mkv_stream.h"

namespace streamarc::ingest {
namespace {

using nlohmann::json;
using testing::FakeTransport;

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kTc0 = archive::testing::kStartUs / 1000;  // ms, as ABSOLUTE timecodes are

mkv::Bytes Header() { return streamarc::testing::MkvHeader({streamarc::testing::H264Track()}); }

// One cluster = one fragment: a key frame and a delta frame, 2 s from the previous cluster.
mkv::Bytes Cluster(int i, size_t frame_bytes = 100) {
  mkv::Bytes out;
  mkv::Writer w(out);
  const int64_t tc = kTc0 + i * 2000;
  const std::vector<uint8_t> frame(frame_bytes, static_cast<uint8_t>(i));
  EXPECT_TRUE(w.BeginCluster(tc).ok());
  EXPECT_TRUE(w.WriteFrame(1, tc, true, frame).ok());
  EXPECT_TRUE(w.WriteFrame(1, tc + 500, false, frame).ok());
  EXPECT_TRUE(w.EndCluster().ok());
  return out;
}

mkv::Bytes Cat(std::initializer_list<mkv::Bytes> parts) {
  mkv::Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// The chunk framing of a Transfer-Encoding: chunked body, one chunk per part.
mkv::Bytes Chunked(std::initializer_list<mkv::Bytes> parts) {
  mkv::Bytes out;
  auto put = [&](const std::string& s) { out.insert(out.end(), s.begin(), s.end()); };
  for (const auto& p : parts) {
    char size[24];
    std::snprintf(size, sizeof size, "%zx\r\n", p.size());
    put(size);
    out.insert(out.end(), p.begin(), p.end());
    put("\r\n");
  }
  put("0\r\n\r\n");
  return out;
}

std::vector<json> Acks(const FakeTransport& t) {
  std::vector<json> out;
  size_t p = 0;
  for (size_t nl; (nl = t.body.find('\n', p)) != std::string::npos; p = nl + 1) {
    out.push_back(json::parse(t.body.substr(p, nl - p)));
  }
  EXPECT_EQ(p, t.body.size()) << "every ACK ends with a newline";
  return out;
}

PutMediaRequest Named(const std::string& stream) {
  PutMediaRequest r;
  r.stream_name = stream;
  r.timecode_type = "ABSOLUTE";
  return r;
}

class PutMediaSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(h_.Open().ok());
    h_.Create("cam", 24);
    opt_.idle_ack_interval_us = 3 * kSecond;
    opt_.idle_timeout_us = 10 * kSecond;
    opt_.rotation_quiet_us = 1 * kSecond;
    Restart();
  }

  void TearDown() override {
    h_.a().Flush();  // the reports still to come are posted now, then dropped
    for (const auto& t : transports_) t->DropAll();
  }

  void Restart() {
    service_ = std::make_unique<PutMediaService>(opt_, h_.a(), pool_, hub_, h_.clock, h_.logger);
  }

  struct Opened {
    std::shared_ptr<PutMediaSession> session;
    std::shared_ptr<FakeTransport> t;
  };

  // Opens a session; refusals of the head come back at once, without a lookup.
  Opened OpenOnly(const PutMediaRequest& r) {
    auto t = std::make_shared<FakeTransport>(h_.clock);
    transports_.push_back(t);
    transports_.push_back(t);
    return {service_->Open(r, t), t};
  }

  // Opens a session and runs its stream lookup to the end.
  Opened Start(const PutMediaRequest& r) {
    Opened o = OpenOnly(r);
    if (!o.t->refusal) {
      EXPECT_TRUE(o.t->WaitAndRunRemote()) << "the lookup never came back";
    }
    return o;
  }

  static void Feed(PutMediaSession& s, const mkv::Bytes& b) { s.OnBody(b); }

  // Every fragment handed to the archive is reported, and its report is delivered.
  void Persist(FakeTransport& t) {
    h_.a().Flush();
    t.RunRemote();
  }

  archive::testing::Harness h_;
  WorkerPool pool_{1, 16};
  playback::LiveHub hub_;
  PutMediaOptions opt_;
  std::unique_ptr<PutMediaService> service_;
  std::vector<std::shared_ptr<FakeTransport>> transports_;
};

TEST_F(PutMediaSessionTest, EachFragmentIsBufferingThenReceivedThenPersistedInOrder) {
  std::vector<playback::LiveFragmentPtr> live;
  uint64_t sub =
      hub_.Subscribe("cam", [&](const playback::LiveFragmentPtr& f) { live.push_back(f); });
  Opened o = Start(Named("cam"));
  ASSERT_EQ(o.t->events, std::vector<std::string>{"begin"});
  Feed(*o.session, Cat({Header(), Cluster(0), Cluster(1), Cluster(2)}));
  o.session->OnBodyEnd();
  EXPECT_FALSE(o.t->ended()) << "the response ends only once every fragment is reported";
  Persist(*o.t);
  hub_.Unsubscribe(sub);

  std::map<int64_t, std::vector<std::string>> by_fragment;
  std::map<int64_t, std::string> received_number;
  std::vector<std::string> persisted_numbers;
  for (const json& a : Acks(*o.t)) {
    const std::string type = a["EventType"];
    const int64_t tc = a["FragmentTimecode"];
    by_fragment[tc].push_back(type);
    if (type == "RECEIVED") received_number[tc] = a["FragmentNumber"];
    if (type == "PERSISTED") {
      EXPECT_EQ(a["FragmentNumber"], received_number[tc]) << "the number RECEIVED announced";
      persisted_numbers.push_back(a["FragmentNumber"]);
    }
  }
  ASSERT_EQ(by_fragment.size(), 3u) << o.t->body;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(by_fragment[kTc0 + i * 2000],
              (std::vector<std::string>{"BUFFERING", "RECEIVED", "PERSISTED"}))
        << "fragment " << i;
  }
  EXPECT_TRUE(std::is_sorted(persisted_numbers.begin(), persisted_numbers.end()));
  EXPECT_EQ(o.t->AckTypes().back(), "PERSISTED");
  EXPECT_EQ(o.t->events.back(), "end");
  EXPECT_EQ(o.t->Count("close"), 0u) << "the body was read whole: the connection may stay";
  // Live readers got each PERSISTED fragment, in order, with its bytes.
  ASSERT_EQ(live.size(), 3u);
  for (size_t i = 0; i < live.size(); ++i) {
    EXPECT_EQ(live[i]->info.number, persisted_numbers[i]);
    ASSERT_TRUE(live[i]->cluster);
    EXPECT_EQ(live[i]->cluster->size(), live[i]->info.size_bytes);
  }
  auto c = service_->counters();
  EXPECT_EQ(c.sessions, 1u);
  EXPECT_EQ(c.fragments, 3u);
  EXPECT_EQ(c.persisted, 3u);
  EXPECT_EQ(c.errors, 0u);
  EXPECT_EQ(service_->active_sessions(), 0);
}

TEST_F(PutMediaSessionTest, PersistedAcksKeepFragmentOrderWhenTheArchiveReportsOutOfOrder) {
  testing::HoldingArchive holding(h_.a());
  PutMediaService service(opt_, holding, pool_, hub_, h_.clock, h_.logger);
  auto t = std::make_shared<FakeTransport>(h_.clock);
  transports_.push_back(t);
  auto s = service.Open(Named("cam"), t);
  ASSERT_TRUE(t->WaitAndRunRemote());
  Feed(*s, Cat({Header(), Cluster(0), Cluster(1), Cluster(2)}));
  s->OnBodyEnd();
  h_.a().Flush();  // every report is now held
  EXPECT_EQ(holding.ReleaseNewestFirst(), 3u);
  t->RunLocal();  // released on this thread, so posted here
  std::vector<int64_t> persisted;
  for (const json& a : Acks(*t)) {
    if (a["EventType"] == "PERSISTED") persisted.push_back(a["FragmentTimecode"]);
  }
  EXPECT_EQ(persisted, (std::vector<int64_t>{kTc0, kTc0 + 2000, kTc0 + 4000})) << t->body;
  EXPECT_EQ(t->events.back(), "end");
  EXPECT_EQ(service.counters().persisted, 3u);
}

TEST_F(PutMediaSessionTest, ChunkedBodyEndsAtItsLastChunkInAnySplit) {
  PutMediaRequest r = Named("cam");
  r.chunked = true;
  Opened o = Start(r);
  mkv::Bytes body = Chunked({Header(), Cluster(0), Cluster(1)});
  // Two pieces cut in the middle of the chunk framing.
  const size_t cut = body.size() / 2;
  o.session->OnBody({body.data(), cut});
  o.session->OnBody({body.data() + cut, body.size() - cut});
  Persist(*o.t);
  EXPECT_EQ(o.t->AckTypes(), (std::vector<std::string>{"BUFFERING", "RECEIVED", "BUFFERING",
                                                       "RECEIVED", "PERSISTED", "PERSISTED"}));
  EXPECT_EQ(o.t->events.back(), "end");
}

TEST_F(PutMediaSessionTest, IdleAcksAtTheIntervalThenTheIdleTimeoutEndsTheSession) {
  Opened o = Start(Named("cam"));
  const mkv::Bytes next = Cluster(1);
  Feed(*o.session, Cat({Header(), Cluster(0)}));  // t = 0: one fragment open
  auto idles = [&] {
    auto types = o.t->AckTypes();
    return std::count(types.begin(), types.end(), "IDLE");
  };
  EXPECT_EQ(o.t->next_timer_in(), 3 * kSecond) << "one timer, for the first IDLE";

  h_.clock.Advance(3 * kSecond - 1);
  o.t->FireDueTimers();
  EXPECT_EQ(idles(), 0);
  h_.clock.Advance(1);  // t = 3 s
  EXPECT_EQ(o.t->FireDueTimers(), 1u);
  EXPECT_EQ(idles(), 1);
  h_.clock.Advance(3 * kSecond);  // t = 6 s
  o.t->FireDueTimers();
  EXPECT_EQ(idles(), 2);

  h_.clock.Advance(1 * kSecond);  // t = 7 s: a byte arrives, the producer is not idle
  o.session->OnBody({next.data(), 1});
  h_.clock.Advance(2 * kSecond);  // t = 9 s: the timer fires, finds a recent byte, waits
  EXPECT_EQ(o.t->FireDueTimers(), 1u);
  EXPECT_EQ(idles(), 2);
  h_.clock.Advance(1 * kSecond);  // t = 10 s: 3 s after that byte
  o.t->FireDueTimers();
  EXPECT_EQ(idles(), 3);
  EXPECT_FALSE(o.t->ended());

  // 10 s after the last byte (t = 17 s) the session ends; IDLEs at 13 s and 16 s before.
  h_.clock.Advance(3 * kSecond);
  o.t->FireDueTimers();
  h_.clock.Advance(3 * kSecond);
  o.t->FireDueTimers();
  EXPECT_EQ(idles(), 5);
  h_.clock.Advance(1 * kSecond - 1);
  EXPECT_EQ(o.t->FireDueTimers(), 0u);
  EXPECT_FALSE(o.t->ended());
  h_.clock.Advance(1);
  EXPECT_EQ(o.t->FireDueTimers(), 1u);
  EXPECT_TRUE(o.t->ended());
  EXPECT_EQ(o.t->events.back(), "close") << "the rest of the body is not read";
  EXPECT_EQ(o.t->pending_timers(), 0u) << "an ended session arms no timer";
  EXPECT_EQ(service_->active_sessions(), 0);
  // The open fragment was dropped, as on a disconnect: nothing was RECEIVED.
  auto types = o.t->AckTypes();
  EXPECT_EQ(std::count(types.begin(), types.end(), "RECEIVED"), 0);
}

TEST_F(PutMediaSessionTest, TimerOfAGoneSessionDoesNothing) {
  auto t = std::make_shared<FakeTransport>(h_.clock);
  transports_.push_back(t);
  {
    auto s = service_->Open(Named("cam"), t);
    ASSERT_TRUE(t->WaitAndRunRemote());
    s->OnClose();
  }
  ASSERT_EQ(t->pending_timers(), 1u);
  h_.clock.Advance(60 * kSecond);
  t->FireDueTimers();
  EXPECT_EQ(t->AckTypes().size(), 0u);
  EXPECT_EQ(t->pending_timers(), 0u);
}

TEST_F(PutMediaSessionTest, SecondProducerIsRefusedUnlessTheFirstWasQuietForTheRotationTime) {
  Opened first = Start(Named("cam"));
  Feed(*first.session, Cat({Header(), Cluster(0)}));  // t = 0

  Opened second = Start(Named("cam"));
  ASSERT_TRUE(second.t->refusal);
  EXPECT_EQ(second.t->refusal->status.code(), Code::kResourceExhausted);
  EXPECT_EQ(KvsErrorName(second.t->refusal->type), "ConnectionLimitExceededException");
  EXPECT_EQ(second.t->events, (std::vector<std::string>{"refuse", "close"}));

  h_.clock.Advance(opt_.rotation_quiet_us - 1);
  EXPECT_TRUE(Start(Named("cam")).t->refusal) << "still streaming a moment ago";

  h_.clock.Advance(1);  // the first producer has been quiet for the rotation time
  Opened rotated = Start(Named("cam"));
  EXPECT_FALSE(rotated.t->refusal);
  EXPECT_EQ(rotated.t->events, std::vector<std::string>{"begin"});

  // Another stream is not affected.
  h_.Create("other");
  EXPECT_FALSE(Start(Named("other")).t->refusal);
}

TEST_F(PutMediaSessionTest, HeaderErrorsAreRefusedBeforeAnyLookup) {
  auto refused = [&](const PutMediaRequest& r, const std::string& mention) {
    Opened o = OpenOnly(r);
    EXPECT_TRUE(o.t->refusal) << mention;
    if (!o.t->refusal) return;
    EXPECT_EQ(o.t->refusal->status.code(), Code::kInvalidArgument) << mention;
    EXPECT_NE(o.t->refusal->status.message().find(mention), std::string::npos)
        << o.t->refusal->status.message();
    EXPECT_EQ(o.t->events, (std::vector<std::string>{"refuse", "close"}));
    o.session->OnBody(Header());  // ignored
    EXPECT_EQ(o.t->events.size(), 2u);
  };
  refused(PutMediaRequest{}, "x-amzn-stream-name");
  PutMediaRequest both = Named("cam");
  both.stream_arn = "arn:aws:kinesisvideo:us-west-2:0:stream/cam/1";
  refused(both, "x-amzn-stream-arn");
  refused(Named("no/slashes"), "stream name");
  PutMediaRequest type = Named("cam");
  type.timecode_type = "absolute";
  refused(type, "ABSOLUTE or RELATIVE");
  PutMediaRequest relative = Named("cam");
  relative.timecode_type = "RELATIVE";
  refused(relative, "x-amzn-producer-start-timestamp");
  relative.producer_start_timestamp = "not-a-time";
  refused(relative, "x-amzn-producer-start-timestamp");
  EXPECT_EQ(service_->active_sessions(), 0);

  relative.producer_start_timestamp = "1767225600.5";
  EXPECT_FALSE(Start(relative).t->refusal);
}

TEST_F(PutMediaSessionTest, UnknownStreamIsNotFound) {
  Opened by_name = Start(Named("nope"));
  ASSERT_TRUE(by_name.t->refusal);
  EXPECT_EQ(by_name.t->refusal->status.code(), Code::kNotFound);
  PutMediaRequest arn;
  arn.stream_arn = "arn:aws:kinesisvideo:us-west-2:000000000000:stream/nope/1";
  Opened by_arn = Start(arn);
  ASSERT_TRUE(by_arn.t->refusal);
  EXPECT_EQ(by_arn.t->refusal->status.code(), Code::kNotFound);
}

TEST_F(PutMediaSessionTest, ABodyThatIsNotMatroskaGetsOneErrorAck) {
  Opened o = Start(Named("cam"));
  o.session->OnBody(mkv::Bytes(5000, 'j'));
  auto acks = Acks(*o.t);
  ASSERT_EQ(acks.size(), 1u) << o.t->body;
  EXPECT_EQ(acks[0]["EventType"], "ERROR");
  EXPECT_EQ(acks[0]["ErrorId"], 4006);
  EXPECT_EQ(acks[0]["ErrorCode"], "INVALID_MKV_DATA");
  EXPECT_EQ(o.t->events, (std::vector<std::string>{"begin", "ack", "end", "close"}));
  o.session->OnBody(Header());  // the rest of the body is ignored
  EXPECT_EQ(o.t->events.size(), 4u);
  EXPECT_EQ(service_->counters().errors, 1u);
}

TEST_F(PutMediaSessionTest, BodyIsHeldThenPausedWhileTheStreamIsLookedUp) {
  opt_.max_pending_bytes = 1000;
  Restart();
  Opened o = OpenOnly(Named("cam"));
  Feed(*o.session, Cat({Header(), Cluster(0, 600), Cluster(1, 600)}));  // before the lookup
  EXPECT_EQ(o.t->events, std::vector<std::string>{"pause"});
  EXPECT_FALSE(o.t->reading);
  ASSERT_TRUE(o.t->WaitAndRunRemote());
  EXPECT_TRUE(o.t->reading);
  ASSERT_GE(o.t->events.size(), 3u);
  EXPECT_EQ(o.t->events[1], "begin");
  EXPECT_EQ(o.t->events[2], "resume");
  // The held bytes were consumed: the first fragment is complete, the second open.
  EXPECT_EQ(o.t->AckTypes(), (std::vector<std::string>{"BUFFERING", "RECEIVED", "BUFFERING"}));
}

TEST_F(PutMediaSessionTest, ShutdownEndsASessionAfterItsOutstandingAcks) {
  Opened o = Start(Named("cam"));
  Feed(*o.session, Cat({Header(), Cluster(0), Cluster(1), Cluster(2)}));  // 2 complete, 1 open
  h_.a().Flush();  // the PERSISTED reports are posted, not delivered yet
  service_->Shutdown();
  o.t->RunLocal();  // the drain
  EXPECT_FALSE(o.t->ended()) << "two fragments are not reported yet";
  o.t->RunRemote();
  EXPECT_EQ(o.t->AckTypes(),
            (std::vector<std::string>{"BUFFERING", "RECEIVED", "BUFFERING", "RECEIVED", "BUFFERING",
                                      "PERSISTED", "PERSISTED"}));
  EXPECT_EQ(o.t->events[o.t->events.size() - 2], "end");
  EXPECT_EQ(o.t->events.back(), "close");
  EXPECT_EQ(service_->active_sessions(), 0);

  // After Shutdown, a new session is refused at once.
  Opened late = OpenOnly(Named("cam"));
  ASSERT_TRUE(late.t->refusal);
  EXPECT_EQ(late.t->refusal->status.code(), Code::kUnavailable);
}

TEST_F(PutMediaSessionTest, ShutdownDuringTheLookupRefusesTheSession) {
  Opened o = OpenOnly(Named("cam"));
  EXPECT_EQ(service_->active_sessions(), 1);
  service_->Shutdown();
  o.t->RunLocal();
  ASSERT_TRUE(o.t->refusal);
  EXPECT_EQ(o.t->refusal->status.code(), Code::kUnavailable);
  EXPECT_EQ(service_->active_sessions(), 0);
  ASSERT_TRUE(o.t->WaitAndRunRemote());  // the lookup's answer finds the session done
  EXPECT_EQ(o.t->events, (std::vector<std::string>{"refuse", "close"}));
}

TEST_F(PutMediaSessionTest, StreamWithoutRetentionIsReceivedButNotPersisted) {
  h_.Create("nokeep", 0);
  Opened o = Start(Named("nokeep"));
  Feed(*o.session, Cat({Header(), Cluster(0), Cluster(1)}));
  o.session->OnBodyEnd();
  EXPECT_EQ(o.t->AckTypes(),
            (std::vector<std::string>{"BUFFERING", "RECEIVED", "BUFFERING", "RECEIVED"}));
  for (const json& a : Acks(*o.t)) EXPECT_FALSE(a.contains("FragmentNumber"));
  EXPECT_EQ(o.t->events.back(), "end");
}

TEST_F(PutMediaSessionTest, AcksCanBeTurnedOff) {
  PutMediaRequest r = Named("cam");
  r.ack_required = "0";
  Opened o = Start(r);
  Feed(*o.session, Cat({Header(), Cluster(0)}));
  o.session->OnBodyEnd();
  Persist(*o.t);
  EXPECT_TRUE(o.t->body.empty());
  EXPECT_TRUE(o.t->ended());
  EXPECT_EQ(service_->counters().persisted, 1u);
}

// An Archive whose Appends wait for the test, as if in a long commit queue: each is numbered
// at once and handed to the real archive only on Release (on the calling thread).
class QueueingArchive final : public streamarc::testing::ForwardingArchive {
 public:
  explicit QueueingArchive(archive::Archive& inner) : ForwardingArchive(inner) {}

  Result<std::string> Append(const archive::StreamRef& ref, archive::FragmentInput fragment,
                             archive::DurableCallback on_durable) override {
    queued_.push_back({ref, std::move(fragment), std::move(on_durable)});
    return "9" + std::to_string(queued_.size());
  }

  // Appends what was queued; a refusal now is reported through the fragment's callback.
  size_t Release() {
    std::vector<Queued> queued;
    queued.swap(queued_);
    for (Queued& q : queued) {
      auto number = inner().Append(q.ref, std::move(q.fragment), q.on_durable);
      if (!number.ok()) q.on_durable(number.status(), archive::FragmentInfo{});
    }
    return queued.size();
  }

 private:
  struct Queued {
    archive::StreamRef ref;
    archive::FragmentInput fragment;
    archive::DurableCallback on_durable;
  };
  std::vector<Queued> queued_;
};

// KVS answers a PutMedia whose stream was deleted under it with 4008 STREAM_NOT_ACTIVE (a
// producer then stops the stream), not 5001 (which it would retry for ever).
TEST_F(PutMediaSessionTest, StreamDeletedMidSessionIs4008AfterThePersistedFragments) {
  Opened o = Start(Named("cam"));
  Feed(*o.session, Cat({Header(), Cluster(0), Cluster(1), Cluster(2)}));
  Persist(*o.t);  // fragments 0 and 1 (2 is open until the next cluster)
  ASSERT_EQ(o.t->AckTypes(),
            (std::vector<std::string>{"BUFFERING", "RECEIVED", "BUFFERING", "RECEIVED", "BUFFERING",
                                      "PERSISTED", "PERSISTED"}));
  ASSERT_TRUE(h_.a().DeleteStream(archive::StreamRef::Name("cam"), "").ok());
  Feed(*o.session, Cluster(3));  // completes fragment 2, which the archive now refuses
  std::vector<json> acks = Acks(*o.t);
  ASSERT_EQ(acks.size(), 8u) << o.t->body;
  const json& error = acks.back();
  EXPECT_EQ(error["EventType"], "ERROR");
  EXPECT_EQ(error["ErrorId"], 4008);
  EXPECT_EQ(error["ErrorCode"], "STREAM_NOT_ACTIVE");
  EXPECT_EQ(error["FragmentTimecode"], kTc0 + 4000);
  EXPECT_EQ(o.t->events.back(), "close") << "the rest of the body is not read";
  EXPECT_TRUE(o.t->ended());
  auto c = service_->counters();
  EXPECT_EQ(c.persisted, 2u);
  EXPECT_EQ(c.errors, 1u);
  EXPECT_EQ(service_->active_sessions(), 0);
}

TEST_F(PutMediaSessionTest, FragmentsQueuedWhenTheStreamIsDeletedAre4008WithTheirNumbers) {
  QueueingArchive queueing(h_.a());
  PutMediaService service(opt_, queueing, pool_, hub_, h_.clock, h_.logger);
  auto t = std::make_shared<FakeTransport>(h_.clock);
  transports_.push_back(t);
  auto s = service.Open(Named("cam"), t);
  ASSERT_TRUE(t->WaitAndRunRemote());
  Feed(*s, Cat({Header(), Cluster(0), Cluster(1)}));
  s->OnBodyEnd();
  ASSERT_TRUE(h_.a().DeleteStream(archive::StreamRef::Name("cam"), "").ok());
  EXPECT_EQ(queueing.Release(), 2u);
  t->RunLocal();  // the reports, posted from this thread
  std::vector<json> errors;
  for (const json& a : Acks(*t)) {
    if (a["EventType"] == "ERROR") errors.push_back(a);
  }
  ASSERT_EQ(errors.size(), 2u) << t->body;
  for (size_t i = 0; i < errors.size(); ++i) {
    EXPECT_EQ(errors[i]["ErrorId"], 4008);
    EXPECT_EQ(errors[i]["FragmentNumber"], "9" + std::to_string(i + 1));
    EXPECT_EQ(errors[i]["FragmentTimecode"], kTc0 + static_cast<int64_t>(i) * 2000);
  }
  EXPECT_EQ(t->events.back(), "end");
}

TEST_F(PutMediaSessionTest, AStreamRecreatedUnderTheSameNameGetsNoneOfTheOldSessionsFragments) {
  Opened o = Start(Named("cam"));
  Feed(*o.session, Cat({Header(), Cluster(0), Cluster(1)}));
  Persist(*o.t);
  ASSERT_TRUE(h_.a().DeleteStream(archive::StreamRef::Name("cam"), "").ok());
  h_.clock.Advance(kSecond);  // a new creation time, so a new ARN
  h_.Create("cam", 24);
  Feed(*o.session, Cluster(2));
  o.session->OnBodyEnd();
  Persist(*o.t);
  std::vector<json> acks = Acks(*o.t);
  ASSERT_FALSE(acks.empty());
  EXPECT_EQ(acks.back()["ErrorId"], 4008) << o.t->body;
  auto stored = h_.a().FragmentsAfter(archive::StreamRef::Name("cam"), "", 10);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_TRUE(stored->empty()) << "the new stream holds none of the old producer's fragments";
}

}  // namespace
}  // namespace streamarc::ingest
