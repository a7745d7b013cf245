// An Env that injects faults into segment-file I/O, in the spirit of leveldb's
// fault_injection_test: failed or short writes, failed syncs, a space limit (ENOSPC),
// refused opens, and "power loss" that drops every byte not yet synced.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "archive/env.h"

namespace streamarc::archive::testing {

class FaultEnv final : public Env {
 public:
  explicit FaultEnv(Env& base) : base_(base) {}

  // The n-th next Append (1 = the very next) writes half its bytes, then fails with EIO.
  void FailWriteAfter(int n, bool short_write);
  // The n-th next Sync fails with EIO (and syncs nothing).
  void FailSyncAfter(int n);
  // Appends beyond `bytes` in all writable files together fail with ENOSPC (after writing
  // what fits). Removing or truncating files gives the space back.
  void SetSpaceLimit(uint64_t bytes);
  void RefuseOpens(bool refuse);
  // false: PunchHole fails with kFailedPrecondition, as on a file system without it.
  void SetPunchHoleSupported(bool supported);
  // GetDiskSpace reports the file system as mounted read-only (writes still go through).
  void SetReadOnly(bool read_only);
  // Simulates power loss: cuts every file written through this env back to its last sync.
  void DropUnsyncedData();

  int writes_failed() const;
  int syncs_failed() const;

  Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> OpenReadable(const std::string& path) override {
    return base_.OpenReadable(path);
  }
  Result<uint64_t> FileSize(const std::string& path) override { return base_.FileSize(path); }
  Status TruncateFile(const std::string& path, uint64_t size) override;
  Status RemoveFile(const std::string& path) override;
  // Punched bytes count as free space under SetSpaceLimit.
  Status PunchHole(const std::string& path, uint64_t offset, uint64_t length) override;
  Status CreateDirs(const std::string& path) override { return base_.CreateDirs(path); }
  Status RemoveDir(const std::string& path) override { return base_.RemoveDir(path); }
  Status SyncDir(const std::string& path) override { return base_.SyncDir(path); }
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_.ListDir(path);
  }
  Result<DiskSpace> GetDiskSpace(const std::string& path) override;

 private:
  friend class FaultWritableFile;
  struct FileState {
    uint64_t size = 0;
    uint64_t synced = 0;
    std::map<uint64_t, uint64_t> holes;  // start -> end, disjoint
    uint64_t Used() const;
  };
  uint64_t UsedLocked() const;
  // Decides the fate of an append of `n` bytes to `path`: how many bytes to let through,
  // and the error to return after them (OK for none).
  Status Admit(const std::string& path, size_t n, size_t* allowed);
  Status AdmitSync();
  void Wrote(const std::string& path, uint64_t n);
  void Synced(const std::string& path);
  void Truncated(const std::string& path, uint64_t size);

  Env& base_;
  mutable std::mutex mu_;
  int write_countdown_ = 0;
  bool short_write_ = false;
  int sync_countdown_ = 0;
  uint64_t space_limit_ = 0;
  bool refuse_opens_ = false;
  bool punch_supported_ = true;
  bool read_only_ = false;
  int writes_failed_ = 0;
  int syncs_failed_ = 0;
  std::map<std::string, FileState> files_;
};

}  // namespace streamarc::archive::testing
