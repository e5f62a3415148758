#include "actors/executor_proxy.hpp"

#include "actors/os/shm_channel.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

namespace steward {

namespace {

class shm_task_channel final : public task_channel {
public:
  explicit shm_task_channel(shm_channel channel) : channel_(std::move(channel)) {}
  const std::string& name() const override { return channel_.name(); }
  std::vector<model::frame> read_available(std::string* error) override {
    return channel_.read_available(error);
  }

private:
  shm_channel channel_;
};

using self_ptr = executor_proxy_actor::stateful_pointer<executor_proxy_state>;

void read_channel(self_ptr self) {
  auto& st = self->state;
  if (!st.channel)
    return;
  std::string error;
  auto frames = st.channel->read_available(&error);
  if (!error.empty())
    spdlog::warn("task {}/{}: dropped malformed channel data: {}", st.task.job, st.task.id, error);
  for (const auto& f : frames)
    st.message.add(f);
  if (!st.pid_reported && st.message.backend_pid()) {
    st.pid_reported = true;
    self->send(st.parent, atom::started_v, st.task.id, *st.message.backend_pid());
  }
}

void report(self_ptr self, task_outcome outcome) {
  self->send(self->state.parent, atom::finished_v, std::move(outcome));
  self->state.channel.reset();  // unlinks the segment
  self->quit();
}

void schedule_poll(self_ptr self) {
  auto& st = self->state;
  auto every = st.elapsed < st.env->fast_period ? st.env->fast_poll : st.env->slow_poll;
  st.elapsed += every;
  self->delayed_send(self, every, atom::internal_v, atom::poll_v);
}

}  // namespace

channel_factory shm_channel_factory() {
  return [](model::task_id task) -> std::shared_ptr<task_channel> {
    return std::make_shared<shm_task_channel>(
      shm_channel::create(shm_channel::name_for(static_cast<int>(::getpid()), task)));
  };
}

executor_proxy_state::~executor_proxy_state() {
  if (pid > 0 && !reaped && env && env->launcher) {
    env->launcher->signal(pid, SIGKILL);
    env->launcher->poll_exit(pid);
  }
}

task_outcome make_outcome(model::task_id task, const model::task_message_builder& message,
                          int wait_status, bool terminated_by_coordinator) {
  bool exited_ok = WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
  if (message.finished() && !message.had_error() && exited_ok)
    return {task, outcome_kind::succeeded, message.text()};
  if (terminated_by_coordinator)
    return {task, outcome_kind::shut_down,
            "the task was stopped because the coordinator shut down; it will run again\n"};
  if (message.had_error())
    return {task, outcome_kind::failed, message.text()};
  std::string text = message.text();
  text += "steward-executor " + describe_wait_status(wait_status) + " without reporting an outcome\n";
  return {task, outcome_kind::crashed, std::move(text)};
}

executor_proxy_actor::behavior_type
executor_proxy(executor_proxy_actor::stateful_pointer<executor_proxy_state> self, job_actor parent,
               model::task_record task, run_options options,
               std::shared_ptr<const executor_environment> env) {
  auto& st = self->state;
  st.parent = std::move(parent);
  st.task = std::move(task);
  st.options = std::move(options);
  st.env = std::move(env);
  try {
    st.channel = st.env->open_channel(st.task.id);
    launch_request req;
    req.executable = st.env->executable;
    req.args = {"--channel", st.channel->name(),          "--job",
                std::to_string(st.task.job), "--task", std::to_string(st.task.id),
                "--owner",   st.task.owner};
    req.env["STEWARD_EXECUTOR_DSN"] = st.env->dsn;
    st.pid = st.env->launcher->launch(req);
    spdlog::debug("task {}/{}: executor pid {}", st.task.job, st.task.id, st.pid);
  } catch (const std::exception& e) {
    st.launch_error = e.what();
  }
  self->send(self, atom::internal_v, atom::poll_v);
  return {
    [=](atom::internal, atom::poll) {
      auto& st = self->state;
      if (!st.launch_error.empty()) {
        spdlog::error("task {}/{}: could not start the executor: {}", st.task.job, st.task.id,
                      st.launch_error);
        report(self, task_outcome{st.task.id, outcome_kind::crashed,
                                  "could not start steward-executor: " + st.launch_error + "\n"});
        return;
      }
      read_channel(self);
      auto status = st.env->launcher->poll_exit(st.pid);
      if (!status) {
        schedule_poll(self);
        return;
      }
      st.reaped = true;
      read_channel(self);  // whatever the child wrote before it exited
      report(self, make_outcome(st.task.id, st.message, *status, st.terminate_sent));
    },
    [=](atom::cancel) {
      auto& st = self->state;
      if (st.cancel_sent || st.reaped || st.pid <= 0)
        return;
      st.cancel_sent = true;
      spdlog::info("task {}/{}: cancelling (SIGINT to executor pid {})", st.task.job, st.task.id,
                   st.pid);
      st.env->launcher->signal(st.pid, SIGINT);
    },
    [=](atom::shutdown) {
      auto& st = self->state;
      if (st.terminate_sent || st.reaped || st.pid <= 0)
        return;
      st.terminate_sent = true;
      st.env->launcher->signal(st.pid, SIGTERM);
      self->delayed_send(self, std::chrono::milliseconds(st.options.terminate_grace_ms),
                         atom::internal_v, atom::kill_v);
    },
    [=](atom::kill) {
      auto& st = self->state;
      if (st.reaped || st.kill_sent || st.pid <= 0)
        return;
      st.kill_sent = true;
      spdlog::warn("task {}/{}: killing executor pid {} (SIGKILL)", st.task.job, st.task.id,
                   st.pid);
      st.env->launcher->signal(st.pid, SIGKILL);
    },
    [=](atom::internal, atom::kill) {
      auto& st = self->state;
      if (st.reaped || st.kill_sent)
        return;
      st.kill_sent = true;
      spdlog::warn("task {}/{}: executor pid {} did not stop within {} ms; sending SIGKILL",
                   st.task.job, st.task.id, st.pid, st.options.terminate_grace_ms);
      st.env->launcher->signal(st.pid, SIGKILL);
    },
  };
}

}  // namespace steward
