#include <catch2/catch.hpp>

#include "model/states.hpp"

using namespace steward::model;

TEST_CASE("task state labels round-trip and follow the enum order of citus_task_status") {
  const char* labels[] = {"blocked", "runnable", "running",     "done",
                          "cancelling", "error", "unscheduled", "cancelled"};
  for (std::size_t i = 0; i < all_task_states.size(); ++i) {
    CHECK(to_string(all_task_states[i]) == labels[i]);
    CHECK(parse_task_state(labels[i]) == all_task_states[i]);
  }
  CHECK_FALSE(parse_task_state("Running").has_value());
}

TEST_CASE("job state labels round-trip and follow the enum order of citus_job_status") {
  const char* labels[] = {"scheduled", "running", "finished", "cancelling",
                          "cancelled", "failing", "failed"};
  for (std::size_t i = 0; i < all_job_states.size(); ++i) {
    CHECK(to_string(all_job_states[i]) == labels[i]);
    CHECK(parse_job_state(labels[i]) == all_job_states[i]);
  }
  CHECK_FALSE(parse_job_state("").has_value());
}

TEST_CASE("terminal states are exactly Citus's terminal states") {
  CHECK(is_terminal(task_state::done));
  CHECK(is_terminal(task_state::error));
  CHECK(is_terminal(task_state::unscheduled));
  CHECK(is_terminal(task_state::cancelled));
  CHECK_FALSE(is_terminal(task_state::blocked));
  CHECK_FALSE(is_terminal(task_state::runnable));
  CHECK_FALSE(is_terminal(task_state::running));
  CHECK_FALSE(is_terminal(task_state::cancelling));
  CHECK(is_terminal(job_state::finished));
  CHECK(is_terminal(job_state::cancelled));
  CHECK(is_terminal(job_state::failed));
  CHECK_FALSE(is_terminal(job_state::scheduled));
  CHECK_FALSE(is_terminal(job_state::running));
  CHECK_FALSE(is_terminal(job_state::cancelling));
  CHECK_FALSE(is_terminal(job_state::failing));
}
