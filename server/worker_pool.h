// WorkerPool moved to common/worker_pool.h (ingest/ and playback/ services use it too); this
// name stays so server/ code written against it keeps building.
#pragma once

#include "common/worker_pool.h"

namespace streamarc::server {
using streamarc::WorkerPool;
}  // namespace streamarc::server
