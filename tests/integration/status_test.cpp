// `steward status` end to end: the real binary against a throwaway database whose jobs a
// real daemon finished (or that are still scheduled), checked in JSON and plain output.
#include "model/status_view.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/env.hpp"
#include "tests/support/jobs.hpp"
#include "tests/support/private_server.hpp"
#include "tests/support/test_database.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace steward::test;
using nlohmann::json;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A `steward status ...` process whose stdout and stderr go to files of its own.
class status_process {
public:
  /// `env` entries ("NAME=value") are set for the child; STEWARD_DSN and the PG*
  /// variables of the test runner are removed first, so only what the test gives counts.
  status_process(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    char tmpl[] = "/tmp/steward-status-test.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    out_ = dir_ + "/stdout";
    err_ = dir_ + "/stderr";
    auto binary = bin_dir() + "/steward";
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      int out = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int null = ::open("/dev/null", O_RDONLY);
      ::dup2(out, STDOUT_FILENO);
      ::dup2(err, STDERR_FILENO);
      ::dup2(null, STDIN_FILENO);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      for (const char* name : {"STEWARD_DSN", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE",
                               "PGPASSWORD", "PGSERVICE"})
        ::unsetenv(name);
      for (const auto& e : env)
        ::putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> argv{const_cast<char*>(binary.c_str()), const_cast<char*>("status")};
      for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(binary.c_str(), argv.data());
      ::_exit(127);
    }
  }
  ~status_process() {
    if (pid_ > 0 && status_ < 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::unlink(out_.c_str());
    ::unlink(err_.c_str());
    ::rmdir(dir_.c_str());
  }
  status_process(const status_process&) = delete;
  status_process& operator=(const status_process&) = delete;

  /// The exit code (fails the test when it does not exit normally within the limit).
  int wait() {
    REQUIRE(wait_until([&] { return ::waitpid(pid_, &status_, WNOHANG) == pid_; }, 60s));
    REQUIRE(WIFEXITED(status_));
    return WEXITSTATUS(status_);
  }
  void signal(int sig) const { ::kill(pid_, sig); }
  std::string out() const { return read_file(out_); }
  std::string err() const { return read_file(err_); }

private:
  std::string dir_, out_, err_;
  pid_t pid_ = -1;
  int status_ = -1;
};

struct result {
  int code;
  std::string out;
  std::string err;
};

result run_status(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  status_process p{args, env};
  int code = p.wait();
  return {code, p.out(), p.err()};
}

json status_json(const std::string& dsn, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--json", "--dsn", dsn};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = run_status(args);
  INFO("stderr: " << r.err);
  REQUIRE(r.code == 0);
  REQUIRE(r.err.empty());
  return json::parse(r.out);
}

const json& job_by_id(const json& doc, std::int64_t id) {
  for (const auto& j : doc["jobs"])
    if (j["job_id"] == id)
      return j;
  FAIL("job " << id << " is not in " << doc.dump());
  throw std::logic_error("unreachable");
}

bool has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// get_rebalance_progress() as the cluster migrations define it, returning `rows`
/// (a VALUES list or a SELECT); replaces the real one if the migrations have it.
void stub_progress(pqxx::connection& c, const std::string& body) {
  execute(c, "CREATE OR REPLACE FUNCTION steward.get_rebalance_progress() "
             "RETURNS TABLE (sessionid integer, table_name regclass, shardid bigint, "
             "shard_size bigint, sourcename text, sourceport integer, targetname text, "
             "targetport integer, progress bigint, source_shard_size bigint, "
             "target_shard_size bigint, operation_type text, source_lsn pg_lsn, "
             "target_lsn pg_lsn, status text) LANGUAGE plpgsql AS $fn$ BEGIN " + body +
             "; END $fn$");
}

}  // namespace

