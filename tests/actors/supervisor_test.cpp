#include "tests/actors/fixture.hpp"

#include "actors/job.hpp"
#include "actors/supervisor.hpp"

#include <algorithm>

using namespace steward;
using namespace steward::test;
using model::task_state;

namespace {

/// What the fake job actors of a test were asked to do.
struct jobs_log {
  std::vector<model::task_id> runs;  ///< in the order the supervisor started them
  std::vector<run_options> options;
  std::vector<std::pair<model::job_id, std::string>> received;  ///< cancel/shutdown
  std::vector<model::job_id> spawned;
  bool hold_on_shutdown = false;  ///< shutdown only logs; the attempts end on kill
};

model::task_update transition(model::task_id task, task_state from, task_state to) {
  model::task_update u;
  u.task = task;
  u.from = from;
  u.to = to;
  return u;
}

struct fake_job_state {
  static inline const char* name = "test.fake_job";
  std::map<model::task_id, caf::typed_response_promise<task_end>> open;
};

/// Accepts every run and marks the task running in the store; the test ends an attempt
/// by sending `finished`, which answers the run with the state the test wrote.
job_actor::behavior_type fake_job(job_actor::stateful_pointer<fake_job_state> self,
                                  model::job_id id, memory_job_store* store,
                                  std::shared_ptr<jobs_log> log) {
  log->spawned.push_back(id);
  return {
    [=](atom::run, model::task_record& t, run_options& o) -> caf::result<task_end> {
      log->runs.push_back(t.id);
      log->options.push_back(o);
      store->apply({transition(t.id, task_state::runnable, task_state::running)},
                   std::nullopt);
      auto rp = self->make_response_promise<task_end>();
      self->state.open.emplace(t.id, rp);
      return rp;
    },
    [](atom::started, model::task_id, std::int32_t) {},
    [=](atom::finished, task_outcome& o) {
      auto it = self->state.open.find(o.task);
      if (it == self->state.open.end())
        return;
      auto rp = it->second;
      self->state.open.erase(it);
      rp.deliver(task_end{o.task, true, store->task(o.task).status});
    },
    [=](atom::cancel) { log->received.emplace_back(id, "cancel"); },
    [=](atom::abandon) {
      log->received.emplace_back(id, "abandon");
      for (auto& kv : self->state.open)
        kv.second.deliver(task_end{kv.first, true, task_state::running});
      self->state.open.clear();
      self->quit();
    },
    [=](atom::kill) {
      log->received.emplace_back(id, "kill");
      for (auto& kv : self->state.open) {
        store->apply({transition(kv.first, task_state::running, task_state::runnable)},
                     std::nullopt);
        kv.second.deliver(task_end{kv.first, true, task_state::runnable});
      }
      self->state.open.clear();
      self->quit();
    },
    [=](atom::shutdown) {
      log->received.emplace_back(id, "shutdown");
      if (log->hold_on_shutdown)
        return;
      for (auto& kv : self->state.open) {
        store->apply({transition(kv.first, task_state::running, task_state::runnable)},
                     std::nullopt);
        kv.second.deliver(task_end{kv.first, true, task_state::runnable});
      }
      self->state.open.clear();
      self->quit();
    },
  };
}

struct supervisor_fixture : deterministic_fixture {
  memory_job_store store;
  catalog_actor cat = sys.spawn(catalog, store_factory{[this] {
                                  return std::shared_ptr<model::job_store>(
                                    std::shared_ptr<memory_job_store>(&store,
                                                                      [](memory_job_store*) {}));
                                }});
  std::shared_ptr<jobs_log> jobs = std::make_shared<jobs_log>();
  std::map<model::job_id, job_actor> job_handles;
  std::variant<model::config, model::config_error> next_config = model::config{};
  bool with_leader = false;  ///< give the supervisor a (fake) leader session spawner
  int leaders_spawned = 0;

  model::config config(int max_executors = 4, int per_node = 1) {
    model::config c;
    c.dsn = "host=db";
    c.max_executors = max_executors;
    c.max_executors_per_node = per_node;
    c.poll_interval_ms = 1000;
    c.log_level = "off";
    return c;
  }

