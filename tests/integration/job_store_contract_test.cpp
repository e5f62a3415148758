// One contract for model::job_store, checked against the PostgreSQL store and the
// in-memory fake alike (broker meta_backend style): the fake is only trusted because
// it passes the same checks as the real thing. Checks that need a real server (locks,
// backends, connection loss) follow, for the PostgreSQL store only.

#include "model/config.hpp"
#include "sql/error.hpp"
#include "sql/locks.hpp"
#include "sql/pg_job_store.hpp"
#include "tests/support/env.hpp"
#include "tests/support/memory_job_store.hpp"
#include "tests/support/test_database.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <thread>

namespace {

using namespace steward;
using model::job_id;
using model::job_state;
using model::node_id;
using model::task_id;
using model::task_state;
using model::task_update;

// ----------------------------------------------------------------------------------
// Fixtures: the store under test plus a way to seed catalog rows and let time pass.

struct memory_fixture {
  static constexpr const char* name = "memory";
  test::memory_job_store mem{"postgres"};

  memory_fixture() { mem.set_now(1'700'000'000'000); }
  model::job_store& store() { return mem; }
  job_id add_job(const std::string& type = "test_job") { return mem.add_job(type, "a job"); }
  task_id add_task(job_id job, const std::string& command, std::vector<task_id> deps = {},
                   std::optional<std::vector<node_id>> nodes = std::nullopt,
                   std::optional<task_state> status = std::nullopt) {
    return mem.add_task(job, command, std::move(deps), std::move(nodes), status);
  }
  void let_time_pass() { mem.set_now(mem.now() + 1000); }
  void set_job_state(job_id job, job_state state) {
    auto j = mem.job(job);
    j.state = state;
    mem.put_job(j);
  }
};

// Seeds rows with plain SQL, as Citus's own regression tests do (citus-reference §1.6).
struct pg_fixture {
  static constexpr const char* name = "postgres";
  test::test_database db{"job_store"};
  sql::pg_job_store pg{db.dsn()};
  pqxx::connection seed{db.dsn()};

  model::job_store& store() { return pg; }

  job_id add_job(const std::string& type = "test_job") {
    pqxx::work w{seed};
    auto id = w.exec_params1("INSERT INTO steward.pg_dist_background_job (job_type, description) "
                             "VALUES ($1, 'a job') RETURNING job_id",
                             type)[0]
                .as<job_id>();
    w.commit();
    return id;
  }

  task_id add_task(job_id job, const std::string& command, std::vector<task_id> deps = {},
                   std::optional<std::vector<node_id>> nodes = std::nullopt,
                   std::optional<task_state> status = std::nullopt) {
    auto st = status.value_or(deps.empty() ? task_state::runnable : task_state::blocked);
    std::optional<std::string> nodes_text;
    if (nodes) {
      std::string s = "{";
      for (std::size_t i = 0; i < nodes->size(); ++i)
        s += (i ? "," : "") + std::to_string((*nodes)[i]);
      nodes_text = s + "}";
    }
    pqxx::work w{seed};
    auto id = w.exec_params1("INSERT INTO steward.pg_dist_background_task "
                             "(job_id, command, status, nodes_involved) "
                             "VALUES ($1, $2, $3::steward.citus_task_status, $4::int[]) "
                             "RETURNING task_id",
                             job, command, std::string(model::to_string(st)), nodes_text)[0]
                .as<task_id>();
    for (auto d : deps)
      w.exec_params0("INSERT INTO steward.pg_dist_background_task_depend "
                     "(job_id, task_id, depends_on) VALUES ($1, $2, $3)",
                     job, id, d);
    w.commit();
    return id;
  }

  void let_time_pass() { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }
  void set_job_state(job_id job, job_state state) {
    pqxx::work w{seed};
    w.exec_params0("UPDATE steward.pg_dist_background_job SET state = $2::steward.citus_job_status "
                   "WHERE job_id = $1",
                   job, std::string(model::to_string(state)));
    w.commit();
  }
};

template <class F>
model::task_record must_load(F& f, task_id id) {
  auto t = f.store().load_task(id);
  REQUIRE(t.has_value());
  return *t;
}

template <class F>
model::job_record must_load_job(F& f, job_id id) {
  auto s = f.store().load_job(id);
  REQUIRE(s.has_value());
  return s->job;
}

task_update move(task_id id, task_state from, task_state to) {
  task_update u;
  u.task = id;
  u.from = from;
  u.to = to;
  return u;
}

}  // namespace

