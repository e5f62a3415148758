// steward-executor as the daemon runs it: a real child process started through
// boost_process_launcher, reporting over a shm_channel, against a throwaway database.
#include "actors/os/process_launcher.hpp"
#include "actors/os/shm_channel.hpp"
#include "model/task_message.hpp"
#include "sql/locks.hpp"
#include "tests/support/env.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/throwaway_role.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

namespace {

using namespace steward;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

struct execution {
  int status = -1;
  std::vector<model::frame> frames;
  model::task_message_builder message;
  std::string channel_error;
  std::chrono::milliseconds elapsed{0};

  std::string exit() const { return describe_wait_status(status); }

  template <class T>
  std::vector<T> all() const {
    std::vector<T> out;
    for (const auto& f : frames)
      if (auto* x = std::get_if<T>(&f))
        out.push_back(*x);
    return out;
  }
};

using test::throwaway_role;

struct executor_fixture {
  test::test_database db{"executor"};
  boost_process_launcher launcher;
  pqxx::connection admin{db.dsn()};

  void exec(const std::string& statement) {
    pqxx::nontransaction n{admin};
    n.exec(statement);
  }

  template <class T>
  T scalar(const std::string& query) {
    pqxx::nontransaction n{admin};
    return n.exec1(query)[0].as<T>();
  }

  /// A job with one task running `command` as `owner`; returns {job_id, task_id}.
  std::pair<std::int64_t, std::int64_t> add_task(const std::string& command,
                                                 const std::string& owner = "postgres") {
    pqxx::work w{admin};
    auto job = w.exec1("INSERT INTO steward.pg_dist_background_job (job_type, description) "
                       "VALUES ('test', 'executor test') RETURNING job_id")[0]
                 .as<std::int64_t>();
    auto task = w.exec_params1("INSERT INTO steward.pg_dist_background_task (job_id, command, owner) "
                               "VALUES ($1, $2, $3::regrole) RETURNING task_id",
                               job, command, w.quote_name(owner))[0]
                  .as<std::int64_t>();
    w.commit();
    return {job, task};
  }

  /// Runs the executor for a task until it exits; `during(pid, frames_so_far)` is called
  /// on every poll round, e.g. to send a signal once the command runs.
  execution run(std::int64_t job, std::int64_t task, const std::string& owner = "postgres",
                std::function<void(int, const std::vector<model::frame>&)> during = {},
                std::map<std::string, std::string> env = {}, std::size_t capacity = 256 * 1024,
                std::string channel_name = {}) {
    if (env.empty())
      env = {{"STEWARD_EXECUTOR_DSN", db.dsn()}};
    if (channel_name.empty())
      channel_name = shm_channel::name_for(::getpid(), task);
    auto channel = shm_channel::create(channel_name, capacity);
    execution result;
    const auto start = clock_type::now();
    int pid = launcher.launch({test::bin_dir() + "/steward-executor",
                               {"--channel", channel.name(), "--job", std::to_string(job), "--task",
                                std::to_string(task), "--owner", owner},
                               env});
    auto drain = [&] {
      std::string error;
      for (auto& f : channel.read_available(&error)) {
        result.message.add(f);
        result.frames.push_back(std::move(f));
      }
      if (!error.empty())
        result.channel_error = error;
    };
    for (;;) {
      drain();
      if (auto status = launcher.poll_exit(pid)) {
        result.status = *status;
        break;
      }
      if (during)
        during(pid, result.frames);
      if (clock_type::now() - start > 60s) {
        launcher.signal(pid, SIGKILL);
        while (!launcher.poll_exit(pid))
          std::this_thread::sleep_for(5ms);
        FAIL("executor did not exit within 60 s");
      }
      std::this_thread::sleep_for(5ms);
    }
    drain();
    result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
    CHECK(result.channel_error.empty());
    return result;
  }

  std::string context_line(std::int64_t job, std::int64_t task, const std::string& user = "postgres") {
    return "Steward Background Task Executor: " + db.name() + "/" + user + " for (" +
           std::to_string(job) + "/" + std::to_string(task) + ")";
  }

  /// True once backend `pid` is running a statement that mentions `fragment`.
  bool backend_runs(int backend_pid, const std::string& fragment) {
    pqxx::nontransaction n{admin};
    return n.exec_params1("SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active' "
                          "AND strpos(query, $2) > 0",
                          backend_pid, fragment)[0]
             .as<int>() > 0;
  }
};

std::optional<int> backend_pid_of(const std::vector<model::frame>& frames) {
  for (const auto& f : frames)
    if (auto* s = std::get_if<model::started_frame>(&f))
      return s->backend_pid;
  return std::nullopt;
}

}  // namespace

