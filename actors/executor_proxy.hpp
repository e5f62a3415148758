#pragma once

#include "actors/actors.hpp"
#include "actors/os/process_launcher.hpp"

#include "model/frame.hpp"
#include "model/records.hpp"
#include "model/task_message.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace steward {

/// The proxy's side of a task channel (the real one is a shm_channel; tests fake it).
class task_channel {
public:
  virtual ~task_channel() = default;
  /// Name handed to the executor (--channel).
  virtual const std::string& name() const = 0;
  /// Every complete frame written so far; never blocks. Undecodable bytes are dropped
  /// and described in `*error`.
  virtual std::vector<model::frame> read_available(std::string* error) = 0;
};

/// Creates the channel of a task; throws when it cannot.
using channel_factory = std::function<std::shared_ptr<task_channel>(model::task_id)>;

/// Channels in POSIX shared memory named after this daemon's pid and the task id;
/// each is unlinked when the proxy drops it.
channel_factory shm_channel_factory();

/// What every executor proxy of the daemon shares.
struct executor_environment {
  std::shared_ptr<process_launcher> launcher;
  channel_factory open_channel;
  std::string executable;  ///< path of steward-executor
  std::string dsn;         ///< handed to the executor in STEWARD_EXECUTOR_DSN
  /// Channel/child polling: every `fast_poll` during the first `fast_period` of an
  /// attempt, then every `slow_poll`.
  std::chrono::milliseconds fast_poll{2};
  std::chrono::milliseconds slow_poll{5};
  std::chrono::milliseconds fast_period{250};
};

struct executor_proxy_state {
  static inline const char* name = "steward.executor_proxy";

  job_actor parent;
  model::task_record task;
  run_options options;
  std::shared_ptr<const executor_environment> env;

  std::shared_ptr<task_channel> channel;
  std::string launch_error;  ///< set when the executor could not be started
  int pid = -1;              ///< the child's OS pid
  bool reaped = false;
  bool pid_reported = false;
  bool cancel_sent = false;
  bool terminate_sent = false;
  bool kill_sent = false;
  std::chrono::milliseconds elapsed{0};  ///< polling time so far (for the poll interval)
  model::task_message_builder message;

  /// Kills and reaps a child still running when the proxy goes away abnormally.
  ~executor_proxy_state();
};

/// Supervises one execution attempt of `task`: creates the channel, launches the
/// executor, polls channel and child on a short timer, reports `started` (backend pid)
/// and finally `finished` to `parent`, then quits.
executor_proxy_actor::behavior_type
executor_proxy(executor_proxy_actor::stateful_pointer<executor_proxy_state> self, job_actor parent,
               model::task_record task, run_options options,
               std::shared_ptr<const executor_environment> env);

/// Classifies an attempt once the child is reaped (pure; exposed for tests).
task_outcome make_outcome(model::task_id task, const model::task_message_builder& message,
                          int wait_status, bool terminated_by_coordinator);

}  // namespace steward
