#pragma once

#include "actors/actors.hpp"

#include <signal.h>
#include <thread>

namespace steward {

/// Turns SIGTERM, SIGINT and SIGHUP into `shutdown`, `cancel` and `reload` messages to
/// the supervisor. One thread reads a signalfd; no work happens in a signal handler.
/// `block_signals()` must run in main() before the actor system (or any other thread)
/// starts, so that every thread inherits the blocked mask (TOOLCHAIN pitfall 1).
class signal_bridge {
public:
  /// SIGTERM, SIGINT, SIGHUP.
  static sigset_t handled_signals();
  /// Blocks the handled signals in the calling thread (and the threads it starts).
  static void block_signals();

  explicit signal_bridge(supervisor_actor target);
  ~signal_bridge();  ///< stops and joins the thread

  signal_bridge(const signal_bridge&) = delete;
  signal_bridge& operator=(const signal_bridge&) = delete;

private:
  void run();

  supervisor_actor target_;
  int signal_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
};

}  // namespace steward
