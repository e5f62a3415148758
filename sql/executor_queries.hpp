#pragma once

// The statements steward-executor sends around a task's command (DESIGN.md "Executor").
// The executor speaks libpq directly (it needs notice fields, per-statement command tags
// and PQcancel), so these are plain texts rather than pqxx prepared statements.

#include "sql/locks.hpp"

namespace steward::sql::executor_queries {

/// $1, $2 = task_lock_keys(task_id); one row, one boolean column.
inline constexpr const char* try_task_lock = "SELECT pg_try_advisory_lock($1::int4, $2::int4)";

/// $1 = job id, $2 = task id; at most one row: the task's command, and whether the
/// session's role (the owner the executor connected as) owns the task. The catalog is
/// readable by every role, like Citus's.
inline constexpr const char* task_command =
  "SELECT t.command,"
  "       t.owner::oid = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)"
  "  FROM steward.pg_dist_background_task t"
  " WHERE t.job_id = $1::int8 AND t.task_id = $2::int8";

/// The task's command runs between these two, as one transaction.
inline constexpr const char* begin = "BEGIN";
inline constexpr const char* commit = "COMMIT";
inline constexpr const char* rollback = "ROLLBACK";

}  // namespace steward::sql::executor_queries