TEST_CASE_METHOD(executor_fixture, "executor runs an INSERT task, reports its tags and exits 0",
                 "[executor]") {
  exec("CREATE TABLE items (id int)");
  auto [job, task] = add_task("INSERT INTO items VALUES (1); INSERT INTO items VALUES (2), (3)");
  auto r = run(job, task);
  CHECK(r.exit() == "exited with code 0");
  REQUIRE(r.frames.size() == 4);
  REQUIRE(std::holds_alternative<model::started_frame>(r.frames[0]));
  CHECK(std::get<model::started_frame>(r.frames[0]).backend_pid > 0);
  CHECK(std::holds_alternative<model::finished_frame>(r.frames.back()));
  CHECK(r.message.text() == "INSERT 0 1\nINSERT 0 2\n");
  CHECK(r.message.finished());
  CHECK_FALSE(r.message.had_error());
  CHECK(scalar<int>("SELECT count(*) FROM items") == 3);
}

TEST_CASE_METHOD(executor_fixture, "a failing statement reports the server's error and rolls back everything",
                 "[executor]") {
  exec("CREATE TABLE items (id int)");
  auto [job, task] = add_task("INSERT INTO items VALUES (10); SELECT 1/0");
  auto r = run(job, task);
  CHECK(r.exit() == "exited with code 1");
  auto errors = r.all<model::error_frame>();
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].sqlstate == "22012");
  CHECK(errors[0].severity == "ERROR");
  CHECK(errors[0].text == "division by zero");
  CHECK(r.message.text() == "ERROR: division by zero\nCONTEXT: " + context_line(job, task) + "\n");
  CHECK(r.message.had_error());
  CHECK_FALSE(r.message.finished());
  CHECK(scalar<int>("SELECT count(*) FROM items") == 0);
}

TEST_CASE_METHOD(executor_fixture, "notices arrive with severity, detail, hint and context",
                 "[executor]") {
  auto [job, task] = add_task(
    "DO $$ BEGIN RAISE NOTICE 'hello %', 42 USING DETAIL = 'the detail', HINT = 'the hint'; END $$");
  auto r = run(job, task);
  CHECK(r.exit() == "exited with code 0");
  auto notices = r.all<model::notice_frame>();
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].severity == "NOTICE");
  CHECK(notices[0].text == "hello 42");
  CHECK(notices[0].detail == "the detail");
  CHECK(notices[0].hint == "the hint");
  CHECK(notices[0].context ==
        "PL/pgSQL function inline_code_block line 1 at RAISE\n" + context_line(job, task));
  CHECK(r.message.text() == "NOTICE: hello 42\nDETAIL: the detail\nHINT: the hint\nCONTEXT: "
                            "PL/pgSQL function inline_code_block line 1 at RAISE\n" +
                              context_line(job, task) + "\nDO\n");
}

TEST_CASE_METHOD(executor_fixture, "transaction control in a task is rejected before anything runs",
                 "[executor]") {
  exec("CREATE TABLE items (id int)");
  for (std::string command : {"BEGIN; SELECT 1", "INSERT INTO items VALUES (1); COMMIT",
                              "SELECT 1; /* ; */ rollback", "SAVEPOINT s"}) {
    auto [job, task] = add_task(command);
    auto r = run(job, task);
    CHECK(r.exit() == "exited with code 1");
    CHECK(r.all<model::command_complete_frame>().empty());
    CHECK(r.message.text() == "ERROR: transaction control statements are not allowed in background job\n"
                              "CONTEXT: " + context_line(job, task) + "\n");
  }
  CHECK(scalar<int>("SELECT count(*) FROM items") == 0);
}

TEST_CASE_METHOD(executor_fixture, "a task whose lock another session holds fails with Citus's message",
                 "[executor]") {
  auto [job, task] = add_task("SELECT 1");
  auto [key1, key2] = sql::task_lock_keys(task);
  pqxx::connection holder{db.dsn()};
  {
    pqxx::nontransaction n{holder};
    REQUIRE(n.exec_params1("SELECT pg_try_advisory_lock($1::int4, $2::int4)", key1, key2)[0].as<bool>());
  }
  auto r = run(job, task);
  CHECK(r.exit() == "exited with code 1");
  auto errors = r.all<model::error_frame>();
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].text == "unable to acquire background task lock for taskId: " + std::to_string(task));
  CHECK(errors[0].detail == "this indicates that an other backend is already executing this task");
  CHECK(r.all<model::command_complete_frame>().empty());
}

