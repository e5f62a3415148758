#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace steward::model {

/// Task states with Citus's labels, in the declaration order of the SQL enum
/// `citus_task_status` (ORDER BY depends on it).
enum class task_state : std::uint8_t {
  blocked,
  runnable,
  running,
  done,
  cancelling,
  error,
  unscheduled,
  cancelled,
};

/// Job states with Citus's labels, in the declaration order of `citus_job_status`.
enum class job_state : std::uint8_t {
  scheduled,
  running,
  finished,
  cancelling,
  cancelled,
  failing,
  failed,
};

inline constexpr std::array<task_state, 8> all_task_states{
  task_state::blocked,    task_state::runnable, task_state::running,     task_state::done,
  task_state::cancelling, task_state::error,    task_state::unscheduled, task_state::cancelled};

inline constexpr std::array<job_state, 7> all_job_states{
  job_state::scheduled, job_state::running,  job_state::finished, job_state::cancelling,
  job_state::cancelled, job_state::failing, job_state::failed};

std::string_view to_string(task_state s);
std::string_view to_string(job_state s);

/// Parses a label as the database prints it; nullopt for anything else.
std::optional<task_state> parse_task_state(std::string_view label);
std::optional<job_state> parse_job_state(std::string_view label);

/// done, error, unscheduled and cancelled are terminal (citus-reference §1.2).
bool is_terminal(task_state s);
/// finished, cancelled and failed are terminal (citus-reference §1.1).
bool is_terminal(job_state s);

}  // namespace steward::model
