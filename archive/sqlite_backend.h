// The embedded registry and index (private to archive/): one SQLite database in WAL mode,
// <root>/index.sqlite, with FORMAT.md's schema.
//
// Connections: one writer for group commits (the commit thread's), one control connection
// for registry writes and maintenance deletes (serialised by its mutex), and a pool of
// reader connections for queries (WAL: readers never block the writer, nor it them).
#pragma once

#include <memory>
#include <string>

#include "archive/sql.h"

namespace streamarc::archive {

// Opens (creating when missing) the database at `path` and its schema. `sync` false turns
// SQLite's fsyncs off (Options::sync). kDataLoss for a file that is not a database.
// `read_only`: an existing database only, every connection read-only
// (SqliteDb::OpenReadOnly), the schema neither created nor upgraded (Options::read_only);
// writes fail.
Result<std::shared_ptr<SqlConnections>> OpenSqliteConnections(const std::string& path, bool sync,
                                                              bool read_only = false);
// The registry and the index over OpenSqliteConnections.
Result<SqlBackend> OpenSqliteBackend(const std::string& path, bool sync, bool read_only = false);

}  // namespace streamarc::archive