TEST_CASE("steward status shows jobs a daemon finished or failed and one still scheduled",
          "[status]") {
  test_database db{"status_jobs"};
  pqxx::connection c{db.dsn()};
  execute(c, "CREATE TABLE t (v int)");
  submitted_job ok, bad;
  {
    daemon_process d{db.dsn(), "retry_delays_s = [0]\nmax_retries = 1"};
    ok = submit_job(c, {{"INSERT INTO t VALUES (1)"}, {"INSERT INTO t VALUES (2)", {0}}},
                    "two inserts");
    bad = submit_job(c, {{"SELECT 1/0"}}, "divides by zero");
    wait_job(c, ok.id);
    wait_job(c, bad.id);
    d.signal(SIGTERM);
    d.wait_exit();
  }
  auto waiting = submit_job(c, {{"SELECT 1"}, {"SELECT 2", {0}}}, "waits for a daemon");
  REQUIRE(job_state(c, ok.id) == "finished");
  REQUIRE(job_state(c, bad.id) == "failed");

  SECTION("as JSON") {
    auto doc = status_json(db.dsn());
    REQUIRE(doc["jobs"].size() == 3);
    CHECK(doc["hidden_terminal_jobs"] == 0);
    CHECK(doc["move_progress"]["available"] ==
          query_value<bool>(c, "SELECT to_regprocedure('steward.get_rebalance_progress()') "
                               "IS NOT NULL"));
    CHECK(doc["move_progress"]["error"].is_null());

    const auto& j1 = job_by_id(doc, ok.id);
    CHECK(j1["state"] == "finished");
    CHECK(j1["job_type"] == "test");
    CHECK(j1["description"] == "two inserts");
    CHECK(j1["started_at"].is_string());
    CHECK(j1["finished_at"].is_string());
    CHECK(j1["finished_at"].get<std::string>() >= j1["started_at"].get<std::string>());
    CHECK(j1["task_state_counts"] == json{{"done", 2}});
    REQUIRE(j1["tasks"].size() == 2);
    CHECK(j1["tasks"][0]["task_id"] == ok.tasks[0]);
    CHECK(j1["tasks"][0]["state"] == "done");
    CHECK(j1["tasks"][0]["command"] == "INSERT INTO t VALUES (1)");
    CHECK(j1["tasks"][1]["message"] == "INSERT 0 1\n");
    CHECK(j1["moves"] == json::array());

    const auto& j2 = job_by_id(doc, bad.id);
    CHECK(j2["state"] == "failed");
    CHECK(j2["task_state_counts"] == json{{"error", 1}});
    CHECK(j2["tasks"][0]["state"] == "error");
    CHECK(j2["tasks"][0]["retried"] == 2);
    CHECK_THAT(j2["tasks"][0]["message"].get<std::string>(), Catch::Contains("division by zero"));

    const auto& j3 = job_by_id(doc, waiting.id);
    CHECK(j3["state"] == "scheduled");
    CHECK(j3["started_at"].is_null());
    CHECK(j3["finished_at"].is_null());
    CHECK(j3["task_state_counts"] == json{{"runnable", 1}, {"blocked", 1}});
    CHECK(j3["tasks"][1]["state"] == "blocked");
  }

  SECTION("as text, with the connection string from STEWARD_DSN") {
    auto r = run_status({}, {"STEWARD_DSN=" + db.dsn()});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    auto id = [](std::int64_t v) { return std::to_string(v); };
    CHECK(has(r.out, "job " + id(ok.id) + "  test  finished\n  two inserts\n  started "));
    CHECK(has(r.out, "tasks: done 2\n"));
    CHECK(has(r.out, "job " + id(bad.id) + "  test  failed\n"));
    auto message = query_value<std::string>(
      c, "SELECT split_part(message, E'\\n', 1) FROM steward.pg_dist_background_task "
         "WHERE task_id = " + id(bad.tasks[0]));
    CHECK_THAT(message, Catch::Contains("division by zero"));
    CHECK(has(r.out, "tasks: error 1\n  task " + id(bad.tasks[0]) + " error, retried 2: " +
                     message + "\n"));
    CHECK(has(r.out, "job " + id(waiting.id) + "  test  scheduled\n  waits for a daemon\n"
                     "  not started yet\n  tasks: runnable 1, blocked 1\n"));
    CHECK_FALSE(has(r.out, "moves"));  // no rebalance
    CHECK_FALSE(has(r.out, "\x1b["));   // not a terminal: no escape codes
  }
}

