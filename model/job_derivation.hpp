#pragma once

#include "model/states.hpp"

#include <array>
#include <cstddef>
#include <vector>

namespace steward::model {

/// Number of tasks per state, indexed by static_cast<std::size_t>(task_state).
using state_counts = std::array<std::size_t, 8>;

state_counts count_states(const std::vector<task_state>& states);

/// The job state as a pure function of its task states (citus-reference §2.2), in
/// Citus's order: any cancelling -> cancelling; else any cancelled -> cancelled; else
/// nothing in {blocked, runnable, running, error, unscheduled} -> finished (also for a
/// job with no tasks, deviation 6); else any error/unscheduled -> failing while some
/// task is blocked/runnable/running, failed otherwise; else running.
/// Never yields `scheduled` (only the insert default).
job_state derive_job_state(const state_counts& counts);
job_state derive_job_state(const std::vector<task_state>& states);

/// Which of the job's timestamps to set now (each is set once, while NULL).
struct job_timestamps_change {
  bool set_started_at = false;   ///< first time the derived state is running
  bool set_finished_at = false;  ///< first time the derived state is terminal
};

job_timestamps_change timestamps_for(job_state derived, bool has_started_at,
                                     bool has_finished_at);

}  // namespace steward::model
