// A simulated IP camera for tests: an RTSP server (gst-rtsp-server) on a free loopback port
// serving a live test pattern as H.264 (or H.265) over RTP. Debian ships no test-launch, so
// the tests build this. Prints the stream's URL on stdout once it listens, then serves until
// SIGTERM/SIGINT.
//
//   rtsp_camera [--codec h264|h265] [--fps N] [--width W --height H]
#include <glib-unix.h>
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

gboolean Quit(gpointer loop) noexcept {
  g_main_loop_quit(static_cast<GMainLoop*>(loop));
  return G_SOURCE_REMOVE;
}

}  // namespace

int main(int argc, char** argv) {
  std::string codec = "h264";
  int fps = 15, width = 320, height = 240;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--codec") == 0)
      codec = argv[i + 1];
    else if (std::strcmp(argv[i], "--fps") == 0)
      fps = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--width") == 0)
      width = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--height") == 0)
      height = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "rtsp_camera: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  gst_init(nullptr, nullptr);
  std::string enc =
      codec == "h265"
          ? "x265enc tune=zerolatency speed-preset=ultrafast key-int-max=" + std::to_string(fps) +
                " ! rtph265pay name=pay0 pt=96"
          : "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=" + std::to_string(fps) +
                " ! rtph264pay name=pay0 pt=96";
  std::string launch =
      "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=" + std::to_string(width) +
      ",height=" + std::to_string(height) + ",framerate=" + std::to_string(fps) + "/1 ! " + enc +
      " )";

  GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
  GstRTSPServer* server = gst_rtsp_server_new();
  gst_rtsp_server_set_address(server, "127.0.0.1");
  gst_rtsp_server_set_service(server, "0");  // a free port, read back below
  GstRTSPMountPoints* mounts = gst_rtsp_server_get_mount_points(server);
  GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
  gst_rtsp_media_factory_set_launch(factory, launch.c_str());
  gst_rtsp_media_factory_set_shared(factory, TRUE);
  gst_rtsp_mount_points_add_factory(mounts, "/cam", factory);  // takes the factory
  g_object_unref(mounts);
  guint source_id = gst_rtsp_server_attach(server, nullptr);
  if (source_id == 0) {
    std::fprintf(stderr, "rtsp_camera: cannot listen\n");
    return 1;
  }
  std::printf("rtsp://127.0.0.1:%d/cam\n", gst_rtsp_server_get_bound_port(server));
  std::fflush(stdout);
  g_unix_signal_add(SIGTERM, Quit, loop);
  g_unix_signal_add(SIGINT, Quit, loop);
  g_main_loop_run(loop);
  g_source_remove(source_id);
  g_object_unref(server);
  g_main_loop_unref(loop);
  return 0;
}
