#pragma once

#include <pqxx/pqxx>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace steward::test {

/// One task of a job to submit.
struct task_spec {
  task_spec(std::string command, std::vector<std::size_t> depends_on = {},
            std::optional<std::vector<int>> nodes = std::nullopt, std::string owner = {})
    : command(std::move(command)), depends_on(std::move(depends_on)), nodes(std::move(nodes)),
      owner(std::move(owner)) {}

  std::string command;
  std::vector<std::size_t> depends_on;         ///< indices of earlier tasks of the same job
  std::optional<std::vector<int>> nodes;       ///< nodes_involved (NULL when empty optional)
  std::string owner;                           ///< role name; empty = the connection's user
};

struct submitted_job {
  std::int64_t id = 0;
  std::vector<std::int64_t> tasks;  ///< task ids, in the order of the specs
};

/// Inserts a job and its tasks (ascending task ids in spec order) and their dependencies
/// in one transaction, as a client of the catalog would.
submitted_job submit_job(pqxx::connection& conn, const std::vector<task_spec>& tasks,
                         const std::string& description = "test job");

std::string task_status(pqxx::connection& conn, std::int64_t task_id);
std::string job_state(pqxx::connection& conn, std::int64_t job_id);

/// A single-value query (nontransaction).
template <class T>
T query_value(pqxx::connection& conn, const std::string& query) {
  pqxx::nontransaction n{conn};
  return n.exec1(query)[0].as<T>();
}

void execute(pqxx::connection& conn, const std::string& statement);

/// Number of executor backends (application_name steward executor ...) connected to the
/// connection's database.
int executor_backends(pqxx::connection& conn);

/// citus_job_wait(job_id[, desired]) under a statement timeout, so that a job that never
/// gets there fails the test instead of hanging it. Throws pqxx::sql_error on timeout.
void wait_job(pqxx::connection& conn, std::int64_t job_id, const std::string& desired = "",
              int timeout_s = 60);

/// Holds ACCESS EXCLUSIVE on a table `name` (created if missing) in an open transaction
/// of its own connection: a task reading the table waits until `open()`. Lets tests keep
/// tasks running for exactly as long as they need, with no sleeps.
class gate {
public:
  gate(const std::string& dsn, std::string name = "gate");
  ~gate();
  void open();
  /// The executor backends now waiting on a lock (on this gate or otherwise).
  static int waiting(pqxx::connection& conn);
private:
  pqxx::connection conn_;
  std::unique_ptr<pqxx::work> tx_;
};

}  // namespace steward::test
