#include "sql/status_query.hpp"

#include "sql/connect.hpp"
#include "sql/error.hpp"

#include <pqxx/pqxx>

#include <optional>

namespace steward::sql {

namespace {

constexpr const char* select_schema =
  "SELECT to_regclass('steward.pg_dist_background_job') IS NOT NULL"
  "   AND to_regclass('steward.pg_dist_background_task') IS NOT NULL AS installed,"
  "       current_database() AS dbname";

constexpr const char* select_overview =
  "SELECT floor(extract(epoch FROM now()) * 1000)::bigint AS now_ms,"
  "       (SELECT count(*) FROM steward.pg_dist_background_job"
  "         WHERE state IN ('finished', 'cancelled', 'failed')) AS terminal_jobs,"
  "       to_regprocedure('steward.get_rebalance_progress()') IS NOT NULL AS has_progress";

// $1: how many terminal jobs to show, the most recent first; negative = all.
constexpr const char* select_jobs =
  "SELECT j.job_id, j.state::text AS state, j.job_type::text AS job_type,"
  "       coalesce(j.description, '') AS description,"
  "       floor(extract(epoch FROM j.started_at) * 1000)::bigint AS started_at_ms,"
  "       floor(extract(epoch FROM j.finished_at) * 1000)::bigint AS finished_at_ms"
  "  FROM steward.pg_dist_background_job j"
  " WHERE j.state NOT IN ('finished', 'cancelled', 'failed')"
  "    OR j.job_id IN (SELECT t.job_id FROM steward.pg_dist_background_job t"
  "                     WHERE t.state IN ('finished', 'cancelled', 'failed')"
  "                     ORDER BY t.job_id DESC"
  "                     LIMIT CASE WHEN $1::bigint < 0 THEN NULL ELSE $1::bigint END)"
  " ORDER BY j.job_id";

// $1: the job ids as an array literal. A task is a shard move when its command calls
// citus_move_shard_placement (as the rebalancer schedules them).
constexpr const char* select_tasks =
  "SELECT t.job_id, t.task_id, t.status::text AS status, coalesce(t.retry_count, 0) AS retried,"
  "       t.pid, floor(extract(epoch FROM t.not_before) * 1000)::bigint AS not_before_ms,"
  "       coalesce(t.message, '') AS message, t.command,"
  "       t.command ~ 'citus_move_shard_placement' AS is_move"
  "  FROM steward.pg_dist_background_task t"
  " WHERE t.job_id = ANY ($1::bigint[])"
  " ORDER BY t.job_id, t.task_id";

constexpr const char* select_progress =
  "SELECT p.sessionid, p.table_name::text AS table_name, p.shardid,"
  "       p.sourcename, p.sourceport, p.targetname, p.targetport,"
  "       coalesce(p.source_shard_size, 0) AS source_shard_size,"
  "       coalesce(p.target_shard_size, 0) AS target_shard_size,"
  "       coalesce(p.operation_type, '') AS operation_type, coalesce(p.status, '') AS status"
  "  FROM steward.get_rebalance_progress() p"
  " ORDER BY p.sessionid, p.shardid";

template <class T>
std::optional<T> optional_field(const pqxx::field& f) {
  if (f.is_null())
    return std::nullopt;
  return f.as<T>();
}

std::string text_or_empty(const pqxx::field& f) {
  return f.is_null() ? std::string{} : f.as<std::string>();
}

}  // namespace

struct status_reader::impl {
  std::unique_ptr<pqxx::connection> conn;
};

status_reader::status_reader(const std::string& dsn) : impl_(std::make_unique<impl>()) {
  impl_->conn = open_connection(dsn);
  translate_errors([&] {
    pqxx::nontransaction n{*impl_->conn};
    auto r = n.exec1(select_schema);
    if (!r["installed"].as<bool>())
      throw error(errc::not_found, "database \"" + r["dbname"].as<std::string>() +
                                     "\" has no steward schema: run `steward init --dsn DSN` first");
  });
}

status_reader::~status_reader() = default;

model::status_snapshot status_reader::read(std::int64_t recent_terminal) {
  model::status_snapshot s;
  translate_errors([&] {
    // One snapshot for the overview, the jobs and their tasks.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx{*impl_->conn};
    auto o = tx.exec1(select_overview);
    s.now = o["now_ms"].as<std::int64_t>();
    s.progress_available = o["has_progress"].as<bool>();
    auto terminal = o["terminal_jobs"].as<std::int64_t>();

    std::string ids = "{";
    std::int64_t shown_terminal = 0;
    for (const auto& row : tx.exec_params(select_jobs, recent_terminal)) {
      model::status_job j;
      j.job.id = row["job_id"].as<model::job_id>();
      auto state = model::parse_job_state(row["state"].as<std::string>());
      if (!state)
        throw error(errc::sql_failed, "unknown job state " + row["state"].as<std::string>());
      j.job.state = *state;
      j.job.job_type = text_or_empty(row["job_type"]);
      j.job.description = row["description"].as<std::string>();
      j.job.started_at = optional_field<model::epoch_ms>(row["started_at_ms"]);
      j.job.finished_at = optional_field<model::epoch_ms>(row["finished_at_ms"]);
      if (model::is_terminal(j.job.state))
        ++shown_terminal;
      ids += (ids.size() > 1 ? "," : "") + std::to_string(j.job.id);
      s.jobs.push_back(std::move(j));
    }
    ids += "}";
    s.hidden_terminal_jobs = terminal - shown_terminal;

    std::size_t at = 0;
    for (const auto& row : tx.exec_params(select_tasks, ids)) {
      auto job = row["job_id"].as<model::job_id>();
      while (at < s.jobs.size() && s.jobs[at].job.id != job)
        ++at;
      if (at == s.jobs.size())
        break;  // both ordered by job id: cannot happen
      model::status_task t;
      t.id = row["task_id"].as<model::task_id>();
      auto state = model::parse_task_state(row["status"].as<std::string>());
      if (!state)
        throw error(errc::sql_failed, "unknown task state " + row["status"].as<std::string>());
      t.state = *state;
      t.retried = row["retried"].as<std::int32_t>();
      t.pid = optional_field<std::int32_t>(row["pid"]);
      t.not_before = optional_field<model::epoch_ms>(row["not_before_ms"]);
      t.message = row["message"].as<std::string>();
      t.command = text_or_empty(row["command"]);
      t.is_move = row["is_move"].as<bool>();
      s.jobs[at].tasks.push_back(std::move(t));
    }
    tx.commit();
  });

  if (s.progress_available) {
    try {
      translate_errors([&] {
        // Not read-only: the function may open (and cache) connections to the workers.
        pqxx::nontransaction tx{*impl_->conn};
        for (const auto& row : tx.exec(select_progress)) {
          model::move_progress_row p;
          p.sessionid = row["sessionid"].as<std::int32_t>();
          p.table_name = text_or_empty(row["table_name"]);
          p.shardid = row["shardid"].as<std::int64_t>();
          p.sourcename = text_or_empty(row["sourcename"]);
          p.sourceport = optional_field<std::int32_t>(row["sourceport"]).value_or(0);
          p.targetname = text_or_empty(row["targetname"]);
          p.targetport = optional_field<std::int32_t>(row["targetport"]).value_or(0);
          p.source_shard_size = row["source_shard_size"].as<std::int64_t>();
          p.target_shard_size = row["target_shard_size"].as<std::int64_t>();
          p.operation_type = row["operation_type"].as<std::string>();
          p.status = row["status"].as<std::string>();
          s.progress.push_back(std::move(p));
        }
      });
    } catch (const error& e) {
      if (e.code() != errc::sql_failed)
        throw;
      s.progress_error = e.what();
    }
  }
  return s;
}

}  // namespace steward::sql
