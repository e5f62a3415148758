#include "tests/support/jobs.hpp"

#include <stdexcept>

namespace steward::test {

submitted_job submit_job(pqxx::connection& conn, const std::vector<task_spec>& tasks,
                         const std::string& description) {
  submitted_job job;
  pqxx::work tx{conn};
  job.id = tx.exec_params1("INSERT INTO steward.pg_dist_background_job (job_type, description) "
                           "VALUES ('test', $1) RETURNING job_id",
                           description)[0]
             .as<std::int64_t>();
  for (const auto& t : tasks) {
    std::string nodes = "NULL";
    if (t.nodes) {
      nodes = "'{";
      for (std::size_t i = 0; i < t.nodes->size(); ++i)
        nodes += (i ? "," : "") + std::to_string((*t.nodes)[i]);
      nodes += "}'";
    }
    std::string owner = t.owner.empty() ? "CURRENT_USER::regrole" : tx.quote(t.owner) + "::regrole";
    // As Citus's ScheduleBackgroundTask: a task with dependencies starts blocked.
    std::string status = t.depends_on.empty() ? "runnable" : "blocked";
    auto id = tx.exec_params1("INSERT INTO steward.pg_dist_background_task "
                              "(job_id, command, owner, nodes_involved, status) VALUES ($1, $2, " +
                                owner + ", " + nodes + "::int[], $3) RETURNING task_id",
                              job.id, t.command, status)[0]
                .as<std::int64_t>();
    job.tasks.push_back(id);
  }
  for (std::size_t i = 0; i < tasks.size(); ++i)
    for (auto d : tasks[i].depends_on) {
      if (d >= i)
        throw std::logic_error("submit_job: a task may only depend on earlier tasks");
      tx.exec_params("INSERT INTO steward.pg_dist_background_task_depend (job_id, task_id, "
                     "depends_on) VALUES ($1, $2, $3)",
                     job.id, job.tasks[i], job.tasks[d]);
    }
  tx.commit();
  return job;
}

std::string task_status(pqxx::connection& conn, std::int64_t task_id) {
  pqxx::nontransaction n{conn};
  auto r = n.exec_params("SELECT status::text FROM steward.pg_dist_background_task WHERE task_id = $1",
                         task_id);
  return r.empty() ? "<gone>" : r[0][0].as<std::string>();
}

std::string job_state(pqxx::connection& conn, std::int64_t job_id) {
  pqxx::nontransaction n{conn};
  auto r = n.exec_params("SELECT state::text FROM steward.pg_dist_background_job WHERE job_id = $1",
                         job_id);
  return r.empty() ? "<gone>" : r[0][0].as<std::string>();
}

void execute(pqxx::connection& conn, const std::string& statement) {
  pqxx::nontransaction n{conn};
  n.exec(statement);
}

int executor_backends(pqxx::connection& conn) {
  return query_value<int>(conn, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                "current_database() AND application_name LIKE 'steward executor%'");
}

void wait_job(pqxx::connection& conn, std::int64_t job_id, const std::string& desired,
              int timeout_s) {
  pqxx::nontransaction n{conn};
  n.exec("SET statement_timeout = '" + std::to_string(timeout_s) + "s'");
  if (desired.empty())
    n.exec_params("SELECT steward.citus_job_wait($1)", job_id);
  else
    n.exec_params("SELECT steward.citus_job_wait($1, $2::steward.citus_job_status)", job_id,
                  desired);
  n.exec("RESET statement_timeout");
}

gate::gate(const std::string& dsn, std::string name) : conn_{dsn} {
  execute(conn_, "CREATE TABLE IF NOT EXISTS " + name + " (x int)");
  execute(conn_, "GRANT SELECT ON " + name + " TO PUBLIC");
  tx_ = std::make_unique<pqxx::work>(conn_);
  tx_->exec("LOCK TABLE " + name + " IN ACCESS EXCLUSIVE MODE");
}

gate::~gate() {
  try {
    open();
  } catch (...) {
  }
}

void gate::open() {
  if (tx_) {
    tx_->commit();
    tx_.reset();
  }
}

int gate::waiting(pqxx::connection& conn) {
  return query_value<int>(conn, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                "current_database() AND application_name LIKE "
                                "'steward executor%' AND wait_event_type = 'Lock'");
}

}  // namespace steward::test