  supervisor_actor spawn_supervisor(model::config c) {
    auto env = std::make_shared<supervisor_environment>();
    env->catalog = cat;
    env->now = clock();
    env->spawn_job = [this](caf::actor_system& sys, model::job_id id) {
      auto j = sys.spawn(fake_job, id, &store, jobs);
      job_handles[id] = j;
      return j;
    };
    env->load_config = [this] { return next_config; };
    if (with_leader)
      env->spawn_leader = [this](caf::actor_system& sys, supervisor_actor) {
        ++leaders_spawned;
        return sys.spawn([](leader_actor::pointer self) -> leader_actor::behavior_type {
          return {[=](atom::shutdown) { self->quit(); }};
        });
      };
    env->config_path = "test.toml";
    auto s = sys.spawn(supervisor, c, std::shared_ptr<const supervisor_environment>(env));
    run();
    return s;
  }

  /// The leader reports the lock.
  supervisor_actor become_leader(model::config c) {
    auto s = spawn_supervisor(std::move(c));
    self->send(s, atom::leader_v, std::int32_t{99});
    run();
    return s;
  }

  void end_task(model::task_id t, task_state to) {
    auto row = store.task(t);
    row.status = to;
    store.put_task(row);
    self->send(job_handles.at(row.job), atom::finished_v, task_outcome{t, outcome_kind::succeeded, ""});
    run();
  }

  supervisor_status status(const supervisor_actor& s) {
    auto r = ask<supervisor_status>(sys, s, atom::get_v, atom::status_v);
    run();
    return r.get();
  }

