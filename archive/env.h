// The archive's file layer, injectable like leveldb's Env: every read, write, sync,
// truncate and directory operation on segment files goes through it, so tests can fail a
// write, a sync, write short, or run out of space at a chosen moment. (The SQLite index
// does its own I/O; its failures surface as SQLite errors.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace streamarc::archive {

// A file opened for appending. Not thread-safe: one owner (the archive's commit thread).
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends all of `data` at the end; on error some prefix may have been written.
  virtual Status Append(std::string_view data) = 0;
  // Makes every appended byte durable (fdatasync).
  virtual Status Sync() = 0;
  // Cuts the file to `size` bytes; later appends continue from there.
  virtual Status Truncate(uint64_t size) = 0;
  // Bytes in the file as this handle sees them (what was appended successfully).
  virtual uint64_t Size() const = 0;
};

// A file opened for positional reads. Thread-safe (pread). Keeps the bytes readable even
// after the file is unlinked, so a reader is never cut off by a retention sweep.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads exactly `n` bytes at `offset` into `buf`; kDataLoss when the file is shorter.
  virtual Status Read(uint64_t offset, size_t n, char* buf) const = 0;
  // The descriptor, for sendfile(2); valid while this object lives, -1 when there is none.
  virtual int fd() const = 0;
};

struct DiskSpace {
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;  // available to an unprivileged writer
  bool read_only = false;   // mounted read-only: nothing can be written, even by root
};

// Thread-safe. Paths are absolute or relative to the process's working directory.
class Env {
 public:
  virtual ~Env() = default;
  // Opens (creating when missing) `path` for appending at its current end.
  virtual Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path) = 0;
  virtual Result<std::unique_ptr<RandomAccessFile>> OpenReadable(const std::string& path) = 0;
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
  // Cuts a closed file to `size` bytes and syncs it.
  virtual Status TruncateFile(const std::string& path, uint64_t size) = 0;
  // Gives back the disk blocks of [offset, offset + length) without changing the file's
  // size (fallocate PUNCH_HOLE | KEEP_SIZE); the range then reads as zeros. Works on a file
  // another handle is appending to. kFailedPrecondition where the file system cannot
  // (callers then free space by whole files only).
  virtual Status PunchHole(const std::string& path, uint64_t offset, uint64_t length) {
    (void)path, (void)offset, (void)length;
    return FailedPrecondition("punching holes is not supported");
  }
  virtual Status RemoveFile(const std::string& path) = 0;
  // Creates `path` and any missing parents; OK when it exists.
  virtual Status CreateDirs(const std::string& path) = 0;
  // Removes an empty directory.
  virtual Status RemoveDir(const std::string& path) = 0;
  // fsyncs a directory so that created or removed entries in it are durable.
  virtual Status SyncDir(const std::string& path) = 0;
  // Names (not paths) of the entries in `path`, without "." and "..".
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  virtual Result<DiskSpace> GetDiskSpace(const std::string& path) = 0;
};

// The real thing: POSIX calls on the local file system. Errors become Status through
// ErrnoStatus (ENOSPC -> kResourceExhausted, EACCES -> kPermissionDenied, ...).
std::unique_ptr<Env> NewPosixEnv();

}  // namespace streamarc::archive
