// The segment store (private to archive/): where the bytes of segments live.
//
// A segment is one stream's run of fragment records (archive/FORMAT.md); the archive's
// commit pipeline decides what goes into which segment and writes the records, the store
// only keeps bytes under a key. The default keeps them in local files over `Env`
// (<root>/segments/<stream id>/<segment id>.seg).
//
// How an object store (S3-compatible) fits: it cannot append, sync a prefix, truncate or
// punch holes. Such a store would stage the open segment in a local file (Create/Append/
// Sync/Truncate go there, so group commit stays an fdatasync) and upload it whole at Seal,
// after which Open reads it with ranged GETs (fd() == -1) and the staged file goes. Until
// Seal has uploaded it, Open serves the staged copy. PunchHole answers kFailedPrecondition,
// and eviction then frees space by whole segments, as it does on a file system without
// holes. Recovery (List/Size/Truncate) then concerns the staged files only; an upload
// that a crash interrupted is simply done again at the next Seal of that key.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "archive/archive.h"
#include "archive/env.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/status.h"
#include "objectstore/s3.h"

namespace streamarc::archive {

struct SegmentKey {
  int64_t stream_id = 0;
  int64_t segment_id = 0;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
  auto operator<=>(const SegmentKey&) const = default;
};

// Thread-safe. Create and Seal are called by the commit thread only; reads from any thread.
class SegmentStore {
 public:
  virtual ~SegmentStore() = default;

  // A new, empty segment to append to (a leftover under the same key is emptied). The
  // writer's Sync makes its appended bytes durable; its existence is durable after the next
  // SyncCreated.
  virtual Result<std::unique_ptr<WritableFile>> Create(const SegmentKey& key) = 0;
  // Makes the existence of every segment created since the last call durable (local files:
  // fsync of the directories that gained one). Called once per group commit, before an
  // index row may point into a new segment.
  virtual Status SyncCreated() = 0;
  // The same for one segment only, at once (local files: fsync of its stream's directory,
  // which the next SyncCreated then leaves out). Thread-safe: group commit syncs the new
  // segments of many streams in parallel, as the files themselves.
  virtual Status SyncCreatedSegment(const SegmentKey& key) = 0;
  // The segment will not be appended to again; its writer is closed and its bytes are
  // final (local files: nothing to do; an object store uploads it here).
  virtual Status Seal(const SegmentKey& key) = 0;

  // Reads a stored segment; kNotFound when it does not exist.
  virtual Result<std::shared_ptr<const SegmentReader>> Open(const SegmentKey& key) = 0;
  // kNotFound when it does not exist.
  virtual Result<uint64_t> Size(const SegmentKey& key) = 0;
  // Cuts a closed segment to `size` bytes, durably (recovery: bytes never committed).
  virtual Status Truncate(const SegmentKey& key, uint64_t size) = 0;
  // kNotFound when it did not exist. Readers opened before keep reading (local files).
  virtual Status Remove(const SegmentKey& key) = 0;
  // Gives back the space of [offset, offset + length) without changing the segment's size;
  // the range then reads as zeros. Works on the open segment. kFailedPrecondition where
  // the store cannot (eviction then frees whole segments only).
  virtual Status PunchHole(const SegmentKey& key, uint64_t offset, uint64_t length) = 0;
  // Best effort, once a stream's segments are all removed: whatever held them goes too.
  virtual void RemoveStream(int64_t stream_id) = 0;

  // Recovery, before any Create: removes every stored segment `keep` rejects and anything
  // else that is not a segment (stray files). Returns how many objects it removed.
  virtual Result<uint64_t> RemoveOrphans(const std::function<bool(int64_t stream_id)>& stream_known,
                                         const std::function<bool(const SegmentKey&)>& keep) = 0;

  // --- Tiers (a store with a bucket; local files have one tier and ignore these) ---------
  // Whether the segment's bytes are on local disk (eviction frees local space only).
  virtual bool IsLocal(const SegmentKey& key) {
    (void)key;
    return true;
  }
  // Set once, before RemoveOrphans. The hooks are called on the store's own thread and must
  // not call the store.
  struct TierHooks {
    std::function<bool(int64_t stream_id)> warm;  // its sealed segments belong in the bucket
    std::function<void(const SegmentKey&, uint64_t bytes)> moved;         // now only in the bucket
    std::function<void(const SegmentKey&, const Status&)> upload_failed;  // tried again later
  };
  virtual void SetTierHooks(const TierHooks& /*hooks*/) {}
  // Streams changed tier: look at the local sealed segments again now.
  virtual void TiersChanged() {}
};

// Segment files under `root`/segments over `env` (which must outlive the store). `sync`
// false skips the directory fsyncs (Options::sync). `logger` hears of removed orphans.
std::unique_ptr<SegmentStore> NewLocalSegmentStore(Env& env, const std::string& root, bool sync,
                                                   Logger& logger);

// `local` (the staging store, local files under `root`) with the sealed segments of WARM
// streams moved to `bucket` under "<prefix>segments/<stream id>/<segment id>.seg" once
// `warm_after_us` old, by one uploader thread (archive/tiered_segment_store.cc).
// `shared_bucket`: several nodes use the bucket, so RemoveOrphans leaves its objects alone.
std::unique_ptr<SegmentStore> NewTieredSegmentStore(std::unique_ptr<SegmentStore> local,
                                                    std::shared_ptr<objectstore::S3Client> bucket,
                                                    std::string prefix, std::string root,
                                                    int64_t warm_after_us, const Clock& clock,
                                                    Logger& logger, bool shared_bucket = false);

}  // namespace streamarc::archive
