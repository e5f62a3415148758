#include <catch2/catch.hpp>

#include "model/transitions.hpp"

#include <map>
#include <set>
#include <utility>

using namespace steward::model;

namespace {

using S = task_state;
using E = task_event;

/// The expected state machine, written out independently of model/transitions.cpp.
const std::map<std::pair<S, E>, S>& expected_table() {
  static const std::map<std::pair<S, E>, S> table{
    {{S::runnable, E::picked}, S::running},
    {{S::running, E::succeeded}, S::done},
    {{S::running, E::failed_will_retry}, S::runnable},
    {{S::running, E::failed_final}, S::error},
    {{S::running, E::cancel_running}, S::cancelling},
    {{S::running, E::cancel}, S::cancelled},
    {{S::running, E::orphan_reset}, S::runnable},
    {{S::running, E::shutdown_requeue}, S::runnable},
    {{S::blocked, E::cancel}, S::cancelled},
    {{S::blocked, E::unblocked}, S::runnable},
    {{S::blocked, E::dependency_failed}, S::unscheduled},
    {{S::runnable, E::cancel}, S::cancelled},
    {{S::runnable, E::dependency_failed}, S::unscheduled},
    {{S::cancelling, E::cancel}, S::cancelled},
    {{S::cancelling, E::cancel_seen}, S::cancelled},
    {{S::cancelling, E::orphan_cancel}, S::cancelled},
    {{S::cancelling, E::succeeded}, S::cancelled},
    {{S::cancelling, E::failed_will_retry}, S::cancelled},
    {{S::cancelling, E::failed_final}, S::cancelled},
  };
  return table;
}

task_state to_state(const std::variant<task_state, illegal_transition>& r) {
  REQUIRE(std::holds_alternative<task_state>(r));
  return std::get<task_state>(r);
}

}  // namespace

TEST_CASE("every state and event pair is legal exactly when the expected table lists it") {
  std::size_t legal = 0;
  for (auto from : all_task_states) {
    for (auto ev : all_task_events) {
      INFO("from " << to_string(from) << " on " << to_string(ev));
      auto result = next(from, ev);
      auto it = expected_table().find({from, ev});
      if (it == expected_table().end()) {
        CHECK_FALSE(is_legal(from, ev));
        REQUIRE(std::holds_alternative<illegal_transition>(result));
        CHECK(std::get<illegal_transition>(result).from == from);
        CHECK(std::get<illegal_transition>(result).event == ev);
      } else {
        ++legal;
        CHECK(is_legal(from, ev));
        CHECK(to_state(result) == it->second);
      }
    }
  }
  CHECK(legal == expected_table().size());
}

TEST_CASE("a runnable task picked by the coordinator is running") {
  CHECK(to_state(next(S::runnable, E::picked)) == S::running);
  CHECK_FALSE(is_legal(S::blocked, E::picked));
}

TEST_CASE("a running task ends done, back in the queue for a retry, or in error") {
  CHECK(to_state(next(S::running, E::succeeded)) == S::done);
  CHECK(to_state(next(S::running, E::failed_will_retry)) == S::runnable);
  CHECK(to_state(next(S::running, E::failed_final)) == S::error);
}

TEST_CASE("an executor that finished while its task was cancelling leaves the task cancelled") {
  CHECK(to_state(next(S::cancelling, E::succeeded)) == S::cancelled);
  CHECK(to_state(next(S::cancelling, E::failed_will_retry)) == S::cancelled);
  CHECK(to_state(next(S::cancelling, E::failed_final)) == S::cancelled);
}

TEST_CASE("cancelling a job moves running tasks with a pid to cancelling and the rest to cancelled") {
  CHECK(to_state(next(S::running, E::cancel_running)) == S::cancelling);
  CHECK(to_state(next(S::running, E::cancel)) == S::cancelled);
  CHECK(to_state(next(S::blocked, E::cancel)) == S::cancelled);
  CHECK(to_state(next(S::runnable, E::cancel)) == S::cancelled);
  CHECK(to_state(next(S::cancelling, E::cancel)) == S::cancelled);
  CHECK(to_state(next(S::cancelling, E::cancel_seen)) == S::cancelled);
  CHECK_FALSE(is_legal(S::blocked, E::cancel_running));
  CHECK_FALSE(is_legal(S::cancelling, E::cancel_running));
}

TEST_CASE("a cancelled or cancelling task never goes back to running or runnable") {
  for (auto from : {S::cancelled, S::cancelling}) {
    for (auto ev : all_task_events) {
      auto result = next(from, ev);
      if (auto* to = std::get_if<task_state>(&result)) {
        CHECK(*to != S::running);
        CHECK(*to != S::runnable);
      }
    }
  }
}

TEST_CASE("terminal states have no outgoing transition") {
  for (auto from : all_task_states) {
    if (!is_terminal(from))
      continue;
    for (auto ev : all_task_events) {
      INFO("from " << to_string(from) << " on " << to_string(ev));
      CHECK_FALSE(is_legal(from, ev));
    }
  }
}

TEST_CASE("a failed dependency unschedules blocked and runnable dependents only") {
  CHECK(to_state(next(S::blocked, E::dependency_failed)) == S::unscheduled);
  CHECK(to_state(next(S::runnable, E::dependency_failed)) == S::unscheduled);
  CHECK_FALSE(is_legal(S::running, E::dependency_failed));
  CHECK_FALSE(is_legal(S::cancelling, E::dependency_failed));
  CHECK_FALSE(is_legal(S::cancelled, E::dependency_failed));
  CHECK_FALSE(is_legal(S::done, E::dependency_failed));
}

TEST_CASE("leader start-up requeues running orphans and finishes cancelling ones") {
  CHECK(to_state(next(S::running, E::orphan_reset)) == S::runnable);
  CHECK(to_state(next(S::cancelling, E::orphan_cancel)) == S::cancelled);
  CHECK_FALSE(is_legal(S::runnable, E::orphan_reset));
  CHECK_FALSE(is_legal(S::running, E::orphan_cancel));
}

TEST_CASE("shutdown requeues running tasks and nothing else") {
  for (auto from : all_task_states)
    CHECK(is_legal(from, E::shutdown_requeue) == (from == S::running));
  CHECK(to_state(next(S::running, E::shutdown_requeue)) == S::runnable);
}

TEST_CASE("event labels are distinct and illegal transitions explain themselves") {
  std::set<std::string_view> labels;
  for (auto ev : all_task_events)
    labels.insert(to_string(ev));
  CHECK(labels.size() == all_task_events.size());
  CHECK(labels.count("?") == 0);
  auto result = next(S::done, E::picked);
  REQUIRE(std::holds_alternative<illegal_transition>(result));
  CHECK(std::get<illegal_transition>(result).message()
        == "illegal task transition: event picked in state done");
}
