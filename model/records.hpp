#pragma once

#include "model/states.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace steward::model {

using job_id = std::int64_t;
using task_id = std::int64_t;
using node_id = std::int32_t;

/// Milliseconds since the Unix epoch. The model holds times but never reads a clock:
/// "now" always arrives as an argument.
using epoch_ms = std::int64_t;

/// One row of pg_dist_background_task, plus its dependencies.
struct task_record {
  job_id job = 0;
  task_id id = 0;
  std::string owner;                                ///< role name
  std::optional<std::int32_t> pid;                  ///< executor backend pid while running
  task_state status = task_state::runnable;
  std::string command;
  std::optional<std::int32_t> retry_count;          ///< NULL = never failed
  std::optional<epoch_ms> not_before;               ///< NULL = may start at once
  std::string message;
  std::optional<std::vector<node_id>> nodes_involved;  ///< NULL = never node-limited
  std::vector<task_id> depends_on;                  ///< tasks of the same job
};

/// One row of pg_dist_background_job.
struct job_record {
  job_id id = 0;
  job_state state = job_state::scheduled;
  std::string job_type;
  std::string description;
  std::optional<epoch_ms> started_at;
  std::optional<epoch_ms> finished_at;
};

/// A guarded change of one task row: applied only if the row's status is still `from`
/// (test-and-set, so a stale coordinator cannot overwrite a newer decision).
/// Fields left empty keep their value; `clear_pid`/`clear_not_before` write NULL.
struct task_update {
  task_id task = 0;
  task_state from = task_state::runnable;
  task_state to = task_state::runnable;
  std::optional<std::int32_t> pid;
  bool clear_pid = false;
  std::optional<std::int32_t> retry_count;
  std::optional<epoch_ms> not_before;
  bool clear_not_before = false;
  std::optional<std::string> message;
};

/// A change of one job row. `started_at`/`finished_at` are written only while NULL
/// (set once, citus-reference §2.2); the store takes "now" from the database.
struct job_update {
  job_id job = 0;
  job_state state = job_state::scheduled;
  bool set_started_at = false;
  bool set_finished_at = false;
};

}  // namespace steward::model
