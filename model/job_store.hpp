#pragma once

#include "model/records.hpp"

#include <optional>
#include <string>
#include <vector>

namespace steward::model {

/// The catalog as the coordinator sees it (a port: sql::pg_job_store is the real
/// adapter, tests/support/memory_job_store the fake and reference). Every call is one
/// transaction and may block; in the daemon it only runs on detached catalog actors.
/// Implementations report failures by throwing; the actors turn them into errors.
class job_store {
public:
  virtual ~job_store() = default;

  /// Leader start-up (citus-reference §4.3): every task left `running` becomes
  /// `runnable` with pid NULL and no retry counted; an old executor backend still
  /// holding the task's lock is terminated first and the call waits until the lock is
  /// free. Tasks left `cancelling` become `cancelled` (their executor is gone).
  /// Returns the tasks it changed, after the change.
  virtual std::vector<task_record> reset_orphaned_tasks() = 0;

  /// Tasks with status `runnable`, ascending task_id, with `depends_on` filled in and
  /// `dependencies_done` telling whether every dependency is `done`.
  struct candidate {
    task_record task;
    bool dependencies_done = true;
  };
  virtual std::vector<candidate> runnable_tasks() = 0;

  /// A job and every task of it (with dependencies), or nullopt if the job is gone.
  struct job_snapshot {
    job_record job;
    std::vector<task_record> tasks;
  };
  virtual std::optional<job_snapshot> load_job(job_id job) = 0;

  /// The current row of one task, or nullopt if it is gone.
  virtual std::optional<task_record> load_task(task_id task) = 0;

  /// Applies the task updates and the job update in one transaction. Updates whose
  /// guard (`from`) no longer matches are skipped; their task ids are returned and
  /// nothing else in the transaction is affected by them. The job's state is derived
  /// again from its task rows as they are after the task updates (the state in
  /// `job` is what the caller expects; concurrent changes, such as a citus_job_cancel,
  /// win), with started_at and finished_at set once as the derived state requires.
  virtual std::vector<task_id> apply(const std::vector<task_update>& tasks,
                                     const std::optional<job_update>& job) = 0;

  /// Jobs that are not terminal and have at least one non-terminal task, ascending.
  virtual std::vector<job_id> active_jobs() = 0;

  /// Cancels a job as citus_job_cancel does, acting as the coordinator (no permission
  /// check): used for SIGINT. Running tasks with a pid go `cancelling` and their
  /// backends get pg_cancel_backend; other unfinished tasks go `cancelled`.
  virtual void cancel_job(job_id job) = 0;

  /// After an executor died without a clean end: if backend `pid` still holds the
  /// task's lock (its connection outlives the process while it waits or runs), it is
  /// terminated and waited for, so that the next attempt never overlaps it. Throws
  /// when the lock is still held after a bounded wait.
  virtual void stop_backend(task_id task, std::int32_t pid) = 0;
};

}  // namespace steward::model