TEST_CASE("steward status shows the last five terminal jobs unless --all", "[status]") {
  test_database db{"status_recent"};
  pqxx::connection c{db.dsn()};
  execute(c, "INSERT INTO steward.pg_dist_background_job (job_type, description, state, started_at, "
             "finished_at) SELECT 'test', '', (ARRAY['finished', 'failed', 'cancelled'])[1 + g % 3]::steward.citus_job_status, "
             "now(), now() FROM generate_series(1, 7) g");
  execute(c, "INSERT INTO steward.pg_dist_background_job (job_type, description) VALUES ('test', '')");
  auto ids = [](const json& doc) {
    std::vector<std::int64_t> out;
    for (const auto& j : doc["jobs"])
      out.push_back(j["job_id"].get<std::int64_t>());
    return out;
  };
  auto first = query_value<std::int64_t>(c, "SELECT min(job_id) FROM steward.pg_dist_background_job");
  auto doc = status_json(db.dsn());
  CHECK(ids(doc) == std::vector<std::int64_t>{first + 2, first + 3, first + 4, first + 5,
                                              first + 6, first + 7});
  CHECK(doc["hidden_terminal_jobs"] == 2);
  auto all = status_json(db.dsn(), {"--all"});
  CHECK(all["jobs"].size() == 8);
  CHECK(all["hidden_terminal_jobs"] == 0);

  auto text = run_status({"--dsn", db.dsn()});
  CHECK(text.code == 0);
  CHECK(has(text.out, "\n2 older finished, failed or cancelled jobs not shown (--all shows them)\n"));
  CHECK_FALSE(has(text.out, "job " + std::to_string(first + 1) + " "));
}

