#include "server/http_conn.h"

#include <algorithm>
#include <cstring>

namespace streamarc::server {

void ServiceQueue::Post(std::function<void()> task) {
  // lws_cancel_service is thread-safe and does not block (it writes to the context's event
  // pipe): called under the lock, because Close (taking it) is followed by
  // lws_context_destroy, and a context copied out of the lock could be gone by the call.
  MutexLock lock(mu_);
  if (!ctx_) return;
  tasks_.push_back(std::move(task));
  lws_cancel_service(ctx_);  // wakes lws_service with EVENT_WAIT_CANCELLED
}

void ServiceQueue::Drain() {
  std::vector<std::function<void()>> tasks;
  {
    MutexLock lock(mu_);
    tasks.swap(tasks_);
  }
  for (auto& t : tasks) t();
}

void ServiceQueue::PostAfter(int64_t delay_us, std::function<void()> task) {
  // Tasks run only while the queue is open, and Close drops them: `this` is alive then.
  Post([this, delay_us, task = std::move(task)]() mutable { Arm(delay_us, std::move(task)); });
}

void ServiceQueue::Arm(int64_t delay_us, std::function<void()> task) {
  lws_context* ctx;
  {
    MutexLock lock(mu_);
    ctx = ctx_;
  }
  if (!ctx) return;
  auto timer = std::make_unique<Timer>();
  std::memset(&timer->sul, 0, sizeof timer->sul);  // lws expects a zeroed, unlisted sul
  timer->queue = this;
  Timer* t = timer.get();
  timers_.emplace(t, Pending{std::move(timer), std::move(task)});
  lws_sul_schedule(ctx, 0, &t->sul, &ServiceQueue::OnTimer, std::max<int64_t>(delay_us, 0));
}

void ServiceQueue::OnTimer(lws_sorted_usec_list_t* sul) noexcept {
  Timer* t = lws_container_of(sul, Timer, sul);
  ServiceQueue* q = t->queue;
  auto it = q->timers_.find(t);
  if (it == q->timers_.end()) return;
  std::function<void()> task = std::move(it->second.task);
  q->timers_.erase(it);  // lws is done with the sul: it unlists a timer before firing it
  try {
    task();
  } catch (...) {
    // Nothing may cross the C callback; a task that throws loses only itself.
  }
}

void ServiceQueue::Open(lws_context* ctx) {
  MutexLock lock(mu_);
  ctx_ = ctx;
}

void ServiceQueue::Close() {
  std::vector<std::function<void()>> tasks;
  {
    MutexLock lock(mu_);
    ctx_ = nullptr;
    tasks.swap(tasks_);
  }
  // Destroyed outside the lock: a task's captures may post (into the closed queue) as they go.
  tasks.clear();
  std::unordered_map<Timer*, Pending> timers;
  timers.swap(timers_);
  for (auto& [t, pending] : timers) lws_sul_cancel(&t->sul);
  timers.clear();
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

void Writer::PostAfter(int64_t delay_us, std::function<void()> task) {
  q_->PostAfter(delay_us, [task = std::move(task), keep = shared_from_this()] { task(); });
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
