// steward run end to end: a real daemon, real executors and the real server, one
// throwaway database per test (the leader lock is per database, so tests run in parallel).
#include "tests/support/daemon.hpp"
#include "tests/support/jobs.hpp"
#include "tests/support/test_database.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <signal.h>
#include <sys/wait.h>

#include <string>

using namespace steward::test;

namespace {

/// A task that records when it ran (after waiting on `gate_table`) in table runs.
std::string recorded(const std::string& name, const std::string& gate_table = "gate") {
  return "SELECT set_config('steward_test.started', clock_timestamp()::text, true); "
         "SELECT count(*) FROM " + gate_table + "; "
         "INSERT INTO runs VALUES ('" + name + "', "
         "current_setting('steward_test.started')::timestamptz, clock_timestamp())";
}

void create_runs_table(pqxx::connection& c) {
  execute(c, "CREATE TABLE runs (task text PRIMARY KEY, started timestamptz, ended timestamptz)");
}

/// Most runs in table runs that overlapped at one moment, among those `filter` selects.
/// `filter` is a condition on a row `r` (e.g. "1 = ANY(r.nodes)").
int max_concurrency(pqxx::connection& c, const std::string& filter = "true") {
  return query_value<int>(c, "WITH f AS (SELECT * FROM runs r WHERE " + filter + ") "
                             "SELECT coalesce(max(n), 0) FROM (SELECT (SELECT count(*) FROM f r2 "
                             "WHERE r2.started <= r1.started AND r2.ended > r1.started) n "
                             "FROM f r1) s");
}

}  // namespace

TEST_CASE("the daemon runs a single INSERT task", "[daemon]") {
  test_database db{"daemon_single"};
  pqxx::connection c{db.dsn()};
  execute(c, "CREATE TABLE t (v int)");
  daemon_process d{db.dsn()};
  auto job = submit_job(c, {{"INSERT INTO t VALUES (42)"}});
  wait_job(c, job.id);
  CHECK(query_value<int>(c, "SELECT v FROM t") == 42);
  CHECK(task_status(c, job.tasks[0]) == "done");
  CHECK(job_state(c, job.id) == "finished");
  CHECK(query_value<std::string>(c, "SELECT message FROM steward.pg_dist_background_task") ==
        "INSERT 0 1\n");
  CHECK(query_value<bool>(c, "SELECT started_at IS NOT NULL AND finished_at >= started_at "
                             "FROM steward.pg_dist_background_job"));
  CHECK(d.log().find("task " + std::to_string(job.id) + "/" + std::to_string(job.tasks[0]) +
                     " succeeded") != std::string::npos);
}

TEST_CASE("a chain of three tasks runs in dependency order", "[daemon]") {
  test_database db{"daemon_chain"};
  pqxx::connection c{db.dsn()};
  execute(c, "CREATE TABLE t (v int)");
  daemon_process d{db.dsn()};
  auto job = submit_job(c, {{"INSERT INTO t VALUES (5)"},
                            {"UPDATE t SET v = v * 7", {0}},
                            {"UPDATE t SET v = v + 13", {1}}});
  wait_job(c, job.id);
  CHECK(query_value<int>(c, "SELECT v FROM t") == 48);
  CHECK(job_state(c, job.id) == "finished");
}

TEST_CASE("a failing task is retried later and its message is saved", "[daemon]") {
  test_database db{"daemon_retry"};
  pqxx::connection c{db.dsn()};
  daemon_process d{db.dsn(), "retry_delays_s = [60]"};
  auto job = submit_job(c, {{"SELECT 1/0"}});
  auto tid = std::to_string(job.tasks[0]);
  REQUIRE(wait_until([&] {
    return query_value<bool>(c, "SELECT retry_count IS NOT DISTINCT FROM 1 FROM "
                                "steward.pg_dist_background_task WHERE task_id = " + tid);
  }));
  CHECK(task_status(c, job.tasks[0]) == "runnable");
  CHECK(query_value<bool>(c, "SELECT not_before > now() + interval '50 seconds' AND pid IS NULL "
                             "FROM steward.pg_dist_background_task WHERE task_id = " + tid));
  CHECK_THAT(query_value<std::string>(c, "SELECT message FROM steward.pg_dist_background_task"),
             Catch::StartsWith("ERROR: division by zero\nCONTEXT: "));
  // The job is still running: it will be retried at not_before.
  CHECK(job_state(c, job.id) == "running");
  CHECK(d.log().find("task " + std::to_string(job.id) + "/" + tid + " failed (retry 1") !=
        std::string::npos);
}

