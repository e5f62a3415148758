#include "tests/actors/fixture.hpp"

#include "actors/job.hpp"

using namespace steward;
using namespace steward::test;
using model::task_state;

namespace {

/// What the fake proxies of a test received.
struct proxy_log {
  std::vector<model::task_id> spawned;
  std::vector<std::pair<model::task_id, std::string>> received;  ///< (task, "cancel"/"shutdown")
};

executor_proxy_actor::behavior_type fake_proxy(executor_proxy_actor::pointer self,
                                               model::task_id task,
                                               std::shared_ptr<proxy_log> log) {
  log->spawned.push_back(task);
  return {
    [=](atom::cancel) { log->received.emplace_back(task, "cancel"); },
    [=](atom::shutdown) { log->received.emplace_back(task, "shutdown"); },
    [=](atom::kill) { log->received.emplace_back(task, "kill"); },
    [=](atom::internal, atom::poll) {},
    [=](atom::internal, atom::kill) { self->quit(); },
  };
}

struct job_fixture : deterministic_fixture {
  memory_job_store store;
  std::shared_ptr<memory_job_store> store_ptr{&store, [](memory_job_store*) {}};
  catalog_actor cat = sys.spawn(catalog, store_factory{[this] {
                                  return std::shared_ptr<model::job_store>(store_ptr);
                                }});
  std::shared_ptr<proxy_log> proxies = std::make_shared<proxy_log>();
  std::vector<executor_proxy_actor> proxy_handles;
  std::shared_ptr<job_environment> env = [this] {
    auto e = std::make_shared<job_environment>();
    e->catalog = cat;
    e->now = clock();
    e->spawn_proxy = [this](caf::actor_system& sys, job_actor, const model::task_record& t,
                            const run_options&) {
      auto p = sys.spawn(fake_proxy, t.id, proxies);
      proxy_handles.push_back(p);
      return p;
    };
    return e;
  }();

  job_actor spawn_job(model::job_id id) {
    auto j = sys.spawn(job, id, std::shared_ptr<const job_environment>(env));
    run();
    return j;
  }

  run_options options(std::vector<int> delays = {5}, int max_retries = 32) {
    run_options o;
    o.retry.delays_s = std::move(delays);
    o.retry.max_retries = max_retries;
    return o;
  }

  pending_reply<task_end> start(const job_actor& j, model::task_id t, run_options o = {}) {
    auto r = ask<task_end>(sys, j, atom::run_v, store.task(t), o);
    run();
    return r;
  }

  void finish(const job_actor& j, model::task_id t, outcome_kind kind, std::string message) {
    self->send(j, atom::finished_v, task_outcome{t, kind, std::move(message)});
    run();
  }

  ~job_fixture() {
    for (auto& p : proxy_handles)
      caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(cat, caf::exit_reason::user_shutdown);
    run();
  }
};

}  // namespace

TEST_CASE_METHOD(job_fixture, "job actor marks a picked task running, records the pid and the job "
                              "start") {
  auto j = store.add_job();
  auto t = store.add_task(j, "SELECT 1");
  auto aut = spawn_job(j);
  auto reply = start(aut, t);
  CHECK_FALSE(reply.ready());  // the reply comes when the attempt is over
  CHECK(proxies->spawned == std::vector<model::task_id>{t});
  CHECK(store.task(t).status == task_state::running);
  CHECK_FALSE(store.task(t).pid.has_value());
  CHECK(store.job(j).state == model::job_state::running);
  CHECK(store.job(j).started_at.has_value());

  self->send(aut, atom::started_v, t, std::int32_t{4242});
  run();
  CHECK(store.task(t).pid == 4242);
  CHECK(store.task(t).status == task_state::running);

  finish(aut, t, outcome_kind::succeeded, "SELECT 1\n");
  REQUIRE(reply.ready());
  CHECK(reply.get().started);
  CHECK(reply.get().state == task_state::done);
  CHECK(store.task(t).status == task_state::done);
  CHECK_FALSE(store.task(t).pid.has_value());
  CHECK(store.task(t).message == "SELECT 1\n");
  CHECK(store.job(j).state == model::job_state::finished);
  CHECK(store.job(j).finished_at.has_value());
}

