// Which fragments a consumer has fully handled: the checkpoint's source of truth. Private to
// frametap/.
//
// A fragment is done when (1) its trailing tags arrived (the reader has all its frames),
// (2) every picture of it left the decoder, and (3) every picture handed to the queue was
// handled by the user (Next called again, or dropped). Fragments finish in stream order; the
// last one finished is written to the checkpoint file. After a broken connection, reading
// resumes after the last fragment whose pictures all left the decoder (ResumePoint): those
// pictures are in the queue or handled, the later ones are read again.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "common/mutex.h"
#include "common/status.h"
#include "frametap/checkpoint.h"

namespace streamarc::frametap {

// Thread-safe: the reader thread reports reading and decoding, the user's thread handling.
class FragmentLedger {
 public:
  // `checkpoint_path` empty: nothing is written.
  explicit FragmentLedger(std::string checkpoint_path) : path_(std::move(checkpoint_path)) {}

  // The leading tags of `number` (again, when read a second time after a reconnect).
  void Begin(const std::string& number) EXCLUDES(mu_);
  // A frame of `number` went to the decoder.
  void Sent(const std::string& number) EXCLUDES(mu_);
  // A picture of `number` left the decoder (to the queue, sampled out or skipped); the
  // fragments before it have no picture left inside the decoder.
  void Out(const std::string& number) EXCLUDES(mu_);
  // A picture of `number` was queued for the user; Handled follows.
  void Queued(const std::string& number) EXCLUDES(mu_);
  void Handled(const std::string& number) EXCLUDES(mu_);
  // The trailing tags (CONTINUATION_TOKEN) of `number`.
  void ReadDone(const std::string& number, const std::string& token) EXCLUDES(mu_);
  // The decoder was drained: nothing is left inside it.
  void Drained() EXCLUDES(mu_);
  // The connection broke: what the decoder held is lost and will be read again.
  void Disconnected() EXCLUDES(mu_);

  // Where a new connection starts: after this fragment (std::nullopt: none is known).
  std::optional<Checkpoint> ResumePoint() const EXCLUDES(mu_);
  uint64_t fragments_done() const EXCLUDES(mu_);
  // The first failure to write the checkpoint file, if any.
  Status write_status() const EXCLUDES(mu_);

 private:
  struct Entry {
    std::string number;
    std::string token;
    bool read_done = false;
    bool decoded = false;  // no picture of it left inside the decoder
    uint64_t sent = 0, out = 0;
    int64_t pending = 0;  // queued, not yet handled
  };
  Entry* Find(const std::string& number) REQUIRES(mu_);
  // Pops the finished fragments from the front; returns the last one, to write.
  std::optional<Checkpoint> Advance() REQUIRES(mu_);
  void Write(std::optional<Checkpoint> c) EXCLUDES(mu_);

  const std::string path_;
  mutable Mutex mu_;
  std::deque<Entry> entries_ GUARDED_BY(mu_);
  std::optional<Checkpoint> done_ GUARDED_BY(mu_);
  uint64_t fragments_done_ GUARDED_BY(mu_) = 0;
  uint64_t generation_ GUARDED_BY(mu_) = 0;  // of done_, so writes never go backwards
  Mutex write_mu_;
  uint64_t written_generation_ GUARDED_BY(write_mu_) = 0;
  Status write_status_ GUARDED_BY(mu_);
};

}  // namespace streamarc::frametap
