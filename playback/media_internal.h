// Private to playback/: the MediaService implementation shared by its reader files
// (media_service.cc, live_reader.cc, fragment_list_reader.cc).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "playback/media_reader.h"

namespace streamarc::playback {

inline constexpr char kMediaLog[] = "getmedia";

class LiveReader;

class MediaServiceImpl final : public MediaService,
                               public std::enable_shared_from_this<MediaServiceImpl> {
 public:
  MediaServiceImpl(const MediaOptions& options, archive::Archive& archive, LiveHub& hub,
                   JobRunner jobs, const Clock& clock, Logger& log);
  ~MediaServiceImpl() override;

  std::shared_ptr<MediaRequest> GetMedia(GetMediaRequest request,
                                         std::shared_ptr<MediaTransport> out) override;
  std::shared_ptr<MediaRequest> GetMediaForFragmentList(
      FragmentListRequest request, std::shared_ptr<MediaTransport> out) override;
  Result<archive::ListResult> ListFragments(const archive::ListRequest& request) override;
  void EndAll() override;

  // --- For the readers ---------------------------------------------------------------
  bool Submit(std::function<void()> job) { return jobs_(std::move(job)); }
  // Counts a GetMedia connection against its stream's limit; false when full.
  bool Acquire(const std::string& stream, const std::shared_ptr<LiveReader>& reader);
  void Release(const std::string& stream, const LiveReader* reader);
  // One chunk per live fragment, built by the first reader that gets it and shared (the
  // same bytes) by every other reader of the stream. Called on the commit thread.
  std::shared_ptr<const std::string> LiveChunk(const LiveFragmentPtr& f);

  // The archive's deletion event: ends the stream's readers (in jobs: ending unsubscribes,
  // which may wait for a running listener).
  void OnStreamDeleted(const std::string& stream);
  void set_listener_id(uint64_t id) { listener_id_ = id; }

  archive::Archive& archive;
  LiveHub& hub;
  const Clock& clock;
  Logger& log;
  const MediaOptions opt;

 private:
  std::vector<std::shared_ptr<LiveReader>> ReadersOf(const std::string* stream);

  JobRunner jobs_;
  uint64_t listener_id_ = 0;
  // Taken after a LiveReader's mu_ (OnLive calls LiveChunk under it), never before.
  Mutex mu_;
  std::map<std::string, std::set<std::weak_ptr<LiveReader>, std::owner_less<>>> readers_
      GUARDED_BY(mu_);
  std::map<std::string,
           std::pair<std::weak_ptr<const LiveFragment>, std::shared_ptr<const std::string>>>
      chunks_ GUARDED_BY(mu_);
};

// One GetMedia connection: the archived backlog from the start selector, then the live edge.
//
// Exactly one side writes at a time. In kBacklog a job reads fragments after `last_sent_`
// from the archive; a live fragment that arrives meanwhile only sets `missed_` (it is
// committed before it is published, so the job's next read finds it). When a read comes
// back empty and nothing was missed, the job switches to kLive under the lock; from then on
// the hub's listener writes each new fragment (the shared chunk, no copy). A reader that
// falls behind (too many unsent bytes) or a fragment published without its bytes goes back
// to kBacklog. Subscribing before the first read means nothing falls between the two.
class LiveReader final : public MediaRequest, public std::enable_shared_from_this<LiveReader> {
 public:
  LiveReader(std::shared_ptr<MediaServiceImpl> svc, std::shared_ptr<MediaTransport> out,
             GetMediaRequest req)
      : svc_(std::move(svc)), out_(std::move(out)), req_(std::move(req)) {}

  // Caller's thread: queues Open.
  void Start();
  // The client left (service thread): the cleanup runs as a job.
  void Stop() override;
  // Any thread but the commit thread: releases the slot and unsubscribes.
  void StopNow();
  // Ends the response cleanly, then StopNow (a job: deletion, a failed resubmit).
  void Finish();
  // Ends the response only (shutdown, on the service thread: no Unsubscribe here).
  void EndResponse() { out_->End(); }
  const std::string& stream() const { return stream_; }

 private:
  enum class Mode { kStarting, kBacklog, kLive };

  void Open();
  // Where the backlog starts; false when the request was refused.
  bool FindStart(std::optional<archive::FragmentInfo>& first);
  void Refuse(Status status, KvsErrorType exhausted = KvsErrorType::kClientLimitExceeded);
  bool SendStored(const archive::FragmentInfo& info);
  void Backlog();
  void Resubmit();
  void OnLive(const LiveFragmentPtr& f);

  std::shared_ptr<MediaServiceImpl> svc_;
  std::shared_ptr<MediaTransport> out_;
  GetMediaRequest req_;
  std::string stream_;  // resolved name (set in Open, then read-only)
  archive::StreamRef ref_;

  Mutex mu_;
  Mode mode_ GUARDED_BY(mu_) = Mode::kStarting;
  bool missed_ GUARDED_BY(mu_) = false;
  bool stopped_ GUARDED_BY(mu_) = false;
  bool acquired_ GUARDED_BY(mu_) = false;
  uint64_t sub_id_ GUARDED_BY(mu_) = 0;
  std::string last_sent_ GUARDED_BY(mu_);
};

// fragment_list_reader.cc: starts one GetMediaForFragmentList response.
std::shared_ptr<MediaRequest> StartFragmentList(std::shared_ptr<MediaServiceImpl> svc,
                                                FragmentListRequest request,
                                                std::shared_ptr<MediaTransport> out);

}  // namespace streamarc::playback
