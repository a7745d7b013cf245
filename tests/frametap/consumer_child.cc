// A frame-tap consumer in its own process, for the checkpoint test: prints one line per
// frame it handles ("frame <producer_us> <fragment>", written before the callback returns)
// and, with a block fragment index K > 0, stops inside the callback of the first frame of
// the K-th fragment it sees (printing "blocked") until the test kills it.
//   frametap_consumer_child ENDPOINT STREAM CHECKPOINT END_PRODUCER_US BLOCK_AT
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "frametap/frametap.h"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s ENDPOINT STREAM CHECKPOINT END_US BLOCK_AT\n", argv[0]);
    return 2;
  }
  streamarc::frametap::ConsumerOptions o;
  o.endpoint = argv[1];
  o.stream_name = argv[2];
  o.checkpoint_path = argv[3];
  o.end_producer_us = std::atoll(argv[4]);
  o.start.type = streamarc::frametap::StartType::kEarliest;
  o.queue_frames = 2;
  const int block_at = std::atoi(argv[5]);
  auto consumer = streamarc::frametap::Consumer::Open(o);
  if (!consumer.ok()) {
    std::printf("error %s\n", consumer.status().ToString().c_str());
    return 1;
  }
  std::string fragment;
  int fragments = 0;
  streamarc::Status s =
      (*consumer)->Run([&](const cv::Mat&, const streamarc::frametap::FrameInfo& info) {
        if (info.fragment_number != fragment) {
          fragment = info.fragment_number;
          if (++fragments == block_at) {
            std::printf("blocked %lld\n", static_cast<long long>(info.producer_timestamp_us));
            std::fflush(stdout);
            for (;;) pause();  // killed here, inside the callback
          }
        }
        std::printf("frame %lld %s\n", static_cast<long long>(info.producer_timestamp_us),
                    info.fragment_number.c_str());
        std::fflush(stdout);
        return true;
      });
  std::printf("end %s\n", s.ToString().c_str());
  return s.ok() ? 0 : 1;
}
