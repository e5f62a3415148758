#pragma once

// The seam through which the daemon starts executor processes (Mesos-style launcher):
// actors talk to `process_launcher`, tests can substitute a fake, and
// `boost_process_launcher` does the real fork/exec with Boost.Process.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace steward {

struct launch_request {
  std::string executable;                   ///< absolute path; no PATH search
  std::vector<std::string> args;            ///< argv[1..]; never put secrets here
  std::map<std::string, std::string> env;   ///< added to (or overriding) the daemon's environment
};

class process_launcher {
public:
  virtual ~process_launcher() = default;

  /// Starts the child and returns its pid. Throws std::system_error when it cannot start.
  virtual int launch(const launch_request& request) = 0;

  /// Non-blocking: the raw wait status once the child has exited (reaping it), nullopt
  /// while it runs. The status is returned once; the pid is free for reuse afterwards.
  virtual std::optional<int> poll_exit(int pid) = 0;

  /// Sends `sig` to a child that has not been reaped yet (a child that already exited
  /// is not an error).
  virtual void signal(int pid, int sig) = 0;
};

/// Boost.Process 1.74 implementation. Children start with an empty signal mask and
/// default dispositions for SIGINT/SIGTERM/SIGHUP/SIGPIPE (the daemon blocks these in
/// every thread, and the mask would otherwise be inherited: TOOLCHAIN §5), in a process
/// group of their own (a Ctrl-C at the daemon's terminal reaches the daemon, which then
/// decides what its executors get). Exits are reaped with ::waitpid here, never by
/// Boost.Process (TOOLCHAIN pitfall 13).
///
/// Every fork happens on one thread owned by the launcher: PR_SET_PDEATHSIG, which the
/// executor sets, fires when the *thread* that forked it ends, so children must not be
/// forked from short-lived threads (e.g. those of detached actors).
/// All member functions are thread-safe.
class boost_process_launcher : public process_launcher {
public:
  boost_process_launcher();
  ~boost_process_launcher() override;  ///< stops the fork thread; running children stay

  int launch(const launch_request& request) override;
  std::optional<int> poll_exit(int pid) override;
  void signal(int pid, int sig) override;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// "exited with code 3", "killed by signal 9 (Killed)", "killed by signal 11
/// (Segmentation fault), core dumped", "stopped by signal 19 (Stopped (signal))".
std::string describe_wait_status(int status);

}  // namespace steward
