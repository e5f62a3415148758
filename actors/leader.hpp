#pragma once

#include "actors/actors.hpp"

#include <chrono>
#include <string>

namespace caf {
class actor_system;
}

namespace steward {

struct leader_options {
  std::chrono::milliseconds retry_every{250};   ///< standby: try the lock this often
  std::chrono::milliseconds listen_slice{100};  ///< wait for notifications this long at once
  std::chrono::milliseconds check_every{1000};  ///< active: ask whether the lock is held
  std::chrono::milliseconds max_backoff{2000};  ///< longest wait between failed connects
};

/// Spawns the leader session: a blocking actor on its own thread that owns the leader
/// connection (sql::leader_session). As standby it tries the lock every `retry_every`
/// (logging once that it waits); once it holds it, it reports `leader` to `supervisor`
/// and forwards steward_wakeup / steward_cancel notifications as `wakeup` / `cancel`
/// with the job id. It reports `lost` if the lock goes away, and releases the lock when
/// it gets `shutdown` (or an exit message).
leader_actor spawn_leader(caf::actor_system& sys, std::string dsn, supervisor_actor supervisor,
                          leader_options options = {});

}  // namespace steward
