// The coordinator of several nodes on one PostgreSQL index (cluster.h): heartbeats, stream
// leases, id blocks and the registry version, each one statement on a connection of its own.
#include <algorithm>
#include <cstring>
#include <utility>

#include "archive/cluster.h"
#include "archive/pg.h"
#include "common/digest.h"
#include "common/mutex.h"

namespace streamarc::archive {
namespace {

// Stream ids as one text parameter (`= ANY(string_to_array(?n, ',')::bigint[])`): the
// statement keeps one shape whatever the count.
std::string IdList(const std::vector<int64_t>& ids) {
  std::string out;
  for (int64_t id : ids) {
    if (!out.empty()) out += ',';
    out += std::to_string(id);
  }
  return out;
}

class PgCoordinator final : public Coordinator {
 public:
  PgCoordinator(std::unique_ptr<Db> db, std::string node_id, std::string node_url, int64_t lease_us)
      : Coordinator(std::move(node_id)),
        lease_us_(lease_us),
        node_url_(std::move(node_url)),
        db_(std::move(db)) {}

  void SetUrl(std::string url) override {
    MutexLock lock(mu_);
    node_url_ = std::move(url);
  }
  std::string url() const override {
    MutexLock lock(mu_);
    return node_url_;
  }

  Result<std::vector<int64_t>> Heartbeat(const std::vector<int64_t>& keep,
                                         const std::vector<int64_t>& release) override {
    MutexLock lock(mu_);
    Db& db = *db_;
    if (node_url_.empty()) return std::vector<int64_t>();  // not reachable yet: see SetUrl
    ASSIGN_OR_RETURN(Stmt * node,
                     db.Prepare("INSERT INTO nodes(node_id, url, expires_at) VALUES(?1, ?2, "
                                "clock_timestamp() + ?3::bigint * interval '1 microsecond') "
                                "ON CONFLICT(node_id) DO UPDATE SET url = excluded.url, "
                                "expires_at = excluded.expires_at"));
    node->BindText(1, node_id()).BindText(2, node_url_).Bind(3, lease_us_);
    RETURN_IF_ERROR(RunOnce(node));
    if (!release.empty()) {
      ASSIGN_OR_RETURN(Stmt * rel,
                       db.Prepare("DELETE FROM stream_leases WHERE node_id = ?1 AND "
                                  "stream_id = ANY(string_to_array(?2, ',')::bigint[])"));
      rel->BindText(1, node_id()).BindText(2, IdList(release));
      RETURN_IF_ERROR(RunOnce(rel));
    }
    std::vector<int64_t> renewed;
    if (keep.empty()) return renewed;
    // Renewed while still this node's, even past its end: nobody took it meanwhile.
    ASSIGN_OR_RETURN(
        Stmt * renew,
        db.Prepare("UPDATE stream_leases SET expires_at = clock_timestamp() + "
                   "?3::bigint * interval '1 microsecond' WHERE node_id = ?1 AND "
                   "stream_id = ANY(string_to_array(?2, ',')::bigint[]) RETURNING stream_id"));
    renew->BindText(1, node_id()).BindText(2, IdList(keep)).Bind(3, lease_us_);
    RETURN_IF_ERROR(renew->ForEachRow([&](const Stmt& row) {
      renewed.push_back(row.Int(0));
      return Status::Ok();
    }));
    return renewed;
  }

