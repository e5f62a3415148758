#include <catch2/catch.hpp>

#include "actors/os/process_launcher.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

using namespace steward;
using namespace std::chrono_literals;

namespace {

int wait_exit(process_launcher& launcher, int pid, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto status = launcher.poll_exit(pid))
      return *status;
    std::this_thread::sleep_for(5ms);
  }
  FAIL("child " << pid << " did not exit in time");
  return -1;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("describe_wait_status explains exits and signals") {
  CHECK(describe_wait_status(3 << 8) == "exited with code 3");
  CHECK(describe_wait_status(0) == "exited with code 0");
  CHECK(describe_wait_status(SIGKILL) == "killed by signal 9 (Killed)");
  CHECK(describe_wait_status(SIGSEGV | 0x80) == "killed by signal 11 (Segmentation fault), core dumped");
}

TEST_CASE("a launched child passes its exit code back through poll_exit") {
  boost_process_launcher launcher;
  int pid = launcher.launch({"/bin/sh", {"-c", "exit 3"}, {}});
  CHECK(pid > 0);
  auto status = wait_exit(launcher, pid);
  CHECK(describe_wait_status(status) == "exited with code 3");
  // Reaped: the pid is no longer our child.
  CHECK_THROWS_AS(launcher.poll_exit(pid), std::system_error);
}

TEST_CASE("poll_exit does not block while the child runs, and signal stops it") {
  boost_process_launcher launcher;
  int pid = launcher.launch({"/bin/sleep", {"30"}, {}});
  CHECK_FALSE(launcher.poll_exit(pid).has_value());
  launcher.signal(pid, SIGKILL);
  CHECK(describe_wait_status(wait_exit(launcher, pid)) == "killed by signal 9 (Killed)");
}

TEST_CASE("children get the requested environment and arguments") {
  boost_process_launcher launcher;
  auto out = "/tmp/steward-launcher-test." + std::to_string(::getpid());
  int pid = launcher.launch({"/bin/sh",
                             {"-c", "printf '%s|%s|%s' \"$STEWARD_X\" \"$1\" \"$PATH\" > \"$0\"", out, "two words"},
                             {{"STEWARD_X", "secret value"}}});
  CHECK(describe_wait_status(wait_exit(launcher, pid)) == "exited with code 0");
  auto text = read_file(out);
  ::unlink(out.c_str());
  CHECK(text.rfind("secret value|two words|", 0) == 0);
  CHECK(text.size() > std::string("secret value|two words|").size());  // PATH inherited
}

TEST_CASE("children do not inherit the daemon's blocked signals") {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  REQUIRE(pthread_sigmask(SIG_BLOCK, &block, &old) == 0);
  std::optional<boost_process_launcher> launcher;
  launcher.emplace();  // its fork thread starts with SIGTERM blocked, as in the daemon
  REQUIRE(pthread_sigmask(SIG_SETMASK, &old, nullptr) == 0);

  int pid = launcher->launch({"/bin/sleep", {"30"}, {}});
  std::this_thread::sleep_for(50ms);
  launcher->signal(pid, SIGTERM);
  CHECK(describe_wait_status(wait_exit(*launcher, pid, 5s)) == "killed by signal 15 (Terminated)");
}

TEST_CASE("children run in a process group of their own") {
  boost_process_launcher launcher;
  int pid = launcher.launch({"/bin/sleep", {"30"}, {}});
  std::this_thread::sleep_for(50ms);
  CHECK(::getpgid(pid) == pid);
  launcher.signal(pid, SIGKILL);
  wait_exit(launcher, pid);
}

TEST_CASE("launching a missing executable fails with a system_error") {
  boost_process_launcher launcher;
  CHECK_THROWS_AS(launcher.launch({"/nonexistent/steward-executor", {}, {}}), std::system_error);
}
