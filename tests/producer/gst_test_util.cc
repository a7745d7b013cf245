#include "tests/producer/gst_test_util.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace streamarc::gsttest {

std::vector<std::string> GstEnv() {
  std::vector<std::string> env = {"env", std::string("GST_PLUGIN_PATH=") + STREAMARC_GST_PLUGIN_DIR,
                                  std::string("GST_REGISTRY=") + STREAMARC_GST_REGISTRY,
                                  // The SDK always signs; a loopback streamarcd without
                                  // configured keys accepts any.
                                  "AWS_ACCESS_KEY_ID=AKIDGSTTEST",
                                  "AWS_SECRET_ACCESS_KEY=gst-test-secret"};
  std::string asan = STREAMARC_LIBASAN;
  if (!asan.empty()) {
    env.push_back("LD_PRELOAD=" + asan);
    // glib is built without frame pointers: the fast unwinder stops at g_malloc, which
    // would leave LeakSanitizer a choice between suppressing every g_malloc and failing on
    // glib's own start-up allocation. Full unwinding lets tests/lsan.supp name the latter.
    const char* asan_options = std::getenv("ASAN_OPTIONS");
    std::string opts = asan_options != nullptr ? asan_options : "";
    env.push_back("ASAN_OPTIONS=" + opts + (opts.empty() ? "" : ":") + "fast_unwind_on_malloc=0");
  }
  return env;
}

std::string PutPath() { return STREAMARC_PUT_PATH; }
std::string RtspCameraPath() { return STREAMARC_RTSP_CAMERA_PATH; }

long DoneFrames(const std::string& output) {
  size_t at = output.rfind("done: ");
  if (at == std::string::npos) return -1;
  return std::strtol(output.c_str() + at + 6, nullptr, 10);
}

}  // namespace streamarc::gsttest