  Result<ClusterNode> Acquire(int64_t stream_id) override {
    MutexLock lock(mu_);
    Db& db = *db_;
    // One statement: of two nodes taking a free lease at once, one inserts and the other
    // finds the row live and someone else's.
    ASSIGN_OR_RETURN(
        Stmt * take,
        db.Prepare("INSERT INTO stream_leases(stream_id, node_id, expires_at) VALUES(?1, ?2, "
                   "clock_timestamp() + ?3::bigint * interval '1 microsecond') "
                   "ON CONFLICT(stream_id) DO UPDATE SET node_id = excluded.node_id, "
                   "expires_at = excluded.expires_at WHERE stream_leases.node_id = "
                   "excluded.node_id OR stream_leases.expires_at <= clock_timestamp() "
                   "RETURNING node_id"));
    take->Bind(1, stream_id).BindText(2, node_id()).Bind(3, lease_us_);
    ASSIGN_OR_RETURN(bool taken, take->Step());
    take->Reset();
    if (taken) return ClusterNode{node_id(), node_url_};
    ASSIGN_OR_RETURN(std::optional<ClusterNode> owner, OwnerLocked(stream_id));
    // Expired between the two statements: free now, and the caller may ask again.
    if (!owner) return Unavailable("the stream's lease changed hands; try again");
    return *owner;
  }

  Result<std::optional<ClusterNode>> Owner(int64_t stream_id) override {
    MutexLock lock(mu_);
    return OwnerLocked(stream_id);
  }

  Result<std::vector<ClusterNode>> LiveNodes() override {
    MutexLock lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("SELECT node_id, url FROM nodes WHERE expires_at > "
                                             "clock_timestamp() ORDER BY node_id"));
    std::vector<ClusterNode> nodes;
    RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
      nodes.push_back(ClusterNode{row.Text(0), row.Text(1)});
      return Status::Ok();
    }));
    return nodes;
  }

  Result<IdBlock> TakeIds() override {
    MutexLock lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("SELECT nextval('id_blocks')"));
    ASSIGN_OR_RETURN(bool row, st->Step());
    const int64_t block = row ? st->Int(0) : 0;
    st->Reset();
    if (block <= 0 || block >= (int64_t{1} << (63 - kIdBlockBits))) {
      return Internal("id_blocks gave " + std::to_string(block));
    }
    const uint64_t first = static_cast<uint64_t>(block) << kIdBlockBits;
    return IdBlock{first, first + (uint64_t{1} << kIdBlockBits)};
  }

  Result<int64_t> RegistryVersion() override {
    MutexLock lock(mu_);
    ASSIGN_OR_RETURN(
        Stmt * st,
        db_->Prepare(
            // Before its first nextval a sequence shows last_value 1 too: is_called tells.
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM registry_changes"));
    ASSIGN_OR_RETURN(bool row, st->Step());
    const int64_t v = row ? st->Int(0) : 0;
    st->Reset();
    return v;
  }

  Status BumpRegistryVersion() override {
    MutexLock lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("SELECT nextval('registry_changes')"));
    ASSIGN_OR_RETURN(bool row, st->Step());
    (void)row;
    st->Reset();
    return Status::Ok();
  }

  Status Leave() override {
    MutexLock lock(mu_);
    ASSIGN_OR_RETURN(Stmt * leases, db_->Prepare("DELETE FROM stream_leases WHERE node_id = ?1"));
    leases->BindText(1, node_id());
    RETURN_IF_ERROR(RunOnce(leases));
    ASSIGN_OR_RETURN(Stmt * node, db_->Prepare("DELETE FROM nodes WHERE node_id = ?1"));
    node->BindText(1, node_id());
    return RunOnce(node);
  }

 private:
  Result<std::optional<ClusterNode>> OwnerLocked(int64_t stream_id) REQUIRES(mu_) {
    // The node's URL as it last said; a lease outliving its node's heartbeat still counts
    // (the node may only be slow to renew), with the URL it had.
    ASSIGN_OR_RETURN(Stmt * st,
                     db_->Prepare("SELECT l.node_id, COALESCE(n.url, '') FROM stream_leases l "
                                  "LEFT JOIN nodes n ON n.node_id = l.node_id "
                                  "WHERE l.stream_id = ?1 AND l.expires_at > clock_timestamp()"));
    st->Bind(1, stream_id);
    std::optional<ClusterNode> owner;
    RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
      owner = ClusterNode{row.Text(0), row.Text(1)};
      return Status::Ok();
    }));
    return owner;
  }

  const int64_t lease_us_;
  mutable Mutex mu_;
  std::string node_url_ GUARDED_BY(mu_);
  const std::unique_ptr<Db> db_ PT_GUARDED_BY(mu_);
};

