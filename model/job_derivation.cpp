#include "model/job_derivation.hpp"

namespace steward::model {

namespace {

std::size_t count_of(const state_counts& counts, task_state s) {
  return counts[static_cast<std::size_t>(s)];
}

}  // namespace

state_counts count_states(const std::vector<task_state>& states) {
  state_counts counts{};
  for (auto s : states)
    ++counts[static_cast<std::size_t>(s)];
  return counts;
}

job_state derive_job_state(const state_counts& counts) {
  if (count_of(counts, task_state::cancelling) > 0)
    return job_state::cancelling;
  if (count_of(counts, task_state::cancelled) > 0)
    return job_state::cancelled;
  auto active = count_of(counts, task_state::blocked) + count_of(counts, task_state::runnable)
                + count_of(counts, task_state::running);
  auto failed = count_of(counts, task_state::error) + count_of(counts, task_state::unscheduled);
  if (active + failed == 0)
    return job_state::finished;
  if (failed > 0)
    return active > 0 ? job_state::failing : job_state::failed;
  return job_state::running;
}

job_state derive_job_state(const std::vector<task_state>& states) {
  return derive_job_state(count_states(states));
}

job_timestamps_change timestamps_for(job_state derived, bool has_started_at,
                                     bool has_finished_at) {
  job_timestamps_change change;
  change.set_started_at = derived == job_state::running && !has_started_at;
  change.set_finished_at = is_terminal(derived) && !has_finished_at;
  return change;
}

}  // namespace steward::model
