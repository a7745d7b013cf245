#include "common/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace streamarc {

Status ReplaceFile(const std::string& path, std::string_view bytes, mode_t mode, bool sync) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // one left by a crash may have other permissions
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoStatus(errno, "creating " + tmp);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return ErrnoStatus(err, "writing " + tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (sync && ::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoStatus(err, "syncing " + tmp);
  }
  if (::close(fd) != 0) return ErrnoStatus(errno, "closing " + tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return ErrnoStatus(errno, "renaming " + tmp + " to " + path);
  }
  return Status::Ok();
}

}  // namespace streamarc
