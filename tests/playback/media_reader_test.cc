// The GetMedia / GetMediaForFragmentList service without a server: a real archive in a temp
// dir, a fake transport, and jobs that run on the test thread only when the test says so, so
// every interleaving below is the one written down (no sleeps, no races).
#include "playback/media_reader.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/archive/test_util.h"
#include "tests/support/forwarding_archive.h"

namespace streamarc::playback {
namespace {

using archive::testing::AppendSync;
using archive::testing::Harness;
using archive::testing::kStartUs;
using archive::testing::MakeFragment;

// Queued jobs, run on the test thread by RunOne/RunAll.
class Jobs {
 public:
  JobRunner Runner() {
    return [this](std::function<void()> job) {
      if (refuse) return false;
      queue_.push_back(std::move(job));
      return true;
    };
  }
  bool RunOne() {
    if (queue_.empty()) return false;
    auto job = std::move(queue_.front());
    queue_.pop_front();
    job();
    return true;
  }
  int RunAll() {
    int n = 0;
    while (RunOne()) ++n;
    return n;
  }
  size_t queued() const { return queue_.size(); }
  bool refuse = false;

 private:
  std::deque<std::function<void()>> queue_;
};

// Records what a reader sends. `queued` is what the pretend client has not read yet; the
// test moves it with SetQueued, which runs a pending drain notification when it applies.
class FakeTransport final : public MediaTransport {
 public:
  struct Chunk {
    std::shared_ptr<const std::string> bytes;
    bool shared = false;  // WriteShared: a live fragment's chunk
  };

  void Begin() override {
    std::lock_guard<std::mutex> lock(mu_);
    ++begun;
  }
  void Fail(const KvsError& e) override {
    std::lock_guard<std::mutex> lock(mu_);
    error = e;
  }
  void Write(std::string bytes) override {
    Add(std::make_shared<const std::string>(std::move(bytes)), false);
  }
  void WriteShared(std::shared_ptr<const std::string> bytes) override {
    Add(std::move(bytes), true);
  }
  size_t queued_bytes() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return queued;
  }
  void NotifyWhenDrained(size_t bytes, std::function<void()> task) override {
    std::lock_guard<std::mutex> lock(mu_);
    drain_at = bytes;
    drain_task = std::move(task);
  }
  void Post(std::function<void()> task) override {
    std::lock_guard<std::mutex> lock(mu_);
    posted.push_back(std::move(task));
  }
  void End() override {
    std::lock_guard<std::mutex> lock(mu_);
    ++ended;
  }
  void Close() override {
    std::lock_guard<std::mutex> lock(mu_);
    closed = true;
  }

  // The client read down to `bytes` unsent.
  void SetQueued(size_t bytes) {
    std::function<void()> task;
    {
      std::lock_guard<std::mutex> lock(mu_);
      queued = bytes;
      if (drain_task && queued <= drain_at) {
        task = std::move(drain_task);
        drain_task = nullptr;
      }
    }
    if (task) task();
  }

  mutable std::mutex mu_;
  int begun = 0;
  int ended = 0;
  bool closed = false;
  std::optional<KvsError> error;
  std::vector<Chunk> chunks;
  size_t queued = 0;
  size_t drain_at = 0;
  std::function<void()> drain_task;
  std::vector<std::function<void()>> posted;

 private:
  void Add(std::shared_ptr<const std::string> bytes, bool shared) {
    std::lock_guard<std::mutex> lock(mu_);
    queued += bytes->size();
    chunks.push_back({std::move(bytes), shared});
  }
};

// The archive with a hook after a FragmentsAfter that found nothing: lets a test commit and
// publish a fragment in the window between a reader's last empty read and its switch to live.
class RacingArchive final : public streamarc::testing::ForwardingArchive {
 public:
  explicit RacingArchive(archive::Archive& a) : ForwardingArchive(a) {}
  std::function<void()> after_empty_read;  // runs once, then is cleared