// ----------------------------------------------------------------------------------
// The contract.

TEMPLATE_TEST_CASE("job store lists runnable tasks in task id order with their dependencies",
                   "[job_store][db]", memory_fixture, pg_fixture) {
  TestType f;
  auto j1 = f.add_job();
  auto j2 = f.add_job();
  auto a = f.add_task(j1, "SELECT 1");
  auto b = f.add_task(j2, "SELECT 2", {}, std::vector<node_id>{2, 1});
  auto c = f.add_task(j1, "SELECT 3", {a});                                 // blocked
  auto d = f.add_task(j1, "SELECT 4", {a}, std::nullopt, task_state::runnable);  // deps not done
  auto e = f.add_task(j2, "SELECT 5", {}, std::vector<node_id>{}, task_state::done);
  auto g = f.add_task(j2, "SELECT 6", {b, e}, std::nullopt, task_state::runnable);

  auto r = f.store().runnable_tasks();
  REQUIRE(r.size() == 4);
  CHECK(r[0].task.id == a);
  CHECK(r[1].task.id == b);
  CHECK(r[2].task.id == d);
  CHECK(r[3].task.id == g);
  (void)c;

  CHECK(r[0].dependencies_done);
  CHECK(r[0].task.depends_on.empty());
  CHECK(r[0].task.job == j1);
  CHECK(r[0].task.command == "SELECT 1");
  CHECK(r[0].task.owner == "postgres");
  CHECK_FALSE(r[0].task.pid.has_value());
  CHECK_FALSE(r[0].task.retry_count.has_value());
  CHECK_FALSE(r[0].task.not_before.has_value());
  CHECK(r[0].task.message.empty());
  CHECK_FALSE(r[0].task.nodes_involved.has_value());

  REQUIRE(r[1].task.nodes_involved.has_value());
  CHECK(*r[1].task.nodes_involved == std::vector<node_id>{2, 1});
  CHECK(r[1].dependencies_done);

  CHECK(r[2].task.depends_on == std::vector<task_id>{a});
  CHECK_FALSE(r[2].dependencies_done);

  CHECK(r[3].task.depends_on == std::vector<task_id>{b, e});
  CHECK_FALSE(r[3].dependencies_done);  // b is runnable, e done

  // Once b is done, every dependency of g is.
  REQUIRE(f.store().apply({move(b, task_state::runnable, task_state::done)}, std::nullopt).empty());
  r = f.store().runnable_tasks();
  REQUIRE(r.size() == 3);
  CHECK(r[2].task.id == g);
  CHECK(r[2].dependencies_done);

  auto empty_nodes = must_load(f, e).nodes_involved;
  REQUIRE(empty_nodes.has_value());
  CHECK(empty_nodes->empty());
}

TEMPLATE_TEST_CASE("job store loads jobs and tasks, and reports missing ones",
                   "[job_store][db]", memory_fixture, pg_fixture) {
  TestType f;
  auto j = f.add_job("rebalance");
  auto a = f.add_task(j, "SELECT 'a'");
  auto b = f.add_task(j, "SELECT 'b'", {a}, std::vector<node_id>{7});

  auto snap = f.store().load_job(j);
  REQUIRE(snap.has_value());
  CHECK(snap->job.id == j);
  CHECK(snap->job.state == job_state::scheduled);
  CHECK(snap->job.job_type == "rebalance");
  CHECK(snap->job.description == "a job");
  CHECK_FALSE(snap->job.started_at.has_value());
  CHECK_FALSE(snap->job.finished_at.has_value());
  REQUIRE(snap->tasks.size() == 2);
  CHECK(snap->tasks[0].id == a);
  CHECK(snap->tasks[1].id == b);
  CHECK(snap->tasks[1].status == task_state::blocked);
  CHECK(snap->tasks[1].depends_on == std::vector<task_id>{a});
  CHECK(snap->tasks[1].nodes_involved == std::optional<std::vector<node_id>>{std::vector<node_id>{7}});

  auto t = f.store().load_task(b);
  REQUIRE(t.has_value());
  CHECK(t->job == j);
  CHECK(t->command == "SELECT 'b'");

  CHECK_FALSE(f.store().load_job(j + 1000).has_value());
  CHECK_FALSE(f.store().load_task(b + 1000).has_value());
}

