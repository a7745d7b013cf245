#include "server/http_conn.h"

#include <algorithm>

namespace streamarc::server {

void ServiceQueue::Post(std::function<void()> task) {
  lws_context* ctx;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ctx_) return;
    tasks_.push_back(std::move(task));
    ctx = ctx_;
  }
  lws_cancel_service(ctx);  // thread-safe: wakes lws_service with EVENT_WAIT_CANCELLED
}

void ServiceQueue::Drain() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks.swap(tasks_);
  }
  for (auto& t : tasks) t();
}

void ServiceQueue::Open(lws_context* ctx) {
  std::lock_guard<std::mutex> lock(mu_);
  ctx_ = ctx;
}

void ServiceQueue::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  ctx_ = nullptr;
  tasks_.clear();
}

void Writer::Begin(int status, std::string type, std::vector<Header> headers) {
  PostToSession([=, this](Session& s) {
    host_->StartResponse(s, status, type, headers, /*chunked=*/true, 0);
  });
}

void Writer::Respond(HttpResponse r) {
  PostToSession([r = std::move(r), this](Session& s) { host_->SetResponse(s, r); });
}

void Writer::Write(std::string bytes) {
  if (bytes.empty()) return;
  queued_ += bytes.size();
  PostToSession([b = std::move(bytes), this](Session& s) mutable {
    size_t n = b.size();
    host_->QueueChunk(s, OutPiece{std::move(b), nullptr, n});
  });
}

void Writer::WriteShared(std::shared_ptr<const std::string> bytes) {
  if (!bytes || bytes->empty()) return;
  queued_ += bytes->size();
  PostToSession([b = std::move(bytes), this](Session& s) mutable {
    size_t n = b->size();
    host_->QueueChunk(s, OutPiece{{}, std::move(b), n});
  });
}

void Writer::NotifyWhenDrained(size_t bytes, std::function<void()> task) {
  PostToSession([bytes, task = std::move(task), this](Session&) mutable {
    // Service thread: queued_ only falls here (in Written), so the check is exact.
    if (queued_.load() <= bytes) {
      drain_task_ = nullptr;
      task();
      return;
    }
    drain_at_ = bytes;
    drain_task_ = std::move(task);
  });
}

void Writer::End() {
  PostToSession([this](Session& s) { host_->QueueEnd(s); });
}

void Writer::Close() {
  PostToSession([this](Session& s) { host_->CloseAfterWrites(s); });
}

void Writer::SetReading(bool enabled) {
  PostToSession([enabled, this](Session& s) { host_->SetReading(s, enabled); });
}

void Writer::Post(std::function<void()> task) {
  q_->Post([task = std::move(task), keep = shared_from_this()] { task(); });
}

void Writer::Written(size_t n) {
  queued_ -= std::min(n, queued_.load());
  if (drain_task_ && queued_.load() <= drain_at_) {
    auto task = std::move(drain_task_);
    drain_task_ = nullptr;
    task();
  }
}

void Writer::PostToSession(std::function<void(Session&)> fn) {
  q_->Post([host = host_, id = id_, fn = std::move(fn), keep = shared_from_this()] {
    Session* s = host->Find(id);
    if (s) fn(*s);
  });
}

}  // namespace streamarc::server
