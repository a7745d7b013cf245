// The PostgreSQL engine (private to archive/): the registry and the fragment index in a
// PostgreSQL database that several streamarcd nodes can share (Options::index), over libpq.
// The statements are sql.h's shared ones; this file supplies the connections (RAII over
// PGconn and PGresult), the schema (FORMAT.md's tables with PostgreSQL types) and how writers
// are serialised (a transaction-scoped advisory lock, the part SQLite's one write lock plays).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "archive/sql.h"
#include "common/status.h"

namespace streamarc::archive {

// "postgresql://..." or "postgres://...": the index is a PostgreSQL database.
bool IsPostgresUrl(std::string_view index);

// This node, for the coordinator of the nodes sharing the database (cluster.h).
struct PgNodeOptions {
  std::string node_id;
  std::string node_url;  // what GetDataEndpoint answers for this node
  int64_t lease_us = 10'000'000;
};

// Connects to the database at `url` (libpq's URI form, e.g.
// postgresql://USER@HOST:PORT/DB), creating the schema when missing. kUnavailable, saying
// why, when the server cannot be reached; kDataLoss for a database holding an index of an
// unknown schema version. `read_only`: every connection read-only, the schema left alone.
// A coordinator comes with a writable backend and a node id (the index's own tests and
// benchmarks open it without).
Result<SqlBackend> OpenPgBackend(const std::string& url, bool read_only,
                                 const PgNodeOptions& node = {});

// Between pg.cc (the connections) and pg_backend.cc (the schema and the sessions' policy).

// What every new session of a connection needs (settings, session locks), for it is run after
// the first connect and again after each reconnect: a session's settings and locks do not
// outlive it. `server` ("HOST:PORT/DB", never a password) is for messages. An error fails the
// call that needed the session; the next call runs the setup again.
using PgSessionSetup = std::function<Status(Db& db, const std::string& server)>;

// One libpq connection to `url` as a Db (pg.cc). kUnavailable, naming the server and saying
// why, when it cannot connect. Not thread-safe, as every Db. A connection found dropped is
// reconnected before its next use; a statement that changes nothing (BEGIN, SELECT) and
// failed outside a transaction because the connection dropped is sent once more on the new
// one. Anything else that failed that way fails with kUnavailable: whether it ran is unknown.
// Writers are serialised by a transaction-scoped advisory lock taken in Begin() (waiting at
// most 10 s, then kUnavailable, as SQLite's busy timeout).
Result<std::unique_ptr<Db>> ConnectPg(const std::string& url, PgSessionSetup setup);

}  // namespace streamarc::archive