TEST_CASE_METHOD(executor_fixture, "the executor holds the task lock while the command runs",
                 "[executor]") {
  auto [job, task] = add_task("SELECT pg_sleep(0.5)");
  auto [key1, key2] = sql::task_lock_keys(task);
  bool seen = false;
  auto r = run(job, task, "postgres", [&](int, const std::vector<model::frame>& frames) {
    auto pid = backend_pid_of(frames);
    if (!pid || seen)
      return;
    pqxx::nontransaction n{admin};
    seen = n.exec_params1("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $1 "
                          "AND classid = ($2::int4)::oid AND objid = ($3::int4)::oid AND objsubid = 2",
                          *pid, key1, key2)[0]
             .as<int>() == 1;
  });
  CHECK(r.exit() == "exited with code 0");
  CHECK(seen);
  CHECK(r.message.text() == "SELECT 1\n");
}

TEST_CASE_METHOD(executor_fixture, "SIGINT cancels the running statement and reports the cancellation",
                 "[executor]") {
  auto [job, task] = add_task("SELECT pg_sleep(30)");
  std::optional<clock_type::time_point> signalled;
  auto r = run(job, task, "postgres", [&](int pid, const std::vector<model::frame>& frames) {
    auto backend = backend_pid_of(frames);
    if (backend && !signalled && backend_runs(*backend, "pg_sleep(30)")) {
      launcher.signal(pid, SIGINT);
      signalled = clock_type::now();
    }
  });
  REQUIRE(signalled);
  CHECK(clock_type::now() - *signalled < 5s);
  CHECK(r.exit() == "exited with code 1");
  auto errors = r.all<model::error_frame>();
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].sqlstate == "57014");
  CHECK(errors[0].text == "canceling statement due to user request");
  CHECK(r.message.text().rfind("ERROR: canceling statement due to user request\n", 0) == 0);
}

TEST_CASE_METHOD(executor_fixture, "SIGTERM cancels, reports the coordinator shutdown and exits non-zero",
                 "[executor]") {
  auto [job, task] = add_task("SELECT pg_sleep(30)");
  std::optional<int> backend;
  bool signalled = false;
  auto r = run(job, task, "postgres", [&](int pid, const std::vector<model::frame>& frames) {
    backend = backend_pid_of(frames);
    if (backend && !signalled && backend_runs(*backend, "pg_sleep(30)")) {
      launcher.signal(pid, SIGTERM);
      signalled = true;
    }
  });
  REQUIRE(signalled);
  CHECK(r.elapsed < 10s);
  CHECK(r.exit() == "exited with code 1");
  CHECK(r.message.text() == "FATAL: terminating executor due to coordinator shutdown\nCONTEXT: " +
                              context_line(job, task) + "\n");
  // The backend goes away with the executor, releasing the task lock.
  bool gone = false;
  for (int i = 0; i < 300 && !gone; ++i) {
    pqxx::nontransaction n{admin};
    gone = n.exec_params1("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", *backend)[0].as<int>() == 0;
    if (!gone)
      std::this_thread::sleep_for(10ms);
  }
  CHECK(gone);
}

TEST_CASE_METHOD(executor_fixture, "a task runs as its owner, so RESET ROLE gains nothing",
                 "[executor]") {
  throwaway_role role{"steward_exec_owner"};
  exec("CREATE TABLE seen (who text, app text)");
  exec("GRANT INSERT ON seen TO " + role.name);
  auto [job, task] = add_task(
    "RESET ROLE; INSERT INTO seen VALUES (current_user, current_setting('application_name'))",
    role.name);
  auto r = run(job, task, role.name);
  CHECK(r.exit() == "exited with code 0");
  CHECK(r.message.text() == "RESET\nINSERT 0 1\n");
  CHECK(scalar<std::string>("SELECT who FROM seen") == role.name);
  CHECK(scalar<std::string>("SELECT app FROM seen") ==
        "steward executor job=" + std::to_string(job) + " task=" + std::to_string(task));

  // Without the privilege the owner's task fails like any other error.
  auto [job2, task2] = add_task("CREATE TABLE forbidden (x int)", role.name);
  auto denied = run(job2, task2, role.name);
  CHECK(denied.exit() == "exited with code 1");
  CHECK(denied.all<model::error_frame>().at(0).sqlstate == "42501");
  CHECK(denied.message.text().rfind("ERROR: permission denied for schema public\n", 0) == 0);
}

TEST_CASE_METHOD(executor_fixture, "an executor started for another owner than the task's refuses to run",
                 "[executor]") {
  throwaway_role role{"steward_exec_other"};
  auto [job, task] = add_task("SELECT 1");  // owned by postgres
  auto r = run(job, task, role.name);
  CHECK(r.exit() == "exited with code 1");
  CHECK(r.all<model::error_frame>().at(0).text ==
        "background task " + std::to_string(task) + " is not owned by role " + role.name);
}