TEST_CASE("a task that keeps failing ends in error after max_retries and fails its job",
          "[daemon]") {
  test_database db{"daemon_error"};
  pqxx::connection c{db.dsn()};
  daemon_process d{db.dsn(), "retry_delays_s = [0]\nmax_retries = 2"};
  auto job = submit_job(c, {{"SELECT 1/0"}, {"SELECT 1", {0}}});
  wait_job(c, job.id);
  CHECK(job_state(c, job.id) == "failed");
  CHECK(task_status(c, job.tasks[0]) == "error");
  CHECK(task_status(c, job.tasks[1]) == "unscheduled");
  CHECK(query_value<int>(c, "SELECT retry_count FROM steward.pg_dist_background_task WHERE "
                            "task_id = " + std::to_string(job.tasks[0])) == 3);
  CHECK_THAT(query_value<std::string>(c, "SELECT message FROM steward.pg_dist_background_task "
                                         "WHERE task_id = " + std::to_string(job.tasks[0])),
             Catch::Contains("division by zero"));
}

TEST_CASE("max_executors bounds the tasks running at once", "[daemon]") {
  test_database db{"daemon_limit"};
  pqxx::connection c{db.dsn()};
  create_runs_table(c);
  gate g{db.dsn()};
  daemon_process d{db.dsn(), "max_executors = 4"};
  std::vector<task_spec> tasks;
  for (int i = 1; i <= 5; ++i)
    tasks.push_back({recorded("t" + std::to_string(i))});
  auto job = submit_job(c, tasks);
  REQUIRE(wait_until([&] { return gate::waiting(c) == 4; }));
  // The four lowest task ids run; the fifth waits for a slot, even when woken up.
  for (int i = 0; i < 4; ++i)
    CHECK(task_status(c, job.tasks[i]) == "running");
  execute(c, "NOTIFY steward_wakeup");
  CHECK_FALSE(wait_until([&] { return executor_backends(c) > 4; }, 300ms));
  CHECK(task_status(c, job.tasks[4]) == "runnable");
  g.open();
  wait_job(c, job.id);
  CHECK(query_value<int>(c, "SELECT count(*) FROM runs") == 5);
  CHECK(max_concurrency(c) == 4);
}

TEST_CASE("max_executors_per_node bounds the tasks running on a node", "[daemon]") {
  test_database db{"daemon_nodes"};
  pqxx::connection c{db.dsn()};
  create_runs_table(c);
  execute(c, "ALTER TABLE runs ADD COLUMN nodes int[]");
  gate g{db.dsn()};
  daemon_process d{db.dsn(), "max_executors = 4\nmax_executors_per_node = 1"};
  auto with_nodes = [](const std::string& name, const std::string& nodes) {
    return recorded(name) + "; UPDATE runs SET nodes = '" + nodes + "' WHERE task = '" + name + "'";
  };
  auto job = submit_job(c, {{with_nodes("a", "{1,2}"), {}, std::vector<int>{1, 2}},
                            {with_nodes("b", "{1}"), {}, std::vector<int>{1}},
                            {with_nodes("c", "{2}"), {}, std::vector<int>{2}},
                            {with_nodes("d", "{3}"), {}, std::vector<int>{3}},
                            {with_nodes("e", "{}")}});
  // a (nodes 1 and 2), d (node 3) and e (no nodes) run; b and c wait for a.
  REQUIRE(wait_until([&] { return gate::waiting(c) == 3; }));
  CHECK(task_status(c, job.tasks[0]) == "running");
  CHECK(task_status(c, job.tasks[1]) == "runnable");
  CHECK(task_status(c, job.tasks[2]) == "runnable");
  CHECK(task_status(c, job.tasks[3]) == "running");
  CHECK(task_status(c, job.tasks[4]) == "running");
  g.open();
  wait_job(c, job.id);
  CHECK(query_value<int>(c, "SELECT count(*) FROM runs") == 5);
  CHECK(max_concurrency(c, "1 = ANY(r.nodes)") == 1);
  CHECK(max_concurrency(c, "2 = ANY(r.nodes)") == 1);
}

