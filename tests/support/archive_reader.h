// What the archive holds for a stream, read back with the archive library after the server
// stopped: the tests' check that what went in over the wire is what was stored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace streamarc::testing {

struct StoredFrame {
  uint64_t track = 0;      // the Matroska track number
  size_t track_index = 0;  // the track's position in Tracks, as ffprobe numbers streams
  int64_t timecode = 0;    // ms (TimecodeScale 1 ms), absolute as stored
  bool key = false;
  size_t size = 0;
};

struct StoredFragment {
  std::string number;
  int64_t producer_timestamp_us = 0;
  size_t frames = 0;
  bool starts_with_key = false;  // false for a fragment without frames
};

struct StoredArchive {
  std::vector<StoredFragment> fragments;  // in archive order
  std::vector<StoredFrame> frames;        // every fragment's frames, in archive order
  std::string first_fragment_file;        // header + cluster of the first fragment, for ffprobe

  bool EveryFragmentStartsWithKey() const;
};

// Opens the archive under `root` (the server must be stopped: the archive is opened without
// a lock) and reads every fragment of `stream` back as Matroska, header then cluster. Failures
// to open, list, read or parse are reported as gtest failures; a fragment that cannot be read
// is left out.
StoredArchive ReadArchiveFrames(const std::string& root, const std::string& stream);

}  // namespace streamarc::testing
