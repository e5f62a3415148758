#include "tests/actors/fixture.hpp"

#include <csignal>

using namespace steward;
using namespace steward::test;

namespace {

/// What a fake job actor saw from its proxy.
struct parent_log {
  std::vector<std::pair<model::task_id, std::int32_t>> started;
  std::vector<task_outcome> finished;
};

job_actor::behavior_type fake_parent(job_actor::pointer, std::shared_ptr<parent_log> log) {
  return {
    [](atom::run, model::task_record& t, run_options&) -> caf::result<task_end> {
      return task_end{t.id, false, t.status};
    },
    [log](atom::started, model::task_id t, std::int32_t pid) { log->started.emplace_back(t, pid); },
    [log](atom::finished, task_outcome& o) { log->finished.push_back(o); },
    [](atom::cancel) {},
    [](atom::shutdown) {},
    [](atom::kill) {},
    [](atom::abandon) {},
  };
}

struct proxy_fixture : deterministic_fixture {
  channel_registry channels;
  std::shared_ptr<fake_launcher> launcher = std::make_shared<fake_launcher>(&channels);
  std::shared_ptr<parent_log> log = std::make_shared<parent_log>();
  job_actor parent = sys.spawn(fake_parent, log);
  std::shared_ptr<executor_environment> env = [this] {
    auto e = std::make_shared<executor_environment>();
    e->launcher = launcher;
    e->open_channel = channels.factory();
    e->executable = "/opt/steward/bin/steward-executor";
    e->dsn = "host=db dbname=steward password=secret";
    return e;
  }();

  model::task_record task() {
    model::task_record t;
    t.job = 3;
    t.id = 7;
    t.owner = "alice";
    t.status = model::task_state::running;
    t.command = "INSERT INTO t VALUES (1)";
    return t;
  }

  executor_proxy_actor spawn_proxy(run_options opts = {}) {
    auto p = sys.spawn(executor_proxy, parent, task(), opts,
                       std::shared_ptr<const executor_environment>(env));
    run();
    return p;
  }

  ~proxy_fixture() { caf::anon_send_exit(parent, caf::exit_reason::user_shutdown); }
};

}  // namespace

