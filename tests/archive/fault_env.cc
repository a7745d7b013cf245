#include "tests/archive/fault_env.h"

#include <errno.h>

#include <algorithm>

namespace streamarc::archive::testing {

class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultEnv& env, std::string path, std::unique_ptr<WritableFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  Status Append(std::string_view data) override {
    size_t allowed = data.size();
    Status verdict = env_.Admit(path_, data.size(), &allowed);
    if (allowed > 0) {
      RETURN_IF_ERROR(base_->Append(data.substr(0, allowed)));
      env_.Wrote(path_, allowed);
    }
    return verdict;
  }
  Status Sync() override {
    RETURN_IF_ERROR(env_.AdmitSync());
    RETURN_IF_ERROR(base_->Sync());
    env_.Synced(path_);
    return Status::Ok();
  }
  Status Truncate(uint64_t size) override {
    RETURN_IF_ERROR(base_->Truncate(size));
    env_.Truncated(path_, size);
    return Status::Ok();
  }
  uint64_t Size() const override { return base_->Size(); }

 private:
  FaultEnv& env_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
};

void FaultEnv::FailWriteAfter(int n, bool short_write) {
  std::lock_guard<std::mutex> lock(mu_);
  write_countdown_ = n;
  short_write_ = short_write;
}

void FaultEnv::FailSyncAfter(int n) {
  std::lock_guard<std::mutex> lock(mu_);
  sync_countdown_ = n;
}

void FaultEnv::SetSpaceLimit(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  space_limit_ = bytes;
}

void FaultEnv::SetPunchHoleSupported(bool supported) {
  std::lock_guard<std::mutex> lock(mu_);
  punch_supported_ = supported;
}

void FaultEnv::SetReadOnly(bool read_only) {
  std::lock_guard<std::mutex> lock(mu_);
  read_only_ = read_only;
}

uint64_t FaultEnv::FileState::Used() const {
  uint64_t punched = 0;
  for (const auto& [start, end] : holes) {
    if (start < size) punched += std::min(end, size) - start;
  }
  return size - std::min(size, punched);
}

uint64_t FaultEnv::UsedLocked() const {
  uint64_t used = 0;
  for (const auto& [p, st] : files_) used += st.Used();
  return used;
}

Status FaultEnv::PunchHole(const std::string& path, uint64_t offset, uint64_t length) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!punch_supported_) return FailedPrecondition("injected: no hole punching");
  }
  RETURN_IF_ERROR(base_.PunchHole(path, offset, length));
  std::lock_guard<std::mutex> lock(mu_);
  // Merge [offset, offset + length) into the file's disjoint holes.
  std::map<uint64_t, uint64_t>& holes = files_[path].holes;
  uint64_t start = offset, end = offset + length;
  for (auto it = holes.begin(); it != holes.end();) {
    if (it->second < start || it->first > end) {
      ++it;
      continue;
    }
    start = std::min(start, it->first);
    end = std::max(end, it->second);
    it = holes.erase(it);
  }
  holes[start] = end;
  return Status::Ok();
}

void FaultEnv::RefuseOpens(bool refuse) {
  std::lock_guard<std::mutex> lock(mu_);
  refuse_opens_ = refuse;
}

int FaultEnv::writes_failed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return writes_failed_;
}

int FaultEnv::syncs_failed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return syncs_failed_;
}

Status FaultEnv::Admit(const std::string& path, size_t n, size_t* allowed) {
  (void)path;
  std::lock_guard<std::mutex> lock(mu_);
  *allowed = n;
  if (write_countdown_ > 0 && --write_countdown_ == 0) {
    ++writes_failed_;
    *allowed = short_write_ ? n / 2 : 0;
    return ErrnoStatus(EIO, "injected write failure");
  }
  if (space_limit_ > 0) {
    const uint64_t used = UsedLocked();
    if (used + n > space_limit_) {
      ++writes_failed_;
      *allowed = used >= space_limit_ ? 0 : static_cast<size_t>(space_limit_ - used);
      return ErrnoStatus(ENOSPC, "injected disk full");
    }
  }
  return Status::Ok();
}

Status FaultEnv::AdmitSync() {
  std::lock_guard<std::mutex> lock(mu_);
  if (sync_countdown_ > 0 && --sync_countdown_ == 0) {
    ++syncs_failed_;
    return ErrnoStatus(EIO, "injected fdatasync failure");
  }
  return Status::Ok();
}

void FaultEnv::Wrote(const std::string& path, uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  files_[path].size += n;
}

void FaultEnv::Synced(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  files_[path].synced = files_[path].size;
}

void FaultEnv::Truncated(const std::string& path, uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  FileState& f = files_[path];
  f.size = size;
  f.synced = std::min(f.synced, size);
  if (size == 0) f.holes.clear();
}

Result<std::unique_ptr<WritableFile>> FaultEnv::OpenWritable(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (refuse_opens_) return ErrnoStatus(EACCES, "open " + path);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> base, base_.OpenWritable(path));
  {
    std::lock_guard<std::mutex> lock(mu_);
    FileState& f = files_[path];
    f.size = base->Size();
    f.synced = std::min(f.synced, f.size);
  }
  return std::unique_ptr<WritableFile>(new FaultWritableFile(*this, path, std::move(base)));
}

Status FaultEnv::TruncateFile(const std::string& path, uint64_t size) {
  RETURN_IF_ERROR(base_.TruncateFile(path, size));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it != files_.end()) {
    it->second.size = size;
    it->second.synced = size;  // TruncateFile syncs
  }
  return Status::Ok();
}

Status FaultEnv::RemoveFile(const std::string& path) {
  RETURN_IF_ERROR(base_.RemoveFile(path));
  std::lock_guard<std::mutex> lock(mu_);
  files_.erase(path);
  return Status::Ok();
}

Result<DiskSpace> FaultEnv::GetDiskSpace(const std::string& path) {
  ASSIGN_OR_RETURN(DiskSpace d, base_.GetDiskSpace(path));
  std::lock_guard<std::mutex> lock(mu_);
  if (space_limit_ > 0) {
    const uint64_t used = UsedLocked();
    d.total_bytes = space_limit_;
    d.free_bytes = used >= space_limit_ ? 0 : space_limit_ - used;
  }
  if (read_only_) d.read_only = true;
  return d;
}

void FaultEnv::DropUnsyncedData() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [path, st] : files_) {
    if (st.size > st.synced) {
      base_.TruncateFile(path, st.synced).IgnoreError();
      st.size = st.synced;
    }
  }
}

}  // namespace streamarc::archive::testing