TEST_CASE_METHOD(job_fixture, "job actor does not start a task whose guarded write fails") {
  auto j = store.add_job();
  auto t = store.add_task(j, "SELECT 1");
  auto aut = spawn_job(j);
  auto record = store.task(t);
  store.cancel_job(j);  // cancelled after the supervisor read it as runnable
  auto reply = ask<task_end>(sys, aut, atom::run_v, record, run_options{});
  run();
  REQUIRE(reply.ready());
  CHECK_FALSE(reply.get().started);
  CHECK(reply.get().state == task_state::cancelled);
  CHECK(proxies->spawned.empty());
  CHECK(store.task(t).status == task_state::cancelled);
}

TEST_CASE_METHOD(job_fixture, "job actor unblocks dependents when a task is done and derives the "
                              "job state") {
  auto j = store.add_job();
  auto a = store.add_task(j, "INSERT 5");
  auto b = store.add_task(j, "UPDATE *7", {a});
  auto c = store.add_task(j, "UPDATE +13", {b});
  auto d = store.add_task(j, "other branch", {a, c});
  auto aut = spawn_job(j);
  caf::scoped_actor watcher{sys};
  watcher->monitor(aut);

  start(aut, a);
  finish(aut, a, outcome_kind::succeeded, "INSERT 0 1\n");
  CHECK(store.task(b).status == task_state::runnable);
  CHECK(store.task(c).status == task_state::blocked);
  CHECK(store.task(d).status == task_state::blocked);  // still waits for c
  CHECK(store.job(j).state == model::job_state::running);

  start(aut, b);
  finish(aut, b, outcome_kind::succeeded, "UPDATE 1\n");
  CHECK(store.task(c).status == task_state::runnable);
  start(aut, c);
  finish(aut, c, outcome_kind::succeeded, "UPDATE 1\n");
  CHECK(store.task(d).status == task_state::runnable);
  start(aut, d);
  finish(aut, d, outcome_kind::succeeded, "UPDATE 1\n");
  CHECK(store.job(j).state == model::job_state::finished);

  // Nothing left to run: the job actor is gone.
  bool down = false;
  watcher->receive([&](caf::down_msg& dm) { down = dm.source == aut.address(); });
  CHECK(down);
}

TEST_CASE_METHOD(job_fixture, "job actor retries a failed task with back-off, then gives up and "
                              "unschedules the transitive dependents") {
  auto j = store.add_job();
  auto a = store.add_task(j, "SELECT 1/0");
  auto b = store.add_task(j, "b", {a});
  auto c = store.add_task(j, "c", {b});
  auto other = store.add_task(j, "independent");
  auto aut = spawn_job(j);
  auto opts = options({5, 20}, 1);

  auto first = start(aut, a, opts);
  finish(aut, a, outcome_kind::failed, "ERROR: division by zero\n");
  REQUIRE(first.ready());
  CHECK(first.get().state == task_state::runnable);
  auto row = store.task(a);
  CHECK(row.status == task_state::runnable);
  CHECK(row.retry_count == 1);
  CHECK(row.not_before == *wall + 5000);
  CHECK(row.message == "ERROR: division by zero\n");
  CHECK(store.task(b).status == task_state::blocked);
  CHECK(store.job(j).state == model::job_state::running);

  start(aut, a, opts);
  finish(aut, a, outcome_kind::crashed, "steward-executor killed by signal 9\n");
  row = store.task(a);
  CHECK(row.status == task_state::error);
  CHECK(row.retry_count == 2);
  CHECK_FALSE(row.not_before.has_value());
  CHECK(store.task(b).status == task_state::unscheduled);
  CHECK(store.task(c).status == task_state::unscheduled);
  CHECK(store.task(other).status == task_state::runnable);
  CHECK(store.job(j).state == model::job_state::failing);

  start(aut, other, opts);
  finish(aut, other, outcome_kind::succeeded, "");
  CHECK(store.job(j).state == model::job_state::failed);
  CHECK(store.job(j).finished_at.has_value());
}

