#include "actors/os/process_launcher.hpp"

#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/env.hpp>
#include <boost/process/environment.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <system_error>
#include <thread>

namespace bp = boost::process;

namespace steward {

namespace {

// Runs in the child between fork and exec; only async-signal-safe calls.
void prepare_child() {
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD})
    ::signal(sig, SIG_DFL);
  ::setpgid(0, 0);
}

int spawn(const launch_request& request) {
  if (::access(request.executable.c_str(), X_OK) != 0)
    throw std::system_error(errno, std::generic_category(), "cannot execute " + request.executable);
  bp::environment env = boost::this_process::environment();
  for (const auto& [key, value] : request.env)
    env[key] = value;
  try {
    bp::child child(bp::exe = request.executable, bp::args = request.args, bp::env = env,
                    bp::extend::on_exec_setup = [](auto&) { prepare_child(); });
    const int pid = child.id();
    child.detach();  // reaped by poll_exit, never by Boost.Process
    return pid;
  } catch (const bp::process_error& e) {
    throw std::system_error(e.code(), "cannot start " + request.executable + ": " + e.what());
  }
}

}  // namespace

struct boost_process_launcher::impl {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::packaged_task<int()>> queue;
  bool stopping = false;
  std::thread forker;

  impl() : forker([this] { run(); }) {}

  ~impl() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    forker.join();
  }

  void run() {
    for (;;) {
      std::packaged_task<int()> job;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [this] { return stopping || !queue.empty(); });
        if (queue.empty())
          return;
        job = std::move(queue.front());
        queue.pop_front();
      }
      job();
    }
  }

  int submit(std::function<int()> fn) {
    std::packaged_task<int()> job(std::move(fn));
    auto result = job.get_future();
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (stopping)
        throw std::logic_error("process launcher is shutting down");
      queue.push_back(std::move(job));
    }
    wake.notify_one();
    return result.get();
  }
};

boost_process_launcher::boost_process_launcher() : impl_(std::make_unique<impl>()) {}

boost_process_launcher::~boost_process_launcher() = default;

int boost_process_launcher::launch(const launch_request& request) {
  return impl_->submit([&request] { return spawn(request); });
}

std::optional<int> boost_process_launcher::poll_exit(int pid) {
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid)
      return status;
    if (r == 0)
      return std::nullopt;
    if (errno == EINTR)
      continue;
    throw std::system_error(errno, std::generic_category(),
                            "waitpid " + std::to_string(pid));
  }
}

void boost_process_launcher::signal(int pid, int sig) {
  if (pid <= 0)
    throw std::invalid_argument("refusing to signal pid " + std::to_string(pid));
  if (::kill(pid, sig) != 0 && errno != ESRCH)
    throw std::system_error(errno, std::generic_category(),
                            "kill " + std::to_string(pid) + " " + std::to_string(sig));
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status))
    return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = ::strsignal(sig);
    std::string text = "killed by signal " + std::to_string(sig) + " (" +
                       (name != nullptr ? name : "unknown") + ")";
    if (WCOREDUMP(status))
      text += ", core dumped";
    return text;
  }
  if (WIFSTOPPED(status)) {
    const int sig = WSTOPSIG(status);
    const char* name = ::strsignal(sig);
    return "stopped by signal " + std::to_string(sig) + " (" + (name != nullptr ? name : "unknown") + ")";
  }
  return "unknown wait status " + std::to_string(status);
}

}  // namespace steward