// Forwards every call; a change that was stored bumps the version. A failed bump is only
// logged by the caller's next refresh: the other nodes still see the change within their
// next full reload.
class ClusterRegistry final : public StreamRegistry {
 public:
  ClusterRegistry(std::unique_ptr<StreamRegistry> inner, std::shared_ptr<Coordinator> c)
      : inner_(std::move(inner)), c_(std::move(c)) {}

  Result<uint64_t> ArchiveId(uint64_t proposed) override { return inner_->ArchiveId(proposed); }
  Result<std::vector<StreamRecord>> LoadAll() override { return inner_->LoadAll(); }
  Result<int64_t> Insert(const StreamInfo& info) override {
    Result<int64_t> id = inner_->Insert(info);
    if (id.ok()) Bump();
    return id;
  }
  Result<std::map<std::string, std::string>> Tags(int64_t id) override { return inner_->Tags(id); }
  Result<std::vector<int64_t>> List(std::string_view name_prefix, std::string_view after_name,
                                    int limit) override {
    return inner_->List(name_prefix, after_name, limit);
  }
  Status Update(int64_t id, const StreamInfo& info) override {
    return Bumped(inner_->Update(id, info));
  }
  Status SetTags(int64_t id, const std::map<std::string, std::string>& tags) override {
    return Bumped(inner_->SetTags(id, tags));
  }
  Status RemoveTags(int64_t id, const std::vector<std::string>& keys) override {
    return Bumped(inner_->RemoveTags(id, keys));
  }
  Status MarkDeleting(int64_t id) override { return Bumped(inner_->MarkDeleting(id)); }
  Status Remove(int64_t id) override { return Bumped(inner_->Remove(id)); }

 private:
  void Bump() { c_->BumpRegistryVersion().IgnoreError(); }
  Status Bumped(Status s) {
    if (s.ok()) Bump();
    return s;
  }

  const std::unique_ptr<StreamRegistry> inner_;
  const std::shared_ptr<Coordinator> c_;
};

}  // namespace

Result<std::unique_ptr<Coordinator>> NewPgCoordinator(const std::string& url, std::string node_id,
                                                      std::string node_url, int64_t lease_us) {
  if (node_id.empty()) return InvalidArgument("a cluster node needs a node id");
  if (lease_us < 1'000'000) return InvalidArgument("lease-seconds must be at least 1");
  ASSIGN_OR_RETURN(std::unique_ptr<Db> db, ConnectPg(url, [](Db& d, const std::string&) {
                     return d.Exec("SET client_min_messages = warning");
                   }));
  return std::unique_ptr<Coordinator>(
      new PgCoordinator(std::move(db), std::move(node_id), std::move(node_url), lease_us));
}

std::unique_ptr<StreamRegistry> WrapRegistryForCluster(std::unique_ptr<StreamRegistry> registry,
                                                       std::shared_ptr<Coordinator> coordinator) {
  return std::make_unique<ClusterRegistry>(std::move(registry), std::move(coordinator));
}

const ClusterNode* PickNode(const std::vector<ClusterNode>& live, const std::string& stream_name) {
  const ClusterNode* best = nullptr;
  std::string best_score;
  for (const ClusterNode& n : live) {
    // SHA-256 rather than std::hash: every node, whatever its build, must agree.
    std::string key = stream_name;
    key.push_back('\0');
    key += n.id;
    std::string score = Sha256(key);
    if (!best || score > best_score) {
      best = &n;
      best_score = std::move(score);
    }
  }
  return best;
}

}  // namespace streamarc::archive