  Result<std::vector<archive::FragmentInfo>> FragmentsAfter(const archive::StreamRef& r,
                                                            std::string_view n, int m) override {
    auto out = inner().FragmentsAfter(r, n, m);
    if (out.ok() && out->empty() && after_empty_read) {
      auto hook = std::move(after_empty_read);
      after_empty_read = nullptr;
      hook();
    }
    return out;
  }
};

class GetMediaReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(h_.Open().ok());
    h_.Create("cam");
    h_.Create("other");
  }

  void Make(MediaOptions o = {}, archive::Archive* a = nullptr) {
    svc_ = MediaService::Create(o, a ? *a : h_.a(), hub_, jobs_.Runner(), h_.clock, h_.logger);
  }

  // Appends a fragment `k` seconds after kStartUs and remembers its number.
  archive::FragmentInfo Store(const std::string& stream, int k) {
    auto in = MakeFragment(kStartUs + k * 1'000'000, 1000 + k, 100 + k);
    bytes_.push_back(in.bytes);
    auto info = AppendSync(h_.a(), stream, std::move(in));
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    numbers_.push_back(info.ok() ? info->number : "");
    return info.ok() ? *info : archive::FragmentInfo{};
  }
  // Stores a fragment and publishes it, as PutMedia does at the durable callback.
  void StoreAndPublish(const std::string& stream, int k) {
    archive::FragmentInfo info = Store(stream, k);
    Publish(stream, info, bytes_.back());
  }
  void Publish(const std::string& stream, const archive::FragmentInfo& info,
               const std::string& bytes) {
    auto f = std::make_shared<LiveFragment>();
    f->stream_name = stream;
    f->info = info;
    f->cluster = std::make_shared<const std::string>(bytes);
    hub_.Publish(f);
  }

  GetMediaRequest Req(StartSelectorType type, const std::string& stream = "cam") {
    GetMediaRequest r;
    r.stream = archive::StreamRef::Name(stream);
    r.type = type;
    return r;
  }

  // The fragment (index into numbers_) each chunk carries, in the order sent; -1 for none.
  std::vector<int> Sent(const FakeTransport& t) const {
    std::lock_guard<std::mutex> lock(t.mu_);
    std::vector<int> out;
    for (const auto& c : t.chunks) {
      int found = -1;
      for (size_t i = 0; i < numbers_.size(); ++i) {
        if (c.bytes->find(numbers_[i]) != std::string::npos) found = static_cast<int>(i);
      }
      out.push_back(found);
    }
    return out;
  }

  Harness h_;
  LiveHub hub_;
  Jobs jobs_;
  std::shared_ptr<MediaService> svc_;
  std::vector<std::string> numbers_;
  std::vector<std::string> bytes_;
  std::vector<std::shared_ptr<MediaRequest>> readers_;
};

