// Shared by the producer SDK's end-to-end suites: a callback recorder, client and stream
// options for a test server, the frame conversion and putting, waiting for ACKs, the
// archive-versus-input checks, and the fixture that runs a real streamarcd (optionally behind
// a TcpProxy).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "producer-sdk/producer.h"
#include "tests/producer/sdk_media.h"
#include "tests/producer/tcp_proxy.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::producer_test {

using namespace streamarc::producer;
using streamarc::testing::RunCommand;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;

// Counts every callback; thread-safe (callbacks come from the upload thread).
class Recorder : public StreamCallbacks {
 public:
  void OnFragmentAck(const FragmentAck& a) override {
    std::lock_guard<std::mutex> l(mu);
    ++acks[a.type];
    if (a.type == AckType::kError) error_ids.push_back(a.error_id);
  }
  void OnDroppedFrame(int64_t) override { ++dropped_frames; }
  void OnDroppedFragment(int64_t) override { ++dropped_fragments; }
  void OnStorageOverflowPressure(size_t) override { ++overflow_pressure; }
  void OnLatencyPressure(int64_t) override { ++latency_pressure; }
  void OnConnectionState(ConnectionState s, const Status&) override {
    std::lock_guard<std::mutex> l(mu);
    ++states[s];
  }
  void OnStreamError(const Status& s) override {
    std::lock_guard<std::mutex> l(mu);
    errors.push_back(s);
  }
  void OnUnverifiedResend(const Status& s) override {
    std::lock_guard<std::mutex> l(mu);
    unverified.push_back(s);
  }
  int Acks(AckType t) {
    std::lock_guard<std::mutex> l(mu);
    return acks[t];
  }
  int States(ConnectionState s) {
    std::lock_guard<std::mutex> l(mu);
    return states[s];
  }
  // Polls (500 times, 10 ms apart) until OnConnectionState reported `s` at least once; false
  // if it never did.
  bool WaitForState(ConnectionState s) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard<std::mutex> l(mu);
        if (states[s] > 0) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  std::mutex mu;
  std::map<AckType, int> acks;
  std::map<ConnectionState, int> states;
  std::vector<int> error_ids;
  std::vector<Status> errors;
  std::vector<Status> unverified;  // OnUnverifiedResend's
  std::atomic<int> dropped_frames{0}, dropped_fragments{0}, overflow_pressure{0},
      latency_pressure{0};
};

inline ClientOptions Options(const ServerProcess& server) {
  ClientOptions o;
  o.endpoint = server.url();
  o.credentials = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  o.connect_timeout_ms = 1'000;
  return o;
}

// Options for a stream that retries quickly (20 ms, backing off to 200 ms), as the fault
// tests want.
inline StreamOptions FastRetryOptions(const std::string& name, int64_t fragment_duration_ms) {
  StreamOptions so;
  so.name = name;
  so.fragment_duration_ms = fragment_duration_ms;
  so.retry_min_ms = 20;
  so.retry_max_ms = 200;
  return so;
}

inline Frame ToFrame(const InputFrame& f, uint64_t track = 1) {
  Frame fr;
  fr.track = track;
  fr.pts_us = f.pts_ms * 1000;
  fr.dts_us = f.dts_ms * 1000;
  fr.duration_us = f.duration_ms * 1000;
  fr.key_frame = f.key;
  fr.data = f.annexb;
  return fr;
}

// The archive's video frames must be the input's, once each, in order: same key flags, same
// presentation times (relative to the first), and for delta frames the same size as ffmpeg's
// own length-prefixed packets.
inline void ExpectSameVideo(const std::vector<InputFrame>& in, const StoredArchive& got) {
  std::vector<StoredFrame> video;
  for (const auto& f : got.frames) {
    if (f.track == 1) video.push_back(f);
  }
  ASSERT_EQ(video.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i));
    EXPECT_EQ(video[i].key, in[i].key);
    EXPECT_EQ(video[i].timecode - video[0].timecode, in[i].pts_ms - in[0].pts_ms);
    if (!in[i].key) {
      EXPECT_EQ(static_cast<int64_t>(video[i].size), in[i].mkv_size);
    }
  }
}

// Puts input frames [from, to) on track 1; stops at the first that PutFrame refuses.
inline ::testing::AssertionResult PutFrames(Stream& stream, const std::vector<InputFrame>& in,
                                            size_t from, size_t to) {
  for (size_t i = from; i < to; ++i) {
    Status s = stream.PutFrame(ToFrame(in[i]));
    if (!s.ok()) return ::testing::AssertionFailure() << "frame " << i << ": " << s.ToString();
  }
  return ::testing::AssertionSuccess();
}

// Polls (up to `tries` times, 10 ms apart) until `stream` has `n` fragments persisted;
// returns how many it has then.
inline uint64_t WaitPersisted(Stream& stream, uint64_t n, int tries = 500) {
  for (int i = 0; i < tries && stream.stats().fragments_persisted < n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return stream.stats().fragments_persisted;
}

class ProducerSdkTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start(data_.path()).ok()); }

  // Restarts the server on its port (with `extra_args`) behind a new TcpProxy (which it names
  // as its public URL) and sets `options` to reach it through the proxy. Use with
  // ASSERT_NO_FATAL_FAILURE.
  void RestartBehindProxy(std::unique_ptr<TcpProxy>& proxy, ClientOptions& options,
                          const std::vector<std::string>& extra_args = {}) {
    const int port = server_.port();
    server_.Stop();
    proxy = std::make_unique<TcpProxy>(port);
    const std::string proxy_url = "http://127.0.0.1:" + std::to_string(proxy->port());
    std::vector<std::string> args = {"--port", std::to_string(port), "--public-url", proxy_url};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    ASSERT_TRUE(server_.Start(data_.path(), args).ok()) << server_.log();
    options = Options(server_);
    options.endpoint = proxy_url;
  }

  TempDir data_, work_;
  ServerProcess server_;
};
// Every archived frame is an input frame, none twice; returns how many input frames are
// missing (dropped by the policy).
inline size_t ExpectNoDuplicates(const std::vector<InputFrame>& in, const StoredArchive& got) {
  std::map<int64_t, int> seen;
  for (const auto& f : got.frames) {
    if (f.track == 1) ++seen[f.timecode];
  }
  for (const auto& [tc, n] : seen)
    EXPECT_EQ(n, 1) << "frame at " << tc << " stored " << n << " times";
  EXPECT_LE(seen.size(), in.size());
  return in.size() - std::min(in.size(), seen.size());
}

}  // namespace streamarc::producer_test
