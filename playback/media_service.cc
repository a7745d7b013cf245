#include <utility>

#include "playback/get_media.h"
#include "playback/media_internal.h"

namespace streamarc::playback {

std::shared_ptr<MediaService> MediaService::Create(const MediaOptions& options,
                                                   archive::Archive& archive, LiveHub& hub,
                                                   JobRunner jobs, const Clock& clock,
                                                   Logger& log) {
  auto svc = std::make_shared<MediaServiceImpl>(options, archive, hub, std::move(jobs), clock, log);
  // Weak: the archive outlives the service, not the other way round.
  std::weak_ptr<MediaServiceImpl> weak = svc;
  svc->set_listener_id(archive.AddStreamDeletedListener([weak](const std::string& stream) {
    if (auto s = weak.lock()) s->OnStreamDeleted(stream);
  }));
  return svc;
}

MediaServiceImpl::MediaServiceImpl(const MediaOptions& options, archive::Archive& archive,
                                   LiveHub& hub, JobRunner jobs, const Clock& clock, Logger& log)
    : archive(archive), hub(hub), clock(clock), log(log), opt(options), jobs_(std::move(jobs)) {}

MediaServiceImpl::~MediaServiceImpl() {
  if (listener_id_) archive.RemoveStreamDeletedListener(listener_id_);
}

std::shared_ptr<MediaRequest> MediaServiceImpl::GetMedia(GetMediaRequest request,
                                                         std::shared_ptr<MediaTransport> out) {
  auto reader =
      std::make_shared<LiveReader>(shared_from_this(), std::move(out), std::move(request));
  reader->Start();
  return reader;
}

std::shared_ptr<MediaRequest> MediaServiceImpl::GetMediaForFragmentList(
    FragmentListRequest request, std::shared_ptr<MediaTransport> out) {
  return StartFragmentList(shared_from_this(), std::move(request), std::move(out));
}

Result<archive::ListResult> MediaServiceImpl::ListFragments(const archive::ListRequest& request) {
  return archive.ListFragments(request);
}

bool MediaServiceImpl::Acquire(const std::string& stream,
                               const std::shared_ptr<LiveReader>& reader) {
  MutexLock lock(mu_);
  auto& readers = readers_[stream];
  if (static_cast<int>(readers.size()) >= opt.max_get_media_per_stream) {
    if (readers.empty()) readers_.erase(stream);
    return false;
  }
  readers.insert(reader);
  return true;
}

void MediaServiceImpl::Release(const std::string& stream, const LiveReader* reader) {
  MutexLock lock(mu_);
  auto it = readers_.find(stream);
  if (it == readers_.end()) return;
  for (auto r = it->second.begin(); r != it->second.end(); ++r) {
    if (r->lock().get() == reader || r->expired()) {
      it->second.erase(r);
      break;
    }
  }
  if (it->second.empty()) {
    readers_.erase(it);
    chunks_.erase(stream);
  }
}

std::shared_ptr<const std::string> MediaServiceImpl::LiveChunk(const LiveFragmentPtr& f) {
  MutexLock lock(mu_);
  auto& cached = chunks_[f->stream_name];
  if (cached.first.lock() != f) {
    cached.first = f;
    cached.second = std::make_shared<const std::string>(
        BuildMediaChunk(f->info, *f->cluster, clock.NowMicros()));
  }
  return cached.second;
}

std::vector<std::shared_ptr<LiveReader>> MediaServiceImpl::ReadersOf(const std::string* stream) {
  std::vector<std::shared_ptr<LiveReader>> out;
  MutexLock lock(mu_);
  for (auto& [name, readers] : readers_) {
    if (stream && name != *stream) continue;
    for (auto& w : readers) {
      if (auto r = w.lock()) out.push_back(std::move(r));
    }
  }
  return out;
}

void MediaServiceImpl::EndAll() {
  for (auto& r : ReadersOf(nullptr)) r->EndResponse();
}

void MediaServiceImpl::OnStreamDeleted(const std::string& stream) {
  // A reader that takes its slot after this finds the stream gone at its next archive read
  // (the deletion committed before this event), so none is missed.
  for (auto& r : ReadersOf(&stream)) {
    log.Info(kMediaLog, "stream deleted: ending its reader", {{"stream", stream}});
    if (!Submit([r] { r->Finish(); })) r->Finish();
  }
}

}  // namespace streamarc::playback
