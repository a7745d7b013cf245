#include "tests/support/archive_reader.h"

#include <gtest/gtest.h>

#include "archive/archive.h"
#include "common/mkv.h"

namespace streamarc::testing {
namespace {

class Collector : public mkv::ReaderHandler {
 public:
  Status OnTracks(const std::vector<mkv::TrackInfo>& t) override {
    tracks_ = t;
    return Status::Ok();
  }
  Status OnFrame(const mkv::Frame& f) override {
    size_t index = 0;
    while (index < tracks_.size() && tracks_[index].number != f.track) ++index;
    frames.push_back({f.track, index, f.timecode, f.key, f.data.size()});
    return Status::Ok();
  }
  std::vector<StoredFrame> frames;

 private:
  std::vector<mkv::TrackInfo> tracks_;
};

}  // namespace

bool StoredArchive::EveryFragmentStartsWithKey() const {
  for (const StoredFragment& f : fragments) {
    if (!f.starts_with_key) return false;
  }
  return true;
}

StoredArchive ReadArchiveFrames(const std::string& root, const std::string& stream) {
  StoredArchive out;
  auto env = archive::NewPosixEnv();
  SystemClock clock;
  Logger log(clock, LogLevel::kError, [](std::string_view) {});
  archive::Options opt;
  opt.root = root;
  opt.sweep_interval_us = 0;
  auto a = archive::OpenLocalArchive(opt, *env, clock, log);
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  if (!a.ok()) return out;
  auto ref = archive::StreamRef::Name(stream);
  auto list = (*a)->FragmentsAfter(ref, "", 10000);
  EXPECT_TRUE(list.ok()) << list.status().ToString();
  if (!list.ok()) return out;
  for (const archive::FragmentInfo& info : *list) {
    auto bytes = (*a)->ReadFragment(ref, info.number);
    EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
    if (!bytes.ok()) continue;
    // Each fragment is a playable Matroska file on its own: header, then its cluster.
    std::string whole = info.track_info + *bytes;
    if (out.first_fragment_file.empty()) out.first_fragment_file = whole;
    Collector c;
    mkv::Reader reader(c);
    EXPECT_TRUE(reader.Feed({reinterpret_cast<const uint8_t*>(whole.data()), whole.size()}).ok());
    EXPECT_TRUE(reader.Finish().ok());
    out.fragments.push_back({info.number, info.producer_timestamp_us, c.frames.size(),
                             !c.frames.empty() && c.frames.front().key});
    out.frames.insert(out.frames.end(), c.frames.begin(), c.frames.end());
  }
  return out;
}

}  // namespace streamarc::testing
