#pragma once

// Every atom of the actor layer, in one place (STYLE.md: no ad-hoc atoms per file).
// CAF 0.17 atoms are at most 10 characters.

#include <caf/atom.hpp>
#include <caf/type_id.hpp>

/// Declares steward::atom::NAME (and NAME_v) for the text TEXT.
#define STEWARD_ADD_ATOM(name, text) CAF_ADD_ATOM(steward, steward::atom, name, text)

/// Makes one of CAF's predefined atoms available as steward::atom::NAME.
#define STEWARD_CAF_ATOM_ALIAS(name)                                                   \
  namespace steward::atom {                                                            \
  using name = caf::name##_atom;                                                       \
  [[maybe_unused]] constexpr name name##_v = name{};                                   \
  }

STEWARD_CAF_ATOM_ALIAS(get)
STEWARD_CAF_ATOM_ALIAS(ok)
STEWARD_CAF_ATOM_ALIAS(reset)

STEWARD_ADD_ATOM(abandon, "abandon")    // job: leadership is gone, record nothing, kill
STEWARD_ADD_ATOM(active, "active")      // catalog: jobs with unfinished tasks
STEWARD_ADD_ATOM(apply, "apply")        // catalog: one guarded transaction
STEWARD_ADD_ATOM(cancel, "cancel")      // cancel a job / a task / everything (SIGINT)
STEWARD_ADD_ATOM(finished, "finished")  // proxy -> job: an execution attempt ended
STEWARD_ADD_ATOM(internal, "internal")  // first element of self-sent continuations
STEWARD_ADD_ATOM(job, "job")
STEWARD_ADD_ATOM(kill, "kill")          // SIGKILL the executor(s) now
STEWARD_ADD_ATOM(leader, "leader")      // leader -> supervisor: lock acquired
STEWARD_ADD_ATOM(load, "load")
STEWARD_ADD_ATOM(lost, "lost")          // leader -> supervisor: lock lost
STEWARD_ADD_ATOM(poll, "poll")          // proxy: look at the channel and the child
STEWARD_ADD_ATOM(reload, "reload")      // SIGHUP
STEWARD_ADD_ATOM(run, "run")            // supervisor -> job: start a picked task
STEWARD_ADD_ATOM(runnable, "runnable")  // catalog: pick candidates
STEWARD_ADD_ATOM(shutdown, "shutdown")  // SIGTERM
STEWARD_ADD_ATOM(started, "started")    // proxy -> job: executor backend pid
STEWARD_ADD_ATOM(status, "status")
STEWARD_ADD_ATOM(task, "task")
STEWARD_ADD_ATOM(tick, "tick")          // supervisor timers
STEWARD_ADD_ATOM(wakeup, "wakeup")      // a task may have become runnable