TEST_CASE("a short job finishes while a long task of another job runs", "[daemon]") {
  test_database db{"daemon_two_jobs"};
  pqxx::connection c{db.dsn()};
  create_runs_table(c);
  gate g{db.dsn()};
  daemon_process d{db.dsn()};
  auto long_job = submit_job(c, {{recorded("long")}});
  REQUIRE(wait_until([&] { return gate::waiting(c) == 1; }));
  auto short_job = submit_job(c, {{"INSERT INTO runs VALUES ('short', now(), now())"}});
  wait_job(c, short_job.id);
  CHECK(job_state(c, short_job.id) == "finished");
  CHECK(task_status(c, long_job.tasks[0]) == "running");
  g.open();
  wait_job(c, long_job.id);
  CHECK(query_value<int>(c, "SELECT count(*) FROM runs") == 2);
}

TEST_CASE("a second daemon waits as standby and takes over when the first is killed",
          "[daemon]") {
  test_database db{"daemon_standby"};
  pqxx::connection c{db.dsn()};
  execute(c, "CREATE TABLE t (v int)");
  daemon_process first{db.dsn()};
  REQUIRE(first.wait_until_leader());
  daemon_process second{db.dsn()};
  REQUIRE(second.wait_for_log("waiting as standby"));
  CHECK(second.log().find("this coordinator is active") == std::string::npos);

  first.signal(SIGKILL);
  first.wait_exit();
  REQUIRE(second.wait_until_leader(10s));
  auto job = submit_job(c, {{"INSERT INTO t VALUES (1)"}});
  wait_job(c, job.id);
  CHECK(query_value<int>(c, "SELECT count(*) FROM t") == 1);
}

TEST_CASE("after a SIGKILL of the daemon mid-job a restarted daemon finishes the job and no "
          "task runs twice at once",
          "[daemon]") {
  test_database db{"daemon_restart"};
  pqxx::connection c{db.dsn()};
  create_runs_table(c);
  // Bumped (outside any transaction's reach: sequences do not roll back) by a task that
  // finds another execution of itself holding its lock.
  execute(c, "CREATE SEQUENCE overlap_seen");
  gate g{db.dsn()};
  daemon_process d{db.dsn(), "max_executors = 2"};
  std::vector<task_spec> tasks;
  for (int i = 1; i <= 4; ++i) {
    auto name = "t" + std::to_string(i);
    tasks.push_back({"SELECT CASE WHEN pg_try_advisory_xact_lock(4242, " + std::to_string(i) +
                     ") THEN 0 ELSE nextval('overlap_seen') END; " + recorded(name)});
  }
  auto job = submit_job(c, tasks);
  REQUIRE(wait_until([&] { return gate::waiting(c) == 2; }));

  d.signal(SIGKILL);
  d.wait_exit();
  // The executors die with the daemon, but their backends still wait on the gate, holding
  // the task locks: the next leader must terminate them before running the tasks again.
  CHECK(gate::waiting(c) == 2);
  d.start();
  REQUIRE(d.wait_for_log("was left unfinished by a previous coordinator", 30s, 2));
  REQUIRE(wait_until([&] { return gate::waiting(c) == 2; }));
  g.open();
  wait_job(c, job.id);
  CHECK(job_state(c, job.id) == "finished");
  CHECK(query_value<int>(c, "SELECT count(*) FROM runs") == 4);
  CHECK_FALSE(query_value<bool>(c, "SELECT is_called FROM overlap_seen"));
  // The reset counted no retry.
  CHECK(query_value<int>(c, "SELECT count(*) FROM steward.pg_dist_background_task WHERE "
                            "retry_count IS NOT NULL") == 0);
}
