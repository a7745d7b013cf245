// Readiness (Archive::CheckWritable): the last group commit's outcome, then a probe of the
// directories the archive writes new files in.
#include "archive/local_archive.h"

namespace streamarc::archive {
namespace {

constexpr char kProbeName[] = ".ready-probe";

// Creates, writes, syncs and removes a small file in `dir`: what creating the next segment
// (or the index's journal) needs. A stray probe left by a crash is removed the next time
// (and, under segments/, by recovery's orphan sweep).
Status Probe(Env& env, const std::string& dir) {
  const std::string path = dir + "/" + kProbeName;
  Status s = [&]() -> Status {
    ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, env.OpenWritable(path));
    RETURN_IF_ERROR(f->Truncate(0));
    RETURN_IF_ERROR(f->Append("streamarc readiness probe\n"));
    return f->Sync();
  }();
  Status removed = env.RemoveFile(path);
  if (!s.ok()) return Status(s.code(), "cannot write in " + dir + ": " + s.message());
  if (!removed.ok() && removed.code() != Code::kNotFound) {
    return Status(removed.code(), "cannot remove a file in " + dir + ": " + removed.message());
  }
  return Status::Ok();
}

}  // namespace

Status LocalArchive::CheckWritable() {
  if (options_.read_only) return ReadOnlyRefusal();
  {
    MutexLock lock(stats_mu_);
    if (!write_failure_.ok() &&
        clock_.MonotonicMicros() - write_failure_us_ < kWriteFailureWindowUs) {
      return Status(write_failure_.code(),
                    "the last fragments could not be stored: " + write_failure_.message());
    }
  }
  MutexLock lock(probe_mu_);
  RETURN_IF_ERROR(Probe(env_, options_.root));
  return Probe(env_, options_.root + "/segments");
}

}  // namespace streamarc::archive
