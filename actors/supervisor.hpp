#pragma once

#include "actors/actors.hpp"

#include "model/config.hpp"
#include "model/pick_policy.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>

namespace caf {
class actor_system;
}

namespace steward {

/// What the supervisor works with (tests substitute fakes for every part).
struct supervisor_environment {
  /// Candidates, start-up reset and SIGINT cancels.
  catalog_actor catalog;
  /// Spawns the actor of a job (the real one is `job` with a job_environment).
  std::function<job_actor(caf::actor_system&, model::job_id)> spawn_job;
  /// Spawns the leader session actor; empty when something else reports `leader`
  /// (tests).
  std::function<leader_actor(caf::actor_system&, supervisor_actor)> spawn_leader;
  /// Re-reads the configuration file (SIGHUP).
  std::function<std::variant<model::config, model::config_error>()> load_config;
  std::string config_path;  ///< for log lines

  wall_clock now = system_now;
};

/// Why the supervisor stops starting tasks.
enum class stop_reason : std::uint8_t {
  none,
  shutdown,   ///< SIGTERM: terminate executors, tasks back to runnable
  cancel,     ///< SIGINT: cancel the jobs with running tasks, wait for them
  lock_lost,  ///< the leader lock is gone: kill executors, record nothing, back to standby
};

struct supervisor_state {
  static inline const char* name = "steward.supervisor";

  model::config config;
  std::shared_ptr<const supervisor_environment> env;

  leader_actor leader;
  bool is_leader = false;
  bool reset_done = false;  ///< orphaned tasks were reset after taking the lock
  stop_reason stopping = stop_reason::none;
  bool exit_requested = false;  ///< SIGTERM or SIGINT came: exit once stopped

  std::map<model::job_id, job_actor> jobs;

  /// A task the supervisor started and whose attempt is not over.
  struct slot {
    model::job_id job = 0;
    std::optional<std::vector<model::node_id>> nodes;
  };
  std::map<model::task_id, slot> running;
  model::running_load load;

  bool query_in_flight = false;  ///< a candidates request is out
  bool dirty = false;            ///< something woke us while it was out
  std::uint64_t poll_generation = 1;
  std::optional<model::epoch_ms> next_timer;  ///< earliest pending one-shot wake-up
};

/// The supervisor: waits for the leader lock, resets orphaned tasks, then picks tasks
/// (pick policy over the catalog's candidates) whenever something may have become
/// runnable: a notification, the end of an attempt, the poll timer, or the earliest
/// not_before. Handles shutdown (SIGTERM), cancel (SIGINT) and reload (SIGHUP).
supervisor_actor::behavior_type
supervisor(supervisor_actor::stateful_pointer<supervisor_state> self, model::config config,
           std::shared_ptr<const supervisor_environment> env);

}  // namespace steward
