// Cancellation, signals and configuration reload of a real steward run (issue: "Cancellation,
// signals, configuration reload, and surviving faults"). Each test has its own database
// and daemon; tasks are held on a gate table so that they run exactly as long as needed.
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

/// Waits on the gate, then records that it ran.
std::string gated(const std::string& name) {
  return "SELECT count(*) FROM gate; INSERT INTO runs VALUES ('" + name + "')";
}

/// No poll timer to speak of: whatever the daemon does promptly, a notification caused.
const std::string notifications_only = "poll_interval_ms = 600000\n";

std::string message_of(pqxx::connection& c, std::int64_t task) {
  return query_value<std::string>(c, "SELECT message FROM steward.pg_dist_background_task "
                                     "WHERE task_id = " + std::to_string(task));
}

bool exited_zero(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

struct fixture {
  explicit fixture(const std::string& name) : db{name}, c{db.dsn()} {
    execute(c, "CREATE TABLE runs (task text)");
  }
  test_database db;
  pqxx::connection c;
  int runs() { return query_value<int>(c, "SELECT count(*) FROM runs"); }
};

}  // namespace

TEST_CASE("citus_job_cancel cancels the running tasks and the rest of the job at once",
          "[daemon][cancel]") {
  fixture f{"cancel_running"};
  gate g{f.db.dsn()};
  daemon_process d{f.db.dsn(), notifications_only + "max_executors = 2"};
  auto job = submit_job(f.c, {{gated("a")}, {gated("b")}, {gated("c")}, {gated("d"), {0}}});
  REQUIRE(wait_until([&] {
    return gate::waiting(f.c) == 2 &&
           query_value<int>(f.c, "SELECT count(*) FROM steward.pg_dist_background_task "
                                 "WHERE pid IS NOT NULL") == 2;
  }));
  // Both running tasks have a pid: they go cancelling, their statements are cancelled.
  execute(f.c, "SELECT citus_job_cancel(" + std::to_string(job.id) + ")");
  wait_job(f.c, job.id, "", 20);
  CHECK(job_state(f.c, job.id) == "cancelled");
  for (auto t : job.tasks)
    CHECK(task_status(f.c, t) == "cancelled");
  // The executors' statements were cancelled: the gate is still closed.
  REQUIRE(wait_until([&] { return executor_backends(f.c) == 0; }, 20s));
  CHECK_THAT(message_of(f.c, job.tasks[0]),
             Catch::Contains("canceling statement due to user request"));
  CHECK_THAT(message_of(f.c, job.tasks[1]),
             Catch::Contains("canceling statement due to user request"));
  CHECK(message_of(f.c, job.tasks[2]).empty());  // never ran
  CHECK(d.log().find("task " + std::to_string(job.id) + "/" + std::to_string(job.tasks[2]) +
                     " started") == std::string::npos);
  g.open();
  CHECK(f.runs() == 0);
}

TEST_CASE("a task left cancelling by a dead daemon ends cancelled under the next one",
          "[daemon][cancel]") {
  fixture f{"cancel_orphan"};
  gate g{f.db.dsn()};
  daemon_process d{f.db.dsn()};
  auto job = submit_job(f.c, {{gated("a")}});
  REQUIRE(wait_until([&] { return gate::waiting(f.c) == 1; }));
  REQUIRE(wait_until([&] {
    return query_value<bool>(f.c, "SELECT pid IS NOT NULL FROM steward.pg_dist_background_task");
  }));
  d.signal(SIGKILL);
  d.wait_exit();
  execute(f.c, "SELECT citus_job_cancel(" + std::to_string(job.id) + ")");
  CHECK(task_status(f.c, job.tasks[0]) == "cancelling");
  d.start();
  wait_job(f.c, job.id, "", 20);
  CHECK(task_status(f.c, job.tasks[0]) == "cancelled");
  CHECK(job_state(f.c, job.id) == "cancelled");
  g.open();
  CHECK(f.runs() == 0);
}

TEST_CASE("SIGTERM puts running tasks back to runnable without a retry and exits 0",
          "[daemon][signals]") {
  fixture f{"sigterm"};
  gate g{f.db.dsn()};
  daemon_process d{f.db.dsn(), "terminate_grace_ms = 20000"};
  auto job = submit_job(f.c, {{gated("a")}, {gated("b"), {0}}});
  REQUIRE(wait_until([&] { return gate::waiting(f.c) == 1; }));
  d.signal(SIGTERM);
  CHECK(exited_zero(d.wait_exit()));
  CHECK(task_status(f.c, job.tasks[0]) == "runnable");
  CHECK(task_status(f.c, job.tasks[1]) == "blocked");
  CHECK(query_value<bool>(f.c, "SELECT retry_count IS NULL AND not_before IS NULL AND pid IS NULL "
                               "FROM steward.pg_dist_background_task WHERE task_id = " +
                                 std::to_string(job.tasks[0])));
  CHECK_THAT(message_of(f.c, job.tasks[0]), Catch::Contains("coordinator shut down"));
  CHECK(job_state(f.c, job.id) != "cancelled");
  CHECK(d.log().find("leader lock released") != std::string::npos);
  // Nothing is lost: the next daemon runs the job to the end.
  d.start();
  REQUIRE(wait_until([&] { return gate::waiting(f.c) == 1; }));
  g.open();
  wait_job(f.c, job.id);
  CHECK(job_state(f.c, job.id) == "finished");
  CHECK(f.runs() == 2);
}

