// Disk full on a real, small file system: a size-limited tmpfs the test mounts (needs
// CAP_SYS_ADMIN). Where mounting is not allowed, the same scenarios run over FaultEnv's
// space limit instead, and the test says so.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include "tests/archive/fault_env.h"
#include "tests/archive/test_util.h"

namespace streamarc::archive::testing {
namespace {

// A tmpfs of `bytes` mounted over a fresh temp dir, or a FaultEnv limit when that fails.
class SmallDisk {
 public:
  explicit SmallDisk(uint64_t bytes) : fault_(*posix_) {
    const std::string opts = "size=" + std::to_string(bytes);
    mounted_ = ::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, opts.c_str()) == 0;
    if (!mounted_) fault_.SetSpaceLimit(bytes);
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  Env& env() { return mounted_ ? *posix_ : static_cast<Env&>(fault_); }
  std::string root() const { return dir_.path() + "/archive"; }
  bool mounted() const { return mounted_; }

 private:
  streamarc::testing::TempDir dir_;
  std::unique_ptr<Env> posix_ = NewPosixEnv();
  FaultEnv fault_;
  bool mounted_ = false;
};

struct Acked {
  std::string stream, number;
  uint64_t seed;
};

constexpr size_t kFragment = 16 << 10;

// Appends `n` fragments round-robin over `streams`; returns how many failed for space.
int Fill(Archive& a, const std::vector<std::string>& streams, int n, uint64_t seed0,
         std::vector<Acked>* acked) {
  std::mutex mu;
  int full = 0;
  for (int i = 0; i < n; ++i) {
    const std::string& s = streams[static_cast<size_t>(i) % streams.size()];
    const uint64_t seed = seed0 + static_cast<uint64_t>(i);
    Result<std::string> num =
        a.Append(StreamRef::Name(s), MakeFragment(kStartUs + i, kFragment, seed),
                 [&, s, seed](const Status& st, const FragmentInfo& info) {
                   std::lock_guard<std::mutex> lock(mu);
                   if (st.ok()) {
                     acked->push_back({s, info.number, seed});
                   } else {
                     EXPECT_EQ(st.code(), Code::kResourceExhausted) << st.ToString();
                     ++full;
                   }
                 });
    if (!num.ok()) {
      EXPECT_EQ(num.status().code(), Code::kResourceExhausted);
      a.Flush();
      --i;
      continue;
    }
    if (i % 16 == 15) a.Flush();
  }
  a.Flush();
  return full;
}

void ExpectReadable(Archive& a, const std::vector<Acked>& acked) {
  for (const Acked& x : acked) {
    Result<std::string> got = a.ReadFragment(StreamRef::Name(x.stream), x.number);
    ASSERT_TRUE(got.ok()) << x.number << ": " << got.status().ToString();
    EXPECT_EQ(*got, MakeBytes(x.seed, kFragment));
  }
}

Options SmallOptions(const std::string& root) {
  Options o;
  o.root = root;
  o.sweep_interval_us = 0;
  o.max_segment_bytes = 256 << 10;
  return o;
}

void CreateStreams(Archive& a, const std::vector<std::string>& names) {
  for (const std::string& n : names) {
    CreateStreamRequest r;
    r.name = n;
    r.retention_hours = 87600;
    ASSERT_TRUE(a.CreateStream(r).ok());
  }
}

TEST(DiskFullTest, FullDiskGivesResourceExhaustedAndKeepsServing) {
  SmallDisk disk(8 << 20);
  if (!disk.mounted()) std::printf("tmpfs mount not permitted: using FaultEnv's limit\n");
  ManualClock clock(kStartUs);
  Logger logger(clock, LogLevel::kError, [](std::string_view) {});
  Options o = SmallOptions(disk.root());
  o.evict_when_full = false;
  auto opened = OpenLocalArchive(o, disk.env(), clock, logger);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Archive& a = **opened;
  CreateStreams(a, {"a", "b"});
  std::vector<Acked> acked;
  int full = Fill(a, {"a", "b"}, 800, 0, &acked);  // 12.8 MB into 8 MB
  EXPECT_GT(full, 0);
  EXPECT_GT(acked.size(), 100u);  // the 8 MB minus the space reserve and the index
  ExpectReadable(a, acked);
  EXPECT_TRUE(a.ListStreams("", "", 10).ok());
  // Freeing space (deleting a stream) lets ingest continue.
  Status del = a.DeleteStream(StreamRef::Name("b"), "");
  ASSERT_TRUE(del.ok()) << del.ToString();
  std::erase_if(acked, [](const Acked& x) { return x.stream == "b"; });
  EXPECT_EQ(Fill(a, {"a"}, 20, 5000, &acked), 0);
  opened->reset();
  auto reopened = OpenLocalArchive(o, disk.env(), clock, logger);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  ExpectReadable(**reopened, acked);
  EXPECT_TRUE((*reopened)->Verify().ok());
}

TEST(DiskFullTest, IngestNeverStopsWhileOldDataCanGo) {
  SmallDisk disk(16 << 20);
  ManualClock clock(kStartUs);
  Logger logger(clock, LogLevel::kWarn);
  Options o = SmallOptions(disk.root());
  auto opened = OpenLocalArchive(o, disk.env(), clock, logger);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Archive& a = **opened;
  CreateStreams(a, {"a", "b", "c"});
  std::vector<Acked> acked;
  EXPECT_EQ(Fill(a, {"a", "b", "c"}, 3000, 0, &acked), 0);  // 48 MB through 16 MB
  ArchiveStats st = a.Stats();
  EXPECT_GT(st.fragments_evicted, 1000u);
  EXPECT_EQ(st.fragments_failed, 0u);
  // What survives is the newest data, intact; the index matches the files.
  size_t readable = 0;
  for (const Acked& x : acked) readable += a.GetFragment(StreamRef::Name(x.stream), x.number).ok();
  EXPECT_EQ(readable + st.fragments_evicted, acked.size());
  EXPECT_TRUE(a.GetFragment(StreamRef::Name(acked.back().stream), acked.back().number).ok());
  EXPECT_TRUE(a.Verify().ok());
}

}  // namespace
}  // namespace streamarc::archive::testing
