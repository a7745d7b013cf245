// What the detecting samples do with what they find: one JSON line per event on stdout (the
// PutEvents event shape, exact six-decimal timestamps) and, with --post-events, PutEvents.
#pragma once

#include <vector>

#include "common/status.h"
#include "frametap/frametap.h"
#include "samples/sample_args.h"

namespace streamarc::samples {

class EventOutput {
 public:
  // `program` prefixes the error lines ("streamarc-motion"); `args` holds --post-events and
  // where to post.
  EventOutput(const char* program, const Args& args);

  void Emit(const std::vector<frametap::Event>& events);
  // The process's exit code once the consumer has stopped with `consumer`: 1 when it failed
  // (said on stderr) or any PutEvents failed, else 0.
  int Finish(const Status& consumer) const;

 private:
  const char* program_;
  const Args& args_;
  const bool post_;
  bool post_failed_ = false;
};

// main() of a sample: OpenCV reports its errors (a bad size, no encoder for a file name) as
// cv::Exception, so `sample_main`'s exceptions become a message and exit code 1.
int RunSample(const char* program, int (*sample_main)(int, char**), int argc, char** argv);

}  // namespace streamarc::samples
