#include "sql/pg_job_store.hpp"

#include "model/job_derivation.hpp"
#include "sql/connect.hpp"
#include "sql/error.hpp"
#include "sql/locks.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>

namespace steward::sql {

namespace {

using model::job_id;
using model::task_id;
using model::task_record;

struct statement {
  const char* name;
  const char* text;
};

// The columns of a task_record, read from `steward.pg_dist_background_task t`.
// Times travel as epoch milliseconds, the owner as its role name, integer arrays as
// comma-separated text.
#define STEWARD_TASK_COLUMNS                                                              \
  "t.job_id, t.task_id, "                                                                 \
  "coalesce((SELECT r.rolname::text FROM pg_catalog.pg_roles r WHERE r.oid = t.owner), "  \
  "         t.owner::oid::text) AS owner, "                                               \
  "t.pid, t.status::text AS status, t.command, t.retry_count, "                           \
  "floor(extract(epoch FROM t.not_before) * 1000)::bigint AS not_before_ms, "             \
  "t.message, array_to_string(t.nodes_involved, ',') AS nodes_involved, "                 \
  "(SELECT array_to_string(array_agg(d.depends_on ORDER BY d.depends_on), ',') "          \
  "   FROM steward.pg_dist_background_task_depend d "                                     \
  "  WHERE d.job_id = t.job_id AND d.task_id = t.task_id) AS depends_on "

#define STEWARD_TASK_FROM " FROM steward.pg_dist_background_task t "

constexpr statement select_runnable{
  "steward_store_runnable",
  "SELECT " STEWARD_TASK_COLUMNS ", "
  "       NOT EXISTS (SELECT 1"
  "                     FROM steward.pg_dist_background_task_depend d"
  "                     JOIN steward.pg_dist_background_task dt"
  "                       ON dt.job_id = d.job_id AND dt.task_id = d.depends_on"
  "                    WHERE d.job_id = t.job_id AND d.task_id = t.task_id"
  "                      AND dt.status <> 'done') AS dependencies_done"
  STEWARD_TASK_FROM
  " WHERE t.status = 'runnable' ORDER BY t.task_id"};

constexpr statement select_task{
  "steward_store_task",
  "SELECT " STEWARD_TASK_COLUMNS STEWARD_TASK_FROM " WHERE t.task_id = $1"};

constexpr statement select_tasks_by_id{
  "steward_store_tasks_by_id",
  "SELECT " STEWARD_TASK_COLUMNS STEWARD_TASK_FROM
  " WHERE t.task_id = ANY ($1::bigint[]) ORDER BY t.task_id"};

constexpr statement select_job_tasks{
  "steward_store_job_tasks",
  "SELECT " STEWARD_TASK_COLUMNS STEWARD_TASK_FROM " WHERE t.job_id = $1 ORDER BY t.task_id"};

constexpr statement select_job{
  "steward_store_job",
  "SELECT j.job_id, j.state::text AS state, j.job_type::text AS job_type, j.description,"
  "       floor(extract(epoch FROM j.started_at) * 1000)::bigint AS started_at_ms,"
  "       floor(extract(epoch FROM j.finished_at) * 1000)::bigint AS finished_at_ms"
  "  FROM steward.pg_dist_background_job j WHERE j.job_id = $1"};

// One row per task state present in the job, with its count (the job's state is derived
// from these on every recorded attempt, so they are counted by the server).
constexpr statement select_job_task_state_counts{
  "steward_store_job_task_state_counts",
  "SELECT t.status::text AS status, count(*) AS n FROM steward.pg_dist_background_task t"
  " WHERE t.job_id = $1 GROUP BY t.status"};

constexpr statement select_active_jobs{
  "steward_store_active_jobs",
  "SELECT j.job_id FROM steward.pg_dist_background_job j"
  " WHERE j.state NOT IN ('finished', 'cancelled', 'failed')"
  "   AND EXISTS (SELECT 1 FROM steward.pg_dist_background_task t"
  "                WHERE t.job_id = j.job_id"
  "                  AND t.status NOT IN ('done', 'error', 'unscheduled', 'cancelled'))"
  " ORDER BY j.job_id"};

// Guarded test-and-set of one task row ($2 = expected status). Empty optionals keep
// the column; the clear flags ($5, $8) write NULL and win over a value.
constexpr statement update_task{
  "steward_store_update_task",
  "UPDATE steward.pg_dist_background_task SET"
  "       status = $3::steward.citus_task_status,"
  "       pid = CASE WHEN $5::boolean THEN NULL ELSE coalesce($4::integer, pid) END,"
  "       retry_count = coalesce($6::integer, retry_count),"
  "       not_before = CASE WHEN $8::boolean THEN NULL"
  "                         WHEN $7::bigint IS NULL THEN not_before"
  "                         ELSE to_timestamp($7::bigint / 1000.0) END,"
  "       message = coalesce($9::text, message)"
  " WHERE task_id = $1::bigint AND status = $2::steward.citus_task_status"};

// started_at / finished_at are set once, while NULL, from the database clock.
constexpr statement update_job{
  "steward_store_update_job",
  "UPDATE steward.pg_dist_background_job SET"
  "       state = $2::steward.citus_job_status,"
  "       started_at = CASE WHEN $3::boolean AND started_at IS NULL THEN now()"
  "                         ELSE started_at END,"
  "       finished_at = CASE WHEN $4::boolean AND finished_at IS NULL THEN now()"
  "                          ELSE finished_at END"
  " WHERE job_id = $1::bigint"};

// Serialises job-state updates of one job (after its task rows are written).
constexpr statement lock_job{
  "steward_store_lock_job",
  "SELECT 1 FROM steward.pg_dist_background_job WHERE job_id = $1::bigint FOR UPDATE"};

constexpr const char* lock_task_table =
  "LOCK TABLE steward.pg_dist_background_task IN EXCLUSIVE MODE";

constexpr statement select_orphans{
  "steward_store_orphans",
  "SELECT t.task_id, t.job_id, t.pid, t.status::text AS status"
  "  FROM steward.pg_dist_background_task t"
  " WHERE t.status IN ('running', 'cancelling') ORDER BY t.task_id"};

constexpr statement try_task_lock{
  "steward_store_try_task_lock", "SELECT pg_try_advisory_xact_lock($1::integer, $2::integer)"};

constexpr statement wait_task_lock{
  "steward_store_wait_task_lock", "SELECT pg_advisory_xact_lock($1::integer, $2::integer)"};

constexpr statement terminate_backend{
  "steward_store_terminate", "SELECT pg_terminate_backend($1::integer)"};

// Orphans: running -> runnable (no retry counted), cancelling -> cancelled.
constexpr statement reset_orphans{
  "steward_store_reset_orphans",
  "UPDATE steward.pg_dist_background_task SET"
  "       status = CASE status WHEN 'running' THEN 'runnable'::steward.citus_task_status"
  "                            ELSE 'cancelled'::steward.citus_task_status END,"
  "       pid = NULL"
  " WHERE status IN ('running', 'cancelling')"
  " RETURNING task_id"};

// Only the given backend, and only while it holds the task lock (classid/objid are the
// two int4 keys as unsigned oids; objsubid 2 marks the two-key form).
constexpr statement terminate_lock_holder{
  "steward_store_terminate_lock_holder",
  "SELECT pg_terminate_backend(l.pid) FROM pg_locks l"
  " WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted"
  "   AND l.classid::bigint = ($1::integer::bigint & 4294967295)"
  "   AND l.objid::bigint = ($2::integer::bigint & 4294967295)"
  "   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
  "   AND l.pid = $3::integer"};

constexpr const char* bounded_lock_wait = "SET LOCAL lock_timeout = '10s'";

constexpr statement cancel_job_call{
  "steward_store_cancel_job", "SELECT steward.citus_job_cancel($1::bigint)"};

#undef STEWARD_TASK_COLUMNS
#undef STEWARD_TASK_FROM

template <class T>
std::optional<T> opt(const pqxx::field& f) {
  if (f.is_null())
    return std::nullopt;
  return f.as<T>();
}

template <class T>
std::vector<T> parse_list(const std::string& text) {
  std::vector<T> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find(',', start);
    if (end == std::string::npos)
      end = text.size();
    out.push_back(static_cast<T>(std::stoll(text.substr(start, end - start))));
    start = end + 1;
  }
  return out;
}

model::task_state task_state_of(const pqxx::field& f) {
  auto label = f.as<std::string>();
  auto s = model::parse_task_state(label);
  if (!s)
    throw error(errc::sql_failed, "unknown task status '" + label + "' in the catalog");
  return *s;
}

model::job_state job_state_of(const pqxx::field& f) {
  auto label = f.as<std::string>();
  auto s = model::parse_job_state(label);
  if (!s)
    throw error(errc::sql_failed, "unknown job state '" + label + "' in the catalog");
  return *s;
}

task_record task_from(const pqxx::row& r) {
  task_record t;
  t.job = r["job_id"].as<job_id>();
  t.id = r["task_id"].as<task_id>();
  t.owner = r["owner"].as<std::string>();
  t.pid = opt<std::int32_t>(r["pid"]);
  t.status = task_state_of(r["status"]);
  t.command = r["command"].as<std::string>();
  t.retry_count = opt<std::int32_t>(r["retry_count"]);
  t.not_before = opt<model::epoch_ms>(r["not_before_ms"]);
  t.message = r["message"].as<std::string>();
  if (!r["nodes_involved"].is_null())
    t.nodes_involved = parse_list<model::node_id>(r["nodes_involved"].as<std::string>());
  if (!r["depends_on"].is_null())
    t.depends_on = parse_list<task_id>(r["depends_on"].as<std::string>());
  return t;
}

std::string bigint_array(const std::vector<std::int64_t>& ids) {
  std::string out = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0)
      out += ',';
    out += std::to_string(ids[i]);
  }
  return out + "}";
}