TEST_CASE("steward status shows the running moves of a rebalance from get_rebalance_progress",
          "[status]") {
  test_database db{"status_moves"};
  pqxx::connection c{db.dsn()};
  // A rebalance as the rebalancer schedules it, caught while two moves run (no daemon:
  // the rows are set as a running daemon would leave them).
  auto job = query_value<std::int64_t>(
    c, "INSERT INTO steward.pg_dist_background_job (job_type, description, state, started_at) "
       "VALUES ('rebalance', 'Rebalance all colocation groups', 'running', now()) RETURNING job_id");
  auto task = [&](std::int64_t shard, const std::string& status, const std::string& pid) {
    return query_value<std::int64_t>(
      c, "INSERT INTO steward.pg_dist_background_task (job_id, command, owner, status, pid) VALUES (" +
           std::to_string(job) + ", 'SELECT steward.citus_move_shard_placement(" +
           std::to_string(shard) + ", 2, 4, ''auto'')', CURRENT_USER::regrole, '" + status +
           "', " + pid + ") RETURNING task_id");
  };
  auto done = task(102007, "done", "NULL");
  auto first = task(102008, "running", "70001");
  auto second = task(102009, "running", "70002");
  task(102010, "runnable", "NULL");
  (void)done;
  stub_progress(c, "RETURN QUERY VALUES "
                   "(70001, 'pg_class'::regclass, 102008::bigint, 0::bigint, 'w1', 5432, 'w3', 5433,"
                   " 1::bigint, 8000000::bigint, 4000000::bigint, 'move', '0/10'::pg_lsn, '0/8'::pg_lsn,"
                   " 'Copying Data'),"
                   "(70001, 'pg_class'::regclass, 102040::bigint, 0::bigint, 'w1', 5432, 'w3', 5433,"
                   " 1::bigint, 2000000::bigint, 1000000::bigint, 'move', '0/10'::pg_lsn, '0/8'::pg_lsn,"
                   " 'Copying Data'),"
                   "(70002, 'pg_class'::regclass, 102009::bigint, 0::bigint, 'w2', 5432, 'w4', 5433,"
                   " 1::bigint, 30000000000::bigint, 30000000000::bigint, 'move', '0/10'::pg_lsn,"
                   " '0/10'::pg_lsn, 'Completing')");

  auto doc = status_json(db.dsn());
  CHECK(doc["move_progress"] == json{{"available", true}, {"error", nullptr}});
  const auto& j = job_by_id(doc, job);
  CHECK(j["move_counts"] == json{{"done", 1}, {"total", 4}});
  REQUIRE(j["moves"].size() == 2);
  CHECK(j["moves"][0] == json{{"task_id", first},
                              {"shardid", 102008},
                              {"shards", {102008, 102040}},
                              {"table_name", "pg_class"},
                              {"phase", "Copying Data"},
                              {"source", "w1:5432"},
                              {"target", "w3:5433"},
                              {"source_size", 10000000},
                              {"target_size", 5000000}});
  CHECK(j["moves"][1]["task_id"] == second);
  CHECK(j["moves"][1]["phase"] == "Completing");

  auto text = run_status({"--dsn", db.dsn()});
  INFO(text.out << text.err);
  REQUIRE(text.code == 0);
  CHECK(has(text.out, "  moves [#######-----------------------]  25%  1/4 done, 2 running\n"));
  CHECK(has(text.out, "    shard 102008 (task " + std::to_string(first) +
                        ")  [##########----------]  50%  4883 kB / 9766 kB  Copying Data  "
                        "w1:5432 \u2192 w3:5433\n"));
  CHECK(has(text.out, "    shard 102009 (task " + std::to_string(second) +
                        ")  [####################] 100%  28 GB / 28 GB      Completing    "
                        "w2:5432 \u2192 w4:5433\n"));

  SECTION("a failing progress function costs only the progress") {
    stub_progress(c, "RAISE EXCEPTION 'connection to the remote node w9:5432 failed'");
    auto failed = status_json(db.dsn());
    CHECK(failed["move_progress"]["available"] == true);
    CHECK_THAT(failed["move_progress"]["error"].get<std::string>(),
               Catch::Contains("connection to the remote node w9:5432 failed"));
    CHECK(job_by_id(failed, job)["moves"] == json::array());
    CHECK(job_by_id(failed, job)["task_state_counts"] ==
          json{{"done", 1}, {"running", 2}, {"runnable", 1}});
    auto t = run_status({"--dsn", db.dsn()});
    CHECK(t.code == 0);
    CHECK(has(t.out, "(shard move progress unavailable: ERROR:  connection to the remote node "
                     "w9:5432 failed)\n"));
  }
}

TEST_CASE("steward status formats sizes exactly as pg_size_pretty does", "[status]") {
  test_database db{"status_sizes"};
  pqxx::connection c{db.dsn()};
  pqxx::nontransaction n{c};
  // Every unit boundary and its neighbours, both signs, and the int64 extremes.
  auto rows = n.exec(
    "WITH b AS (SELECT (1::numeric * 1024 ^ k * m + d) AS v FROM generate_series(0, 5) k,"
    "           unnest(ARRAY[1, 10, 20, 512, 1000]) m, generate_series(-2, 2) d)"
    "SELECT s, pg_size_pretty(s) FROM ("
    "  SELECT v::bigint AS s FROM b WHERE abs(v) < 9223372036854775807"
    "  UNION SELECT -v::bigint FROM b WHERE abs(v) < 9223372036854775807"
    "  UNION VALUES (0::bigint), (9223372036854775807), (-9223372036854775807 - 1)) x");
  REQUIRE(rows.size() > 250);
  for (const auto& r : rows) {
    auto size = r[0].as<std::int64_t>();
    INFO("size " << size);
    CHECK(steward::model::format_bytes(size) == r[1].as<std::string>());
  }
}

