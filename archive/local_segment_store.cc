// The default segment store: one file per segment, "<root>/segments/<stream id>/<segment
// id>.seg", every operation through Env so that tests can inject faults.
#include <set>
#include <utility>

#include "archive/segment.h"
#include "archive/segment_store.h"
#include "common/mutex.h"

namespace streamarc::archive {
namespace {

class LocalSegmentReader final : public SegmentReader {
 public:
  explicit LocalSegmentReader(std::unique_ptr<RandomAccessFile> file) : file_(std::move(file)) {}
  Status Read(uint64_t offset, size_t n, char* buf) const override {
    return file_->Read(offset, n, buf);
  }
  int fd() const override { return file_->fd(); }

 private:
  std::unique_ptr<RandomAccessFile> file_;
};

class LocalSegmentStore final : public SegmentStore {
 public:
  LocalSegmentStore(Env& env, std::string root, bool sync, Logger& logger)
      : env_(env), root_(std::move(root)), sync_(sync), logger_(logger) {}

  Result<std::unique_ptr<WritableFile>> Create(const SegmentKey& key) override {
    const std::string dir = StreamDir(root_, key.stream_id);
    RETURN_IF_ERROR(env_.CreateDirs(dir));
    ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, env_.OpenWritable(Path(key)));
    if (file->Size() != 0) RETURN_IF_ERROR(file->Truncate(0));
    if (sync_) {
      // The new directory entries must be durable before a row points into the file.
      MutexLock lock(mu_);
      dirs_to_sync_.insert(dir);
      dirs_to_sync_.insert(root_ + "/segments");
    }
    return file;
  }

  Status SyncCreated() override {
    std::set<std::string> dirs;
    {
      MutexLock lock(mu_);
      dirs.swap(dirs_to_sync_);
    }
    for (const std::string& dir : dirs) RETURN_IF_ERROR(env_.SyncDir(dir));
    return Status::Ok();
  }

  Status SyncCreatedSegment(const SegmentKey& key) override {
    if (!sync_) return Status::Ok();
    const std::string dir = StreamDir(root_, key.stream_id);
    {
      MutexLock lock(mu_);
      dirs_to_sync_.erase(dir);
    }
    return env_.SyncDir(dir);
  }

  Status Seal(const SegmentKey& key) override {
    (void)key;  // the file is already where it stays
    return Status::Ok();
  }

  Result<std::shared_ptr<const SegmentReader>> Open(const SegmentKey& key) override {
    ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> file, env_.OpenReadable(Path(key)));
    return std::shared_ptr<const SegmentReader>(
        std::make_shared<LocalSegmentReader>(std::move(file)));
  }

  Result<uint64_t> Size(const SegmentKey& key) override { return env_.FileSize(Path(key)); }

  Status Truncate(const SegmentKey& key, uint64_t size) override {
    return env_.TruncateFile(Path(key), size);
  }

  Status Remove(const SegmentKey& key) override { return env_.RemoveFile(Path(key)); }

  Status PunchHole(const SegmentKey& key, uint64_t offset, uint64_t length) override {
    return env_.PunchHole(Path(key), offset, length);
  }

  void RemoveStream(int64_t stream_id) override {
    // Best effort: the directory is empty unless a file could not be removed.
    env_.RemoveDir(StreamDir(root_, stream_id)).IgnoreError();
  }

  Result<uint64_t> RemoveOrphans(const std::function<bool(int64_t)>& stream_known,
                                 const std::function<bool(const SegmentKey&)>& keep) override {
    uint64_t removed = 0;
    const std::string seg_root = root_ + "/segments";
    ASSIGN_OR_RETURN(std::vector<std::string> dirs, env_.ListDir(seg_root));
    for (const std::string& d : dirs) {
      const int64_t stream_id = ParseSegmentFileName(d + ".seg");
      const std::string dir = seg_root + "/" + d;
      const bool known = stream_id >= 0 && stream_known(stream_id);
      Result<std::vector<std::string>> files = env_.ListDir(dir);
      if (!files.ok()) {
        // A stray plain file where a stream directory should be.
        RETURN_IF_ERROR(env_.RemoveFile(dir));
        ++removed;
        continue;
      }
      for (const std::string& f : *files) {
        const int64_t seg_id = ParseSegmentFileName(f);
        if (known && seg_id >= 0 && keep(SegmentKey{stream_id, seg_id})) continue;
        RETURN_IF_ERROR(env_.RemoveFile(dir + "/" + f));
        ++removed;
        logger_.Info("archive", "removed orphan file", {{"path", dir + "/" + f}});
      }
      if (!known) RETURN_IF_ERROR(env_.RemoveDir(dir));
    }
    return removed;
  }

 private:
  std::string Path(const SegmentKey& key) const {
    return SegmentPath(root_, key.stream_id, key.segment_id);
  }

  Env& env_;
  const std::string root_;
  const bool sync_;
  Logger& logger_;
  Mutex mu_;
  std::set<std::string> dirs_to_sync_ GUARDED_BY(mu_);  // gained a segment since SyncCreated
};

}  // namespace

std::unique_ptr<SegmentStore> NewLocalSegmentStore(Env& env, const std::string& root, bool sync,
                                                   Logger& logger) {
  return std::make_unique<LocalSegmentStore>(env, root, sync, logger);
}

}  // namespace streamarc::archive
