// The segment store with a bucket (Options::object_store): segments are written, synced,
// cut back and sealed in local files as always (the staging store), so group commit stays an
// fdatasync; an uploader thread then moves the sealed segments of WARM streams to the bucket
// and reads of moved segments become ranged GETs.
//
// A segment leaves the local disk only after the bucket holds it whole: the PUT carries
// Content-MD5 (the server refuses a body that does not match) and a HEAD must then show the
// same size and ETag. A failed upload is tried again with back-off (1 s, doubling up to 1 min),
// so a bucket that is away for a while only delays the move; ingest never waits for it.
//
// What is local is known from the staging store: the files kept at recovery plus those
// created since, less those moved or removed. Open tries the local file first in any case,
// so a reader racing with a move falls through to the bucket.
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <map>
#include <thread>
#include <utility>

#include "archive/segment.h"
#include "archive/segment_store.h"
#include "common/mutex.h"

namespace streamarc::archive {
namespace {

constexpr int64_t kFirstRetryUs = 1'000'000;
constexpr int64_t kMaxRetryUs = 60'000'000;
// The uploader looks again at least this often (a WARM segment coming of age).
constexpr int64_t kIdleCheckUs = 5'000'000;

class RemoteSegmentReader final : public SegmentReader {
 public:
  RemoteSegmentReader(std::shared_ptr<objectstore::S3Client> bucket, std::string object)
      : bucket_(std::move(bucket)), object_(std::move(object)) {}
  Status Read(uint64_t offset, size_t n, char* buf) const override {
    if (n == 0) return Status::Ok();
    return bucket_->GetRange(object_, offset, n, buf);
  }

 private:
  std::shared_ptr<objectstore::S3Client> bucket_;
  std::string object_;
};

class TieredSegmentStore final : public SegmentStore {
 public:
  TieredSegmentStore(std::unique_ptr<SegmentStore> local,
                     std::shared_ptr<objectstore::S3Client> bucket, std::string prefix,
                     std::string root, int64_t warm_after_us, const Clock& clock, Logger& logger,
                     bool shared_bucket)
      : local_(std::move(local)),
        bucket_(std::move(bucket)),
        prefix_(std::move(prefix)),
        root_(std::move(root)),
        warm_after_us_(warm_after_us),
        shared_bucket_(shared_bucket),
        clock_(clock),
        logger_(logger) {}

  ~TieredSegmentStore() override {
    {
      MutexLock lock(mu_);
      stop_ = true;
    }
    cv_.NotifyAll();
    if (uploader_.joinable()) uploader_.join();
  }

  Result<std::unique_ptr<WritableFile>> Create(const SegmentKey& key) override {
    ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, local_->Create(key));
    MutexLock lock(mu_);
    staged_[key] = Staged{};
    return file;
  }
  Status SyncCreated() override { return local_->SyncCreated(); }
  Status SyncCreatedSegment(const SegmentKey& key) override {
    return local_->SyncCreatedSegment(key);
  }

  Status Seal(const SegmentKey& key) override {
    RETURN_IF_ERROR(local_->Seal(key));
    {
      MutexLock lock(mu_);
      auto it = staged_.find(key);
      if (it != staged_.end()) it->second.sealed_us = clock_.NowMicros();
    }
    cv_.NotifyAll();
    return Status::Ok();
  }

  Result<std::shared_ptr<const SegmentReader>> Open(const SegmentKey& key) override {
    Result<std::shared_ptr<const SegmentReader>> r = local_->Open(key);
    if (r.ok() || r.status().code() != Code::kNotFound) return r;
    return std::shared_ptr<const SegmentReader>(
        std::make_shared<RemoteSegmentReader>(bucket_, ObjectKey(key)));
  }

  Result<uint64_t> Size(const SegmentKey& key) override {
    Result<uint64_t> size = local_->Size(key);
    if (size.ok() || size.status().code() != Code::kNotFound) return size;
    ASSIGN_OR_RETURN(objectstore::ObjectInfo info, bucket_->Head(ObjectKey(key)));
    return info.size;
  }

  Status Truncate(const SegmentKey& key, uint64_t size) override {
    if (!IsLocal(key)) return FailedPrecondition("a segment in the bucket cannot be cut");
    return local_->Truncate(key, size);
  }

  Status Remove(const SegmentKey& key) override {
    bool in_bucket = false;
    {
      MutexLock lock(mu_);
      auto it = staged_.find(key);
      if (it == staged_.end()) {
        in_bucket = true;
      } else if (it->second.uploading) {
        it->second.removed = true;  // the uploader deletes what it put
      } else {
        staged_.erase(it);
      }
    }
    if (!in_bucket) return local_->Remove(key);
    // A copy left behind by a crash after the upload goes too.
    Status local = local_->Remove(key);
    if (!local.ok() && local.code() != Code::kNotFound) return local;
    return bucket_->Delete(ObjectKey(key));
  }