TEMPLATE_TEST_CASE("job store applies guarded updates and skips stale ones",
                   "[job_store][db]", memory_fixture, pg_fixture) {
  TestType f;
  auto j = f.add_job();
  auto a = f.add_task(j, "SELECT 1");
  auto b = f.add_task(j, "SELECT 2");
  auto c = f.add_task(j, "SELECT 3");

  SECTION("a stale guard skips only its own update") {
    auto start_a = move(a, task_state::runnable, task_state::running);
    auto stale_b = move(b, task_state::running, task_state::done);  // b is runnable
    auto missing = move(c + 1000, task_state::runnable, task_state::running);
    auto skipped = f.store().apply({start_a, stale_b, missing}, std::nullopt);
    CHECK(skipped == std::vector<task_id>{b, c + 1000});
    CHECK(must_load(f, a).status == task_state::running);
    CHECK(must_load(f, b).status == task_state::runnable);
    CHECK(must_load(f, c).status == task_state::runnable);
  }

  SECTION("from == to records the pid of a running task") {
    REQUIRE(f.store().apply({move(a, task_state::runnable, task_state::running)}, std::nullopt).empty());
    auto pid = move(a, task_state::running, task_state::running);
    pid.pid = 4242;
    REQUIRE(f.store().apply({pid}, std::nullopt).empty());
    auto t = must_load(f, a);
    CHECK(t.status == task_state::running);
    CHECK(t.pid == 4242);
  }

  SECTION("fields are written, kept or cleared as asked") {
    auto run = move(a, task_state::runnable, task_state::running);
    run.pid = 100;
    REQUIRE(f.store().apply({run}, std::nullopt).empty());

    auto retry = move(a, task_state::running, task_state::runnable);
    retry.clear_pid = true;
    retry.retry_count = 3;
    retry.not_before = 1'900'000'000'123;
    retry.message = "ERROR:  boom";
    REQUIRE(f.store().apply({retry}, std::nullopt).empty());
    auto t = must_load(f, a);
    CHECK(t.status == task_state::runnable);
    CHECK_FALSE(t.pid.has_value());
    CHECK(t.retry_count == 3);
    CHECK(t.not_before == 1'900'000'000'123);
    CHECK(t.message == "ERROR:  boom");

    // Empty fields keep their values.
    auto again = move(a, task_state::runnable, task_state::running);
    again.pid = 101;
    REQUIRE(f.store().apply({again}, std::nullopt).empty());
    t = must_load(f, a);
    CHECK(t.pid == 101);
    CHECK(t.retry_count == 3);
    CHECK(t.not_before == 1'900'000'000'123);
    CHECK(t.message == "ERROR:  boom");

    auto done = move(a, task_state::running, task_state::done);
    done.clear_pid = true;
    done.clear_not_before = true;
    done.message = "";
    REQUIRE(f.store().apply({done}, std::nullopt).empty());
    t = must_load(f, a);
    CHECK(t.status == task_state::done);
    CHECK_FALSE(t.pid.has_value());
    CHECK_FALSE(t.not_before.has_value());
    CHECK(t.retry_count == 3);
    CHECK(t.message.empty());
  }

  SECTION("an update of a missing job fails the whole call") {
    model::job_update ju;
    ju.job = j + 1000;
    ju.state = job_state::running;
    try {
      f.store().apply({move(a, task_state::runnable, task_state::running)}, ju);
      FAIL("apply did not throw");
    } catch (const sql::error& e) {
      CHECK(e.code() == sql::errc::not_found);
    }
    CHECK(must_load(f, a).status == task_state::runnable);
  }
}

