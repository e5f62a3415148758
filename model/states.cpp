#include "model/states.hpp"

namespace steward::model {

std::string_view to_string(task_state s) {
  switch (s) {
    case task_state::blocked: return "blocked";
    case task_state::runnable: return "runnable";
    case task_state::running: return "running";
    case task_state::done: return "done";
    case task_state::cancelling: return "cancelling";
    case task_state::error: return "error";
    case task_state::unscheduled: return "unscheduled";
    case task_state::cancelled: return "cancelled";
  }
  return "?";
}

std::string_view to_string(job_state s) {
  switch (s) {
    case job_state::scheduled: return "scheduled";
    case job_state::running: return "running";
    case job_state::finished: return "finished";
    case job_state::cancelling: return "cancelling";
    case job_state::cancelled: return "cancelled";
    case job_state::failing: return "failing";
    case job_state::failed: return "failed";
  }
  return "?";
}

std::optional<task_state> parse_task_state(std::string_view label) {
  for (auto s : all_task_states)
    if (to_string(s) == label)
      return s;
  return std::nullopt;
}

std::optional<job_state> parse_job_state(std::string_view label) {
  for (auto s : all_job_states)
    if (to_string(s) == label)
      return s;
  return std::nullopt;
}

bool is_terminal(task_state s) {
  return s == task_state::done || s == task_state::error || s == task_state::unscheduled
         || s == task_state::cancelled;
}

bool is_terminal(job_state s) {
  return s == job_state::finished || s == job_state::cancelled || s == job_state::failed;
}

}  // namespace steward::model
