#include "model/transitions.hpp"

#include <fmt/format.h>

#include <optional>

namespace steward::model {

namespace {

/// One row per legal transition; everything not listed is illegal.
struct transition_row {
  task_state from;
  task_event event;
  task_state to;
};

constexpr transition_row transition_table[] = {
  // The coordinator picks a runnable task.
  {task_state::runnable, task_event::picked, task_state::running},
  // The executor ends.
  {task_state::running, task_event::succeeded, task_state::done},
  {task_state::running, task_event::failed_will_retry, task_state::runnable},
  {task_state::running, task_event::failed_final, task_state::error},
  // ... while a cancel was pending: cancel wins.
  {task_state::cancelling, task_event::succeeded, task_state::cancelled},
  {task_state::cancelling, task_event::failed_will_retry, task_state::cancelled},
  {task_state::cancelling, task_event::failed_final, task_state::cancelled},
  // citus_job_cancel.
  {task_state::running, task_event::cancel_running, task_state::cancelling},
  {task_state::blocked, task_event::cancel, task_state::cancelled},
  {task_state::runnable, task_event::cancel, task_state::cancelled},
  {task_state::cancelling, task_event::cancel, task_state::cancelled},
  {task_state::running, task_event::cancel, task_state::cancelled},  // no pid yet
  {task_state::cancelling, task_event::cancel_seen, task_state::cancelled},
  // Dependencies.
  {task_state::blocked, task_event::unblocked, task_state::runnable},
  {task_state::blocked, task_event::dependency_failed, task_state::unscheduled},
  {task_state::runnable, task_event::dependency_failed, task_state::unscheduled},
  // Leader start-up and shutdown.
  {task_state::running, task_event::orphan_reset, task_state::runnable},
  {task_state::cancelling, task_event::orphan_cancel, task_state::cancelled},
  {task_state::running, task_event::shutdown_requeue, task_state::runnable},
};

std::optional<task_state> lookup(task_state from, task_event ev) {
  for (const auto& row : transition_table)
    if (row.from == from && row.event == ev)
      return row.to;
  return std::nullopt;
}

}  // namespace

std::string_view to_string(task_event ev) {
  switch (ev) {
    case task_event::picked: return "picked";
    case task_event::succeeded: return "succeeded";
    case task_event::failed_will_retry: return "failed_will_retry";
    case task_event::failed_final: return "failed_final";
    case task_event::cancel_running: return "cancel_running";
    case task_event::cancel: return "cancel";
    case task_event::cancel_seen: return "cancel_seen";
    case task_event::unblocked: return "unblocked";
    case task_event::dependency_failed: return "dependency_failed";
    case task_event::orphan_reset: return "orphan_reset";
    case task_event::orphan_cancel: return "orphan_cancel";
    case task_event::shutdown_requeue: return "shutdown_requeue";
  }
  return "?";
}

std::string illegal_transition::message() const {
  return fmt::format("illegal task transition: event {} in state {}", to_string(event),
                     to_string(from));
}

std::variant<task_state, illegal_transition> next(task_state from, task_event ev) {
  if (auto to = lookup(from, ev))
    return *to;
  return illegal_transition{from, ev};
}

bool is_legal(task_state from, task_event ev) {
  return lookup(from, ev).has_value();
}

}  // namespace steward::model
