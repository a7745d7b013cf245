// A small tmpfs for tests that need a file system of their own: one they can fill, or make
// read-only. Mounting needs root (or CAP_SYS_ADMIN); tests skip, naming why, when it fails.
#pragma once

#include <sys/mount.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "common/status.h"
#include "tests/support/subprocess.h"

namespace streamarc::testing {

// Mounted over a fresh directory for the object's lifetime.
class Tmpfs {
 public:
  explicit Tmpfs(uint64_t bytes) {
    const std::string opts = "size=" + std::to_string(bytes);
    if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, opts.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~Tmpfs() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  std::string path() const { return dir_.path(); }

  // Remounts read-only or writable again. Linux refuses to make a file system read-only
  // while a file on it is open for writing (EBUSY).
  Status SetReadOnly(bool read_only) {
    const unsigned long flags = MS_REMOUNT | (read_only ? MS_RDONLY : 0);
    if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", flags, nullptr) != 0) {
      const int e = errno;
      return Status(e == EBUSY ? Code::kFailedPrecondition : Code::kInternal,
                    std::string("remount: ") + std::strerror(e));
    }
    return Status::Ok();
  }

 private:
  TempDir dir_;
  bool mounted_ = false;
  std::string error_;
};

}  // namespace streamarc::testing