TEST_CASE_METHOD(executor_fixture, "a task that does not exist, or a bad connection, is a task error",
                 "[executor]") {
  auto missing = run(999999, 999999);
  CHECK(missing.exit() == "exited with code 1");
  CHECK(missing.all<model::error_frame>().at(0).text == "background task 999999 of job 999999 does not exist");

  auto [job, task] = add_task("SELECT 1");
  auto bad = run(job, task, "no_such_role_for_steward");
  CHECK(bad.exit() == "exited with code 1");
  auto errors = bad.all<model::error_frame>();
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].sqlstate == "08006");
  CHECK_THAT(errors[0].text, Catch::Contains("role \"no_such_role_for_steward\" does not exist"));
  CHECK(bad.all<model::started_frame>().empty());
}

TEST_CASE_METHOD(executor_fixture, "statement tags, COPY and empty statements are handled",
                 "[executor]") {
  exec("CREATE TABLE items (id int)");
  exec("INSERT INTO items VALUES (1), (2)");
  auto [job, task] = add_task("UPDATE items SET id = id + 1; ; COPY items TO STDOUT; SELECT * FROM items; "
                              "SELECT g, repeat('x', 1000) FROM generate_series(1, 100000) g; "
                              "SELECT 1 WHERE false");
  auto r = run(job, task);
  CHECK(r.exit() == "exited with code 0");
  CHECK(r.message.text() == "UPDATE 2\nCOPY 2\nSELECT 2\nSELECT 100000\nSELECT 0\n");

  auto [job2, task2] = add_task("COPY items FROM STDIN");
  auto copy_in = run(job2, task2);
  CHECK(copy_in.exit() == "exited with code 1");
  CHECK_THAT(copy_in.message.text(), Catch::Contains("COPY FROM STDIN is not supported in a background task"));
}

TEST_CASE_METHOD(executor_fixture, "usage errors exit 2 and a missing DSN is reported on the channel",
                 "[executor]") {
  int pid = launcher.launch({test::bin_dir() + "/steward-executor", {"--job", "1"}, {}});
  int status = -1;
  for (int i = 0; i < 1000; ++i) {
    if (auto s = launcher.poll_exit(pid)) {
      status = *s;
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  CHECK(describe_wait_status(status) == "exited with code 2");

  auto [job, task] = add_task("SELECT 1");
  auto r = run(job, task, "postgres", {}, {{"STEWARD_EXECUTOR_DSN_UNUSED", "x"}});
  CHECK(r.exit() == "exited with code 2");
  CHECK_THAT(r.message.text(), Catch::Contains("STEWARD_EXECUTOR_DSN"));
}

TEST_CASE_METHOD(executor_fixture, "SIGINT at any moment after start-up still cancels the task",
                 "[executor]") {
  for (int delay_ms : {0, 1, 3, 10}) {
    auto [job, task] = add_task("SELECT pg_sleep(30)");
    std::optional<clock_type::time_point> signalled;
    auto r = run(job, task, "postgres", [&](int pid, const std::vector<model::frame>& frames) {
      if (!signalled && backend_pid_of(frames)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
        launcher.signal(pid, SIGINT);
        signalled = clock_type::now();
      }
    });
    REQUIRE(signalled);
    CHECK(clock_type::now() - *signalled < 5s);
    CHECK(r.exit() == "exited with code 1");
    CHECK(r.all<model::error_frame>().at(0).sqlstate == "57014");
  }
}

TEST_CASE_METHOD(executor_fixture, "a flood of notices into a small ring drops notices, never the outcome",
                 "[executor]") {
  auto [job, task] = add_task(
    "DO $$ BEGIN FOR i IN 1..5000 LOOP RAISE NOTICE 'notice %', i; END LOOP; END $$; SELECT 1");
  auto r = run(job, task, "postgres", {}, {}, 4096);
  CHECK(r.exit() == "exited with code 0");
  CHECK(r.all<model::notice_frame>().size() <= 5000);
  CHECK(r.all<model::notice_frame>().size() > 0);
  REQUIRE(r.frames.size() >= 3);
  CHECK(std::holds_alternative<model::started_frame>(r.frames.front()));
  CHECK(std::holds_alternative<model::finished_frame>(r.frames.back()));
  CHECK(r.all<model::command_complete_frame>().size() == 2);
  const std::string tail = "DO\nSELECT 1\n";
  REQUIRE(r.message.text().size() >= tail.size());
  CHECK(r.message.text().substr(r.message.text().size() - tail.size()) == tail);
}

TEST_CASE_METHOD(executor_fixture, "an executor whose coordinator is not its parent exits at once",
                 "[executor]") {
  auto [job, task] = add_task("SELECT 1");
  // pid 1 owns the channel name, but the test process is the parent.
  auto r = run(job, task, "postgres", {}, {}, 4096, shm_channel::name_for(1, task));
  CHECK(r.exit() == "exited with code 1");
  CHECK(r.frames.empty());
}
