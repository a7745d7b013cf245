#include "server/daemon.h"

namespace streamarc::server {

const char* const kCommit = STREAMARC_COMMIT;

}  // namespace streamarc::server