TEST_CASE("SIGINT cancels the jobs with running tasks, leaves the others and exits 0",
          "[daemon][signals]") {
  fixture f{"sigint"};
  gate g{f.db.dsn()};
  daemon_process d{f.db.dsn(), "max_executors = 1"};
  auto running = submit_job(f.c, {{gated("a")}, {gated("a2"), {0}}});
  REQUIRE(wait_until([&] { return gate::waiting(f.c) == 1; }));
  auto waiting = submit_job(f.c, {{gated("b")}});
  d.signal(SIGINT);
  CHECK(exited_zero(d.wait_exit()));
  CHECK(job_state(f.c, running.id) == "cancelled");
  CHECK(task_status(f.c, running.tasks[0]) == "cancelled");
  CHECK(task_status(f.c, running.tasks[1]) == "cancelled");
  CHECK_THAT(message_of(f.c, running.tasks[0]),
             Catch::Contains("canceling statement due to user request"));
  CHECK(job_state(f.c, waiting.id) == "scheduled");
  CHECK(task_status(f.c, waiting.tasks[0]) == "runnable");
  g.open();
  CHECK(f.runs() == 0);
}

TEST_CASE("a second SIGTERM kills executors that do not stop and exits", "[daemon][signals]") {
  fixture f{"sigterm_twice"};
  gate g{f.db.dsn()};
  daemon_process d{f.db.dsn(), "terminate_grace_ms = 600000"};
  auto job = submit_job(f.c, {{gated("a")}});
  REQUIRE(wait_until([&] { return gate::waiting(f.c) == 1; }));
  auto children = d.children();
  REQUIRE(children.size() == 1);
  // A stopped executor cannot act on SIGTERM: only SIGKILL ends it.
  ::kill(children[0], SIGSTOP);
  d.signal(SIGTERM);
  REQUIRE(d.wait_for_log("shutting down: terminating 1 running executor(s)"));
  CHECK(d.running());
  d.signal(SIGTERM);
  CHECK(exited_zero(d.wait_exit(20s)));
  CHECK_FALSE(process_alive(children[0]));
  CHECK(task_status(f.c, job.tasks[0]) == "runnable");
  CHECK(query_value<bool>(f.c, "SELECT retry_count IS NULL FROM steward.pg_dist_background_task"));
}

TEST_CASE("SIGHUP applies new limits at once, stops nothing when they drop, and keeps the old "
          "configuration when the file is bad",
          "[daemon][signals]") {
  fixture f{"sighup"};
  gate g{f.db.dsn()};
  daemon_process d{f.db.dsn(), notifications_only + "max_executors = 1"};
  std::vector<task_spec> tasks;
  for (int i = 0; i < 4; ++i)
    tasks.push_back({gated("t" + std::to_string(i))});
  auto job = submit_job(f.c, tasks);
  REQUIRE(wait_until([&] { return gate::waiting(f.c) == 1; }));
  auto config = "dsn = \"" + f.db.dsn() + "\"\n" + notifications_only;

  d.write_config(config + "max_executors = 3\n");
  d.signal(SIGHUP);
  REQUIRE(wait_until([&] { return gate::waiting(f.c) == 3; }));
  CHECK(d.log().find("configuration reloaded") != std::string::npos);

  d.write_config(config + "max_executors = 1\n");
  d.signal(SIGHUP);
  REQUIRE(d.wait_for_log("configuration reloaded", 30s, 2));
  CHECK(gate::waiting(f.c) == 3);  // lowering a limit stops nothing

  d.write_config(config + "max_executors = -3\n");
  d.signal(SIGHUP);
  REQUIRE(d.wait_for_log("keeping the previous configuration"));
  CHECK_THAT(d.log(), Catch::Contains("max_executors: must be an integer between 1 and 1000, got -3"));
  CHECK(d.running());

  g.open();
  wait_job(f.c, job.id);
  CHECK(f.runs() == 4);
  // The limit in force was 1 (the bad file changed nothing): the 4th task ran alone.
  CHECK(d.log().find("max_executors=1") != std::string::npos);
}
