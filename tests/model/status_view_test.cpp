#include <catch2/catch.hpp>

#include "model/status_view.hpp"

#include <nlohmann/json.hpp>

#include <string>

using namespace steward::model;

namespace {

constexpr epoch_ms t0 = 1780000000000;  // 2026-05-28 20:26:40 UTC

status_task task(task_id id, task_state state, bool move = true) {
  status_task t;
  t.id = id;
  t.state = state;
  t.is_move = move;
  t.command = move ? "SELECT citus_move_shard_placement(" + std::to_string(id) + ", 1, 2)" : "x";
  return t;
}

move_progress_row row(std::int32_t session, std::int64_t shard, std::int64_t source,
                      std::int64_t target, std::string phase, std::string from = "w1",
                      std::string to = "w3") {
  move_progress_row r;
  r.sessionid = session;
  r.table_name = "orders";
  r.shardid = shard;
  r.sourcename = std::move(from);
  r.sourceport = 5432;
  r.targetname = std::move(to);
  r.targetport = 5433;
  r.source_shard_size = source;
  r.target_shard_size = target;
  r.operation_type = "move";
  r.status = std::move(phase);
  return r;
}

/// A rebalance of six moves: 2 done, 2 running (pids 701, 702), 1 runnable, 1 blocked,
/// and a reference-table copy that failed once and waits for its retry.
status_snapshot rebalance_with_two_running_moves() {
  status_snapshot s;
  s.now = t0 + 125'000;
  s.progress_available = true;
  status_job j;
  j.job.id = 7;
  j.job.state = job_state::running;
  j.job.job_type = "rebalance";
  j.job.description = "Rebalance all colocation groups";
  j.job.started_at = t0;
  j.tasks = {task(21, task_state::done), task(22, task_state::done),
             task(23, task_state::running), task(24, task_state::running),
             task(25, task_state::runnable), task(26, task_state::blocked)};
  j.tasks[2].pid = 701;
  j.tasks[3].pid = 702;
  auto copy = task(27, task_state::runnable, false);
  copy.retried = 1;
  copy.not_before = t0 + 185'000;
  copy.message = "ERROR:  could not connect to worker w2\nDETAIL: refused";
  j.tasks.push_back(copy);
  s.jobs.push_back(j);
  s.progress = {row(701, 102008, 8'000'000, 4'200'000, "Copying Data"),
                row(701, 102040, 2'000'000, 0, "Copying Data"),
                row(702, 102009, 30'000'000'000, 29'000'000'000, "Final Catchup", "w2", "w4"),
                row(999, 102010, 5, 5, "Completing")};  // another backend's move
  return s;
}

}  // namespace

TEST_CASE("format_bytes matches pg_size_pretty at the unit boundaries") {
  CHECK(format_bytes(0) == "0 bytes");
  CHECK(format_bytes(1) == "1 bytes");
  CHECK(format_bytes(10239) == "10239 bytes");
  CHECK(format_bytes(10240) == "10 kB");
  CHECK(format_bytes(10751) == "10 kB");
  CHECK(format_bytes(10752) == "11 kB");
  CHECK(format_bytes(1000000) == "977 kB");
  CHECK(format_bytes(10485247) == "10239 kB");
  CHECK(format_bytes(10485248) == "10 MB");
  CHECK(format_bytes(1000000000) == "954 MB");
  CHECK(format_bytes(10736893952) == "10 GB");
  CHECK(format_bytes(1000000000000) == "931 GB");
  CHECK(format_bytes(10994579406848) == "10 TB");
  CHECK(format_bytes(11258449312612352) == "10 PB");
  CHECK(format_bytes(9223372036854775807) == "8192 PB");
  CHECK(format_bytes(-10240) == "-10 kB");
  CHECK(format_bytes(-9223372036854775807 - 1) == "-8192 PB");
}

TEST_CASE("progress_bar fills done/total of its width and clamps") {
  CHECK(progress_bar(0, 10, 10) == "[----------]");
  CHECK(progress_bar(5, 10, 10) == "[#####-----]");
  CHECK(progress_bar(1, 3, 20) == "[######--------------]");
  CHECK(progress_bar(10, 10, 10) == "[##########]");
  CHECK(progress_bar(15, 10, 10) == "[##########]");  // a target larger than its source
  CHECK(progress_bar(9, 10, 4) == "[###-]");          // never full before done
  CHECK(progress_bar(3, 0, 5) == "[-----]");
  CHECK(progress_bar(-3, 10, 5) == "[-----]");
  CHECK(progress_bar(29'000'000'000, 30'000'000'000, 20) == "[###################-]");
  CHECK(percent(1, 3) == 33);
  CHECK(percent(99, 100) == 99);
  CHECK(percent(150, 100) == 100);
  CHECK(percent(5, 0) == 0);
}