TEMPLATE_TEST_CASE("job store sets started_at and finished_at once",
                   "[job_store][db]", memory_fixture, pg_fixture) {
  TestType f;
  auto j = f.add_job();
  auto a = f.add_task(j, "SELECT 1");

  model::job_update running;
  running.job = j;
  running.state = job_state::running;
  running.set_started_at = true;
  REQUIRE(f.store().apply({move(a, task_state::runnable, task_state::running)}, running).empty());
  auto job = must_load_job(f, j);
  CHECK(job.state == job_state::running);
  REQUIRE(job.started_at.has_value());
  CHECK_FALSE(job.finished_at.has_value());
  auto started = *job.started_at;

  f.let_time_pass();
  REQUIRE(f.store().apply({}, running).empty());
  CHECK(must_load_job(f, j).started_at == started);

  model::job_update finished;
  finished.job = j;
  finished.state = job_state::finished;
  finished.set_started_at = true;
  finished.set_finished_at = true;
  REQUIRE(f.store().apply({move(a, task_state::running, task_state::done)}, finished).empty());
  job = must_load_job(f, j);
  CHECK(job.state == job_state::finished);
  CHECK(job.started_at == started);
  REQUIRE(job.finished_at.has_value());
  CHECK(*job.finished_at > started);
  auto ended = *job.finished_at;

  f.let_time_pass();
  REQUIRE(f.store().apply({}, finished).empty());
  job = must_load_job(f, j);
  CHECK(job.started_at == started);
  CHECK(job.finished_at == ended);

  // The state follows the task rows, whatever the caller expected.
  model::job_update stale;
  stale.job = j;
  stale.state = job_state::running;
  REQUIRE(f.store().apply({}, stale).empty());
  job = must_load_job(f, j);
  CHECK(job.state == job_state::finished);
  CHECK(job.finished_at == ended);
}

TEMPLATE_TEST_CASE("job store derives the job state from rows changed behind the caller's back",
                   "[job_store][db]", memory_fixture, pg_fixture) {
  TestType f;
  auto j = f.add_job();
  auto a = f.add_task(j, "SELECT 1");
  auto b = f.add_task(j, "SELECT 2");
  model::job_update running;
  running.job = j;
  running.state = job_state::running;
  running.set_started_at = true;
  auto with_pid = move(a, task_state::runnable, task_state::running);
  with_pid.pid = 4242;
  REQUIRE(f.store().apply({with_pid}, running).empty());
  // A cancel the caller has not seen: b is cancelled, a is cancelling.
  f.store().cancel_job(j);
  // The caller ends a's attempt with what it knows (a done, b still runnable): the guard
  // skips a, and the job stays as the cancel left it rather than "running".
  auto skipped = f.store().apply({move(a, task_state::running, task_state::done)}, running);
  CHECK(skipped == std::vector<task_id>{a});
  CHECK(must_load(f, b).status == task_state::cancelled);
  CHECK(must_load_job(f, j).state == job_state::cancelling);
  model::job_update cancelled;
  cancelled.job = j;
  cancelled.state = job_state::running;  // stale again
  REQUIRE(f.store().apply({move(a, task_state::cancelling, task_state::cancelled)}, cancelled).empty());
  CHECK(must_load_job(f, j).state == job_state::cancelled);
}

TEMPLATE_TEST_CASE("job store lists active jobs", "[job_store][db]", memory_fixture, pg_fixture) {
  TestType f;
  auto empty = f.add_job();
  auto open = f.add_job();
  auto all_done = f.add_job();
  auto terminal = f.add_job();
  auto blocked = f.add_job();
  f.add_task(open, "SELECT 1", {}, std::nullopt, task_state::done);
  f.add_task(open, "SELECT 2", {}, std::nullopt, task_state::running);
  f.add_task(all_done, "SELECT 3", {}, std::nullopt, task_state::done);
  f.add_task(all_done, "SELECT 4", {}, std::nullopt, task_state::cancelled);
  f.add_task(terminal, "SELECT 5");
  f.set_job_state(terminal, job_state::cancelled);
  auto root = f.add_task(blocked, "SELECT 6", {}, std::nullopt, task_state::error);
  f.add_task(blocked, "SELECT 7", {root});

  CHECK(f.store().active_jobs() == std::vector<job_id>{open, blocked});
  (void)empty;
}