  ~supervisor_fixture() {
    for (auto& kv : job_handles)
      caf::anon_send_exit(kv.second, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(cat, caf::exit_reason::user_shutdown);
    run();
  }
};

using ids = std::vector<model::task_id>;

ids sorted(ids xs) {
  std::sort(xs.begin(), xs.end());
  return xs;
}

}  // namespace

TEST_CASE_METHOD(supervisor_fixture, "supervisor starts nothing before it holds the leader lock") {
  auto j = store.add_job();
  store.add_task(j, "SELECT 1");
  auto aut = spawn_supervisor(config());
  self->send(aut, atom::wakeup_v, j);
  run();
  CHECK(jobs->runs.empty());
  CHECK_FALSE(status(aut).leader);
  self->send(aut, atom::leader_v, std::int32_t{99});
  run();
  CHECK(jobs->runs == ids{1});
  caf::anon_send_exit(aut, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(supervisor_fixture, "supervisor starts only what the limits allow and in task_id "
                                     "order across jobs") {
  auto j1 = store.add_job();
  auto j2 = store.add_job();
  // Ids interleave across the two jobs.
  for (int i = 0; i < 3; ++i) {
    store.add_task(j2, "b");
    store.add_task(j1, "a");
  }
  auto aut = become_leader(config(4));
  // (Two job actors: the order in which *they* run is the scheduler's; the set of
  // started tasks is what the pick decided.)
  CHECK(sorted(jobs->runs) == ids{1, 2, 3, 4});
  CHECK(status(aut).running == ids{1, 2, 3, 4});
  // A wake-up with no free slot starts nothing.
  self->send(aut, atom::wakeup_v, j1);
  run();
  CHECK(jobs->runs.size() == 4);
  // Ending an attempt frees a slot for the next task in id order.
  end_task(2, task_state::done);
  CHECK(sorted(jobs->runs) == ids{1, 2, 3, 4, 5});
  end_task(4, task_state::done);
  end_task(1, task_state::done);
  CHECK(sorted(jobs->runs) == ids{1, 2, 3, 4, 5, 6});
  CHECK(status(aut).running == ids{3, 5, 6});
  caf::anon_send_exit(aut, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(supervisor_fixture, "supervisor applies per-node limits and keeps node slots when "
                                     "the global limit is reached") {
  auto j = store.add_job();
  store.add_task(j, "n1", {}, std::vector<model::node_id>{1});
  store.add_task(j, "n1 again", {}, std::vector<model::node_id>{1});
  store.add_task(j, "n1 and n2", {}, std::vector<model::node_id>{1, 2});
  store.add_task(j, "n2", {}, std::vector<model::node_id>{2});
  store.add_task(j, "no node");
  auto aut = become_leader(config(2, 1));
  CHECK(jobs->runs == ids{1, 4});  // 2 and 3 wait for node 1; the global limit stops the rest
  end_task(4, task_state::done);
  CHECK(jobs->runs == ids{1, 4, 5});
  end_task(1, task_state::done);
  CHECK(jobs->runs == ids{1, 4, 5, 2});
  caf::anon_send_exit(aut, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(supervisor_fixture, "supervisor skips tasks whose dependencies are not done") {
  auto j = store.add_job();
  auto a = store.add_task(j, "a");
  auto b = store.add_task(j, "b", {a}, std::nullopt, task_state::runnable);
  auto aut = become_leader(config());
  CHECK(jobs->runs == ids{a});
  end_task(a, task_state::done);
  CHECK(jobs->runs == ids{a, b});
  caf::anon_send_exit(aut, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(supervisor_fixture, "supervisor wakes up at the earliest not_before") {
  auto j = store.add_job();
  auto t = store.add_task(j, "retry me");
  auto row = store.task(t);
  row.not_before = *wall + 300;
  row.retry_count = 1;
  store.put_task(row);
  auto aut = become_leader(config());
  CHECK(jobs->runs.empty());
  advance(std::chrono::milliseconds(299));
  CHECK(jobs->runs.empty());
  advance(std::chrono::milliseconds(2));
  CHECK(jobs->runs == ids{t});
  caf::anon_send_exit(aut, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(supervisor_fixture, "supervisor polls on its timer when no notification comes") {
  auto aut = become_leader(config());
  auto j = store.add_job();
  auto t = store.add_task(j, "inserted quietly");
  run();
  CHECK(jobs->runs.empty());
  advance(std::chrono::milliseconds(1000), std::chrono::milliseconds(1000));
  CHECK(jobs->runs == ids{t});
  caf::anon_send_exit(aut, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(supervisor_fixture, "supervisor resets tasks left running before it picks") {
  auto j = store.add_job();
  auto t = store.add_task(j, "was running");
  auto row = store.task(t);
  row.status = task_state::running;
  row.pid = 555;
  store.put_task(row);
  store.hold_task_lock(t, 555);
  auto aut = become_leader(config());
  CHECK(store.terminated_backends() == std::vector<std::int32_t>{555});
  CHECK(jobs->runs == ids{t});
  CHECK_FALSE(store.task(t).retry_count.has_value());
  caf::anon_send_exit(aut, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(supervisor_fixture, "supervisor shuts down on SIGTERM: stops starting, terminates "
                                     "the running tasks and exits normally") {
  auto j = store.add_job();
  store.add_task(j, "a");
  store.add_task(j, "b");
  store.add_task(j, "c");
  auto aut = become_leader(config(2));
  caf::scoped_actor watcher{sys};
  watcher->monitor(aut);
  self->send(aut, atom::shutdown_v);
  run();
  CHECK(jobs->received == std::vector<std::pair<model::job_id, std::string>>{{j, "shutdown"}});
  CHECK(jobs->runs == ids{1, 2});  // c never started
  CHECK(store.task(1).status == task_state::runnable);
  caf::error reason = caf::make_error(ec::unspecified);
  watcher->receive([&](caf::down_msg& dm) { reason = dm.reason; });
  CHECK_FALSE(reason);
}

TEST_CASE_METHOD(supervisor_fixture, "supervisor cancels the jobs with running tasks on SIGINT and "
                                     "waits for them") {
  auto j1 = store.add_job();
  auto j2 = store.add_job();
  auto a = store.add_task(j1, "a");
  store.add_task(j1, "a2");
  store.add_task(j2, "waiting");
  auto aut = become_leader(config(1));
  CHECK(jobs->runs == ids{a});
  caf::scoped_actor watcher{sys};
  watcher->monitor(aut);
  self->send(aut, atom::cancel_v);
  run();
  CHECK(jobs->received == std::vector<std::pair<model::job_id, std::string>>{{j1, "cancel"}});
  CHECK(store.job(j1).state == model::job_state::cancelled);
  CHECK(store.task(2).status == task_state::cancelled);
  CHECK(store.task(3).status == task_state::runnable);  // other jobs are left alone
  CHECK(status(aut).stopping);
  end_task(a, task_state::cancelled);
  caf::error reason = caf::make_error(ec::unspecified);
  watcher->receive([&](caf::down_msg& dm) { reason = dm.reason; });
  CHECK_FALSE(reason);
  CHECK(jobs->runs == ids{a});
}

TEST_CASE_METHOD(supervisor_fixture, "supervisor forwards a job cancel notification to the job actor") {
  auto j = store.add_job();
  store.add_task(j, "a");
  auto aut = become_leader(config());
  self->send(aut, atom::cancel_v, j);
  self->send(aut, atom::cancel_v, model::job_id{42});  // no actor: ignored
  run();
  CHECK(jobs->received == std::vector<std::pair<model::job_id, std::string>>{{j, "cancel"}});
  caf::anon_send_exit(aut, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(supervisor_fixture, "supervisor keeps its configuration when a reload fails and "
                                     "applies a good one to the next tasks") {
  auto j = store.add_job();
  for (int i = 0; i < 4; ++i)
    store.add_task(j, "t");
  auto aut = become_leader(config(1));
  CHECK(jobs->runs == ids{1});
  next_config = model::config_error{"max_executors", "must be an integer"};
  self->send(aut, atom::reload_v);
  run();
  end_task(1, task_state::done);
  CHECK(jobs->runs == ids{1, 2});
  auto raised = config(3);
  raised.log_level = "off";
  raised.retry_delays_s = {7};
  next_config = raised;
  self->send(aut, atom::reload_v);
  run();
  CHECK(jobs->runs == ids{1, 2, 3, 4});
  CHECK(jobs->options.back().retry.delays_s == std::vector<int>{7});
  caf::anon_send_exit(aut, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(supervisor_fixture, "supervisor stops with lock_lost when the leader lock is lost") {
  auto j = store.add_job();
  store.add_task(j, "a");
  auto aut = become_leader(config());
  caf::scoped_actor watcher{sys};
  watcher->monitor(aut);
  self->send(aut, atom::lost_v, std::string{"connection closed"});
  run();
  CHECK(jobs->received == std::vector<std::pair<model::job_id, std::string>>{{j, "abandon"}});
  caf::error reason;
  watcher->receive([&](caf::down_msg& dm) { reason = dm.reason; });
  CHECK(reason == ec::lock_lost);
}

TEST_CASE_METHOD(supervisor_fixture, "supervisor keeps picking when the catalog is briefly "
                                     "unavailable") {
  auto j = store.add_job();
  auto t = store.add_task(j, "a");
  store.fail_next(1);  // the reset fails
  auto aut = become_leader(config());
  CHECK(jobs->runs.empty());
  advance(std::chrono::seconds(1), std::chrono::seconds(1));
  CHECK(jobs->runs == ids{t});
  caf::anon_send_exit(aut, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(supervisor_fixture, "supervisor, job actors and proxies run a DAG to finished") {
  // Real job actors and executor proxies; only the child processes are fake: each one
  // reports a pid, a command tag and `finished`, and exits 0.
  channel_registry channels;
  auto launcher = std::make_shared<fake_launcher>(&channels);
  launcher->auto_succeed = true;
  auto proxy_env = std::make_shared<executor_environment>();
  proxy_env->launcher = launcher;
  proxy_env->open_channel = channels.factory();
  proxy_env->executable = "/bin/steward-executor";
  auto job_env = std::make_shared<job_environment>();
  job_env->catalog = cat;
  job_env->now = clock();
  job_env->spawn_proxy = [proxy_env](caf::actor_system& sys, job_actor parent,
                                     const model::task_record& t, const run_options& o) {
    return sys.spawn(executor_proxy, std::move(parent), t, o,
                     std::shared_ptr<const executor_environment>(proxy_env));
  };
  auto env = std::make_shared<supervisor_environment>();
  env->catalog = cat;
  env->now = clock();
  env->spawn_job = [job_env](caf::actor_system& sys, model::job_id id) {
    return sys.spawn(job, id, std::shared_ptr<const job_environment>(job_env));
  };

  auto j1 = store.add_job();
  auto a = store.add_task(j1, "INSERT 5");
  auto b = store.add_task(j1, "UPDATE *7", {a});
  auto c = store.add_task(j1, "UPDATE +13", {b});
  auto j2 = store.add_job();
  auto x = store.add_task(j2, "x");
  auto y = store.add_task(j2, "y");
  auto aut = sys.spawn(supervisor, config(2), std::shared_ptr<const supervisor_environment>(env));
  self->send(aut, atom::leader_v, std::int32_t{1});
  for (int i = 0; i < 50; ++i)
    advance(std::chrono::milliseconds(2), std::chrono::milliseconds(2));
  for (auto t : {a, b, c, x, y}) {
    CHECK(store.task(t).status == task_state::done);
    CHECK(store.task(t).message == "SELECT 1\n");
    CHECK_FALSE(store.task(t).pid.has_value());
  }
  CHECK(store.job(j1).state == model::job_state::finished);
  CHECK(store.job(j2).state == model::job_state::finished);
  CHECK(launcher->launched.size() == 5);
  CHECK(launcher->reaped.size() == 5);
  CHECK(status(aut).running.empty());
  CHECK(status(aut).jobs.empty());  // job actors quit once their job is over
  caf::anon_send_exit(aut, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(supervisor_fixture, "supervisor abandons its jobs when the leader lock is lost, "
                                     "then waits for the lock again") {
  with_leader = true;
  auto j = store.add_job();
  auto a = store.add_task(j, "a");
  auto aut = become_leader(config());
  CHECK(jobs->runs == ids{a});
  CHECK(leaders_spawned == 1);
  self->send(aut, atom::lost_v, std::string{"server closed the connection"});
  run();
  CHECK(jobs->received == std::vector<std::pair<model::job_id, std::string>>{{j, "abandon"}});
  CHECK(store.task(a).status == task_state::running);  // nothing recorded
  CHECK(leaders_spawned == 2);
  CHECK_FALSE(status(aut).leader);
  CHECK_FALSE(status(aut).stopping);
  // Nothing starts while standby, whatever wakes it.
  self->send(aut, atom::wakeup_v, j);
  run();
  CHECK(jobs->runs == ids{a});
  // The lock is ours again: the task left running is reset and runs again.
  self->send(aut, atom::leader_v, std::int32_t{100});
  run();
  CHECK(jobs->runs == ids{a, a});
  caf::anon_send_exit(aut, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(supervisor_fixture, "supervisor kills the executors at once on a second SIGTERM "
                                     "or SIGINT") {
  jobs->hold_on_shutdown = true;
  auto j = store.add_job();
  auto a = store.add_task(j, "a");
  auto aut = become_leader(config());
  caf::scoped_actor watcher{sys};
  watcher->monitor(aut);
  self->send(aut, atom::shutdown_v);
  run();
  CHECK(jobs->received == std::vector<std::pair<model::job_id, std::string>>{{j, "shutdown"}});
  CHECK(status(aut).stopping);  // waits for the executor
  self->send(aut, atom::cancel_v);
  run();
  CHECK(jobs->received ==
        std::vector<std::pair<model::job_id, std::string>>{{j, "shutdown"}, {j, "kill"}});
  CHECK(store.task(a).status == task_state::runnable);
  caf::error reason = caf::make_error(ec::unspecified);
  watcher->receive([&](caf::down_msg& dm) { reason = dm.reason; });
  CHECK_FALSE(reason);
}
