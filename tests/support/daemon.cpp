#include "tests/support/daemon.hpp"

#include "tests/support/env.hpp"

#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace steward::test {

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit,
                std::chrono::milliseconds step) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    if (done())
      return true;
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(step);
  }
}

int occurrences(const std::string& haystack, const std::string& text) {
  int n = 0;
  for (auto at = haystack.find(text); at != std::string::npos; at = haystack.find(text, at + 1))
    ++n;
  return n;
}

daemon_process::daemon_process(std::string dsn, std::string config_extra) {
  char tmpl[] = "/tmp/steward-daemon.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr)
    throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  dir_ = tmpl;
  config_path_ = dir_ + "/steward.toml";
  log_path_ = dir_ + "/steward.log";
  write_config("dsn = \"" + dsn + "\"\n" + config_extra + "\n");
  start();
}

daemon_process::~daemon_process() {
  if (pid_ > 0 && running()) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
  }
  if (pid_ > 0 && std::getenv("STEWARD_TEST_KEEP_LOGS") == nullptr) {
    ::unlink(config_path_.c_str());
    ::unlink(log_path_.c_str());
    ::rmdir(dir_.c_str());
  }
}

void daemon_process::start() {
  if (pid_ > 0 && running())
    throw std::logic_error("daemon_process::start: the daemon still runs");
  auto binary = bin_dir() + "/steward";
  pid_t pid = ::fork();
  if (pid < 0)
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::close(fd);
    }
    // The test runner may run with signals blocked or ignored; the daemon must not.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execl(binary.c_str(), binary.c_str(), "run", "--config", config_path_.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  pid_ = pid;
  status_ = -1;
}

std::vector<pid_t> daemon_process::children() const {
  std::vector<pid_t> out;
  if (pid_ <= 0)
    return out;
  auto dir = "/proc/" + std::to_string(pid_) + "/task";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d)) {
      if (e->d_name[0] == '.')
        continue;
      std::ifstream in(dir + "/" + e->d_name + "/children");
      pid_t child = 0;
      while (in >> child)
        out.push_back(child);
    }
    ::closedir(d);
  }
  return out;
}

bool process_alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line))
    return false;
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

void daemon_process::signal(int sig) const {
  if (pid_ > 0)
    ::kill(pid_, sig);
}

bool daemon_process::running() {
  if (pid_ <= 0 || status_ != -1)
    return false;
  int st = 0;
  auto r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    return false;
  }
  return r == 0;
}

int daemon_process::wait_exit(std::chrono::milliseconds limit) {
  if (!wait_until([this] { return !running(); }, limit)) {
    FAIL("steward run (pid " << pid_ << ") did not exit within " << limit.count()
                             << " ms; its log:\n"
                             << log());
  }
  return status_;
}

void daemon_process::write_config(const std::string& toml) const {
  // Write a new file and rename it, so that a reload never reads half a file.
  auto tmp = config_path_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << toml;
  }
  ::rename(tmp.c_str(), config_path_.c_str());
}

std::string daemon_process::log() const {
  std::ifstream in(log_path_);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool daemon_process::wait_for_log(const std::string& text, std::chrono::milliseconds limit,
                                  int count) const {
  return wait_until([&] { return occurrences(log(), text) >= count; }, limit);
}

bool daemon_process::wait_until_leader(std::chrono::milliseconds limit) const {
  return wait_for_log("this coordinator is active", limit);
}

}  // namespace steward::test
