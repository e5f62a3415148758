#pragma once

// Every typed actor interface of the daemon (STYLE.md: one header, VAST-era style).
//
//   signal bridge ──shutdown/cancel/reload──▶ supervisor ◀──leader/lost/wakeup/cancel── leader
//                                               │  ▲ run ─▶ reply task_end when the attempt is over
//                          runnable/reset/cancel│  │
//                                               ▼  │
//                                            catalog ◀──apply/load── job (one per job)
//                                                                     │ ▲ started/finished
//                                                             cancel/ │ │
//                                                           shutdown  ▼ │
//                                                               executor proxy (one per task)
//                                                                     │ Boost.Process + shm channel
//                                                                     ▼
//                                                             steward-executor

#include "actors/atoms.hpp"
#include "actors/error.hpp"
#include "actors/fwd.hpp"
#include "actors/messages.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace steward {

/// Wall-clock "now" in ms since the epoch (not_before, back-off). Injected so that
/// tests drive time themselves; the model never reads a clock.
using wall_clock = std::function<model::epoch_ms()>;

inline model::epoch_ms system_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// Blocking access to the catalog (a model::job_store); runs detached and owns its
/// connection. Each request is one transaction. Failures reply with an `ec` error
/// (db_unavailable, db_failed, not_found).
using catalog_actor = caf::typed_actor<
  // Leader start-up: tasks left running go back to runnable (citus-reference §4.3).
  caf::replies_to<atom::reset>::with<std::vector<model::task_record>>,
  // Runnable tasks in ascending task_id, with dependencies_done.
  caf::replies_to<atom::runnable>::with<std::vector<model::job_store::candidate>>,
  // A job and all its tasks; not_found if it is gone.
  caf::replies_to<atom::load, atom::job, model::job_id>::with<model::job_store::job_snapshot>,
  // One task; not_found if it is gone.
  caf::replies_to<atom::load, atom::task, model::task_id>::with<model::task_record>,
  // Guarded task updates (and a job update) in one transaction; replies the task ids
  // whose guard failed.
  caf::replies_to<atom::apply, std::vector<model::task_update>>::with<std::vector<model::task_id>>,
  caf::replies_to<atom::apply, std::vector<model::task_update>,
                  model::job_update>::with<std::vector<model::task_id>>,
  // Jobs with unfinished tasks.
  caf::replies_to<atom::active>::with<std::vector<model::job_id>>,
  // citus_job_cancel as the coordinator (SIGINT).
  caf::replies_to<atom::cancel, model::job_id>::with<atom::ok>,
  // An executor died uncleanly: terminate its backend if it still holds the task lock.
  caf::replies_to<atom::kill, model::task_id, std::int32_t>::with<atom::ok>>;

/// One running task: supervises one steward-executor child over its channel.
using executor_proxy_actor = caf::typed_actor<
  // The task was cancelled: SIGINT to the executor (cancels its statement).
  caf::reacts_to<atom::cancel>,
  // Graceful shutdown: SIGTERM now, SIGKILL after terminate_grace_ms.
  caf::reacts_to<atom::shutdown>,
  // A second SIGTERM/SIGINT or a lost leader lock: SIGKILL now.
  caf::reacts_to<atom::kill>,
  // Self-sent: read the channel and look for the child's exit.
  caf::reacts_to<atom::internal, atom::poll>,
  // Self-sent: the terminate grace period is over.
  caf::reacts_to<atom::internal, atom::kill>>;

/// One job with unfinished tasks: holds its DAG, applies transitions, records them.
using job_actor = caf::typed_actor<
  // Start a picked task; the reply comes when the attempt is over (or at once with
  // started = false when the guarded runnable -> running write fails).
  caf::replies_to<atom::run, model::task_record, run_options>::with<task_end>,
  // From a proxy: the executor's backend pid.
  caf::reacts_to<atom::started, model::task_id, std::int32_t>,
  // From a proxy: the attempt ended and the child is reaped.
  caf::reacts_to<atom::finished, task_outcome>,
  // A cancel of this job was noticed (steward_cancel or SIGINT): reload, SIGINT the
  // executors of tasks now cancelling/cancelled.
  caf::reacts_to<atom::cancel>,
  // Graceful shutdown: terminate the executors; their tasks go back to runnable.
  caf::reacts_to<atom::shutdown>,
  // A second signal during a shutdown or cancel: SIGKILL the executors now; their
  // outcomes are recorded as the shutdown or cancel would have recorded them.
  caf::reacts_to<atom::kill>,
  // The leader lock is lost: SIGKILL the executors and record nothing more (the next
  // leader resets the tasks left running); quit once every attempt is over.
  caf::reacts_to<atom::abandon>>;

/// The leader session (blocking, detached): takes the advisory lock, then forwards
/// LISTEN notifications. It is a blocking actor, so this handle is only used to stop it.
using leader_actor = caf::typed_actor<caf::reacts_to<atom::shutdown>>;

/// The one supervisor of `steward run`.
using supervisor_actor = caf::typed_actor<
  // From the leader: the lock is ours (leader connection backend pid).
  caf::reacts_to<atom::leader, std::int32_t>,
  // From the leader: the lock is gone (why).
  caf::reacts_to<atom::lost, std::string>,
  // steward_wakeup: a task of this job became runnable.
  caf::reacts_to<atom::wakeup, model::job_id>,
  // steward_cancel: this job is being cancelled.
  caf::reacts_to<atom::cancel, model::job_id>,
  // Signals (signal bridge): SIGTERM, SIGINT, SIGHUP.
  caf::reacts_to<atom::shutdown>,
  caf::reacts_to<atom::cancel>,
  caf::reacts_to<atom::reload>,
  // Self-sent timers: generation 0 = one-shot (not_before), otherwise the poll timer.
  caf::reacts_to<atom::internal, atom::tick, std::uint64_t>,
  // For tests and status.
  caf::replies_to<atom::get, atom::status>::with<supervisor_status>>;

}  // namespace steward