  Status PunchHole(const SegmentKey& key, uint64_t offset, uint64_t length) override {
    if (!IsLocal(key)) return FailedPrecondition("a segment in the bucket has no holes");
    return local_->PunchHole(key, offset, length);
  }

  void RemoveStream(int64_t stream_id) override { local_->RemoveStream(stream_id); }

  Result<uint64_t> RemoveOrphans(const std::function<bool(int64_t stream_id)>& stream_known,
                                 const std::function<bool(const SegmentKey&)>& keep) override {
    // The local files the index keeps are staged (sealed: nothing is open after a restart).
    const int64_t now = clock_.NowMicros();
    ASSIGN_OR_RETURN(uint64_t removed,
                     local_->RemoveOrphans(stream_known, [&](const SegmentKey& key) {
                       if (!keep(key)) return false;
                       const int64_t sealed_us = LastWrite(key, now);
                       MutexLock lock(mu_);
                       staged_[key] = Staged{.sealed_us = sealed_us};
                       return true;
                     }));
    // The bucket's orphans: objects whose rows went (a crash between the two, a removal that
    // failed). A bucket that cannot be listed now only delays this to the next start. A
    // bucket shared by several nodes is left alone: an object another node uploads after
    // this node read the index would look like an orphan.
    if (shared_bucket_) return removed;
    Result<std::vector<objectstore::ObjectEntry>> objects = bucket_->List(prefix_ + "segments/");
    if (!objects.ok()) {
      logger_.Warn("archive", "could not list the bucket: its orphans stay until the next start",
                   {{"error", objects.status().ToString()}});
      return removed;
    }
    for (const objectstore::ObjectEntry& o : *objects) {
      std::optional<SegmentKey> key = ParseObjectKey(o.key);
      if (key && stream_known(key->stream_id) && keep(*key)) continue;
      Status d = bucket_->Delete(o.key);
      if (!d.ok()) {
        logger_.Warn("archive", "could not delete an orphan object",
                     {{"object", o.key}, {"error", d.ToString()}});
        continue;
      }
      logger_.Info("archive", "removed orphan object", {{"object", o.key}});
      ++removed;
    }
    return removed;
  }

  bool IsLocal(const SegmentKey& key) override {
    {
      MutexLock lock(mu_);
      if (staged_.count(key)) return true;
    }
    // Before recovery has staged the local files (and read-only, where it does not).
    return local_->Size(key).ok();
  }

  void SetTierHooks(const TierHooks& hooks) override {
    {
      MutexLock lock(mu_);
      hooks_ = hooks;
    }
    if (!uploader_.joinable()) uploader_ = std::thread([this] { UploadLoop(); });
  }

  void TiersChanged() override { cv_.NotifyAll(); }

 private:
  struct Staged {
    int64_t sealed_us = 0;  // 0: still open
    bool uploading = false;
    bool removed = false;  // Remove came during the upload
    int failures = 0;
    int64_t next_try_us = 0;  // monotonic
  };

  // When a segment found at start was last written: about its seal, which is not kept
  // (a file changed since, e.g. by eviction, only moves later). Never after `now`.
  int64_t LastWrite(const SegmentKey& key, int64_t now) const {
    struct stat st {};
    if (::stat(SegmentPath(root_, key.stream_id, key.segment_id).c_str(), &st) != 0) return now;
    const int64_t mtime_us =
        static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000 + st.st_mtim.tv_nsec / 1000;
    return std::min(mtime_us, now);
  }

  std::string ObjectKey(const SegmentKey& key) const {
    return prefix_ + "segments/" + std::to_string(key.stream_id) + "/" +
           std::to_string(key.segment_id) + ".seg";
  }

  std::optional<SegmentKey> ParseObjectKey(std::string_view object) const {
    const std::string head = prefix_ + "segments/";
    if (object.substr(0, head.size()) != head) return std::nullopt;
    object.remove_prefix(head.size());
    const size_t slash = object.find('/');
    if (slash == std::string_view::npos || !object.ends_with(".seg")) return std::nullopt;
    SegmentKey key;
    const std::string_view stream = object.substr(0, slash);
    const std::string_view segment = object.substr(slash + 1, object.size() - slash - 5);
    auto [p1, e1] = std::from_chars(stream.data(), stream.data() + stream.size(), key.stream_id);
    auto [p2, e2] =
        std::from_chars(segment.data(), segment.data() + segment.size(), key.segment_id);
    if (e1 != std::errc() || e2 != std::errc() || p1 != stream.data() + stream.size() ||
        p2 != segment.data() + segment.size() || stream.empty() || segment.empty()) {
      return std::nullopt;
    }
    return key;
  }

