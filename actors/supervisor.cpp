#include "actors/supervisor.hpp"

#include "model/config.hpp"
#include "model/pick_policy.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace steward {

namespace {

using self_ptr = supervisor_actor::stateful_pointer<supervisor_state>;

void wake(self_ptr self);

void arm_poll(self_ptr self) {
  auto& st = self->state;
  self->delayed_send(self, std::chrono::milliseconds(st.config.poll_interval_ms),
                     atom::internal_v, atom::tick_v, st.poll_generation);
}

/// Wakes the supervisor at `when` (wall clock) unless an earlier wake-up is pending.
void schedule_at(self_ptr self, model::epoch_ms when) {
  auto& st = self->state;
  auto now = st.env->now();
  if (st.next_timer && *st.next_timer > now && *st.next_timer <= when)
    return;
  st.next_timer = when;
  auto delay = std::max<model::epoch_ms>(when - now, 0) + 1;
  self->delayed_send(self, std::chrono::milliseconds(delay), atom::internal_v, atom::tick_v,
                     std::uint64_t{0});
}

void spawn_leader(self_ptr self) {
  auto& st = self->state;
  if (!st.env->spawn_leader)
    return;
  st.leader = st.env->spawn_leader(self->system(), caf::actor_cast<supervisor_actor>(self));
  self->monitor(st.leader);
}

/// After the lock was lost and every executor is gone: wait for the lock again (the
/// server may be back in a moment, or another coordinator took over).
void return_to_standby(self_ptr self) {
  auto& st = self->state;
  if (st.leader)
    self->send(st.leader, atom::shutdown_v);
  st.leader = nullptr;
  st.jobs.clear();  // abandoned: each quits once its attempts are over
  st.is_leader = false;
  st.reset_done = false;
  st.stopping = stop_reason::none;
  st.dirty = false;
  st.next_timer.reset();
  ++st.poll_generation;  // the old poll timer dies out
  spdlog::warn("no longer the active coordinator; waiting for the leader lock again");
  spawn_leader(self);
  if (!st.leader) {
    spdlog::error("coordinator stopped after losing the leader lock");
    self->quit(caf::make_error(ec::lock_lost));
  }
}

void finish_stop(self_ptr self) {
  auto& st = self->state;
  if (st.stopping == stop_reason::lock_lost && !st.exit_requested) {
    return_to_standby(self);
    return;
  }
  for (const auto& kv : st.jobs)
    self->send(kv.second, atom::shutdown_v);
  if (st.leader)
    self->send(st.leader, atom::shutdown_v);
  spdlog::info("coordinator stopped");
  self->quit();
}

void begin_stop(self_ptr self, stop_reason reason) {
  auto& st = self->state;
  bool signal = reason == stop_reason::shutdown || reason == stop_reason::cancel;
  if (signal && st.exit_requested) {
    // A second SIGTERM or SIGINT: no more waiting for the executors.
    spdlog::warn("second stop request: killing {} running executor(s) now", st.running.size());
    for (const auto& kv : st.jobs)
      self->send(kv.second, atom::kill_v);
    return;
  }
  if (signal)
    st.exit_requested = true;
  if (st.stopping == reason)
    return;
  if (reason == stop_reason::lock_lost && st.stopping != stop_reason::none) {
    // Already stopping: just stop recording anything and kill what still runs.
    st.stopping = reason;
    for (const auto& kv : st.jobs)
      self->send(kv.second, atom::abandon_v);
    return;
  }
  if (signal && st.stopping == stop_reason::lock_lost)
    return;  // executors are being killed already; exit once they are gone
  st.stopping = reason;
  if (reason == stop_reason::cancel) {
    std::set<model::job_id> jobs;
    for (const auto& kv : st.running)
      jobs.insert(kv.second.job);
    spdlog::info("cancellation requested: cancelling {} job(s) with running tasks", jobs.size());
    for (auto j : jobs) {
      self->request(st.env->catalog, caf::infinite, atom::cancel_v, j)
        .then(
          [=](atom::ok) {
            spdlog::info("job {} cancelled", j);
            auto it = self->state.jobs.find(j);
            if (it != self->state.jobs.end())
              self->send(it->second, atom::cancel_v);
          },
          [=](caf::error& err) {
            spdlog::error("could not cancel job {}: {}; terminating its executors instead", j,
                          self->system().render(err));
            auto it = self->state.jobs.find(j);
            if (it != self->state.jobs.end())
              self->send(it->second, atom::shutdown_v);
          });
    }
  } else if (reason == stop_reason::shutdown) {
    spdlog::info("shutting down: terminating {} running executor(s)", st.running.size());
    for (const auto& kv : st.jobs)
      self->send(kv.second, atom::shutdown_v);
  } else {
    spdlog::warn("leader lock lost: stopping at once, killing {} running executor(s)",
                 st.running.size());
    for (const auto& kv : st.jobs)
      self->send(kv.second, atom::abandon_v);
  }
  if (st.running.empty())
    finish_stop(self);
}

void release(self_ptr self, model::task_id task) {
  auto& st = self->state;
  auto it = st.running.find(task);
  if (it == st.running.end())
    return;
  st.load.remove(it->second.nodes);
  st.running.erase(it);
  if (st.stopping != stop_reason::none && st.running.empty())
    finish_stop(self);
}

job_actor job_for(self_ptr self, model::job_id id) {
  auto& st = self->state;
  auto it = st.jobs.find(id);
  if (it != st.jobs.end())
    return it->second;
  auto hdl = st.env->spawn_job(self->system(), id);
  self->monitor(hdl);
  st.jobs.emplace(id, hdl);
  return hdl;
}

void start(self_ptr self, const model::task_record& task) {
  auto& st = self->state;
  auto id = task.id;
  auto job = task.job;
  st.running.emplace(id, supervisor_state::slot{job, task.nodes_involved});
  st.load.add(task.nodes_involved);
  auto hdl = job_for(self, job);
  run_options opts{st.config.retry(), st.config.terminate_grace_ms};
  self->request(hdl, caf::infinite, atom::run_v, task, opts)
    .then(
      [=](task_end& end) {
        release(self, end.task);
        if (end.started)
          wake(self);  // a slot is free, and dependents may have become runnable
      },
      [=](caf::error& err) {
        spdlog::warn("task {}/{} was not started: {}", job, id, self->system().render(err));
        auto& st = self->state;
        auto it = st.jobs.find(job);
        bool receiver_gone = err == caf::sec::request_receiver_down;
        if (it != st.jobs.end() && it->second == hdl && receiver_gone)
          st.jobs.erase(it);  // a fresh job actor takes the task on the next pick
        release(self, id);
        if (receiver_gone)
          wake(self);
      });
}

void on_candidates(self_ptr self, std::vector<model::job_store::candidate>& candidates) {
  auto& st = self->state;
  st.query_in_flight = false;
  if (!st.is_leader || st.stopping != stop_reason::none)
    return;
  auto now = st.env->now();
  std::vector<model::pick_candidate> pcs;
  std::map<model::task_id, const model::task_record*> by_id;
  pcs.reserve(candidates.size());
  for (const auto& c : candidates) {
    if (st.running.count(c.task.id) > 0)
      continue;  // its runnable -> running write is still under way
    pcs.push_back(model::pick_candidate{c.task.id, c.task.job, c.task.not_before,
                                        c.dependencies_done, c.task.nodes_involved});
    by_id.emplace(c.task.id, &c.task);
  }
  for (auto id : model::pick(pcs, st.load, st.config.limits(), now))
    start(self, *by_id.at(id));
  if (auto next = model::next_wakeup(pcs, now))
    schedule_at(self, *next);
  if (st.dirty) {
    st.dirty = false;
    wake(self);
  }
}

void wake(self_ptr self) {
  auto& st = self->state;
  if (!st.is_leader || !st.reset_done || st.stopping != stop_reason::none)
    return;
  if (st.query_in_flight) {
    st.dirty = true;
    return;
  }
  st.query_in_flight = true;
  self->request(st.env->catalog, caf::infinite, atom::runnable_v)
    .then([=](std::vector<model::job_store::candidate>& cs) { on_candidates(self, cs); },
          [=](caf::error& err) {
            auto& st = self->state;
            st.query_in_flight = false;
            st.dirty = false;  // the poll timer tries again
            spdlog::warn("could not read runnable tasks: {}", self->system().render(err));
          });
}

void reset_orphans(self_ptr self, std::int32_t leader_pid) {
  auto& st = self->state;
  self->request(st.env->catalog, caf::infinite, atom::reset_v)
    .then(
      [=](std::vector<model::task_record>& tasks) {
        for (const auto& t : tasks)
          spdlog::info("task {}/{} was left unfinished by a previous coordinator; now {}", t.job,
                       t.id, model::to_string(t.status));
        auto& st = self->state;
        st.reset_done = true;
        arm_poll(self);
        wake(self);
      },
      [=](caf::error& err) {
        spdlog::error("could not reset tasks left running: {}; retrying in 1 s",
                      self->system().render(err));
        self->delayed_send(self, std::chrono::seconds(1), atom::leader_v, leader_pid);
      });
}

void reload(self_ptr self) {
  auto& st = self->state;
  if (!st.env->load_config) {
    spdlog::warn("reload requested, but there is no configuration file to read");
    return;
  }
  auto loaded = st.env->load_config();
  if (auto err = std::get_if<model::config_error>(&loaded)) {
    spdlog::error("reload: {}: {}; keeping the previous configuration", st.env->config_path,
                  err->message());
    return;
  }
  auto cfg = std::get<model::config>(std::move(loaded));
  if (cfg.dsn != st.config.dsn) {
    spdlog::warn("reload: dsn changed; a new connection string takes effect only after a restart");
    cfg.dsn = st.config.dsn;
  }
  bool poll_changed = cfg.poll_interval_ms != st.config.poll_interval_ms;
  st.config = std::move(cfg);
  spdlog::set_level(spdlog::level::from_str(st.config.log_level));
  spdlog::info("configuration reloaded: {}", model::describe(st.config));
  if (poll_changed && st.reset_done) {
    ++st.poll_generation;
    arm_poll(self);
  }
  wake(self);  // a raised limit may let more tasks start
}

}  // namespace

