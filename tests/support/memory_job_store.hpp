#pragma once

#include "model/job_store.hpp"
#include "sql/error.hpp"

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace steward::test {

/// In-memory model::job_store: the fake catalog of actor-level tests and the
/// reference that job_store_contract_test checks sql::pg_job_store against.
///
/// Same semantics as the PostgreSQL store, except that it reads no clock ("now" is set
/// by the test, default 0) and talks to no backends: the pids that cancel_job would
/// signal and the old executors that reset_orphaned_tasks would terminate are
/// recorded for the test to inspect. Errors are the same sql::error codes. Calls are
/// serialised by a mutex, so a detached actor may use it too.
class memory_job_store final : public model::job_store {
public:
  explicit memory_job_store(std::string owner = "postgres");

  // --- model::job_store
  std::vector<model::task_record> reset_orphaned_tasks() override;
  std::vector<candidate> runnable_tasks() override;
  std::optional<job_snapshot> load_job(model::job_id job) override;
  std::optional<model::task_record> load_task(model::task_id task) override;
  std::vector<model::task_id> apply(const std::vector<model::task_update>& tasks,
                                    const std::optional<model::job_update>& job) override;
  std::vector<model::job_id> active_jobs() override;
  void cancel_job(model::job_id job) override;
  void stop_backend(model::task_id task, std::int32_t pid) override;

  // --- setting up and inspecting the catalog (test helpers)

  /// Inserts a job (state scheduled, no timestamps), ids ascending from 1.
  model::job_id add_job(std::string type = "test_job", std::string description = "");

  /// Inserts a task of `job` owned by the store's owner. Status defaults to runnable,
  /// or blocked when it has dependencies; the dependencies must be tasks of the same
  /// job. Task ids ascend from 1 across jobs. Throws std::invalid_argument otherwise.
  model::task_id add_task(model::job_id job, std::string command,
                          std::vector<model::task_id> depends_on = {},
                          std::optional<std::vector<model::node_id>> nodes = std::nullopt,
                          std::optional<model::task_state> status = std::nullopt);

  /// The current rows; throw std::out_of_range for unknown ids.
  model::task_record task(model::task_id id) const;
  model::job_record job(model::job_id id) const;
  std::vector<model::task_record> tasks() const;  ///< all, ascending task id
  std::vector<model::job_record> jobs() const;    ///< all, ascending job id

  /// Overwrites a row as is (no guard, no job recomputation); the id must exist.
  /// For tests that need a state no transition reaches directly.
  void put_task(const model::task_record& task);
  void put_job(const model::job_record& job);

  /// The store's clock: written into started_at / finished_at.
  void set_now(model::epoch_ms now);
  model::epoch_ms now() const;

  /// Pretends backend `pid` holds the execution lock of `task` (an executor that is
  /// still alive); reset_orphaned_tasks then "terminates" the task's recorded pid and
  /// the lock is released.
  void hold_task_lock(model::task_id task, std::int32_t pid);
  /// Pids reset_orphaned_tasks terminated, in order.
  std::vector<std::int32_t> terminated_backends() const;
  /// (task, pid) pairs stop_backend was asked for, in order.
  std::vector<std::pair<model::task_id, std::int32_t>> stopped_backends() const;
  /// Pids cancel_job sent pg_cancel_backend to, in order.
  std::vector<std::int32_t> cancelled_backends() const;

  /// The next `calls` calls of the port throw sql::error(code) without touching the
  /// catalog (a database that is down or rejects statements).
  void fail_next(int calls, sql::errc code = sql::errc::unavailable);

  /// Number of port calls so far (including failed ones).
  std::size_t calls() const;

private:

  void enter();  // counts the call, throws an injected failure
  void recompute_job(model::job_id job);
  model::task_record& row(model::task_id id);

  mutable std::mutex mutex_;
  std::string owner_;
  model::epoch_ms now_ = 0;
  model::job_id next_job_ = 1;
  model::task_id next_task_ = 1;
  std::map<model::job_id, model::job_record> jobs_;
  std::map<model::task_id, model::task_record> tasks_;
  std::map<model::task_id, std::int32_t> task_locks_;
  std::vector<std::int32_t> terminated_;
  std::vector<std::int32_t> cancelled_;
  std::vector<std::pair<model::task_id, std::int32_t>> stopped_;
  int failures_left_ = 0;
  sql::errc failure_code_ = sql::errc::unavailable;
  std::size_t calls_ = 0;
};

}  // namespace steward::test
