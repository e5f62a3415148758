// Faults and security of a real steward run: killed executors and daemons, a restarted
// server, a lost leader lock, leftover channels, task owners' privileges, secrets in logs.
#include "actors/os/shm_channel.hpp"
#include "sql/locks.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/jobs.hpp"
#include "tests/support/private_server.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/throwaway_role.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <string>

using namespace steward::test;

namespace {

std::string gated(const std::string& name) {
  return "SELECT count(*) FROM gate; INSERT INTO runs VALUES ('" + name + "')";
}

std::string task_text(pqxx::connection& c, std::int64_t task, const std::string& column) {
  return query_value<std::string>(c, "SELECT coalesce(" + column + "::text, '') FROM "
                                     "steward.pg_dist_background_task WHERE task_id = " +
                                       std::to_string(task));
}

/// The leader backend pid the daemon logged when it took the lock.
int leader_backend(const daemon_process& d) {
  static const std::regex acquired{R"(leader lock acquired \(leader backend pid (\d+)\))"};
  auto log = d.log();
  std::smatch m;
  REQUIRE(std::regex_search(log, m, acquired));
  return std::stoi(m[1]);
}

}  // namespace

TEST_CASE("an executor killed with SIGKILL is a failed attempt and is retried",
          "[daemon][faults]") {
  test_database db{"fault_executor"};
  pqxx::connection c{db.dsn()};
  execute(c, "CREATE TABLE runs (task text)");
  gate g{db.dsn()};
  daemon_process d{db.dsn(), "retry_delays_s = [0]"};
  auto job = submit_job(c, {{gated("a")}});
  auto tid = job.tasks[0];
  REQUIRE(wait_until([&] { return gate::waiting(c) == 1 && !task_text(c, tid, "pid").empty(); }));
  auto first_backend = task_text(c, tid, "pid");
  auto children = d.children();
  REQUIRE(children.size() == 1);
  ::kill(children[0], SIGKILL);

  REQUIRE(wait_until([&] { return task_text(c, tid, "retry_count") == "1"; }));
  CHECK_THAT(task_text(c, tid, "message"), Catch::Contains("killed by signal 9"));
  // The next attempt runs on a new backend; the old one, still waiting on the gate
  // with the task lock, was terminated first.
  REQUIRE(wait_until([&] {
    auto pid = task_text(c, tid, "pid");
    return !pid.empty() && pid != first_backend;
  }));
  CHECK(query_value<int>(c, "SELECT count(*) FROM pg_stat_activity WHERE pid = " +
                              first_backend) == 0);
  g.open();
  wait_job(c, job.id);
  CHECK(job_state(c, job.id) == "finished");
  CHECK(query_value<int>(c, "SELECT count(*) FROM runs") == 1);
}

TEST_CASE("the executors of a daemon killed with SIGKILL die with it", "[daemon][faults]") {
  test_database db{"fault_daemon"};
  pqxx::connection c{db.dsn()};
  execute(c, "CREATE TABLE runs (task text)");
  gate g{db.dsn()};
  daemon_process d{db.dsn()};
  submit_job(c, {{gated("a")}});
  submit_job(c, {{gated("b")}});
  REQUIRE(wait_until([&] { return gate::waiting(c) == 2; }));
  auto children = d.children();
  REQUIRE(children.size() == 2);
  d.signal(SIGKILL);
  d.wait_exit();
  CHECK(wait_until([&] { return !process_alive(children[0]) && !process_alive(children[1]); }));
}

TEST_CASE("a daemon survives a restart of the server and finishes the job", "[daemon][faults]") {
  private_server server;
  pqxx::connection c{server.dsn()};
  execute(c, "CREATE TABLE runs (task text)");
  auto g = std::make_unique<gate>(server.dsn());
  daemon_process d{server.dsn(), "retry_delays_s = [0]"};
  auto job = submit_job(c, {{"INSERT INTO runs VALUES ('a')"},
                            {gated("b"), {0}},
                            {"INSERT INTO runs VALUES ('c')", {1}}});
  REQUIRE(wait_until([&] { return gate::waiting(c) == 1; }));
  server.restart();  // also ends the gate's transaction
  g.reset();

  pqxx::connection after{server.dsn()};
  wait_job(after, job.id, "", 60);
  CHECK(job_state(after, job.id) == "finished");
  CHECK(query_value<int>(after, "SELECT count(*) FROM runs") == 3);
  CHECK(d.running());
  CHECK(occurrences(d.log(), "this coordinator is active") == 2);
  CHECK_THAT(d.log(), Catch::Contains("waiting for the leader lock again"));
}

