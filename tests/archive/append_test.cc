#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <vector>

#include "tests/archive/test_util.h"

namespace streamarc::archive::testing {
namespace {

TEST(AppendTest, StoresBytesAndMetadataVerbatim) {
  Harness h;
  ASSERT_TRUE(h.Open().ok());
  h.Create("cam");
  FragmentInput in = MakeFragment(kStartUs, 123'457, 7);
  in.key_frame_offsets = {0, 40'000, 90'000};
  in.track_info = std::string("\x16\x54\xae\x6b\x00binary", 11);
  Result<FragmentInfo> f = AppendSync(h.a(), "cam", in);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->number.size(), 47u);

  ASSERT_TRUE(h.Open().ok());  // what was reported durable survives a reopen
  Result<std::string> bytes = h.a().ReadFragment(StreamRef::Name("cam"), f->number);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(*bytes, in.bytes);
  Result<FragmentInfo> got = h.a().GetFragment(StreamRef::Name("cam"), f->number);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->producer_timestamp_us, in.producer_timestamp_us);
  EXPECT_EQ(got->server_timestamp_us, in.server_timestamp_us);
  EXPECT_EQ(got->duration_us, in.duration_us);
  EXPECT_EQ(got->size_bytes, in.bytes.size());
  EXPECT_EQ(got->track_info, in.track_info);
  EXPECT_EQ(got->key_frame_offsets, in.key_frame_offsets);
  EXPECT_EQ(got->stream_name, "cam");
}

TEST(AppendTest, OpenFragmentGivesARangeForPread) {
  Harness h;
  ASSERT_TRUE(h.Open().ok());
  h.Create("cam");
  FragmentInput in = MakeFragment(kStartUs, 5000, 3);
  Result<FragmentInfo> f = AppendSync(h.a(), "cam", in);
  ASSERT_TRUE(f.ok());
  Result<FragmentBytes> r = h.a().OpenFragment(StreamRef::Name("cam"), f->number);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GE(r->reader->fd(), 0);
  std::string buf(r->length, '\0');
  ASSERT_EQ(::pread(r->reader->fd(), buf.data(), buf.size(), static_cast<off_t>(r->offset)),
            static_cast<ssize_t>(buf.size()));
  EXPECT_EQ(buf, in.bytes);
}

TEST(AppendTest, NumbersIncreasePerStreamAndAreUniqueAcrossStreams) {
  Harness h;
  ASSERT_TRUE(h.Open().ok());
  for (const char* s : {"a", "b", "c"}) h.Create(s);
  std::set<std::string> all;
  std::map<std::string, std::string> last;
  std::mutex mu;
  std::atomic<int> ok{0};
  for (int i = 0; i < 300; ++i) {
    const std::string stream = std::string(1, static_cast<char>('a' + i % 3));
    Result<std::string> n =
        h.a().Append(StreamRef::Name(stream), MakeFragment(kStartUs + i, 100 + i, i),
                     [&](const Status& s, const FragmentInfo&) { ok += s.ok(); });
    ASSERT_TRUE(n.ok());
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_TRUE(all.insert(*n).second);
    EXPECT_LT(last[stream], *n);
    last[stream] = *n;
  }
  h.a().Flush();
  EXPECT_EQ(ok.load(), 300);
  // Numbers keep increasing after a restart, even with the clock set back.
  h.clock.Set(kStartUs - 1'000'000'000);
  ASSERT_TRUE(h.Open().ok());
  Result<FragmentInfo> after = AppendSync(h.a(), "a", MakeFragment(kStartUs, 10, 1));
  ASSERT_TRUE(after.ok());
  EXPECT_LT(last["a"], after->number);
  EXPECT_LT(*all.rbegin(), after->number);
}

TEST(AppendTest, GroupCommitSharesSyncsAndTransactions) {
  Harness h;
  ASSERT_TRUE(h.Open().ok());
  constexpr int kStreams = 20, kPerStream = 50;
  for (int s = 0; s < kStreams; ++s) h.Create("s" + std::to_string(s));
  std::atomic<int> durable{0};
  std::atomic<bool> saw_uncommitted{false};
  for (int i = 0; i < kPerStream; ++i) {
    for (int s = 0; s < kStreams; ++s) {
      const std::string name = "s" + std::to_string(s);
      ASSERT_TRUE(h.a()
                      .Append(StreamRef::Name(name), MakeFragment(kStartUs + i, 2000, i * 100 + s),
                              [&, name](const Status& st, const FragmentInfo& info) {
                                // Reported durable means the row is visible to readers.
                                if (!st.ok() ||
                                    !h.a().GetFragment(StreamRef::Name(name), info.number).ok()) {
                                  saw_uncommitted = true;
                                }
                                ++durable;
                              })
                      .ok());
    }
  }
  h.a().Flush();
  EXPECT_EQ(durable.load(), kStreams * kPerStream);
  EXPECT_FALSE(saw_uncommitted.load());
  ArchiveStats st = h.a().Stats();
  EXPECT_EQ(st.fragments_appended, static_cast<uint64_t>(kStreams * kPerStream));
  // Batching happened: far fewer commits than fragments.
  EXPECT_LT(st.commits, static_cast<uint64_t>(kStreams * kPerStream) / 4);
  EXPECT_LT(st.file_syncs, static_cast<uint64_t>(kStreams * kPerStream) / 2);
  EXPECT_TRUE(h.a().Verify().ok());
}

TEST(AppendTest, RejectsBadInputAndAppliesBackPressure) {
  Harness h;
  h.options.max_pending_bytes = 1 << 20;
  ASSERT_TRUE(h.Open().ok());
  h.Create("cam");
  auto noop = [](const Status&, const FragmentInfo&) {};
  EXPECT_EQ(h.a().Append(StreamRef::Name("cam"), FragmentInput{}, noop).status().code(),
            Code::kInvalidArgument);
  FragmentInput huge;
  huge.bytes.assign(kMaxFragmentBytes + 1, 'x');
  EXPECT_EQ(h.a().Append(StreamRef::Name("cam"), std::move(huge), noop).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(
      h.a().Append(StreamRef::Name("nope"), MakeFragment(kStartUs, 1, 1), noop).status().code(),
      Code::kNotFound);
  // Queue more than 1 MB faster than the disk can take it: some appends are refused. The
  // fragments are made first, so that nothing but Append runs between two appends (making
  // 256 KB of bytes each time let a fast disk keep up).
  std::vector<FragmentInput> burst;
  for (int i = 0; i < 200; ++i) burst.push_back(MakeFragment(kStartUs, 256 << 10, i));
  int refused = 0;
  for (int i = 0; i < 200 && refused == 0; ++i) {
    Result<std::string> n = h.a().Append(StreamRef::Name("cam"), std::move(burst[i]), noop);
    if (!n.ok()) {
      EXPECT_EQ(n.status().code(), Code::kResourceExhausted);
      ++refused;
    }
  }
  EXPECT_EQ(refused, 1);
  h.a().Flush();
  EXPECT_GE(h.a().Stats().appends_rejected, 4u);
}

TEST(AppendTest, RollsSegmentsByWindowAndSize) {
  Harness h;
  h.options.segment_window_us = 60'000'000;
  h.options.max_segment_bytes = 64 << 10;
  ASSERT_TRUE(h.Open().ok());
  h.Create("cam");
  // 30 one-second fragments of 1 KB: the 60 s window rolls once at most.
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(AppendSync(h.a(), "cam", MakeFragment(kStartUs + i * 1'000'000, 1000, i)).ok());
  }
  // 10 fragments of 20 KB in the same window: the 64 KB limit rolls several times.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(AppendSync(h.a(), "cam", MakeFragment(kStartUs + 90'000'000 + i, 20'000, i)).ok());
  }
  size_t files = 0;
  for (const auto& d :
       std::filesystem::recursive_directory_iterator(h.options.root + "/segments")) {
    files += d.is_regular_file();
  }
  EXPECT_GE(files, 4u);
  EXPECT_LE(files, 8u);
  EXPECT_TRUE(h.a().Verify().ok());
  ASSERT_TRUE(h.Open().ok());
  EXPECT_EQ(h.a().Recovery().bytes_truncated, 0u);
  EXPECT_TRUE(h.a().Verify().ok());
}

TEST(AppendTest, ShutdownDrainsTheQueue) {
  Harness h;
  ASSERT_TRUE(h.Open().ok());
  h.Create("cam");
  std::atomic<int> ok{0};
  std::vector<std::string> numbers;
  for (int i = 0; i < 100; ++i) {
    numbers.push_back(*h.a().Append(StreamRef::Name("cam"), MakeFragment(kStartUs + i, 500, i),
                                    [&](const Status& s, const FragmentInfo&) { ok += s.ok(); }));
  }
  h.Close();
  EXPECT_EQ(ok.load(), 100);
  ASSERT_TRUE(h.Open().ok());
  for (size_t i = 0; i < numbers.size(); ++i) {
    EXPECT_EQ(*h.a().ReadFragment(StreamRef::Name("cam"), numbers[i]), MakeBytes(i, 500));
  }
}

}  // namespace
}  // namespace streamarc::archive::testing