std::string label(model::task_state s) { return std::string(model::to_string(s)); }
std::string label(model::job_state s) { return std::string(model::to_string(s)); }

}  // namespace

struct pg_job_store::impl {
  std::unique_ptr<pqxx::connection> conn;
  std::set<std::string> prepared;

  // Registers the statement with the connection the first time it is used; libpqxx
  // prepares it on the server on first execution (and again after a reconnect).
  template <class... Args>
  pqxx::result exec(pqxx::transaction_base& tx, const statement& s, Args&&... args) {
    if (prepared.insert(s.name).second)
      conn->prepare(s.name, s.text);
    return tx.exec_prepared(s.name, std::forward<Args>(args)...);
  }

  // Writes the job's state derived from its task rows (citus-reference §2.2), setting
  // started_at/finished_at the first time; no write when nothing changes. False if the
  // job is gone.
  bool recompute_job(pqxx::transaction_base& tx, job_id job) {
    auto jr = exec(tx, select_job, job);
    if (jr.empty())
      return false;
    model::state_counts counts{};
    for (const auto& row : exec(tx, select_job_task_state_counts, job))
      counts[static_cast<std::size_t>(task_state_of(row["status"]))] = row["n"].as<std::size_t>();
    auto derived = model::derive_job_state(counts);
    auto ts = model::timestamps_for(derived, !jr[0]["started_at_ms"].is_null(),
                                    !jr[0]["finished_at_ms"].is_null());
    if (derived == job_state_of(jr[0]["state"]) && !ts.set_started_at && !ts.set_finished_at)
      return true;
    exec(tx, update_job, job, label(derived), ts.set_started_at, ts.set_finished_at);
    return true;
  }
};

