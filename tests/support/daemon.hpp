#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>
#include <sys/types.h>

namespace steward::test {

using namespace std::chrono_literals;

/// Polls `done` every `step` until it returns true; false when `limit` passes first.
/// For waiting on the database or a process (an event we cannot subscribe to), never
/// as a fixed delay.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 30s,
                std::chrono::milliseconds step = 10ms);

/// A real `steward run` process on a configuration file of its own, logging into a file.
/// The destructor kills it (SIGKILL) if it still runs and reaps it.
class daemon_process {
public:
  /// `config_extra` is appended to the file after `dsn = "<dsn>"` (TOML lines).
  explicit daemon_process(std::string dsn, std::string config_extra = "");
  ~daemon_process();

  daemon_process(const daemon_process&) = delete;
  daemon_process& operator=(const daemon_process&) = delete;

  /// Starts (or, after it exited, restarts) the daemon on the current configuration.
  void start();

  pid_t pid() const { return pid_; }
  void signal(int sig) const;

  /// True while the process has not exited (reaps it when it has).
  bool running();
  /// Waits for the exit and returns the wait status; fails the test on timeout.
  int wait_exit(std::chrono::milliseconds limit = 30s);

  /// The daemon's child processes (its executors), from /proc.
  std::vector<pid_t> children() const;

  /// Rewrites the configuration file (for SIGHUP tests): the whole text as given.
  void write_config(const std::string& toml) const;
  const std::string& config_path() const { return config_path_; }

  /// Everything the daemon has logged so far (all starts).
  std::string log() const;
  /// Waits until the log contains `text` `count` times or more.
  bool wait_for_log(const std::string& text, std::chrono::milliseconds limit = 30s,
                    int count = 1) const;
  /// Waits until the daemon logged that it holds the leader lock.
  bool wait_until_leader(std::chrono::milliseconds limit = 30s) const;

private:
  std::string dir_;
  std::string config_path_;
  std::string log_path_;
  pid_t pid_ = -1;
  int status_ = -1;
};

/// Whether a process with this pid exists (a zombie counts as gone).
bool process_alive(pid_t pid);

/// How often `text` occurs in `haystack`.
int occurrences(const std::string& haystack, const std::string& text);

}  // namespace steward::test