TEST_CASE("steward status fails clearly without a server or without the schema", "[status]") {
  SECTION("an unreachable server, its password never printed") {
    auto r = run_status({"--dsn", "host=127.0.0.1 port=1 dbname=x password=Sup3rSecret"});
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    CHECK(has(r.err, "steward status: cannot connect to "));
    CHECK_FALSE(has(r.err, "Sup3rSecret"));
    auto json_mode = run_status({"--json", "--watch"},
                                {"STEWARD_DSN=postgresql://u:Sup3rSecret@127.0.0.1:1/x"});
    CHECK(json_mode.code == 1);
    CHECK(json_mode.out.empty());
    CHECK_FALSE(has(json_mode.err, "Sup3rSecret"));
  }
  SECTION("a database without the steward schema") {
    test_database db{"status_noschema"};
    pqxx::connection c{db.dsn()};
    execute(c, "DROP SCHEMA steward CASCADE");
    auto r = run_status({"--dsn", db.dsn()});
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    CHECK(has(r.err, "has no steward schema: run `steward init --dsn DSN` first"));
  }
}

TEST_CASE("steward status --watch redraws until interrupted", "[status]") {
  test_database db{"status_watch"};
  pqxx::connection c{db.dsn()};
  auto job = submit_job(c, {{"SELECT 1"}}, "watched");

  SECTION("JSON: one document per line") {
    status_process p{{"--watch", "--json", "--interval", "50", "--dsn", db.dsn()}};
    REQUIRE(wait_until([&] { return occurrences(p.out(), "\n") >= 3; }));
    // A change shows up in a later document.
    execute(c, "UPDATE steward.pg_dist_background_job SET description = 'changed'");
    REQUIRE(wait_until([&] { return has(p.out(), "\"description\":\"changed\""); }));
    p.signal(SIGINT);
    CHECK(p.wait() == 0);
    std::istringstream lines(p.out());
    std::string line;
    int documents = 0;
    while (std::getline(lines, line)) {
      auto doc = json::parse(line);
      CHECK(doc["jobs"][0]["job_id"] == job.id);
      ++documents;
    }
    CHECK(documents >= 4);
  }
  SECTION("text: frames with a header, no escape codes when not on a terminal") {
    status_process p{{"--watch", "--interval", "50", "--dsn", db.dsn()}};
    REQUIRE(wait_until([&] { return occurrences(p.out(), "steward status at ") >= 2; }));
    p.signal(SIGTERM);
    CHECK(p.wait() == 0);
    CHECK(has(p.out(), "(every 50 ms, Ctrl-C ends)\n\njob " + std::to_string(job.id) +
                         "  test  scheduled\n"));
    CHECK_FALSE(has(p.out(), "\x1b["));
  }
}

TEST_CASE("steward status --watch keeps going through a server restart", "[status][faults]") {
  private_server server;
  status_process p{{"--watch", "--json", "--interval", "50", "--dsn", server.dsn()}};
  REQUIRE(wait_until([&] { return occurrences(p.out(), "\n") >= 1; }));
  server.restart();
  auto before = occurrences(p.out(), "\n");
  // A document read after the restart: the reader reconnected by itself.
  REQUIRE(wait_until([&] {
    auto out = p.out();
    out.erase(out.rfind('\n') + 1);  // only complete lines
    std::istringstream lines(out);
    std::string line;
    for (int i = 0; std::getline(lines, line); ++i)
      if (i >= before && json::parse(line).contains("jobs"))
        return true;
    return false;
  }));
  p.signal(SIGINT);
  CHECK(p.wait() == 0);
  std::istringstream lines(p.out());
  std::string line;
  while (std::getline(lines, line)) {  // each line a document or an error document
    auto doc = json::parse(line);
    CHECK((doc.contains("jobs") || doc["error"].is_string()));
  }
}