TEST_CASE_METHOD(job_fixture, "job actor cancels an executor whose task was cancelled before its "
                              "pid was recorded, and never revives it") {
  auto j = store.add_job();
  auto t = store.add_task(j, "SELECT pg_sleep(10)");
  auto aut = spawn_job(j);
  auto reply = start(aut, t);
  store.cancel_job(j);  // running without a pid -> cancelled
  REQUIRE(store.task(t).status == task_state::cancelled);

  self->send(aut, atom::started_v, t, std::int32_t{4242});
  run();
  CHECK(proxies->received == std::vector<std::pair<model::task_id, std::string>>{{t, "cancel"}});
  CHECK(store.task(t).status == task_state::cancelled);

  finish(aut, t, outcome_kind::failed, "ERROR: canceling statement due to user request\n");
  REQUIRE(reply.ready());
  CHECK(reply.get().state == task_state::cancelled);
  CHECK(store.task(t).status == task_state::cancelled);
  CHECK(store.task(t).message == "ERROR: canceling statement due to user request\n");
  CHECK(store.job(j).state == model::job_state::cancelled);
}

TEST_CASE_METHOD(job_fixture, "job actor ends a cancelling task as cancelled whatever the executor "
                              "reports") {
  auto j = store.add_job();
  auto t = store.add_task(j, "SELECT 1");
  auto aut = spawn_job(j);
  auto reply = start(aut, t);
  self->send(aut, atom::started_v, t, std::int32_t{4242});
  run();
  store.cancel_job(j);  // running with a pid -> cancelling
  REQUIRE(store.task(t).status == task_state::cancelling);
  self->send(aut, atom::cancel_v);  // the steward_cancel notification
  run();
  CHECK(proxies->received == std::vector<std::pair<model::task_id, std::string>>{{t, "cancel"}});

  finish(aut, t, outcome_kind::succeeded, "SELECT 1\n");  // finished before the cancel landed
  REQUIRE(reply.ready());
  CHECK(reply.get().state == task_state::cancelled);
  CHECK(store.task(t).status == task_state::cancelled);
  CHECK_FALSE(store.task(t).pid.has_value());
  CHECK(store.job(j).state == model::job_state::cancelled);
}

TEST_CASE_METHOD(job_fixture, "job actor requeues tasks on shutdown without counting a retry") {
  auto j = store.add_job();
  auto a = store.add_task(j, "a");
  auto b = store.add_task(j, "b");
  auto aut = spawn_job(j);
  caf::scoped_actor watcher{sys};
  watcher->monitor(aut);
  auto ra = start(aut, a);
  auto rb = start(aut, b);
  self->send(aut, atom::shutdown_v);
  run();
  CHECK(proxies->received.size() == 2);
  CHECK(proxies->received[0].second == "shutdown");

  // Refuses new work while shutting down.
  store.add_task(j, "c");
  auto rc = start(aut, 3);
  REQUIRE(rc.ready());
  CHECK_FALSE(rc.get().started);

  finish(aut, a, outcome_kind::shut_down, "the coordinator shut down\n");
  finish(aut, b, outcome_kind::succeeded, "b\n");
  CHECK(store.task(a).status == task_state::runnable);
  CHECK_FALSE(store.task(a).retry_count.has_value());
  CHECK_FALSE(store.task(a).not_before.has_value());
  CHECK(store.task(a).message == "the coordinator shut down\n");
  CHECK(store.task(b).status == task_state::done);
  REQUIRE(ra.ready());
  REQUIRE(rb.ready());
  bool down = false;
  watcher->receive([&](caf::down_msg& dm) { down = dm.source == aut.address(); });
  CHECK(down);
}