supervisor_actor::behavior_type
supervisor(supervisor_actor::stateful_pointer<supervisor_state> self, model::config config,
           std::shared_ptr<const supervisor_environment> env) {
  auto& st = self->state;
  st.config = std::move(config);
  st.env = std::move(env);
  spawn_leader(self);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    if (st.leader && dm.source == st.leader.address()) {
      st.leader = nullptr;
      if (st.stopping == stop_reason::none) {
        spdlog::error("the leader session ended: {}", self->system().render(dm.reason));
        begin_stop(self, stop_reason::lock_lost);
      }
      return;
    }
    for (auto it = st.jobs.begin(); it != st.jobs.end(); ++it)
      if (it->second.address() == dm.source) {
        st.jobs.erase(it);
        break;
      }
  });
  return {
    [=](atom::leader, std::int32_t leader_pid) {
      auto& st = self->state;
      if (st.stopping != stop_reason::none)
        return;
      if (!st.is_leader)
        spdlog::info("leader lock acquired (leader backend pid {}); this coordinator is active",
                     leader_pid);
      st.is_leader = true;
      reset_orphans(self, leader_pid);
    },
    [=](atom::lost, const std::string& why) {
      spdlog::error("leader lock lost: {}", why);
      begin_stop(self, stop_reason::lock_lost);
    },
    [=](atom::wakeup, model::job_id) { wake(self); },
    [=](atom::cancel, model::job_id job) {
      auto& st = self->state;
      auto it = st.jobs.find(job);
      if (it != st.jobs.end())
        self->send(it->second, atom::cancel_v);
    },
    [=](atom::shutdown) { begin_stop(self, stop_reason::shutdown); },
    [=](atom::cancel) { begin_stop(self, stop_reason::cancel); },
    [=](atom::reload) { reload(self); },
    [=](atom::internal, atom::tick, std::uint64_t generation) {
      auto& st = self->state;
      if (generation == 0) {
        if (st.next_timer && *st.next_timer <= st.env->now())
          st.next_timer.reset();
        wake(self);
      } else if (generation == st.poll_generation && st.stopping == stop_reason::none) {
        arm_poll(self);
        wake(self);
      }
    },
    [=](atom::get, atom::status) {
      auto& st = self->state;
      supervisor_status out;
      out.leader = st.is_leader;
      out.stopping = st.stopping != stop_reason::none;
      for (const auto& kv : st.running)
        out.running.push_back(kv.first);
      for (const auto& kv : st.jobs)
        out.jobs.push_back(kv.first);
      return out;
    },
  };
}

}  // namespace steward
