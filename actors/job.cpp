#include "actors/job.hpp"

#include "model/job_derivation.hpp"
#include "model/retry_policy.hpp"
#include "model/transitions.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace steward {

namespace {

using self_ptr = job_actor::stateful_pointer<job_actor_state>;
using model::task_event;
using model::task_id;
using model::task_state;
using model::task_update;

using skipped_fn = std::function<void(std::vector<task_id>)>;
using error_fn = std::function<void(const caf::error&)>;
using then_fn = std::function<void()>;

bool contains(const std::vector<task_id>& xs, task_id x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

std::string first_line(const std::string& text) {
  auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

std::map<task_id, task_state> states_of(self_ptr self) {
  std::map<task_id, task_state> out;
  for (const auto& [id, t] : self->state.tasks)
    out.emplace(id, t.status);
  return out;
}

/// The job row change implied by the task states `states`, if any.
std::optional<model::job_update> derive_update(self_ptr self,
                                               const std::map<task_id, task_state>& states) {
  const auto& job = self->state.job;
  std::vector<task_state> v;
  v.reserve(states.size());
  for (const auto& kv : states)
    v.push_back(kv.second);
  auto derived = model::derive_job_state(v);
  auto ts = model::timestamps_for(derived, job.started_at.has_value(), job.finished_at.has_value());
  if (derived == job.state && !ts.set_started_at && !ts.set_finished_at)
    return std::nullopt;
  return model::job_update{self->state.id, derived, ts.set_started_at, ts.set_finished_at};
}

void add_to_graph(self_ptr self, const model::task_record& t) {
  auto& g = self->state.graph;
  if (g.contains(t.id))
    return;
  g.add_task(t.id, t.job);
  for (auto dep : t.depends_on)
    if (g.contains(dep))
      g.add_edge(t.id, dep);
}

void install(self_ptr self, model::job_store::job_snapshot snap) {
  auto& st = self->state;
  st.job = std::move(snap.job);
  st.tasks.clear();
  for (auto& t : snap.tasks)
    st.tasks.emplace(t.id, t);
  model::graph_error err = model::graph_error::none;
  st.graph = model::build_graph(st.id, snap.tasks, &err);
  if (err != model::graph_error::none)
    spdlog::warn("job {}: dependency ignored: {}", st.id, model::to_string(err));
}

/// Mirrors a committed transaction in the actor's copy of the rows.
void apply_locally(self_ptr self, const std::vector<task_update>& updates,
                   const std::vector<task_id>& skipped,
                   const std::optional<model::job_update>& job) {
  auto& st = self->state;
  for (const auto& u : updates) {
    if (contains(skipped, u.task))
      continue;
    auto it = st.tasks.find(u.task);
    if (it == st.tasks.end())
      continue;
    auto& t = it->second;
    t.status = u.to;
    if (u.clear_pid)
      t.pid.reset();
    else if (u.pid)
      t.pid = u.pid;
    if (u.retry_count)
      t.retry_count = u.retry_count;
    if (u.clear_not_before)
      t.not_before.reset();
    else if (u.not_before)
      t.not_before = u.not_before;
    if (u.message)
      t.message = *u.message;
  }
  if (job) {
    auto now = st.env->now();
    if (st.job.state != job->state)
      spdlog::info("job {} is now {}", st.id, model::to_string(job->state));
    st.job.state = job->state;
    if (job->set_started_at && !st.job.started_at)
      st.job.started_at = now;
    if (job->set_finished_at && !st.job.finished_at)
      st.job.finished_at = now;
  }
}

/// Records task updates and a job update in one catalog transaction. Waits for the
/// reply before handling other messages, so events of the job apply one at a time.
void commit(self_ptr self, std::vector<task_update> updates, std::optional<model::job_update> job,
            skipped_fn done, error_fn fail) {
  auto on_reply = [=](std::vector<task_id>& skipped) {
    apply_locally(self, updates, skipped, job);
    done(std::move(skipped));
  };
  auto on_error = [=](caf::error& err) { fail(err); };
  auto& cat = self->state.env->catalog;
  if (job)
    self->request(cat, caf::infinite, atom::apply_v, updates, *job).await(on_reply, on_error);
  else
    self->request(cat, caf::infinite, atom::apply_v, updates).await(on_reply, on_error);
}

void reload_job(self_ptr self, then_fn then) {
  auto& st = self->state;
  self->request(st.env->catalog, caf::infinite, atom::load_v, atom::job_v, st.id)
    .await(
      [=](model::job_store::job_snapshot& snap) {
        install(self, std::move(snap));
        then();
      },
      [=](caf::error& err) {
        spdlog::warn("job {}: could not reload: {}", self->state.id, self->system().render(err));
        then();
      });
}

void refresh_task(self_ptr self, task_id id, then_fn then) {
  self->request(self->state.env->catalog, caf::infinite, atom::load_v, atom::task_v, id)
    .await(
      [=](model::task_record& t) {
        self->state.tasks[id] = std::move(t);
        then();
      },
      [=](caf::error& err) {
        if (err == ec::not_found)
          self->state.tasks.erase(id);
        else
          spdlog::warn("task {}/{}: could not reload: {}", self->state.id, id,
                       self->system().render(err));
        then();
      });
}

void maybe_quit(self_ptr self) {
  auto& st = self->state;
  if (!st.running.empty())
    return;
  if (!st.shutting_down)
    for (const auto& [id, t] : st.tasks)
      if (t.status == task_state::runnable || t.status == task_state::running)
        return;
  self->quit();
}

void cancel_attempt(self_ptr self, task_id id) {
  auto it = self->state.running.find(id);
  if (it == self->state.running.end() || it->second.cancel_sent)
    return;
  it->second.cancel_sent = true;
  self->send(it->second.proxy, atom::cancel_v);
}

/// Answers the supervisor's `run` for an attempt that is over.
void close_attempt(self_ptr self, task_id id, task_state state) {
  auto& st = self->state;
  auto it = st.running.find(id);
  if (it == st.running.end())
    return;
  auto promise = it->second.promise;
  st.running.erase(it);
  promise.deliver(task_end{id, true, state});
  maybe_quit(self);
}

void reconcile_job(self_ptr self) {
  auto upd = derive_update(self, states_of(self));
  if (!upd)
    return;
  commit(
    self, {}, upd, [](std::vector<task_id>) {},
    [=](const caf::error& err) {
      spdlog::warn("job {}: could not record its state: {}", self->state.id,
                   self->system().render(err));
    });
}

void log_end(self_ptr self, task_id id, task_event ev, task_state to,
             const model::retry_decision& dec, const task_outcome& outcome) {
  auto job = self->state.id;
  switch (to) {
    case task_state::done:
      spdlog::info("task {}/{} succeeded", job, id);
      break;
    case task_state::runnable:
      if (ev == task_event::shutdown_requeue)
        spdlog::info("task {}/{} stopped by the shutdown; back to runnable", job, id);
      else
        spdlog::warn("task {}/{} failed (retry {}; next attempt in {} ms): {}", job, id,
                     dec.retry_count, dec.delay_ms, first_line(outcome.message));
      break;
    case task_state::error:
      spdlog::error("task {}/{} failed and will not be retried (retry count {}): {}", job, id,
                    dec.retry_count, first_line(outcome.message));
      break;
    case task_state::cancelled:
      spdlog::info("task {}/{} cancelled", job, id);
      break;
    default:
      spdlog::info("task {}/{} ended as {}", job, id, model::to_string(to));
      break;
  }
}

/// Records the end of an attempt: the task's transition, its dependents and the job
/// row in one transaction. When the task's guard fails (someone cancelled it
/// meanwhile), reloads the job and decides again once.
void end_attempt(self_ptr self, task_outcome outcome, bool second_try) {
  auto& st = self->state;
  auto id = outcome.task;
  auto run_it = st.running.find(id);
  if (run_it == st.running.end())
    return;
  auto task_it = st.tasks.find(id);
  if (task_it == st.tasks.end()) {
    spdlog::warn("task {}/{} no longer exists; its attempt ended", st.id, id);
    close_attempt(self, id, task_state::cancelled);
    return;
  }
  const auto& t = task_it->second;
  auto from = t.status;
  model::retry_decision dec;
  task_event ev = task_event::succeeded;
  switch (outcome.kind) {
    case outcome_kind::succeeded:
      ev = task_event::succeeded;
      break;
    case outcome_kind::failed:
    case outcome_kind::crashed:
      dec = model::on_failure(run_it->second.options.retry, t.retry_count);
      ev = dec.give_up ? task_event::failed_final : task_event::failed_will_retry;
      break;
    case outcome_kind::shut_down:
      ev = task_event::shutdown_requeue;
      break;
  }
  task_state to;
  auto next = model::next(from, ev);
  if (auto s = std::get_if<task_state>(&next)) {
    to = *s;
  } else if (from == task_state::cancelling || from == task_state::cancelled) {
    to = task_state::cancelled;  // cancel wins; a cancelled task is never revived
  } else {
    spdlog::error("task {}/{}: {}; the attempt's outcome is not recorded", st.id, id,
                  std::get<model::illegal_transition>(next).message());
    close_attempt(self, id, from);
    return;
  }
  task_update up;
  up.task = id;
  up.from = from;
  up.to = to;
  up.clear_pid = true;
  up.message = outcome.message;
  if (ev == task_event::failed_will_retry && to == task_state::runnable) {
    up.retry_count = dec.retry_count;
    up.not_before = st.env->now() + dec.delay_ms;
  } else if (to == task_state::error) {
    up.retry_count = dec.retry_count;
    up.clear_not_before = true;
  }
  std::vector<task_update> updates{up};
  auto states = states_of(self);
  states[id] = to;
  std::size_t unscheduled = 0;
  if (to == task_state::done) {
    for (auto d : st.graph.unblocked_by(id, states)) {
      task_update u;
      u.task = d;
      u.from = task_state::blocked;
      u.to = task_state::runnable;
      updates.push_back(u);
      states[d] = task_state::runnable;
    }
  } else if (to == task_state::error) {
    for (auto d : st.graph.transitive_dependents(id)) {
      auto s = states.find(d);
      if (s == states.end() || !model::is_legal(s->second, task_event::dependency_failed))
        continue;
      task_update u;
      u.task = d;
      u.from = s->second;
      u.to = std::get<task_state>(model::next(s->second, task_event::dependency_failed));
      updates.push_back(u);
      s->second = u.to;
      ++unscheduled;
    }
  }
  commit(
    self, updates, derive_update(self, states),
    [=](std::vector<task_id> skipped) {
      if (contains(skipped, id)) {
        if (!second_try) {
          reload_job(self, [=] { end_attempt(self, outcome, true); });
        } else {
          auto it = self->state.tasks.find(id);
          close_attempt(self, id, it == self->state.tasks.end() ? task_state::cancelled
                                                                : it->second.status);
        }
        return;
      }
      log_end(self, id, ev, to, dec, outcome);
      if (unscheduled > 0)
        spdlog::warn("job {}: {} task(s) depending on task {} unscheduled", self->state.id,
                     unscheduled, id);
      if (!skipped.empty())
        reload_job(self, [=] { reconcile_job(self); });
      close_attempt(self, id, to);
    },
    [=](const caf::error& err) {
      spdlog::error("task {}/{}: could not record the end of its attempt ({}); retrying in 1 s",
                    self->state.id, id, self->system().render(err));
      self->delayed_send(self, std::chrono::seconds(1), atom::finished_v, outcome);
    });
}

/// After loading: blocked tasks whose dependencies are all done become runnable (a
/// repair; normally the transaction that finished the last dependency did it).
void repair(self_ptr self) {
  auto& st = self->state;
  auto states = states_of(self);
  std::vector<task_update> updates;
  for (const auto& [id, t] : st.tasks) {
    if (t.status != task_state::blocked)
      continue;
    const auto& deps = st.graph.dependencies(id);
    bool all_done = std::all_of(deps.begin(), deps.end(), [&](task_id d) {
      auto s = states.find(d);
      return s != states.end() && s->second == task_state::done;
    });
    if (!all_done || deps.empty())
      continue;
    task_update u;
    u.task = id;
    u.from = task_state::blocked;
    u.to = task_state::runnable;
    updates.push_back(u);
    states[id] = task_state::runnable;
  }
  if (updates.empty())
    return;
  spdlog::info("job {}: {} blocked task(s) with all dependencies done made runnable", st.id,
               updates.size());
  commit(
    self, updates, std::nullopt, [](std::vector<task_id>) {},
    [=](const caf::error& err) {
      spdlog::warn("job {}: repair failed: {}", self->state.id, self->system().render(err));
    });
}

}  // namespace

job_actor::behavior_type job(job_actor::stateful_pointer<job_actor_state> self, model::job_id id,
                             std::shared_ptr<const job_environment> env) {
  self->state.id = id;
  self->state.env = std::move(env);
  self->request(self->state.env->catalog, caf::infinite, atom::load_v, atom::job_v, id)
    .await(
      [=](model::job_store::job_snapshot& snap) {
        install(self, std::move(snap));
        repair(self);
      },
      [=](caf::error& err) {
        spdlog::error("job {}: could not load: {}", id, self->system().render(err));
        self->quit(err);
      });
  self->set_down_handler([=](caf::down_msg& dm) {
    if (!dm.reason)
      return;  // a proxy that ends normally has reported its outcome already
    for (const auto& [task, a] : self->state.running)
      if (a.proxy.address() == dm.source) {
        spdlog::error("task {}/{}: executor proxy failed: {}", self->state.id, task,
                      self->system().render(dm.reason));
        self->send(self, atom::finished_v,
                   task_outcome{task, outcome_kind::crashed,
                                "the executor proxy failed: " + self->system().render(dm.reason) +
                                  "\n"});
      }
  });
  return {
    [=](atom::run, model::task_record& rec, run_options& opts) -> caf::result<task_end> {
      auto& st = self->state;
      auto tid = rec.id;
      if (st.shutting_down || st.running.count(tid) > 0)
        return task_end{tid, false, rec.status};
      add_to_graph(self, rec);
      st.tasks[tid] = rec;
      if (rec.status != task_state::runnable)
        return task_end{tid, false, rec.status};
      task_update up;
      up.task = tid;
      up.from = task_state::runnable;
      up.to = task_state::running;
      up.clear_pid = true;
      auto states = states_of(self);
      states[tid] = task_state::running;
      auto rp = self->make_response_promise<task_end>();
      commit(
        self, {up}, derive_update(self, states),
        [=](std::vector<task_id> skipped) mutable {
          auto& st = self->state;
          if (contains(skipped, tid)) {
            refresh_task(self, tid, [=]() mutable {
              auto it = self->state.tasks.find(tid);
              rp.deliver(task_end{tid, false,
                                  it == self->state.tasks.end() ? task_state::cancelled
                                                                : it->second.status});
              maybe_quit(self);
            });
            return;
          }
          if (st.abandoned) {
            // Leadership went while the write was out: the next leader resets the task.
            rp.deliver(task_end{tid, false, task_state::running});
            maybe_quit(self);
            return;
          }
          auto proxy = st.env->spawn_proxy(self->system(), caf::actor_cast<job_actor>(self),
                                            st.tasks[tid], opts);
          self->monitor(proxy);
          st.running.emplace(tid, job_actor_state::attempt{proxy, rp, opts, false, std::nullopt});
          if (st.shutting_down)
            self->send(proxy, atom::shutdown_v);  // the shutdown came while the write was out
          const auto& t = st.tasks[tid];
          spdlog::info("task {}/{} started (attempt {}): {}", st.id, tid,
                       t.retry_count.value_or(0) + 1, first_line(t.command));
        },
        [=](const caf::error& err) mutable {
          spdlog::error("task {}/{}: could not mark it running: {}", self->state.id, tid,
                        self->system().render(err));
          rp.deliver(task_end{tid, false, task_state::runnable});
        });
      return rp;
    },
    [=](atom::started, model::task_id tid, std::int32_t pid) {
      auto run_it = self->state.running.find(tid);
      if (run_it == self->state.running.end())
        return;
      run_it->second.backend_pid = pid;
      task_update up;
      up.task = tid;
      up.from = task_state::running;
      up.to = task_state::running;
      up.pid = pid;
      commit(
        self, {up}, std::nullopt,
        [=](std::vector<task_id> skipped) {
          if (!contains(skipped, tid))
            return;
          // The task is no longer running: it was cancelled before its pid was known.
          refresh_task(self, tid, [=] {
            auto it = self->state.tasks.find(tid);
            if (it == self->state.tasks.end() || it->second.status == task_state::cancelling
                || it->second.status == task_state::cancelled)
              cancel_attempt(self, tid);
          });
        },
        [=](const caf::error& err) {
          spdlog::warn("task {}/{}: could not record the executor pid: {}", self->state.id, tid,
                       self->system().render(err));
        });
    },
    [=](atom::finished, task_outcome& outcome) {
      auto& st = self->state;
      if (st.abandoned) {
        auto it = st.tasks.find(outcome.task);
        close_attempt(self, outcome.task,
                      it == st.tasks.end() ? task_state::running : it->second.status);
        return;
      }
      auto run_it = st.running.find(outcome.task);
      bool unclean = outcome.kind == outcome_kind::crashed || outcome.kind == outcome_kind::shut_down;
      if (run_it == st.running.end() || !unclean || !run_it->second.backend_pid) {
        end_attempt(self, std::move(outcome), false);
        return;
      }
      // The executor's backend may outlive it (still waiting or running): stop it
      // before the attempt counts as over, so that no retry overlaps it.
      auto pid = *run_it->second.backend_pid;
      run_it->second.backend_pid.reset();
      auto tid = outcome.task;
      self->request(st.env->catalog, caf::infinite, atom::kill_v, tid, pid)
        .then([=](atom::ok) { end_attempt(self, outcome, false); },
              [=](caf::error& err) {
                spdlog::warn("task {}/{}: could not stop backend {} of the dead executor: {}",
                             self->state.id, tid, pid, self->system().render(err));
                end_attempt(self, outcome, false);
              });
    },
    [=](atom::cancel) {
      reload_job(self, [=] {
        auto& st = self->state;
        std::vector<task_id> ids;
        for (const auto& kv : st.running)
          ids.push_back(kv.first);
        for (auto tid : ids) {
          auto it = st.tasks.find(tid);
          if (it == st.tasks.end() || it->second.status == task_state::cancelling
              || it->second.status == task_state::cancelled)
            cancel_attempt(self, tid);
        }
        maybe_quit(self);
      });
    },
    [=](atom::shutdown) {
      auto& st = self->state;
      st.shutting_down = true;
      for (const auto& kv : st.running)
        self->send(kv.second.proxy, atom::shutdown_v);
      maybe_quit(self);
    },
    [=](atom::kill) {
      for (const auto& kv : self->state.running)
        self->send(kv.second.proxy, atom::kill_v);
    },
    [=](atom::abandon) {
      auto& st = self->state;
      st.shutting_down = true;
      st.abandoned = true;
      for (const auto& kv : st.running)
        self->send(kv.second.proxy, atom::kill_v);
      maybe_quit(self);
    },
  };
}

}  // namespace steward
