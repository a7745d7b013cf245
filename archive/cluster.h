// Several nodes on one PostgreSQL index (private to archive/): which nodes are alive, which
// node owns each stream's ingest (a lease), the ids that must stay unique across nodes, and
// a counter that tells the other nodes their stream cache is stale. FORMAT.md describes the
// tables (`nodes`, `stream_leases`) and sequences (`id_blocks`, `registry_changes`).
//
// Time is the database server's clock (clock_timestamp()), so that nodes whose clocks
// disagree still agree on when a lease ends.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "archive/archive.h"
#include "archive/stream_registry.h"
#include "common/status.h"

namespace streamarc::archive {

struct ClusterNode {
  std::string id;
  std::string url;
};

// Ids unique across every node and above every id given before: [first, end).
struct IdBlock {
  uint64_t first = 0;
  uint64_t end = 0;
};

// Ids per block: a block lasts about 17 minutes at a thousand fragments a second, and the
// 63-bit space holds 8.8e12 of them.
inline constexpr uint64_t kIdBlockBits = 20;

// Thread-safe; every call is a round trip to the database.
class Coordinator {
 public:
  virtual ~Coordinator() = default;

  const std::string& node_id() const { return node_id_; }
  // The URL other nodes send this node's streams' clients to. Until it is known (a server
  // listening on a port the system picks) the node stays out of the live list: heartbeats
  // wait for it.
  virtual void SetUrl(std::string url) = 0;
  virtual std::string url() const = 0;

  // This node is alive (with its URL) for lease_us more, and so are its leases on `keep`;
  // its leases on `release` go. Returns the streams of `keep` whose lease is still this
  // node's (renewed); the others were taken by another node after they expired.
  virtual Result<std::vector<int64_t>> Heartbeat(const std::vector<int64_t>& keep,
                                                 const std::vector<int64_t>& release) = 0;
  // Takes the stream's lease when nobody holds it, it expired, or it is already this node's.
  // Returns the node holding it afterwards: this one, or the live owner.
  virtual Result<ClusterNode> Acquire(int64_t stream_id) = 0;
  // The node whose live lease covers the stream, if any.
  virtual Result<std::optional<ClusterNode>> Owner(int64_t stream_id) = 0;
  // Nodes whose heartbeat has not expired, ordered by id.
  virtual Result<std::vector<ClusterNode>> LiveNodes() = 0;
  // A fresh block of ids (fragment sequence numbers and segment ids).
  virtual Result<IdBlock> TakeIds() = 0;
  // Changes when any node changes the registry (see WrapRegistryForCluster).
  virtual Result<int64_t> RegistryVersion() = 0;
  virtual Status BumpRegistryVersion() = 0;
  // A clean stop: this node's leases and its row go, so its streams move at once.
  virtual Status Leave() = 0;

 protected:
  explicit Coordinator(std::string node_id) : node_id_(std::move(node_id)) {}

 private:
  const std::string node_id_;
};

// The coordinator on the PostgreSQL database at `url` (its tables come with the schema,
// pg_backend.cc), over a connection of its own.
Result<std::unique_ptr<Coordinator>> NewPgCoordinator(const std::string& url, std::string node_id,
                                                      std::string node_url, int64_t lease_us);

// `registry`, plus a registry version bump after every change it stores, so that the other
// nodes reload their stream caches.
std::unique_ptr<StreamRegistry> WrapRegistryForCluster(std::unique_ptr<StreamRegistry> registry,
                                                       std::shared_ptr<Coordinator> coordinator);

// The live node that takes a stream nobody owns: rendezvous hashing over the stream's name
// and each node's id, so that every node picks the same one and a node joining or leaving
// moves only the streams it wins or held.
const ClusterNode* PickNode(const std::vector<ClusterNode>& live, const std::string& stream_name);

}  // namespace streamarc::archive
