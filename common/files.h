// Small file operations that more than one library needs.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace streamarc {

// Replaces `path` with `bytes` in one step: they are written to `path` + ".tmp", created with
// `mode` (so a secret is never readable by others, even for a moment), then renamed over
// `path`. A crash leaves the old file or the new one, never part of one. With `sync` the
// bytes are on disk before the rename (a machine crash too); without it, only a process
// crash is covered (the page cache survives that).
Status ReplaceFile(const std::string& path, std::string_view bytes, mode_t mode, bool sync);

}  // namespace streamarc