pg_job_store::pg_job_store(std::string dsn) : impl_(std::make_unique<impl>()) {
  impl_->conn = open_connection(dsn);
}

pg_job_store::~pg_job_store() = default;

int pg_job_store::backend_pid() const { return impl_->conn->backendpid(); }

std::vector<task_record> pg_job_store::reset_orphaned_tasks() {
  return translate_errors([&] {
    auto& s = *impl_;
    pqxx::work tx{*s.conn};
    tx.exec(lock_task_table);

    // An old executor still holding a task's lock is terminated, then waited for.
    std::vector<std::pair<std::int32_t, std::int32_t>> wait_for;
    std::set<job_id> jobs;
    for (const auto& row : s.exec(tx, select_orphans)) {
      jobs.insert(row["job_id"].as<job_id>());
      auto pid = opt<std::int32_t>(row["pid"]);
      if (!pid)
        continue;
      auto [k1, k2] = task_lock_keys(row["task_id"].as<task_id>());
      if (s.exec(tx, try_task_lock, k1, k2)[0][0].as<bool>())
        continue;
      s.exec(tx, terminate_backend, *pid);
      wait_for.emplace_back(k1, k2);
    }
    for (auto [k1, k2] : wait_for)
      s.exec(tx, wait_task_lock, k1, k2);

    std::vector<task_id> changed;
    for (const auto& row : s.exec(tx, reset_orphans))
      changed.push_back(row["task_id"].as<task_id>());
    for (auto job : jobs)
      s.recompute_job(tx, job);

    std::vector<task_record> out;
    if (!changed.empty())
      for (const auto& row : s.exec(tx, select_tasks_by_id, bigint_array(changed)))
        out.push_back(task_from(row));
    tx.commit();
    return out;
  });
}

