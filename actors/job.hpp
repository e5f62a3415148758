#pragma once

#include "actors/actors.hpp"

#include "model/records.hpp"
#include "model/task_graph.hpp"

#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <functional>
#include <map>
#include <optional>
#include <memory>

namespace caf {
class actor_system;
}

namespace steward {

/// What every job actor of the daemon shares.
struct job_environment {
  /// Where the job actor records transitions (and reloads rows from).
  catalog_actor catalog;
  /// Starts the executor proxy of one attempt (tests substitute a fake).
  std::function<executor_proxy_actor(caf::actor_system&, job_actor parent,
                                     const model::task_record& task, const run_options& options)>
    spawn_proxy;
  wall_clock now = system_now;
};

/// State of the job actor (named job_actor_state rather than job_state, which is
/// already model::job_state, the job's status enum).
struct job_actor_state {
  static inline const char* name = "steward.job";

  model::job_id id = 0;
  std::shared_ptr<const job_environment> env;

  model::job_record job;
  std::map<model::task_id, model::task_record> tasks;
  model::task_graph graph;

  /// One running execution attempt.
  struct attempt {
    executor_proxy_actor proxy;
    caf::typed_response_promise<task_end> promise;
    run_options options;
    bool cancel_sent = false;
    std::optional<std::int32_t> backend_pid;  ///< as the executor reported it
  };
  std::map<model::task_id, attempt> running;

  bool shutting_down = false;
  /// The leader lock is lost: attempts end without being recorded.
  bool abandoned = false;
};

/// The actor of one job: loads the job (holding back other messages until it has it),
/// starts picked tasks through a guarded runnable -> running write, records each
/// attempt's end with the model's transitions in one apply() (task row, dependents,
/// job row), and quits once nothing of the job can run any more.
job_actor::behavior_type job(job_actor::stateful_pointer<job_actor_state> self, model::job_id id,
                             std::shared_ptr<const job_environment> env);

}  // namespace steward