TEMPLATE_TEST_CASE("job store resets orphaned tasks at leader start-up",
                   "[job_store][db]", memory_fixture, pg_fixture) {
  TestType f;
  auto j1 = f.add_job();
  auto j2 = f.add_job();
  auto running_with_pid = f.add_task(j1, "SELECT 1");
  auto running_no_pid = f.add_task(j1, "SELECT 2");
  auto runnable = f.add_task(j1, "SELECT 3");
  auto cancelling = f.add_task(j2, "SELECT 4");
  auto done = f.add_task(j2, "SELECT 5");

  auto start = move(running_with_pid, task_state::runnable, task_state::running);
  start.pid = 999'999;  // no such backend, and it holds no lock
  start.retry_count = 2;
  start.not_before = 1'600'000'000'000;
  start.message = "previous attempt failed";
  auto cancel = move(cancelling, task_state::runnable, task_state::cancelling);
  cancel.pid = 999'998;
  model::job_update ju;
  ju.job = j1;
  ju.state = job_state::running;
  ju.set_started_at = true;
  REQUIRE(f.store()
            .apply({start, move(running_no_pid, task_state::runnable, task_state::running), cancel,
                    move(done, task_state::runnable, task_state::done)},
                   ju)
            .empty());
  model::job_update ju2;
  ju2.job = j2;
  ju2.state = job_state::cancelling;
  REQUIRE(f.store().apply({}, ju2).empty());

  auto changed = f.store().reset_orphaned_tasks();
  REQUIRE(changed.size() == 3);
  CHECK(changed[0].id == running_with_pid);
  CHECK(changed[1].id == running_no_pid);
  CHECK(changed[2].id == cancelling);

  auto t = must_load(f, running_with_pid);
  CHECK(t.status == task_state::runnable);
  CHECK_FALSE(t.pid.has_value());
  CHECK(t.retry_count == 2);  // no retry counted
  CHECK(t.not_before == 1'600'000'000'000);
  CHECK(t.message == "previous attempt failed");
  CHECK(changed[0].status == task_state::runnable);
  CHECK(changed[0].retry_count == 2);

  CHECK(must_load(f, running_no_pid).status == task_state::runnable);
  CHECK(must_load(f, runnable).status == task_state::runnable);
  t = must_load(f, cancelling);
  CHECK(t.status == task_state::cancelled);
  CHECK_FALSE(t.pid.has_value());
  CHECK(must_load(f, done).status == task_state::done);

  // Job states follow their tasks: j1 keeps running, j2 (done + cancelled) is cancelled.
  auto job1 = must_load_job(f, j1);
  CHECK(job1.state == job_state::running);
  CHECK_FALSE(job1.finished_at.has_value());
  auto job2 = must_load_job(f, j2);
  CHECK(job2.state == job_state::cancelled);
  CHECK(job2.finished_at.has_value());

  // Nothing left to reset.
  CHECK(f.store().reset_orphaned_tasks().empty());
}

