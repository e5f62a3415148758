#include <catch2/catch.hpp>

#include "model/job_derivation.hpp"

#include <algorithm>
#include <random>

using namespace steward::model;
using S = task_state;
using J = job_state;

TEST_CASE("counting task states tallies each state at its enum index") {
  auto counts = count_states({S::done, S::done, S::running, S::cancelled});
  CHECK(counts[static_cast<std::size_t>(S::done)] == 2);
  CHECK(counts[static_cast<std::size_t>(S::running)] == 1);
  CHECK(counts[static_cast<std::size_t>(S::cancelled)] == 1);
  CHECK(counts[static_cast<std::size_t>(S::blocked)] == 0);
  CHECK(count_states({}) == state_counts{});
}

TEST_CASE("a job with no tasks is finished") {
  CHECK(derive_job_state(std::vector<task_state>{}) == J::finished);
}

TEST_CASE("a job whose tasks are all done is finished") {
  CHECK(derive_job_state({S::done}) == J::finished);
  CHECK(derive_job_state({S::done, S::done, S::done}) == J::finished);
}

TEST_CASE("any cancelling task makes the job cancelling, whatever else there is") {
  CHECK(derive_job_state({S::cancelling}) == J::cancelling);
  CHECK(derive_job_state({S::cancelling, S::cancelled, S::error, S::done, S::running})
        == J::cancelling);
}

TEST_CASE("a cancelled task dominates done, failed and active tasks") {
  CHECK(derive_job_state({S::cancelled, S::done}) == J::cancelled);
  CHECK(derive_job_state({S::cancelled, S::error}) == J::cancelled);
  CHECK(derive_job_state({S::cancelled, S::running, S::blocked}) == J::cancelled);
}

TEST_CASE("a failed task makes the job failing while others are active and failed after") {
  CHECK(derive_job_state({S::error, S::running}) == J::failing);
  CHECK(derive_job_state({S::error, S::blocked}) == J::failing);
  CHECK(derive_job_state({S::unscheduled, S::runnable, S::done}) == J::failing);
  CHECK(derive_job_state({S::error, S::unscheduled, S::done}) == J::failed);
  CHECK(derive_job_state({S::error}) == J::failed);
  CHECK(derive_job_state({S::unscheduled}) == J::failed);
}

TEST_CASE("a job with active tasks and no failure is running, also while waiting for a retry") {
  CHECK(derive_job_state({S::runnable}) == J::running);
  CHECK(derive_job_state({S::blocked, S::done}) == J::running);
  CHECK(derive_job_state({S::running, S::runnable, S::blocked, S::done}) == J::running);
}

TEST_CASE("derivation never yields scheduled and follows Citus's order on random jobs") {
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<std::size_t> len(0, 6), pick(0, all_task_states.size() - 1);
  for (int i = 0; i < 2000; ++i) {
    std::vector<task_state> states;
    auto n = len(rng);
    for (std::size_t k = 0; k < n; ++k)
      states.push_back(all_task_states[pick(rng)]);
    auto has = [&](S s) { return std::find(states.begin(), states.end(), s) != states.end(); };
    bool active = has(S::blocked) || has(S::runnable) || has(S::running);
    bool failed = has(S::error) || has(S::unscheduled);
    J expected = has(S::cancelling)  ? J::cancelling
                 : has(S::cancelled) ? J::cancelled
                 : !active && !failed ? J::finished
                 : failed            ? (active ? J::failing : J::failed)
                                     : J::running;
    CHECK(derive_job_state(states) == expected);
    CHECK(derive_job_state(states) != J::scheduled);
  }
}

TEST_CASE("started_at is set the first time the job is derived running") {
  auto c = timestamps_for(J::running, false, false);
  CHECK(c.set_started_at);
  CHECK_FALSE(c.set_finished_at);
  CHECK_FALSE(timestamps_for(J::running, true, false).set_started_at);
  CHECK_FALSE(timestamps_for(J::failing, false, false).set_started_at);
  CHECK_FALSE(timestamps_for(J::cancelling, false, false).set_started_at);
}

TEST_CASE("finished_at is set the first time the job is derived terminal") {
  for (auto s : all_job_states) {
    INFO(to_string(s));
    CHECK(timestamps_for(s, true, false).set_finished_at == is_terminal(s));
    CHECK_FALSE(timestamps_for(s, true, true).set_finished_at);
  }
  // A job cancelled before any task started keeps started_at NULL.
  auto c = timestamps_for(J::cancelled, false, false);
  CHECK_FALSE(c.set_started_at);
  CHECK(c.set_finished_at);
}