TEST_CASE("a daemon that loses the leader lock to another stops acting at once, then waits "
          "for the lock",
          "[daemon][faults]") {
  test_database db{"fault_lock_lost"};
  pqxx::connection c{db.dsn()};
  execute(c, "CREATE TABLE runs (task text)");
  gate g{db.dsn()};
  daemon_process d{db.dsn()};
  REQUIRE(d.wait_until_leader());
  auto job = submit_job(c, {{gated("a")}});
  auto tid = job.tasks[0];
  REQUIRE(wait_until([&] { return gate::waiting(c) == 1 && !task_text(c, tid, "pid").empty(); }));
  REQUIRE(d.children().size() == 1);

  // Another coordinator (this connection) takes the lock the moment the daemon's
  // leader connection is gone: a waiting pg_advisory_lock is granted before any retry.
  auto usurper = std::make_unique<pqxx::connection>(db.dsn());
  execute(*usurper, "SELECT pg_terminate_backend(" + std::to_string(leader_backend(d)) + ")");
  execute(*usurper, "SELECT pg_advisory_lock(" + std::to_string(steward::sql::leader_lock_key1) +
                      ", " + std::to_string(steward::sql::leader_lock_key2) + ")");
  REQUIRE(d.wait_for_log("leader lock lost"));
  REQUIRE(d.wait_for_log("waiting as standby"));
  CHECK(d.running());
  CHECK(wait_until([&] { return d.children().empty(); }));  // its executor is gone
  // It recorded nothing: the task is left to the coordinator that holds the lock.
  CHECK(task_status(c, tid) == "running");
  CHECK(task_text(c, tid, "retry_count").empty());
  CHECK(task_text(c, tid, "message").empty());

  // The other coordinator goes away: the daemon is the leader again and finishes the job.
  usurper.reset();
  REQUIRE(d.wait_for_log("this coordinator is active", 10s, 2));
  REQUIRE(d.wait_for_log("was left unfinished by a previous coordinator"));
  g.open();
  wait_job(c, job.id);
  CHECK(job_state(c, job.id) == "finished");
  CHECK(query_value<int>(c, "SELECT count(*) FROM runs") == 1);
  CHECK(task_text(c, tid, "retry_count").empty());
}

TEST_CASE("the daemon removes channels left by dead daemons when it starts", "[daemon][faults]") {
  test_database db{"fault_channels"};
  pid_t dead = ::fork();
  if (dead == 0)
    ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  auto name = steward::shm_channel::name_for(dead, 77);
  int fd = ::shm_open(name.c_str(), O_CREAT | O_RDWR, 0600);
  REQUIRE(fd >= 0);
  ::close(fd);
  daemon_process d{db.dsn()};
  REQUIRE(d.wait_for_log("removed the channel " + name));
  fd = ::shm_open(name.c_str(), O_RDWR, 0600);
  CHECK(fd < 0);
  if (fd >= 0) {
    ::close(fd);
    ::shm_unlink(name.c_str());
  }
}

TEST_CASE("a task runs with exactly its owner's privileges", "[daemon][security]") {
  throwaway_role owner{"steward_task_owner"};
  test_database db{"security_owner"};
  pqxx::connection c{db.dsn()};
  execute(c, "CREATE TABLE secret (v text); INSERT INTO secret VALUES ('s3cr3t')");
  execute(c, "CREATE TABLE whoami (session_role text, current_role_ text)");
  execute(c, "GRANT INSERT ON whoami TO " + owner.name);
  daemon_process d{db.dsn(), "max_retries = 0"};
  auto as_owner = [&](const std::string& command) {
    return submit_job(c, {{command, {}, std::nullopt, owner.name}});
  };
  auto who = as_owner("INSERT INTO whoami SELECT session_user, current_user");
  auto plain = as_owner("SELECT * FROM secret");
  auto reset = as_owner("RESET ROLE; SELECT * FROM secret");
  auto session = as_owner("SET SESSION AUTHORIZATION postgres; SELECT * FROM secret");
  for (const auto* j : {&who, &plain, &reset, &session})
    wait_job(c, j->id);
  CHECK(job_state(c, who.id) == "finished");
  CHECK(query_value<std::string>(c, "SELECT session_role || '/' || current_role_ FROM whoami") ==
        owner.name + "/" + owner.name);
  CHECK(job_state(c, plain.id) == "failed");
  CHECK_THAT(task_text(c, plain.tasks[0], "message"),
             Catch::StartsWith("ERROR: permission denied for table secret"));
  CHECK(job_state(c, reset.id) == "failed");
  CHECK_THAT(task_text(c, reset.tasks[0], "message"),
             Catch::StartsWith("ERROR: permission denied for table secret"));
  CHECK(job_state(c, session.id) == "failed");
  CHECK_THAT(task_text(c, session.tasks[0], "message"),
             Catch::StartsWith("ERROR: permission denied to set session authorization"));
  CHECK(d.log().find("s3cr3t") == std::string::npos);
}

TEST_CASE("a connection string's password never reaches the log", "[daemon][security]") {
  test_database db{"security_password"};
  pqxx::connection c{db.dsn()};
  // The test server trusts loopback, so any password connects.
  auto dsn = db.dsn() + " password=hunter2-secret";
  daemon_process d{dsn, "max_retries = 0"};
  REQUIRE(d.wait_until_leader());
  auto ok = submit_job(c, {{"SELECT 1"}});
  auto bad = submit_job(c, {{"SELECT 1/0"}});
  wait_job(c, ok.id);
  wait_job(c, bad.id);
  d.write_config("dsn = \"" + dsn + "\"\nmax_executors = 0\n");
  d.signal(SIGHUP);
  REQUIRE(d.wait_for_log("keeping the previous configuration"));
  d.signal(SIGTERM);
  d.wait_exit();
  auto log = d.log();
  CHECK_THAT(log, Catch::Contains("password=********"));
  CHECK(log.find("hunter2") == std::string::npos);
  CHECK(task_text(c, bad.tasks[0], "message").find("hunter2") == std::string::npos);
}
