#pragma once

#include "model/job_store.hpp"

#include <memory>
#include <string>

namespace steward::sql {

/// model::job_store over the Steward catalog (schema `steward`) in PostgreSQL.
///
/// Owns exactly one libpqxx connection, opened by the constructor; statements are
/// prepared on first use. Every public call runs in one transaction of its own.
/// Failures are reported as steward::sql::error: `unavailable` when the connection
/// is refused or lost (libpqxx reconnects on a later call), `sql_failed` with the
/// SQLSTATE when the server rejects a statement, `not_found` when a job update
/// names a job that does not exist. Not thread-safe: one thread (actor) per store.
class pg_job_store final : public model::job_store {
public:
  /// Connects to `dsn`; throws sql::error(errc::unavailable) with the password
  /// redacted from the message when that fails.
  explicit pg_job_store(std::string dsn);
  ~pg_job_store() override;

  pg_job_store(const pg_job_store&) = delete;
  pg_job_store& operator=(const pg_job_store&) = delete;

  std::vector<model::task_record> reset_orphaned_tasks() override;
  std::vector<candidate> runnable_tasks() override;
  std::optional<job_snapshot> load_job(model::job_id job) override;
  std::optional<model::task_record> load_task(model::task_id task) override;
  std::vector<model::task_id> apply(const std::vector<model::task_update>& tasks,
                                    const std::optional<model::job_update>& job) override;
  std::vector<model::job_id> active_jobs() override;
  void cancel_job(model::job_id job) override;
  void stop_backend(model::task_id task, std::int32_t pid) override;

  /// Backend pid of the store's connection (0 while disconnected); for tests and logs.
  int backend_pid() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace steward::sql