std::vector<model::job_store::candidate> pg_job_store::runnable_tasks() {
  return translate_errors([&] {
    pqxx::read_transaction tx{*impl_->conn};
    std::vector<candidate> out;
    for (const auto& row : impl_->exec(tx, select_runnable))
      out.push_back(candidate{task_from(row), row["dependencies_done"].as<bool>()});
    tx.commit();
    return out;
  });
}

std::optional<model::job_store::job_snapshot> pg_job_store::load_job(job_id job) {
  return translate_errors([&]() -> std::optional<job_snapshot> {
    // One snapshot for the job row and its tasks.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx{*impl_->conn};
    auto jr = impl_->exec(tx, select_job, job);
    if (jr.empty())
      return std::nullopt;
    job_snapshot snap;
    const auto& r = jr[0];
    snap.job.id = r["job_id"].as<job_id>();
    snap.job.state = job_state_of(r["state"]);
    snap.job.job_type = r["job_type"].as<std::string>();
    snap.job.description = r["description"].as<std::string>();
    snap.job.started_at = opt<model::epoch_ms>(r["started_at_ms"]);
    snap.job.finished_at = opt<model::epoch_ms>(r["finished_at_ms"]);
    for (const auto& row : impl_->exec(tx, select_job_tasks, job))
      snap.tasks.push_back(task_from(row));
    tx.commit();
    return snap;
  });
}

std::optional<task_record> pg_job_store::load_task(task_id task) {
  return translate_errors([&]() -> std::optional<task_record> {
    pqxx::read_transaction tx{*impl_->conn};
    auto r = impl_->exec(tx, select_task, task);
    tx.commit();
    if (r.empty())
      return std::nullopt;
    return task_from(r[0]);
  });
}

std::vector<task_id> pg_job_store::apply(const std::vector<model::task_update>& tasks,
                                         const std::optional<model::job_update>& job) {
  return translate_errors([&] {
    pqxx::work tx{*impl_->conn};
    std::vector<task_id> skipped;
    for (const auto& u : tasks) {
      auto r = impl_->exec(tx, update_task, u.task, label(u.from), label(u.to), u.pid, u.clear_pid,
                           u.retry_count, u.not_before, u.clear_not_before, u.message);
      if (r.affected_rows() == 0)
        skipped.push_back(u.task);
    }
    if (job) {
      // The job row follows the task rows as they are now, in this transaction: a
      // concurrent citus_job_cancel may have changed tasks the caller has not seen.
      impl_->exec(tx, lock_job, job->job);
      if (!impl_->recompute_job(tx, job->job))
        throw error(errc::not_found, "job " + std::to_string(job->job) + " does not exist");
    }
    tx.commit();
    return skipped;
  });
}

std::vector<job_id> pg_job_store::active_jobs() {
  return translate_errors([&] {
    pqxx::read_transaction tx{*impl_->conn};
    std::vector<job_id> out;
    for (const auto& row : impl_->exec(tx, select_active_jobs))
      out.push_back(row[0].as<job_id>());
    tx.commit();
    return out;
  });
}

void pg_job_store::stop_backend(task_id task, std::int32_t pid) {
  translate_errors([&] {
    auto& s = *impl_;
    auto [k1, k2] = task_lock_keys(task);
    pqxx::work tx{*s.conn};
    if (s.exec(tx, terminate_lock_holder, k1, k2, pid).empty())
      return;  // gone already, or never had the lock
    tx.exec(bounded_lock_wait);
    s.exec(tx, wait_task_lock, k1, k2);
    tx.commit();
  });
}

void pg_job_store::cancel_job(job_id job) {
  translate_errors([&] {
    pqxx::work tx{*impl_->conn};
    impl_->exec(tx, cancel_job_call, job);
    tx.commit();
  });
}

}  // namespace steward::sql