TEST_CASE("times are shown in UTC and durations briefly") {
  CHECK(format_time_utc(0) == "1970-01-01 00:00:00 UTC");
  CHECK(format_time_utc(t0 + 999) == "2026-05-28 20:26:40 UTC");
  CHECK(format_time_utc(-1) == "1969-12-31 23:59:59 UTC");
  CHECK(format_iso8601(1709164800123) == "2024-02-29T00:00:00.123Z");
  CHECK(format_iso8601(951782400000) == "2000-02-29T00:00:00.000Z");
  CHECK(format_duration(-5) == "0s");
  CHECK(format_duration(45'999) == "45s");
  CHECK(format_duration(125'000) == "2m05s");
  CHECK(format_duration(3 * 3'600'000 + 7 * 60'000) == "3h07m");
  CHECK(format_duration(2 * 86'400'000 + 4 * 3'600'000) == "2d04h");
}

TEST_CASE("task state counts list the present states in a fixed order") {
  CHECK(task_state_counts_text({}) == "no tasks");
  std::vector<status_task> tasks{task(1, task_state::blocked), task(2, task_state::done),
                                 task(3, task_state::runnable), task(4, task_state::blocked),
                                 task(5, task_state::running), task(6, task_state::error),
                                 task(7, task_state::done)};
  CHECK(task_state_counts_text(tasks) == "done 2, running 1, runnable 1, blocked 2, error 1");
}

TEST_CASE("failures are errored tasks and retried ones not yet terminal") {
  auto t = task(1, task_state::error);
  CHECK(is_failure(t));
  t = task(2, task_state::runnable);
  CHECK_FALSE(is_failure(t));
  t.retried = 2;
  CHECK(is_failure(t));
  t.state = task_state::done;
  CHECK_FALSE(is_failure(t));
  CHECK(first_line("ERROR:  boom  \nDETAIL: more") == "ERROR:  boom");
  CHECK(first_line("") == "");
}

TEST_CASE("moves_of groups the progress rows of each running task's backend") {
  auto s = rebalance_with_two_running_moves();
  auto moves = moves_of(s.jobs[0], s.progress);
  REQUIRE(moves.size() == 2);
  CHECK(moves[0].task == 23);
  CHECK(moves[0].shardid == 102008);
  CHECK(moves[0].shards == std::vector<std::int64_t>{102008, 102040});
  CHECK(moves[0].source_size == 10'000'000);
  CHECK(moves[0].target_size == 4'200'000);
  CHECK(moves[0].phase == "Copying Data");
  CHECK(moves[0].source == "w1:5432");
  CHECK(moves[0].target == "w3:5433");
  CHECK(moves[1].task == 24);
  CHECK(moves[1].phase == "Final Catchup");
  CHECK(moves[1].source == "w2:5432");

  // A running task without progress yet, or a done one with a stale pid, has no move.
  s.jobs[0].tasks[2].pid = 555;
  s.jobs[0].tasks[0].pid = 702;
  moves = moves_of(s.jobs[0], s.progress);
  REQUIRE(moves.size() == 1);
  CHECK(moves[0].task == 24);
}

TEST_CASE("a rebalance with two running moves shows a bar per move and one for the job") {
  auto text = render_text(rebalance_with_two_running_moves());
  CHECK(text ==
        "job 7  rebalance  running\n"
        "  Rebalance all colocation groups\n"
        "  started 2026-05-28 20:26:40 UTC (2m05s ago)\n"
        "  tasks: done 2, running 2, runnable 2, blocked 1\n"
        "  moves [##########--------------------]  33%  2/6 done, 2 running\n"
        "    shard 102008 (task 23)  [########------------]  42%  4102 kB / 9766 kB  Copying Data "
        "  w1:5432 \u2192 w3:5433\n"
        "    shard 102009 (task 24)  [###################-]  96%  27 GB / 28 GB      Final Catchup"
        "  w2:5432 \u2192 w4:5433\n"
        "  task 27 runnable, retried 1, next try in 1m00s: ERROR:  could not connect to worker w2\n");
}

TEST_CASE("jobs that are not rebalances show no move bar, terminal jobs their duration") {
  status_snapshot s;
  s.now = t0 + 10'000'000;
  status_job done;
  done.job.id = 3;
  done.job.state = job_state::finished;
  done.job.job_type = "test";
  done.job.started_at = t0;
  done.job.finished_at = t0 + 62'000;
  done.tasks = {task(1, task_state::done, false)};
  status_job failed;
  failed.job.id = 4;
  failed.job.state = job_state::failed;
  failed.job.job_type = "test";
  failed.job.description = "two\nlines";
  failed.job.started_at = t0;
  failed.job.finished_at = t0 + 1000;
  failed.tasks = {task(2, task_state::error, false)};
  failed.tasks[0].retried = 2;
  failed.tasks[0].message = "ERROR:  division by zero\n";
  status_job waiting;
  waiting.job.id = 5;
  waiting.job.job_type = "test";
  s.jobs = {done, failed, waiting};
  s.hidden_terminal_jobs = 1;
  CHECK(render_text(s) ==
        "job 3  test  finished\n"
        "  started 2026-05-28 20:26:40 UTC, finished 2026-05-28 20:27:42 UTC (took 1m02s)\n"
        "  tasks: done 1\n"
        "\n"
        "job 4  test  failed\n"
        "  two\n"
        "  started 2026-05-28 20:26:40 UTC, finished 2026-05-28 20:26:41 UTC (took 1s)\n"
        "  tasks: error 1\n"
        "  task 2 error, retried 2: ERROR:  division by zero\n"
        "\n"
        "job 5  test  scheduled\n"
        "  not started yet\n"
        "  tasks: no tasks\n"
        "\n"
        "1 older finished, failed or cancelled job not shown (--all shows them)\n");
}

TEST_CASE("an empty catalog says so, and a failing progress function is reported") {
  status_snapshot s;
  CHECK(render_text(s) == "no jobs\n");
  s.progress_available = true;
  s.progress_error = "ERROR:  connection to worker failed\nCONTEXT: ...";
  CHECK(render_text(s) ==
        "(shard move progress unavailable: ERROR:  connection to worker failed)\n\nno jobs\n");
}

TEST_CASE("the JSON document carries jobs, counts, tasks and moves") {
  auto s = rebalance_with_two_running_moves();
  s.jobs[0].job.description = "quote \" backslash \\ newline \n tab \t";
  auto doc = nlohmann::json::parse(render_json(s));
  CHECK(doc["now"] == "2026-05-28T20:28:45.000Z");
  CHECK(doc["hidden_terminal_jobs"] == 0);
  CHECK(doc["move_progress"] == nlohmann::json{{"available", true}, {"error", nullptr}});
  REQUIRE(doc["jobs"].size() == 1);
  const auto& j = doc["jobs"][0];
  CHECK(j["job_id"] == 7);
  CHECK(j["state"] == "running");
  CHECK(j["job_type"] == "rebalance");
  CHECK(j["description"] == s.jobs[0].job.description);
  CHECK(j["started_at"] == "2026-05-28T20:26:40.000Z");
  CHECK(j["finished_at"].is_null());
  CHECK(j["task_state_counts"] ==
        nlohmann::json{{"done", 2}, {"running", 2}, {"runnable", 2}, {"blocked", 1}});
  CHECK(j["move_counts"] == nlohmann::json{{"done", 2}, {"total", 6}});
  REQUIRE(j["tasks"].size() == 7);
  CHECK(j["tasks"][2]["task_id"] == 23);
  CHECK(j["tasks"][2]["pid"] == 701);
  CHECK(j["tasks"][0]["pid"].is_null());
  CHECK(j["tasks"][6]["retried"] == 1);
  CHECK(j["tasks"][6]["is_move"] == false);
  CHECK(j["tasks"][6]["not_before"] == "2026-05-28T20:29:45.000Z");
  CHECK(j["tasks"][6]["message"] == s.jobs[0].tasks[6].message);
  REQUIRE(j["moves"].size() == 2);
  CHECK(j["moves"][0] == nlohmann::json{{"task_id", 23},
                                        {"shardid", 102008},
                                        {"shards", {102008, 102040}},
                                        {"table_name", "orders"},
                                        {"phase", "Copying Data"},
                                        {"source", "w1:5432"},
                                        {"target", "w3:5433"},
                                        {"source_size", 10'000'000},
                                        {"target_size", 4'200'000}});
  CHECK(j["moves"][1]["source_size"] == 30'000'000'000);
  CHECK(render_json(s).find('\n') == std::string::npos);  // one line
}

TEST_CASE("the JSON error document is an object with the message") {
  auto doc = nlohmann::json::parse(render_json_error("cannot connect to \"host=x\"\n"));
  CHECK(doc == nlohmann::json{{"error", "cannot connect to \"host=x\"\n"}});
}