TEMPLATE_TEST_CASE("job store cancels a job as citus_job_cancel does",
                   "[job_store][db]", memory_fixture, pg_fixture) {
  TestType f;
  auto j = f.add_job();
  auto with_pid = f.add_task(j, "SELECT 1");
  auto without_pid = f.add_task(j, "SELECT 2");
  auto runnable = f.add_task(j, "SELECT 3");
  auto blocked = f.add_task(j, "SELECT 4", {runnable});
  auto done = f.add_task(j, "SELECT 5", {}, std::nullopt, task_state::done);

  auto start = move(with_pid, task_state::runnable, task_state::running);
  start.pid = 999'999;  // no such backend: the cancel signal only warns
  model::job_update ju;
  ju.job = j;
  ju.state = job_state::running;
  ju.set_started_at = true;
  REQUIRE(f.store()
            .apply({start, move(without_pid, task_state::runnable, task_state::running)}, ju)
            .empty());
  auto started = must_load_job(f, j).started_at;

  f.store().cancel_job(j);
  auto t = must_load(f, with_pid);
  CHECK(t.status == task_state::cancelling);
  CHECK(t.pid == 999'999);
  CHECK(must_load(f, without_pid).status == task_state::cancelled);
  CHECK(must_load(f, runnable).status == task_state::cancelled);
  CHECK(must_load(f, blocked).status == task_state::cancelled);
  CHECK(must_load(f, done).status == task_state::done);
  auto job = must_load_job(f, j);
  CHECK(job.state == job_state::cancelling);
  CHECK(job.started_at == started);
  CHECK_FALSE(job.finished_at.has_value());
  CHECK(f.store().active_jobs() == std::vector<job_id>{j});

  // Once the executor is gone the daemon records cancelled; the job is then cancelled.
  auto seen = move(with_pid, task_state::cancelling, task_state::cancelled);
  seen.clear_pid = true;
  model::job_update cancelled;
  cancelled.job = j;
  cancelled.state = job_state::cancelled;
  cancelled.set_finished_at = true;
  REQUIRE(f.store().apply({seen}, cancelled).empty());
  CHECK(f.store().active_jobs().empty());

  // A second cancel of a terminal job changes nothing.
  job = must_load_job(f, j);
  f.let_time_pass();
  f.store().cancel_job(j);
  auto again = must_load_job(f, j);
  CHECK(again.state == job_state::cancelled);
  CHECK(again.finished_at == job.finished_at);

  SECTION("a job that never started is cancelled at once") {
    auto j2 = f.add_job();
    auto a = f.add_task(j2, "SELECT 1");
    f.store().cancel_job(j2);
    CHECK(must_load(f, a).status == task_state::cancelled);
    auto j2rec = must_load_job(f, j2);
    CHECK(j2rec.state == job_state::cancelled);
    CHECK_FALSE(j2rec.started_at.has_value());
    CHECK(j2rec.finished_at.has_value());
  }

  SECTION("a job without tasks is finished") {
    auto j3 = f.add_job();
    f.store().cancel_job(j3);
    CHECK(must_load_job(f, j3).state == job_state::finished);
  }

  SECTION("a job that does not exist is an error") {
    try {
      f.store().cancel_job(j + 1000);
      FAIL("cancel_job did not throw");
    } catch (const sql::error& e) {
      CHECK(e.code() == sql::errc::sql_failed);
      CHECK(e.sqlstate() == "42704");
      CHECK(std::string(e.what()).find("job " + std::to_string(j + 1000) + " does not exist") !=
            std::string::npos);
    }
  }
}

// ----------------------------------------------------------------------------------
// PostgreSQL only.

TEST_CASE("test database is created with the catalog and dropped afterwards",
          "[job_store][db][test_database]") {
  std::string name;
  {
    test::test_database db{"store_contract"};
    name = db.name();
    pqxx::connection conn{db.dsn()};
    pqxx::nontransaction n{conn};
    CHECK(n.exec("SELECT count(*) FROM steward.pg_dist_background_job")[0][0].as<int>() == 0);
    CHECK(n.exec("SELECT current_database()")[0][0].as<std::string>() == name);
  }
  pqxx::connection conn{test::server_dsn()};
  pqxx::nontransaction n{conn};
  CHECK(n.exec_params1("SELECT count(*) FROM pg_database WHERE datname = $1", name)[0].as<int>() == 0);
}

namespace {

int backend_pid(pqxx::connection& c) {
  pqxx::nontransaction n{c};
  return n.exec("SELECT pg_backend_pid()")[0][0].as<int>();
}

bool backend_alive(pqxx::connection& admin, int pid) {
  pqxx::nontransaction n{admin};
  return n.exec_params1("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid)[0].as<int>() > 0;
}

}  // namespace

TEST_CASE("pg job store terminates an old executor that still holds the task lock and waits for it",
          "[job_store][db]") {
  pg_fixture f;
  auto j = f.add_job();
  auto orphan = f.add_task(j, "SELECT pg_sleep(60)");
  auto bystander_task = f.add_task(j, "SELECT 2");

  // The old executor: a session holding the task lock, its pid recorded in the row.
  pqxx::connection executor{f.db.dsn()};
  auto [k1, k2] = sql::task_lock_keys(orphan);
  {
    pqxx::nontransaction n{executor};
    n.exec_params("SELECT pg_advisory_lock($1::integer, $2::integer)", k1, k2);
  }
  int executor_pid = backend_pid(executor);
  // Another live backend recorded as executor, holding no task lock: left alone.
  pqxx::connection bystander{f.db.dsn()};
  int bystander_pid = backend_pid(bystander);

  auto run = move(orphan, task_state::runnable, task_state::running);
  run.pid = executor_pid;
  auto run2 = move(bystander_task, task_state::runnable, task_state::running);
  run2.pid = bystander_pid;
  REQUIRE(f.pg.apply({run, run2}, std::nullopt).empty());

  auto changed = f.pg.reset_orphaned_tasks();
  REQUIRE(changed.size() == 2);
  CHECK(changed[0].status == task_state::runnable);
  CHECK_FALSE(changed[0].pid.has_value());

  // reset returned only after the holder was gone, so its lock is free now.
  CHECK_FALSE(backend_alive(f.seed, executor_pid));
  CHECK_THROWS_AS(backend_pid(executor), pqxx::broken_connection);
  {
    pqxx::nontransaction n{f.seed};
    CHECK(n.exec_params1("SELECT pg_try_advisory_lock($1::integer, $2::integer)", k1, k2)[0].as<bool>());
    n.exec("SELECT pg_advisory_unlock_all()");
  }
  CHECK(backend_alive(f.seed, bystander_pid));
  CHECK(backend_pid(bystander) == bystander_pid);
}

TEST_CASE("pg job store reports an unreachable server without the password",
          "[job_store][db]") {
  try {
    sql::pg_job_store store{"host=127.0.0.1 port=1 dbname=nowhere user=nobody password=hunter2 "
                            "connect_timeout=2"};
    FAIL("connected to port 1");
  } catch (const sql::error& e) {
    CHECK(e.code() == sql::errc::unavailable);
    std::string what = e.what();
    CHECK(what.find("hunter2") == std::string::npos);
    CHECK(what.find("port=1") != std::string::npos);
  }
}

TEST_CASE("pg job store reports a lost connection and works again after it reconnects",
          "[job_store][db]") {
  pg_fixture f;
  auto j = f.add_job();
  auto a = f.add_task(j, "SELECT 1");
  REQUIRE(f.pg.load_task(a).has_value());  // statements prepared on the first backend

  int old_pid = f.pg.backend_pid();
  {
    pqxx::nontransaction n{f.seed};
    n.exec_params("SELECT pg_terminate_backend($1)", old_pid);
  }
  for (int i = 0; i < 100 && backend_alive(f.seed, old_pid); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));

  int failures = 0;
  std::optional<model::task_record> t;
  for (int attempt = 0; attempt < 5 && !t; ++attempt) {
    try {
      t = f.pg.load_task(a);
    } catch (const sql::error& e) {
      CHECK(e.code() == sql::errc::unavailable);
      ++failures;
    }
  }
  CHECK(failures >= 1);
  REQUIRE(t.has_value());
  CHECK(t->id == a);
  CHECK(f.pg.backend_pid() != old_pid);
  CHECK(f.pg.runnable_tasks().size() == 1);
}

TEST_CASE("pg job store turns a rejected statement into sql_failed with its sqlstate",
          "[job_store][db]") {
  pg_fixture f;
  auto j = f.add_job();
  auto a = f.add_task(j, "SELECT 1");
  {
    pqxx::nontransaction n{f.seed};
    n.exec("ALTER TABLE steward.pg_dist_background_task "
           "ADD CONSTRAINT no_huge_retries CHECK (retry_count < 100)");
  }
  auto u = move(a, task_state::runnable, task_state::runnable);
  u.retry_count = 1000;
  try {
    f.pg.apply({u}, std::nullopt);
    FAIL("apply did not throw");
  } catch (const sql::error& e) {
    CHECK(e.code() == sql::errc::sql_failed);
    CHECK(e.sqlstate() == "23514");
  }
}

TEST_CASE("memory job store injects failures and records the backends it would signal",
          "[job_store]") {
  test::memory_job_store mem;
  auto j = mem.add_job();
  auto a = mem.add_task(j, "SELECT 1");
  auto b = mem.add_task(j, "SELECT 2", {a});
  CHECK(mem.task(b).status == task_state::blocked);
  CHECK_THROWS_AS(mem.add_task(j + 1, "x"), std::invalid_argument);
  CHECK_THROWS_AS(mem.add_task(mem.add_job(), "x", {a}), std::invalid_argument);

  mem.fail_next(2);
  CHECK_THROWS_AS(mem.runnable_tasks(), sql::error);
  CHECK_THROWS_AS(mem.active_jobs(), sql::error);
  CHECK(mem.runnable_tasks().size() == 1);
  CHECK(mem.calls() == 3);

  auto run = move(a, task_state::runnable, task_state::running);
  run.pid = 77;
  REQUIRE(mem.apply({run}, std::nullopt).empty());
  mem.hold_task_lock(a, 77);
  mem.reset_orphaned_tasks();
  CHECK(mem.terminated_backends() == std::vector<std::int32_t>{77});
  CHECK(mem.reset_orphaned_tasks().empty());
  CHECK(mem.terminated_backends().size() == 1);
}