TEST_F(GetMediaReaderTest, BacklogToLiveHandOffSendsEachFragmentOnceInOrder) {
  MediaOptions o;
  o.backlog_batch = 2;
  Make(o);
  for (int k = 0; k < 5; ++k) Store("cam", k);
  auto t = std::make_shared<FakeTransport>();
  auto reader = svc_->GetMedia(Req(StartSelectorType::kEarliest), t);

  ASSERT_TRUE(jobs_.RunOne());  // open + the first batch
  EXPECT_EQ(t->begun, 1);
  EXPECT_EQ(Sent(*t), (std::vector<int>{0, 1}));
  // Committed and published while the backlog is still being read: the hub's copy is not
  // written; the archive read finds it.
  StoreAndPublish("cam", 5);
  ASSERT_TRUE(jobs_.RunOne());
  EXPECT_EQ(Sent(*t), (std::vector<int>{0, 1, 2, 3}));
  StoreAndPublish("cam", 6);
  jobs_.RunAll();  // 4, 5, 6, then an empty read: live
  EXPECT_EQ(Sent(*t), (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
  // At the live edge: a repeat of what was sent is ignored, a new fragment is written as the
  // hub's shared chunk without a job.
  archive::FragmentInfo f7 = Store("cam", 7);
  Publish("cam", f7, bytes_[7]);
  auto f6 = h_.a().GetFragment(archive::StreamRef::Name("cam"), numbers_[6]);
  ASSERT_TRUE(f6.ok());
  Publish("cam", *f6, bytes_[6]);
  EXPECT_EQ(jobs_.queued(), 0u);
  EXPECT_EQ(Sent(*t), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_TRUE(t->chunks.back().shared);
  EXPECT_FALSE(t->chunks.front().shared);
  EXPECT_EQ(t->ended, 0);
  EXPECT_FALSE(t->error.has_value());

  reader->Stop();
  jobs_.RunAll();
  EXPECT_FALSE(hub_.HasListeners("cam"));
}

// The narrowest window: a fragment committed and published after the backlog's last read
// came back empty but before the reader switched to live. It is read from the archive, once.
TEST_F(GetMediaReaderTest, FragmentPublishedBetweenTheLastReadAndGoingLiveIsNotLost) {
  RacingArchive racing(h_.a());
  Make({}, &racing);
  Store("cam", 0);
  auto t = std::make_shared<FakeTransport>();
  auto reader = svc_->GetMedia(Req(StartSelectorType::kEarliest), t);
  racing.after_empty_read = [&] { StoreAndPublish("cam", 1); };
  jobs_.RunAll();
  EXPECT_FALSE(racing.after_empty_read) << "the window was never opened";
  EXPECT_EQ(Sent(*t), (std::vector<int>{0, 1}));
  StoreAndPublish("cam", 2);  // live from here
  EXPECT_EQ(Sent(*t), (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(t->chunks.back().shared);
  reader->Stop();
  jobs_.RunAll();
  // The archive outlives the service (which unregisters from it when it dies).
  reader.reset();
  svc_.reset();
}

TEST_F(GetMediaReaderTest, SlowReaderStopsGettingLiveAndCatchesUpAfterDraining) {
  MediaOptions o;
  o.max_reader_queued_bytes = 10'000;
  o.resume_queued_bytes = 2'000;
  Make(o);
  auto t = std::make_shared<FakeTransport>();
  auto reader = svc_->GetMedia(Req(StartSelectorType::kNow), t);
  jobs_.RunAll();
  StoreAndPublish("cam", 0);
  EXPECT_EQ(Sent(*t), (std::vector<int>{0}));

  t->SetQueued(50'000);  // the client stopped reading
  StoreAndPublish("cam", 1);
  StoreAndPublish("cam", 2);
  jobs_.RunAll();  // the catch-up job sees the full queue and waits for it to drain
  StoreAndPublish("cam", 3);
  jobs_.RunAll();
  EXPECT_EQ(Sent(*t), (std::vector<int>{0})) << "a lagging reader was fed";

  t->SetQueued(5'000);  // above the resume mark: still waiting
  EXPECT_EQ(jobs_.queued(), 0u);
  t->SetQueued(1'000);
  jobs_.RunAll();
  EXPECT_EQ(Sent(*t), (std::vector<int>{0, 1, 2, 3}));
  for (size_t i = 1; i < t->chunks.size(); ++i) EXPECT_FALSE(t->chunks[i].shared);
  // The catch-up filled the queue again: live resumes once that has drained too.
  t->SetQueued(0);
  jobs_.RunAll();
  // Back at the live edge.
  StoreAndPublish("cam", 4);
  EXPECT_EQ(Sent(*t), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(t->chunks.back().shared);
  reader->Stop();
  jobs_.RunAll();
}

TEST_F(GetMediaReaderTest, PerStreamReaderLimit) {
  MediaOptions o;
  o.max_get_media_per_stream = 2;
  Make(o);
  std::vector<std::shared_ptr<FakeTransport>> t;
  std::vector<std::shared_ptr<MediaRequest>> r;
  for (int i = 0; i < 3; ++i) {
    t.push_back(std::make_shared<FakeTransport>());
    r.push_back(svc_->GetMedia(Req(StartSelectorType::kNow), t.back()));
  }
  auto other = std::make_shared<FakeTransport>();
  auto other_reader = svc_->GetMedia(Req(StartSelectorType::kNow, "other"), other);
  jobs_.RunAll();
  EXPECT_EQ(t[0]->begun, 1);
  EXPECT_EQ(t[1]->begun, 1);
  EXPECT_EQ(t[2]->begun, 0);
  ASSERT_TRUE(t[2]->error.has_value());
  EXPECT_EQ(t[2]->error->status.code(), Code::kResourceExhausted);
  EXPECT_EQ(KvsErrorName(t[2]->error->type), "ConnectionLimitExceededException");
  EXPECT_EQ(other->begun, 1) << "the limit is per stream";

  // A slot frees when its client leaves.
  r[0]->Stop();
  jobs_.RunAll();
  auto again = std::make_shared<FakeTransport>();
  auto again_reader = svc_->GetMedia(Req(StartSelectorType::kNow), again);
  jobs_.RunAll();
  EXPECT_EQ(again->begun, 1);
  EXPECT_FALSE(again->error.has_value());
}

TEST_F(GetMediaReaderTest, StartSelectors) {
  MediaOptions o;
  o.max_get_media_per_stream = 100;
  Make(o);
  for (int k = 0; k < 3; ++k) Store("cam", k);  // server k s, producer k s - 0.5 s
  auto run = [&](GetMediaRequest req) {
    auto t = std::make_shared<FakeTransport>();
    auto reader = svc_->GetMedia(std::move(req), t);
    jobs_.RunAll();
    readers_.push_back(reader);
    return t;
  };
  auto earliest = run(Req(StartSelectorType::kEarliest));
  EXPECT_EQ(Sent(*earliest), (std::vector<int>{0, 1, 2}));

  auto now = run(Req(StartSelectorType::kNow));
  EXPECT_EQ(now->begun, 1);
  EXPECT_TRUE(now->chunks.empty());

  auto by_number = Req(StartSelectorType::kFragmentNumber);
  by_number.after_fragment_number = numbers_[0];
  auto after0 = run(by_number);
  EXPECT_EQ(Sent(*after0), (std::vector<int>{1, 2}));

  auto by_token = Req(StartSelectorType::kContinuationToken);
  by_token.continuation_token = numbers_[1];
  auto after1 = run(by_token);
  EXPECT_EQ(Sent(*after1), (std::vector<int>{2}));

  auto server = Req(StartSelectorType::kServerTimestamp);
  server.start_timestamp_us = kStartUs + 500'000;  // between fragments 0 and 1
  auto from_server = run(server);
  EXPECT_EQ(Sent(*from_server), (std::vector<int>{1, 2}));

  auto producer = Req(StartSelectorType::kProducerTimestamp);
  producer.start_timestamp_us = kStartUs + 1'500'000;  // fragment 2's producer time
  auto from_producer = run(producer);
  EXPECT_EQ(Sent(*from_producer), (std::vector<int>{2}));

  auto late = Req(StartSelectorType::kServerTimestamp);
  late.start_timestamp_us = kStartUs + 60'000'000;  // nothing that late yet: as NOW
  auto from_late = run(late);
  EXPECT_EQ(from_late->begun, 1);
  EXPECT_TRUE(from_late->chunks.empty());

  // Every reader then follows the live edge from where it is.
  StoreAndPublish("cam", 3);
  for (const auto& t : {earliest, now, after0, after1, from_server, from_producer, from_late}) {
    ASSERT_FALSE(Sent(*t).empty());
    EXPECT_EQ(Sent(*t).back(), 3);
  }

  auto bad = Req(StartSelectorType::kFragmentNumber);
  bad.after_fragment_number = "12";  // not a number this archive issues
  auto refused = run(bad);
  EXPECT_EQ(refused->begun, 0);
  ASSERT_TRUE(refused->error.has_value());
  EXPECT_EQ(refused->error->status.code(), Code::kInvalidArgument);
  EXPECT_NE(refused->error->status.message().find("AfterFragmentNumber"), std::string::npos);

  auto unknown = run(Req(StartSelectorType::kNow, "nope"));
  ASSERT_TRUE(unknown->error.has_value());
  EXPECT_EQ(unknown->error->status.code(), Code::kNotFound);
  for (auto& r : readers_) r->Stop();
  jobs_.RunAll();
}

TEST_F(GetMediaReaderTest, DeletingTheStreamEndsItsReaders) {
  Make();
  auto a = std::make_shared<FakeTransport>();
  auto b = std::make_shared<FakeTransport>();
  auto other = std::make_shared<FakeTransport>();
  auto ra = svc_->GetMedia(Req(StartSelectorType::kNow), a);
  auto rb = svc_->GetMedia(Req(StartSelectorType::kEarliest), b);
  auto ro = svc_->GetMedia(Req(StartSelectorType::kNow, "other"), other);
  jobs_.RunAll();
  ASSERT_EQ(a->begun, 1);
  ASSERT_EQ(b->begun, 1);
  // Queued before the deletion, opened after it.
  auto late = std::make_shared<FakeTransport>();
  auto rl = svc_->GetMedia(Req(StartSelectorType::kNow), late);

  ASSERT_TRUE(h_.a().DeleteStream(archive::StreamRef::Name("cam"), "").ok());
  jobs_.RunAll();
  EXPECT_EQ(a->ended, 1);
  EXPECT_EQ(b->ended, 1);
  EXPECT_EQ(other->ended, 0);
  EXPECT_FALSE(hub_.HasListeners("cam"));
  EXPECT_TRUE(hub_.HasListeners("other"));
  ASSERT_TRUE(late->error.has_value());
  EXPECT_EQ(late->error->status.code(), Code::kNotFound);

  // The service's registration dies with it.
  ro->Stop();
  jobs_.RunAll();
  ra.reset();
  rb.reset();
  ro.reset();
  rl.reset();
  svc_.reset();
  ASSERT_TRUE(h_.a().DeleteStream(archive::StreamRef::Name("other"), "").ok());
}

TEST_F(GetMediaReaderTest, ShutdownEndsEveryResponse) {
  Make();
  auto a = std::make_shared<FakeTransport>();
  auto ra = svc_->GetMedia(Req(StartSelectorType::kNow), a);
  jobs_.RunAll();
  svc_->EndAll();
  EXPECT_EQ(a->ended, 1);
  ra->Stop();
  jobs_.RunAll();
  EXPECT_FALSE(hub_.HasListeners("cam"));
}

TEST_F(GetMediaReaderTest, BusyWhenNoJobCanBeQueued) {
  Make();
  jobs_.refuse = true;
  auto a = std::make_shared<FakeTransport>();
  auto ra = svc_->GetMedia(Req(StartSelectorType::kNow), a);
  ASSERT_TRUE(a->error.has_value());
  EXPECT_EQ(a->error->status.code(), Code::kUnavailable);
  FragmentListRequest list;
  list.stream = archive::StreamRef::Name("cam");
  list.fragments = {"1"};
  auto b = std::make_shared<FakeTransport>();
  auto rb = svc_->GetMediaForFragmentList(list, b);
  ASSERT_TRUE(b->error.has_value());
  EXPECT_EQ(b->error->status.code(), Code::kUnavailable);
}

TEST_F(GetMediaReaderTest, FragmentListInTheOrderAsked) {
  MediaOptions o;
  o.backlog_batch = 2;
  o.resume_queued_bytes = 1'500;  // a chunk is ~1,100 bytes
  Make(o);
  for (int k = 0; k < 4; ++k) Store("cam", k);
  FragmentListRequest req;
  req.stream = archive::StreamRef::Name("cam");
  req.fragments = {numbers_[2], numbers_[0], numbers_[3], numbers_[1]};
  auto t = std::make_shared<FakeTransport>();
  auto r = svc_->GetMediaForFragmentList(req, t);
  jobs_.RunAll();
  // Paced: a batch of 2 chunks, then (over 1,500 bytes queued) it waits for the client.
  EXPECT_EQ(Sent(*t), (std::vector<int>{2, 0}));
  EXPECT_EQ(t->ended, 0);
  t->SetQueued(0);
  jobs_.RunAll();
  EXPECT_EQ(Sent(*t), (std::vector<int>{2, 0, 3, 1}));
  EXPECT_EQ(t->begun, 1);
  EXPECT_EQ(t->ended, 1);
  EXPECT_FALSE(t->error.has_value());
}

TEST_F(GetMediaReaderTest, FragmentListRefusesUnknownFragmentsBeforeSending) {
  Make();
  Store("cam", 0);
  Store("other", 1);
  for (const std::string& bad : {numbers_[1], std::string("12")}) {
    FragmentListRequest req;
    req.stream = archive::StreamRef::Name("cam");
    req.fragments = {numbers_[0], bad};
    auto t = std::make_shared<FakeTransport>();
    auto r = svc_->GetMediaForFragmentList(req, t);
    jobs_.RunAll();
    EXPECT_EQ(t->begun, 0);
    EXPECT_TRUE(t->chunks.empty());
    ASSERT_TRUE(t->error.has_value());
    EXPECT_EQ(t->error->status.code(), Code::kNotFound);
    EXPECT_NE(t->error->status.message().find(bad), std::string::npos);
  }
  FragmentListRequest gone;
  gone.stream = archive::StreamRef::Name("nope");
  gone.fragments = {numbers_[0]};
  auto t = std::make_shared<FakeTransport>();
  auto r = svc_->GetMediaForFragmentList(gone, t);
  jobs_.RunAll();
  ASSERT_TRUE(t->error.has_value());
  EXPECT_EQ(t->error->status.code(), Code::kNotFound);
}

}  // namespace
}  // namespace streamarc::playback
