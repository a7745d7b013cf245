// GetMediaForFragmentList: the named fragments, in the order asked, paced by the client.
#include <atomic>
#include <utility>
#include <vector>

#include "playback/get_media.h"
#include "playback/media_internal.h"

namespace streamarc::playback {
namespace {

class ListReader final : public MediaRequest, public std::enable_shared_from_this<ListReader> {
 public:
  ListReader(std::shared_ptr<MediaServiceImpl> svc, std::shared_ptr<MediaTransport> out,
             FragmentListRequest req)
      : svc_(std::move(svc)), out_(std::move(out)), req_(std::move(req)) {}

  void Start() {
    auto self = shared_from_this();
    if (!svc_->Submit([self] { self->Open(); })) {
      // Busy is 503 everywhere (server/kvs_error.h): clients retry it.
      out_->Fail(KvsErrorFromStatus(Unavailable(kBusyMessage)));
    }
  }
  void Stop() override { stopped_.store(true); }

 private:
  // Job: checks every fragment before anything is sent (an unknown one refuses the request).
  void Open() {
    auto info = svc_->archive.DescribeStream(req_.stream);
    if (!info.ok()) return out_->Fail(KvsErrorFromStatus(info.status()));
    ref_ = archive::StreamRef::Name(info->name);
    for (const std::string& number : req_.fragments) {
      auto f = svc_->archive.GetFragment(ref_, number);
      if (!f.ok()) {
        // A number the archive cannot decode was never issued: not found either.
        if (f.status().code() == Code::kNotFound || f.status().code() == Code::kInvalidArgument) {
          return out_->Fail(KvsErrorFromStatus(
              NotFound("fragment " + number + " is not in stream " + info->name)));
        }
        return out_->Fail(KvsErrorFromStatus(f.status()));
      }
      infos_.push_back(std::move(*f));
    }
    out_->Begin();
    Step();
  }

  // Job: writes until the client's queue is full, then waits for it to drain. A fragment
  // that expired since Open becomes an error chunk, as KVS reports errors once the 200 is out.
  void Step() {
    int sent = 0;
    while (next_ < infos_.size()) {
      if (stopped_.load()) return;
      if (out_->queued_bytes() > svc_->opt.resume_queued_bytes || sent == svc_->opt.backlog_batch) {
        auto self = shared_from_this();
        auto resume = [self] {
          if (!self->svc_->Submit([self] { self->Step(); })) self->out_->Close();
        };
        if (sent == svc_->opt.backlog_batch) return resume();
        return out_->NotifyWhenDrained(svc_->opt.resume_queued_bytes, resume);
      }
      const archive::FragmentInfo& info = infos_[next_++];
      ++sent;
      auto bytes = svc_->archive.ReadFragment(ref_, info.number);
      if (bytes.ok()) {
        out_->Write(BuildMediaChunk(info, *bytes, svc_->clock.NowMicros()));
      } else if (bytes.status().code() == Code::kNotFound) {
        out_->Write(BuildErrorChunk(info.number, "FRAGMENT_NOT_FOUND", kErrorFragmentNotFound));
      } else {
        svc_->log.Warn(kMediaLog, "cannot read a fragment",
                       {{"fragment", info.number}, {"error", bytes.status().ToString()}});
        out_->Write(BuildErrorChunk(info.number, "INTERNAL_ERROR", kErrorInternal));
        return out_->End();
      }
    }
    out_->End();
  }

  std::shared_ptr<MediaServiceImpl> svc_;
  std::shared_ptr<MediaTransport> out_;
  FragmentListRequest req_;
  archive::StreamRef ref_;
  std::vector<archive::FragmentInfo> infos_;  // written by one job at a time
  size_t next_ = 0;
  std::atomic<bool> stopped_{false};
};

}  // namespace

std::shared_ptr<MediaRequest> StartFragmentList(std::shared_ptr<MediaServiceImpl> svc,
                                                FragmentListRequest request,
                                                std::shared_ptr<MediaTransport> out) {
  auto reader = std::make_shared<ListReader>(std::move(svc), std::move(out), std::move(request));
  reader->Start();
  return reader;
}

}  // namespace streamarc::playback