TEST_CASE_METHOD(job_fixture, "job actor retries recording an outcome while the database is down") {
  auto j = store.add_job();
  auto t = store.add_task(j, "SELECT 1");
  auto aut = spawn_job(j);
  auto reply = start(aut, t);
  store.fail_next(1);
  finish(aut, t, outcome_kind::succeeded, "SELECT 1\n");
  CHECK_FALSE(reply.ready());
  CHECK(store.task(t).status == task_state::running);
  advance(std::chrono::seconds(1), std::chrono::seconds(1));
  REQUIRE(reply.ready());
  CHECK(store.task(t).status == task_state::done);
}

TEST_CASE_METHOD(job_fixture, "job actor kills its executors on a second stop request and still "
                              "records their outcome") {
  auto j = store.add_job();
  auto a = store.add_task(j, "a");
  auto aut = spawn_job(j);
  auto ra = start(aut, a);
  self->send(aut, atom::shutdown_v);
  run();
  self->send(aut, atom::kill_v);
  run();
  CHECK(proxies->received ==
        std::vector<std::pair<model::task_id, std::string>>{{a, "shutdown"}, {a, "kill"}});
  finish(aut, a, outcome_kind::shut_down, "the coordinator shut down\n");
  CHECK(store.task(a).status == task_state::runnable);
  CHECK_FALSE(store.task(a).retry_count.has_value());
  REQUIRE(ra.ready());
}

TEST_CASE_METHOD(job_fixture, "job actor records nothing once abandoned and quits when its "
                              "attempts are over") {
  auto j = store.add_job();
  auto a = store.add_task(j, "a");
  auto b = store.add_task(j, "b");
  auto aut = spawn_job(j);
  caf::scoped_actor watcher{sys};
  watcher->monitor(aut);
  auto ra = start(aut, a);
  self->send(aut, atom::abandon_v);
  run();
  CHECK(proxies->received == std::vector<std::pair<model::task_id, std::string>>{{a, "kill"}});
  // No new work once abandoned.
  auto rb = start(aut, b);
  REQUIRE(rb.ready());
  CHECK_FALSE(rb.get().started);
  CHECK(store.task(b).status == task_state::runnable);

  finish(aut, a, outcome_kind::crashed, "killed\n");
  REQUIRE(ra.ready());
  // Left as it was: the next leader resets it.
  CHECK(store.task(a).status == task_state::running);
  CHECK_FALSE(store.task(a).retry_count.has_value());
  CHECK(store.task(a).message.empty());
  bool down = false;
  watcher->receive([&](caf::down_msg& dm) { down = dm.source == aut.address(); });
  CHECK(down);
}

TEST_CASE_METHOD(job_fixture, "job actor stops the backend of a crashed executor before it records "
                              "the failed attempt") {
  auto j = store.add_job();
  auto a = store.add_task(j, "a");
  auto b = store.add_task(j, "b");
  auto aut = spawn_job(j);
  auto ra = start(aut, a);
  auto rb = start(aut, b);
  self->send(aut, atom::started_v, a, std::int32_t{7001});
  run();
  finish(aut, a, outcome_kind::crashed, "steward-executor killed by signal 9 (Killed)\n");
  CHECK(store.stopped_backends() ==
        std::vector<std::pair<model::task_id, std::int32_t>>{{a, 7001}});
  CHECK(store.task(a).status == task_state::runnable);
  CHECK(store.task(a).retry_count == 1);
  REQUIRE(ra.ready());
  // A clean failure (the executor reported its error and closed its connection) and a
  // crash before any pid was reported need no such step.
  finish(aut, b, outcome_kind::failed, "ERROR: boom\n");
  CHECK(store.stopped_backends().size() == 1);
  REQUIRE(rb.ready());
}
