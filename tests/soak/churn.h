// The soak's churn (tests/soak/README.md): reader threads going round every read API on
// random streams, with streams created and deleted and connections dropped, while the cameras
// stream. Counts what each kind of call did and what failed.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/raw_http.h"
#include "tests/support/server_process.h"

namespace streamarc::soak {

using nlohmann::json;
using streamarc::testing::Curl;
using streamarc::testing::CurlGet;
using streamarc::testing::CurlPost;
using streamarc::testing::RawHttp;
using streamarc::testing::ServerProcess;

inline int64_t NowMs() { return SystemClock().NowMicros() / 1000; }

// KVS timestamps are seconds since the epoch.
inline double Ts(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

// Threads that go round every read API (and stream creation, deletion and dropped
// connections) on random streams until stopped, counting what they did and what failed.
class Churn {
 public:
  Churn(const ServerProcess& server, std::vector<std::string> streams, std::string clip_file,
        std::vector<std::string> tapped)
      : url_(server.url()),
        port_(server.port()),
        streams_(std::move(streams)),
        clip_file_(std::move(clip_file)),
        tapped_(std::move(tapped)) {}
  ~Churn() { Stop(); }

  void Start(int threads) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this, i] { Run(static_cast<unsigned>(i)); });
    }
  }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  // What each kind of call did: "name: ok/failed".
  std::string Summary() const {
    std::lock_guard<std::mutex> l(mu_);
    std::string out;
    for (const auto& [name, n] : done_) {
      out += name + " " + std::to_string(n.first) + "/" + std::to_string(n.first + n.second) + "  ";
    }
    return out;
  }
  size_t calls() const {
    std::lock_guard<std::mutex> l(mu_);
    size_t n = 0;
    for (const auto& [name, c] : done_) n += c.first + c.second;
    return n;
  }
  std::vector<std::string> failures() const {
    std::lock_guard<std::mutex> l(mu_);
    return failures_;
  }
  size_t failed() const {
    std::lock_guard<std::mutex> l(mu_);
    size_t n = 0;
    for (const auto& [name, c] : done_) n += c.second;
    return n;
  }

 private:
  using Action = std::string (Churn::*)(const std::string& stream);
  struct Named {
    const char* name;
    Action action;
  };

  void Run(unsigned seed) {
    static constexpr Named kActions[] = {
        {"GetMedia", &Churn::GetMedia},
        {"HLS", &Churn::Hls},
        {"DASH", &Churn::Dash},
        {"ListFragments", &Churn::ListFragments},
        {"GetClip", &Churn::GetClip},
        {"GetImages", &Churn::GetImages},
        {"thumbnail", &Churn::Thumbnail},
        {"stream create/put/delete", &Churn::StreamLife},
        {"dropped connection", &Churn::Drop},
    };
    std::mt19937 rng(seed);
    for (size_t k = seed; !stop_; ++k) {
      const Named& a = kActions[k % std::size(kActions)];
      const std::string& stream = streams_[rng() % streams_.size()];
      const std::string error = (this->*a.action)(stream);
      std::lock_guard<std::mutex> l(mu_);
      auto& n = done_[a.name];
      if (error.empty()) {
        ++n.first;
      } else {
        ++n.second;
        if (failures_.size() < 20) {
          failures_.push_back(std::string(a.name) + " " + stream + ": " + error);
        }
      }
    }
  }

  // curl's POST options for a KVS call.
  static inline const std::vector<std::string> kJson = {"-m", "20", "-H",
                                                        "Content-Type: application/json"};

  // The string at `key` (inside `outer`, if given) of a JSON answer; "" if there is none.
  static std::string Field(const std::string& body, const char* key, const char* outer = nullptr) {
    json j = json::parse(body, nullptr, false);
    if (outer != nullptr) j = j.is_object() && j.contains(outer) ? j[outer] : json();
    return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
  }

  static std::string Expect200(const testing::CurlReply& r, const std::string& want) {
    if (r.status == 200 && r.body.find(want) != std::string::npos) return "";
    return "HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 300);
  }

  // A range of the last few seconds the cameras recorded: acknowledged by now (the ack
  // takes a fragment, 0.5 s, plus the commit), well within retention.
  static json ProducerRange() {
    const int64_t now = NowMs();
    return {{"StartTimestamp", Ts(now - 8'000)}, {"EndTimestamp", Ts(now - 3'000)}};
  }

  // GetMedia from NOW or from a few seconds back, read for a while, then closed or reset.
  std::string GetMedia(const std::string& stream) {
    const bool from_now = (flip_++ % 2) == 0;
    json selector = from_now ? json{{"StartSelectorType", "NOW"}}
                             : json{{"StartSelectorType", "PRODUCER_TIMESTAMP"},
                                    {"StartTimestamp", Ts(NowMs() - 5'000)}};
    const std::string body = json{{"StreamName", stream}, {"StartSelector", selector}}.dump();
    RawHttp h(port_, 5'000);
    if (!h.Send("POST /getMedia HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                "application/json\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body)) {
      return "cannot send";
    }
    const std::string head = h.ReadUntil("\r\n\r\n");
    if (head.rfind("HTTP/1.1 200", 0) != 0) return head.substr(0, 300);
    // A fragment comes every 0.5 s: the reader gets media before it goes.
    h.ReadFor(800);
    if (h.received().size() < head.size() + 1'000) return "no media within 0.8 s";
    if (!from_now) h.Abort();  // the other half just closes
    return "";
  }

  // A session (LIVE or ON_DEMAND), its playlists, and a segment.
  std::string Hls(const std::string& stream) {
    const bool live = (flip_++ % 2) == 0;
    json req = {{"StreamName", stream}, {"Expires", 43'200}};
    if (live) {
      req["PlaybackMode"] = "LIVE";
    } else {
      req["PlaybackMode"] = "ON_DEMAND";
      req["HLSFragmentSelector"] = {{"FragmentSelectorType", "PRODUCER_TIMESTAMP"},
                                    {"TimestampRange", ProducerRange()}};
    }
    auto r = CurlPost(url_ + "/getHLSStreamingSessionURL", req.dump(), kJson);
    if (std::string e = Expect200(r, "HLSStreamingSessionURL"); !e.empty()) return e;
    const std::string master = Field(r.body, "HLSStreamingSessionURL");
    auto master_uris = testing::PlaylistUris(master, CurlGet(master, {"-m", "20"}));
    if (master_uris.empty()) return "master playlist without a media playlist";
    const std::string media = CurlGet(master_uris[0], {"-m", "20"});
    auto segments = testing::PlaylistUris(master_uris[0], media);
    if (segments.empty()) return "media playlist without segments: " + media.substr(0, 300);
    const std::string got = Curl(
        {"-m", "20", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", segments.back()});
    if (got.rfind("200 ", 0) != 0 || std::atoll(got.c_str() + 4) == 0) return "segment: " + got;
    return "";
  }

  std::string Dash(const std::string& stream) {
    json req = {{"StreamName", stream}, {"PlaybackMode", "LIVE"}, {"Expires", 43'200}};
    auto r = CurlPost(url_ + "/getDASHStreamingSessionURL", req.dump(), kJson);
    if (std::string e = Expect200(r, "DASHStreamingSessionURL"); !e.empty()) return e;
    const std::string mpd = CurlGet(Field(r.body, "DASHStreamingSessionURL"), {"-m", "20"});
    if (mpd.find("<MPD") == std::string::npos) return "not an MPD: " + mpd.substr(0, 300);
    return "";
  }

  std::string ListFragments(const std::string& stream) {
    json req = {
        {"StreamName", stream},
        {"FragmentSelector",
         {{"FragmentSelectorType", "PRODUCER_TIMESTAMP"}, {"TimestampRange", ProducerRange()}}}};
    auto r = CurlPost(url_ + "/listFragments", req.dump(), kJson);
    if (std::string e = Expect200(r, "FragmentNumber"); !e.empty()) return e;
    return "";
  }

  std::string GetClip(const std::string& stream) {
    json req = {
        {"StreamName", stream},
        {"ClipFragmentSelector",
         {{"FragmentSelectorType", "PRODUCER_TIMESTAMP"}, {"TimestampRange", ProducerRange()}}}};
    std::string got = Curl({"-m", "20", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                            "-H", "Content-Type: application/json", "-X", "POST", "--data-binary",
                            req.dump(), url_ + "/getClip"});
    if (got.rfind("200 ", 0) != 0 || std::atoll(got.c_str() + 4) < 1'000) return got;
    return "";
  }

  std::string GetImages(const std::string& stream) {
    // One at a time: the server decodes at most two at once and refuses a third with
    // ClientLimitExceeded (that limit is tested elsewhere), and other readers run besides.
    std::lock_guard<std::mutex> one(images_mu_);
    const int64_t now = NowMs();
    json req = {{"StreamName", stream},
                {"ImageSelectorType", "PRODUCER_TIMESTAMP"},
                {"StartTimestamp", Ts(now - 6'000)},
                {"EndTimestamp", Ts(now - 4'000)},
                // Not a multiple of the fragments' 0.5 s: the 7 instants fall at different
                // places in their fragments, some of them inside the video (an instant after
                // a fragment's last frame but before the next fragment starts gets NO_MEDIA:
                // README.md, "Found").
                {"SamplingInterval", 300},
                {"Format", "JPEG"}};
    auto r = CurlPost(url_ + "/getImages", req.dump(), kJson);
    return Expect200(r, "\"ImageContent\"");
  }

  // The frame tap's latest key frame of a tapped stream.
  std::string Thumbnail(const std::string&) {
    const std::string& stream = tapped_[flip_++ % tapped_.size()];
    std::string got = Curl({"-m", "20", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                            url_ + "/thumbnail?StreamName=" + stream});
    if (got.rfind("200 ", 0) != 0 || std::atoll(got.c_str() + 4) == 0) return got;
    return "";
  }

  // A stream made, given six seconds of video and sound by curl, described, deleted.
  std::string StreamLife(const std::string&) {
    const std::string name = "churn-" + std::to_string(churn_streams_++) + "-" +
                             std::to_string(reinterpret_cast<uintptr_t>(this) % 1000);
    auto c = CurlPost(url_ + "/createStream",
                      json{{"StreamName", name}, {"DataRetentionInHours", 1}}.dump(), kJson);
    if (std::string e = Expect200(c, "StreamARN"); !e.empty()) return "create: " + e;
    testing::PutMediaCall put;
    put.stream = name;
    put.file = clip_file_;
    put.start = std::to_string(Ts(NowMs()));
    put.extra = {"-m", "30"};
    const std::string acks = testing::CurlPutMedia(url_, put);
    if (acks.find("\"PERSISTED\"") == std::string::npos ||
        acks.find("\"ERROR\"") != std::string::npos) {
      return "PutMedia: " + acks.substr(0, 300);
    }
    auto d = CurlPost(url_ + "/describeStream", json{{"StreamName", name}}.dump(), kJson);
    if (std::string e = Expect200(d, "StreamARN"); !e.empty()) return "describe: " + e;
    const std::string arn = Field(d.body, "StreamARN", "StreamInfo");
    auto del = CurlPost(url_ + "/deleteStream", json{{"StreamARN", arn}}.dump(), kJson);
    if (del.status != 200) return "delete: HTTP " + std::to_string(del.status) + ": " + del.body;
    return "";
  }

  // Connections a client walks away from: one that never says anything, one gone half-way
  // through a request head (reset), one that asks and closes without reading the answer.
  std::string Drop(const std::string&) {
    const int fd = testing::ConnectLoopback(port_);
    if (fd < 0) return "cannot connect";
    close(fd);
    {
      RawHttp h(port_);
      if (!h.Send("GET /health HTTP/1.1\r\nHost: 127.0")) return "cannot send";
      h.Abort();
    }
    RawHttp h(port_);
    if (!h.Send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")) return "cannot send";
    return "";
  }

  const std::string url_;
  const int port_;
  const std::vector<std::string> streams_;
  const std::string clip_file_;
  const std::vector<std::string> tapped_;
  std::atomic<bool> stop_{false};
  std::atomic<unsigned> flip_{0};
  std::atomic<int> churn_streams_{0};
  std::vector<std::thread> threads_;
  std::mutex images_mu_;
  mutable std::mutex mu_;
  std::map<std::string, std::pair<size_t, size_t>> done_;  // name -> (ok, failed)
  std::vector<std::string> failures_;
};

}  // namespace streamarc::soak
