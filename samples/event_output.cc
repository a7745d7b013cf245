#include "samples/event_output.h"

#include <cstdio>
#include <exception>

namespace streamarc::samples {

EventOutput::EventOutput(const char* program, const Args& args)
    : program_(program), args_(args), post_(args.options.count("--post-events") > 0) {}

void EventOutput::Emit(const std::vector<frametap::Event>& events) {
  for (const frametap::Event& e : events) {
    std::printf("{\"Label\":\"%s\",\"StartTimestamp\":%s,\"EndTimestamp\":%s,\"Score\":%.4f",
                e.label.c_str(), EpochSeconds(e.start_us).c_str(), EpochSeconds(e.end_us).c_str(),
                e.score);
    if (e.box) {
      std::printf(",\"Box\":{\"X\":%d,\"Y\":%d,\"Width\":%d,\"Height\":%d}", e.box->x, e.box->y,
                  e.box->width, e.box->height);
    }
    std::printf("}\n");
  }
  std::fflush(stdout);
  if (!post_ || events.empty()) return;
  auto ids = frametap::PutEvents(EventsOptionsFor(args_), events);
  if (!ids.ok()) {
    std::fprintf(stderr, "%s: PutEvents: %s\n", program_, ids.status().ToString().c_str());
    post_failed_ = true;
  }
}

int EventOutput::Finish(const Status& consumer) const {
  if (!consumer.ok()) {
    std::fprintf(stderr, "%s: %s\n", program_, consumer.ToString().c_str());
    return 1;
  }
  return post_failed_ ? 1 : 0;
}

int RunSample(const char* program, int (*sample_main)(int, char**), int argc, char** argv) {
  try {
    return sample_main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  }
}

}  // namespace streamarc::samples
