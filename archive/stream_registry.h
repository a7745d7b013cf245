// The stream registry (private to archive/): the durable record of streams, their tags and
// versions, and stream deletion as an event.
//
// The archive keeps a cache of the registry in memory (name -> id, info) and makes every
// decision (validation, versions, the ACTIVE/DELETING life cycle); the registry stores
// and answers. The default is SQLite (OpenSqliteBackend, archive/sqlite_backend.h), in the
// same database as the fragment index. A PostgreSQL registry would implement the same calls
// and publish deletions to other nodes (LISTEN/NOTIFY) through PublishDeleted.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "archive/archive.h"
#include "common/mutex.h"
#include "common/status.h"

namespace streamarc::archive {

struct StreamRecord {
  int64_t id = 0;
  StreamInfo info;  // tags not filled
};

// Thread-safe.
class StreamRegistry {
 public:
  virtual ~StreamRegistry() = default;

  // The archive's random id (it makes fragment numbers unique), stored with `proposed`
  // the first time. kDataLoss for a store of an unknown schema version.
  virtual Result<uint64_t> ArchiveId(uint64_t proposed) = 0;
  // Every stream, DELETING ones included (recovery finishes their deletion).
  virtual Result<std::vector<StreamRecord>> LoadAll() = 0;
  // Stores a new ACTIVE stream with its tags, in one transaction; returns its id.
  // kAlreadyExists when the name (or ARN) is taken.
  virtual Result<int64_t> Insert(const StreamInfo& info) = 0;
  virtual Result<std::map<std::string, std::string>> Tags(int64_t id) = 0;
  // Ids of streams that are not DELETING, ascending by name, name > after_name, with the
  // prefix.
  virtual Result<std::vector<int64_t>> List(std::string_view name_prefix,
                                            std::string_view after_name, int limit) = 0;
  // Stores device name, media type, retention and version.
  virtual Status Update(int64_t id, const StreamInfo& info) = 0;
  // Sets (adds or replaces) `tags`, in one transaction.
  virtual Status SetTags(int64_t id, const std::map<std::string, std::string>& tags) = 0;
  virtual Status RemoveTags(int64_t id, const std::vector<std::string>& keys) = 0;
  // Durable intent to delete: from here a crash finishes the deletion at the next open.
  virtual Status MarkDeleting(int64_t id) = 0;
  // The stream's row and tags, in one transaction (its fragments go first).
  virtual Status Remove(int64_t id) = 0;

  // Stream deletion as an event (Archive::AddStreamDeletedListener's contract).
  uint64_t AddDeletedListener(Archive::StreamDeletedListener listener) EXCLUDES(listeners_mu_);
  void RemoveDeletedListener(uint64_t id) EXCLUDES(listeners_mu_);
  // Calls every listener with `name`, on this thread, with no lock held.
  void PublishDeleted(const std::string& name) EXCLUDES(listeners_mu_);

 private:
  Mutex listeners_mu_;
  uint64_t next_listener_id_ GUARDED_BY(listeners_mu_) = 1;
  // Shared, so that a listener removed meanwhile stays alive while it is being called.
  std::map<uint64_t, std::shared_ptr<const Archive::StreamDeletedListener>> listeners_
      GUARDED_BY(listeners_mu_);
};

}  // namespace streamarc::archive
