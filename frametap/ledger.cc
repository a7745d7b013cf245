#include "frametap/ledger.h"

namespace streamarc::frametap {

FragmentLedger::Entry* FragmentLedger::Find(const std::string& number) {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->number == number) return &*it;
  }
  return nullptr;
}

void FragmentLedger::Begin(const std::string& number) {
  MutexLock lock(mu_);
  if (Entry* e = Find(number)) {
    e->read_done = false;
    e->decoded = false;
    e->sent = e->out = 0;
    return;
  }
  entries_.push_back({number});
}

void FragmentLedger::Sent(const std::string& number) {
  MutexLock lock(mu_);
  if (Entry* e = Find(number)) ++e->sent;
}

void FragmentLedger::Out(const std::string& number) {
  std::optional<Checkpoint> c;
  {
    MutexLock lock(mu_);
    for (Entry& e : entries_) {
      if (e.number == number) {
        ++e.out;
        if (e.read_done && e.out >= e.sent) e.decoded = true;
        break;
      }
      // Pictures leave in presentation order, and fragments do not overlap in time.
      e.decoded = true;
    }
    c = Advance();
  }
  Write(std::move(c));
}

void FragmentLedger::Queued(const std::string& number) {
  MutexLock lock(mu_);
  if (Entry* e = Find(number)) ++e->pending;
}

void FragmentLedger::Handled(const std::string& number) {
  std::optional<Checkpoint> c;
  {
    MutexLock lock(mu_);
    if (Entry* e = Find(number)) --e->pending;
    c = Advance();
  }
  Write(std::move(c));
}

void FragmentLedger::ReadDone(const std::string& number, const std::string& token) {
  std::optional<Checkpoint> c;
  {
    MutexLock lock(mu_);
    if (Entry* e = Find(number)) {
      e->read_done = true;
      e->token = token;
      if (e->out >= e->sent) e->decoded = true;
    }
    c = Advance();
  }
  Write(std::move(c));
}

void FragmentLedger::Drained() {
  std::optional<Checkpoint> c;
  {
    MutexLock lock(mu_);
    for (Entry& e : entries_) {
      if (e.read_done) e.decoded = true;
    }
    c = Advance();
  }
  Write(std::move(c));
}

void FragmentLedger::Disconnected() {
  MutexLock lock(mu_);
  for (Entry& e : entries_) {
    if (e.decoded) continue;
    e.read_done = false;
    e.sent = e.out = 0;
  }
}

std::optional<Checkpoint> FragmentLedger::ResumePoint() const {
  MutexLock lock(mu_);
  std::optional<Checkpoint> at = done_;
  for (const Entry& e : entries_) {
    if (!e.decoded || !e.read_done) break;
    at = Checkpoint{e.number, e.token};
  }
  return at;
}

uint64_t FragmentLedger::fragments_done() const {
  MutexLock lock(mu_);
  return fragments_done_;
}

Status FragmentLedger::write_status() const {
  MutexLock lock(mu_);
  return write_status_;
}

std::optional<Checkpoint> FragmentLedger::Advance() {
  bool moved = false;
  while (!entries_.empty()) {
    const Entry& e = entries_.front();
    if (!e.read_done || !e.decoded || e.pending > 0) break;
    done_ = Checkpoint{e.number, e.token};
    ++fragments_done_;
    entries_.pop_front();
    moved = true;
  }
  if (!moved || path_.empty()) return std::nullopt;
  ++generation_;
  return done_;
}

void FragmentLedger::Write(std::optional<Checkpoint> c) {
  if (!c) return;
  uint64_t generation;
  {
    MutexLock lock(mu_);
    generation = generation_;
    if (done_->fragment_number != c->fragment_number) return;  // a newer one follows
  }
  Status s;
  {
    MutexLock lock(write_mu_);
    if (generation <= written_generation_) return;
    written_generation_ = generation;
    s = WriteCheckpoint(path_, *c);
  }
  if (!s.ok()) {
    MutexLock lock(mu_);
    if (write_status_.ok()) write_status_ = s;
  }
}

}  // namespace streamarc::frametap
