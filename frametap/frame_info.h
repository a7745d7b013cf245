// What maps a decoded frame back to the archive: shared by the consumer (frametap.h) and the
// in-server tap (tap.h). Its own header so that the tap's users need not include the
// consumer's (whose frametap::Event meets OpenCV's forward-declared cv::Event in clang-tidy's
// bugprone-forward-declaration-namespace).
#pragma once

#include <cstdint>
#include <string>

namespace streamarc::frametap {

struct FrameInfo {
  int64_t producer_timestamp_us = 0;  // the frame's own time, as the producer stamped it
  int64_t server_timestamp_us = 0;    // its fragment's server time plus its offset in it
  std::string fragment_number;
  bool key_frame = false;
  uint64_t frame_index = 0;  // frames seen since Open, sampled out or not
};

}  // namespace streamarc::frametap
