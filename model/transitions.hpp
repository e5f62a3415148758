#pragma once

#include "model/states.hpp"

#include <array>
#include <string>
#include <string_view>
#include <variant>

namespace steward::model {

/// What happens to a task (citus-reference §2.1 plus DESIGN.md deviations). The caller
/// picks the event from what it knows (e.g. whether a running task has a pid yet); the
/// table in transitions.cpp decides whether the event is legal in the current state.
enum class task_event : std::uint8_t {
  picked,             ///< runnable -> running (the coordinator assigned it)
  succeeded,          ///< running -> done; cancelling -> cancelled (cancel wins)
  failed_will_retry,  ///< running -> runnable (retry counted); cancelling -> cancelled
  failed_final,       ///< running -> error (retries exhausted); cancelling -> cancelled
  cancel_running,     ///< running (with pid) -> cancelling
  cancel,             ///< blocked | runnable | cancelling | running (no pid) -> cancelled
  cancel_seen,        ///< cancelling -> cancelled (the executor ended after the cancel)
  unblocked,          ///< blocked -> runnable (every dependency is done)
  dependency_failed,  ///< blocked | runnable -> unscheduled (a transitive dependency hit error)
  orphan_reset,       ///< running -> runnable at leader start-up (no retry counted)
  orphan_cancel,      ///< cancelling -> cancelled at leader start-up (deviation from Citus)
  shutdown_requeue,   ///< running -> runnable on SIGTERM, no retry counted (deviation 1)
};

inline constexpr std::array<task_event, 12> all_task_events{
  task_event::picked,         task_event::succeeded,        task_event::failed_will_retry,
  task_event::failed_final,   task_event::cancel_running,   task_event::cancel,
  task_event::cancel_seen,    task_event::unblocked,        task_event::dependency_failed,
  task_event::orphan_reset,   task_event::orphan_cancel,    task_event::shutdown_requeue};

std::string_view to_string(task_event ev);

/// An event that the state machine does not allow in `from`.
struct illegal_transition {
  task_state from;
  task_event event;
  /// e.g. "illegal task transition: event picked in state done"
  std::string message() const;
};

/// The state a task in `from` moves to on `ev`, or illegal_transition.
///
/// Decisions beyond citus-reference §2.1:
/// - Terminal states (done, error, unscheduled, cancelled) have no outgoing transition.
///   In particular nothing leads from cancelled or cancelling back to running or
///   runnable (deviation 2): a late executor report for a cancelled task is illegal
///   and the caller drops it.
/// - Any executor outcome (succeeded, failed_will_retry, failed_final) on a cancelling
///   task ends it as cancelled: cancel wins, as in Citus's concurrent-cancel check.
/// - dependency_failed is legal only from blocked and runnable. A dependent can never
///   be running or cancelling while a dependency fails (it starts only once all its
///   dependencies are done, and done is final), and terminal dependents keep their
///   state (Citus overwrites them; we do not rewrite a finished or cancelled task).
/// - cancel applies to running only when the task has no pid yet; the caller chooses
///   cancel_running otherwise.
std::variant<task_state, illegal_transition> next(task_state from, task_event ev);

/// Whether next(from, ev) yields a state.
bool is_legal(task_state from, task_event ev);

}  // namespace steward::model