TEST_CASE_METHOD(proxy_fixture, "proxy launches the executor with channel, ids and owner; the dsn "
                                "travels in the environment") {
  auto aut = spawn_proxy();
  REQUIRE(launcher->launched.size() == 1);
  const auto& req = launcher->launched[0];
  CHECK(req.executable == "/opt/steward/bin/steward-executor");
  CHECK(req.args == std::vector<std::string>{"--channel", "/steward.test.7", "--job", "3", "--task",
                                             "7", "--owner", "alice"});
  CHECK(req.env.at("STEWARD_EXECUTOR_DSN") == "host=db dbname=steward password=secret");
  for (const auto& a : req.args)
    CHECK(a.find("secret") == std::string::npos);
  caf::anon_send_exit(aut, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(proxy_fixture, "proxy records the pid, builds the message and reports success") {
  auto aut = spawn_proxy();
  auto pid = launcher->pids.at(0);
  auto& ch = *channels.channels.at(7);
  ch.frames.push_back(model::started_frame{4242});
  advance(std::chrono::milliseconds(2));
  REQUIRE(log->started.size() == 1);
  CHECK(log->started[0] == std::make_pair(model::task_id{7}, std::int32_t{4242}));
  CHECK(log->finished.empty());

  ch.frames.push_back(model::notice_frame{"NOTICE", "hello", "", "", ""});
  ch.frames.push_back(model::command_complete_frame{"INSERT 0 1"});
  ch.frames.push_back(model::finished_frame{});
  launcher->exits[pid] = exited_with(0);
  advance(std::chrono::milliseconds(2));
  REQUIRE(log->finished.size() == 1);
  CHECK(log->finished[0].task == 7);
  CHECK(log->finished[0].kind == outcome_kind::succeeded);
  CHECK(log->finished[0].message == "NOTICE: hello\nINSERT 0 1\n");
  CHECK(log->started.size() == 1);  // the pid is reported once
  CHECK(launcher->reaped == std::vector<int>{pid});
}

TEST_CASE_METHOD(proxy_fixture, "proxy reports an executor error with its message") {
  auto aut = spawn_proxy();
  auto& ch = *channels.channels.at(7);
  ch.frames.push_back(model::started_frame{4242});
  ch.frames.push_back(model::error_frame{"22012", "ERROR", "division by zero", "", "",
                                         "Steward Background Task Executor"});
  launcher->exits[launcher->pids.at(0)] = exited_with(1);
  advance(std::chrono::milliseconds(2));
  REQUIRE(log->finished.size() == 1);
  CHECK(log->finished[0].kind == outcome_kind::failed);
  CHECK(log->finished[0].message
        == "ERROR: division by zero\nCONTEXT: Steward Background Task Executor\n");
}

TEST_CASE_METHOD(proxy_fixture, "proxy turns a child crash into a failed attempt") {
  auto aut = spawn_proxy();
  auto& ch = *channels.channels.at(7);
  ch.frames.push_back(model::started_frame{4242});
  ch.frames.push_back(model::command_complete_frame{"SELECT 1"});
  launcher->exits[launcher->pids.at(0)] = killed_by(SIGKILL);
  advance(std::chrono::milliseconds(2));
  REQUIRE(log->finished.size() == 1);
  CHECK(log->finished[0].kind == outcome_kind::crashed);
  CHECK(log->finished[0].message.rfind("SELECT 1\nsteward-executor killed by signal 9", 0) == 0);
}

TEST_CASE_METHOD(proxy_fixture, "proxy turns a launch failure into a failed attempt") {
  launcher->fail = true;
  auto aut = spawn_proxy();
  REQUIRE(log->finished.size() == 1);
  CHECK(log->finished[0].kind == outcome_kind::crashed);
  CHECK(log->finished[0].message.find("No such file or directory") != std::string::npos);
}

TEST_CASE_METHOD(proxy_fixture, "proxy drops malformed channel data and keeps going") {
  auto aut = spawn_proxy();
  auto& ch = *channels.channels.at(7);
  ch.pending_error = "unknown frame type 99";
  ch.frames.push_back(model::finished_frame{});
  launcher->exits[launcher->pids.at(0)] = exited_with(0);
  advance(std::chrono::milliseconds(2));
  REQUIRE(log->finished.size() == 1);
  CHECK(log->finished[0].kind == outcome_kind::succeeded);
}

TEST_CASE_METHOD(proxy_fixture, "proxy sends SIGINT on cancel, once") {
  auto aut = spawn_proxy();
  auto pid = launcher->pids.at(0);
  self->send(aut, atom::cancel_v);
  self->send(aut, atom::cancel_v);
  run();
  CHECK(launcher->signals == std::vector<std::pair<int, int>>{{pid, SIGINT}});
  channels.channels.at(7)->frames.push_back(
    model::error_frame{"57014", "ERROR", "canceling statement due to user request", "", "", ""});
  launcher->exits[pid] = exited_with(1);
  advance(std::chrono::milliseconds(2));
  REQUIRE(log->finished.size() == 1);
  CHECK(log->finished[0].kind == outcome_kind::failed);
}

TEST_CASE_METHOD(proxy_fixture, "proxy terminates on shutdown and kills after the grace period") {
  run_options opts;
  opts.terminate_grace_ms = 50;
  auto aut = spawn_proxy(opts);
  auto pid = launcher->pids.at(0);
  self->send(aut, atom::shutdown_v);
  run();
  CHECK(launcher->signals == std::vector<std::pair<int, int>>{{pid, SIGTERM}});
  advance(std::chrono::milliseconds(49));
  CHECK(launcher->signals.size() == 1);
  advance(std::chrono::milliseconds(2));
  CHECK(launcher->signals == std::vector<std::pair<int, int>>{{pid, SIGTERM}, {pid, SIGKILL}});
  launcher->exits[pid] = killed_by(SIGKILL);
  advance(std::chrono::milliseconds(5));
  REQUIRE(log->finished.size() == 1);
  CHECK(log->finished[0].kind == outcome_kind::shut_down);
  CHECK(log->finished[0].message.find("coordinator shut down") != std::string::npos);
}

TEST_CASE_METHOD(proxy_fixture, "proxy keeps a task that finished before the terminate as succeeded") {
  auto aut = spawn_proxy();
  auto pid = launcher->pids.at(0);
  self->send(aut, atom::shutdown_v);
  run();
  auto& ch = *channels.channels.at(7);
  ch.frames.push_back(model::command_complete_frame{"SELECT 1"});
  ch.frames.push_back(model::finished_frame{});
  launcher->exits[pid] = exited_with(0);
  advance(std::chrono::milliseconds(2));
  REQUIRE(log->finished.size() == 1);
  CHECK(log->finished[0].kind == outcome_kind::succeeded);
}