  // The next segment due to move, marked uploading; nullopt when none is, and then how
  // long until one might be (`wait_us`).
  std::optional<SegmentKey> NextDue(int64_t* wait_us) REQUIRES(mu_) {
    const int64_t now = clock_.NowMicros();
    const int64_t mono = clock_.MonotonicMicros();
    *wait_us = kIdleCheckUs;
    for (auto& [key, st] : staged_) {
      if (st.sealed_us == 0 || st.uploading || st.removed) continue;
      if (!hooks_.warm || !hooks_.warm(key.stream_id)) continue;
      const int64_t due = std::max(st.sealed_us + warm_after_us_ - now, st.next_try_us - mono);
      if (due > 0) {
        *wait_us = std::min(*wait_us, due);
        continue;
      }
      st.uploading = true;
      return key;
    }
    return std::nullopt;
  }

  void UploadLoop() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    while (!stop_) {
      int64_t wait_us = 0;
      std::optional<SegmentKey> key = NextDue(&wait_us);
      if (!key) {
        cv_.WaitFor(mu_, std::chrono::microseconds(wait_us));
        continue;
      }
      lock.Unlock();
      uint64_t bytes = 0;
      Status s = Upload(*key, &bytes);
      lock.Lock();
      Finish(*key, s, bytes);
    }
  }

  Status Upload(const SegmentKey& key, uint64_t* bytes) {
    const std::string object = ObjectKey(key);
    ASSIGN_OR_RETURN(uint64_t size, local_->Size(key));
    ASSIGN_OR_RETURN(std::string etag,
                     bucket_->PutFile(object, SegmentPath(root_, key.stream_id, key.segment_id)));
    ASSIGN_OR_RETURN(objectstore::ObjectInfo info, bucket_->Head(object));
    if (info.size != size || (!etag.empty() && info.etag != etag)) {
      return DataLoss("the bucket holds " + std::to_string(info.size) + " bytes (ETag " +
                      info.etag + ") of " + object + " after a PUT of " + std::to_string(size) +
                      " (ETag " + etag + ")");
    }
    *bytes = size;
    return Status::Ok();
  }

  void Finish(const SegmentKey& key, const Status& s, uint64_t bytes) REQUIRES(mu_) {
    auto it = staged_.find(key);
    if (it == staged_.end()) return;
    Staged& st = it->second;
    st.uploading = false;
    if (st.removed) {
      // Removed meanwhile: what was put (if anything) goes too, and nothing is reported.
      staged_.erase(it);
      mu_.Unlock();
      Status d = bucket_->Delete(ObjectKey(key));
      if (!d.ok()) {
        logger_.Warn("archive", "could not delete a removed segment's object; the next start will",
                     {{"object", ObjectKey(key)}, {"error", d.ToString()}});
      }
      local_->Remove(key).IgnoreError();
      mu_.Lock();
      return;
    }
    if (!s.ok()) {
      const int64_t backoff = std::min(kMaxRetryUs, kFirstRetryUs << std::min(st.failures, 20));
      ++st.failures;
      st.next_try_us = clock_.MonotonicMicros() + backoff;
      // Said once per segment, then every tenth time: a long outage must not flood the log.
      if (st.failures == 1 || st.failures % 10 == 0) {
        logger_.Warn("archive",
                     "could not move a segment to the bucket; it stays local and is "
                     "tried again",
                     {{"object", ObjectKey(key)},
                      {"attempts", st.failures},
                      {"retry_in_ms", backoff / 1000},
                      {"error", s.ToString()}});
      }
      if (hooks_.upload_failed) hooks_.upload_failed(key, s);
      return;
    }
    staged_.erase(it);
    mu_.Unlock();
    // From here on Open falls through to the bucket; readers holding the file keep it.
    Status rm = local_->Remove(key);
    if (!rm.ok() && rm.code() != Code::kNotFound) {  // (NotFound: removed meanwhile)
      logger_.Warn("archive", "moved a segment but could not remove its local copy",
                   {{"object", ObjectKey(key)}, {"error", rm.ToString()}});
    }
    mu_.Lock();
    // Reported once the local copy is gone, so that "moved" means only in the bucket.
    if (hooks_.moved) hooks_.moved(key, bytes);
  }

  const std::unique_ptr<SegmentStore> local_;
  const std::shared_ptr<objectstore::S3Client> bucket_;
  const std::string prefix_;
  const std::string root_;
  const int64_t warm_after_us_;
  const bool shared_bucket_;
  const Clock& clock_;
  Logger& logger_;

  Mutex mu_;
  CondVar cv_;  // the uploader: a seal, a tier change, or stop
  std::map<SegmentKey, Staged> staged_ GUARDED_BY(mu_);
  TierHooks hooks_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread uploader_;
};

}  // namespace

std::unique_ptr<SegmentStore> NewTieredSegmentStore(std::unique_ptr<SegmentStore> local,
                                                    std::shared_ptr<objectstore::S3Client> bucket,
                                                    std::string prefix, std::string root,
                                                    int64_t warm_after_us, const Clock& clock,
                                                    Logger& logger, bool shared_bucket) {
  return std::make_unique<TieredSegmentStore>(std::move(local), std::move(bucket),
                                              std::move(prefix), std::move(root), warm_after_us,
                                              clock, logger, shared_bucket);
}

}  // namespace streamarc::archive
