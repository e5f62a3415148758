#pragma once

// Message payloads of the actor layer and the CAF 0.17 inspect overloads of the model
// structs they carry (kept here so that model/ never includes CAF).

#include "actors/fwd.hpp"

#include "model/job_store.hpp"
#include "model/records.hpp"
#include "model/retry_policy.hpp"

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/none.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace steward {

/// Settings a task runs with, fixed when it starts (a reload affects later tasks).
struct run_options {
  model::retry_policy retry;
  std::int32_t terminate_grace_ms = 5000;
};

/// How an execution attempt ended, as the executor proxy saw it.
enum class outcome_kind : std::uint8_t {
  succeeded,  ///< the executor reported `finished` and exited 0
  failed,     ///< the executor reported an error (the message holds it)
  crashed,    ///< the executor ended without an outcome, or could not be started
  shut_down,  ///< the coordinator terminated it (SIGTERM): requeue without a retry
};

/// Proxy -> job actor: an attempt ended and the child is reaped.
struct task_outcome {
  model::task_id task = 0;
  outcome_kind kind = outcome_kind::crashed;
  std::string message;  ///< the task message (citus-reference §4.6)
};

/// Job actor -> supervisor, the reply to `run`: delivered when the task's attempt is
/// over (or at once when it did not start), so the supervisor frees its slot.
struct task_end {
  model::task_id task = 0;
  bool started = false;
  model::task_state state = model::task_state::runnable;  ///< the task's state afterwards
};

/// What the supervisor is doing, for tests and `status`.
struct supervisor_status {
  bool leader = false;
  bool stopping = false;
  std::vector<model::task_id> running;  ///< ascending
  std::vector<model::job_id> jobs;      ///< jobs with a job actor, ascending
};

inline std::string to_string(outcome_kind kind) {
  switch (kind) {
    case outcome_kind::succeeded: return "succeeded";
    case outcome_kind::failed: return "failed";
    case outcome_kind::crashed: return "crashed";
    case outcome_kind::shut_down: return "shut_down";
  }
  return "unknown";
}

// -- inspection --------------------------------------------------------------------

namespace detail {

/// Inspects a std::optional<T> as (has_value, value); CAF 0.17 has no std::optional
/// support of its own.
template <class T>
struct optional_field {
  std::optional<T>& ref;
};

template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, optional_field<T>& x) {
  bool has = x.ref.has_value();
  T value = has ? *x.ref : T{};
  auto store = caf::meta::load_callback([&]() -> caf::error {
    if (has)
      x.ref = std::move(value);
    else
      x.ref.reset();
    return caf::none;
  });
  return f(has, value, store);
}

}  // namespace detail

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_options& x) {
  return f(caf::meta::type_name("run_options"), x.retry, x.terminate_grace_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_outcome& x) {
  return f(caf::meta::type_name("task_outcome"), x.task, x.kind, x.message);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_end& x) {
  return f(caf::meta::type_name("task_end"), x.task, x.started, x.state);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, supervisor_status& x) {
  return f(caf::meta::type_name("supervisor_status"), x.leader, x.stopping, x.running, x.jobs);
}

}  // namespace steward

namespace steward::model {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_record& x) {
  steward::detail::optional_field<std::int32_t> pid{x.pid};
  steward::detail::optional_field<std::int32_t> retry_count{x.retry_count};
  steward::detail::optional_field<epoch_ms> not_before{x.not_before};
  steward::detail::optional_field<std::vector<node_id>> nodes{x.nodes_involved};
  return f(caf::meta::type_name("task_record"), x.job, x.id, x.owner, pid, x.status, x.command,
           retry_count, not_before, x.message, nodes, x.depends_on);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_record& x) {
  steward::detail::optional_field<epoch_ms> started_at{x.started_at};
  steward::detail::optional_field<epoch_ms> finished_at{x.finished_at};
  return f(caf::meta::type_name("job_record"), x.id, x.state, x.job_type, x.description,
           started_at, finished_at);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_update& x) {
  steward::detail::optional_field<std::int32_t> pid{x.pid};
  steward::detail::optional_field<std::int32_t> retry_count{x.retry_count};
  steward::detail::optional_field<epoch_ms> not_before{x.not_before};
  steward::detail::optional_field<std::string> message{x.message};
  return f(caf::meta::type_name("task_update"), x.task, x.from, x.to, pid, x.clear_pid,
           retry_count, not_before, x.clear_not_before, message);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_update& x) {
  return f(caf::meta::type_name("job_update"), x.job, x.state, x.set_started_at,
           x.set_finished_at);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_store::candidate& x) {
  return f(caf::meta::type_name("candidate"), x.task, x.dependencies_done);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_store::job_snapshot& x) {
  return f(caf::meta::type_name("job_snapshot"), x.job, x.tasks);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, retry_policy& x) {
  return f(caf::meta::type_name("retry_policy"), x.delays_s, x.max_retries);
}

}  // namespace steward::model
