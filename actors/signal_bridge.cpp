#include "actors/signal_bridge.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <system_error>
#include <unistd.h>

namespace steward {

sigset_t signal_bridge::handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

void signal_bridge::block_signals() {
  auto set = handled_signals();
  if (int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr); rc != 0)
    throw std::system_error(rc, std::generic_category(), "pthread_sigmask");
}

signal_bridge::signal_bridge(supervisor_actor target) : target_(std::move(target)) {
  auto set = handled_signals();
  signal_fd_ = ::signalfd(-1, &set, SFD_CLOEXEC);
  if (signal_fd_ < 0)
    throw std::system_error(errno, std::generic_category(), "signalfd");
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (stop_fd_ < 0) {
    ::close(signal_fd_);
    throw std::system_error(errno, std::generic_category(), "eventfd");
  }
  thread_ = std::thread([this] { run(); });
}

signal_bridge::~signal_bridge() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(stop_fd_, &one, sizeof one);
  if (thread_.joinable())
    thread_.join();
  ::close(signal_fd_);
  ::close(stop_fd_);
}

void signal_bridge::run() {
  pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      spdlog::error("signal bridge: poll: {}", std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0)
      return;
    if ((fds[0].revents & POLLIN) == 0)
      continue;
    signalfd_siginfo info;
    if (::read(signal_fd_, &info, sizeof info) != static_cast<ssize_t>(sizeof info))
      continue;
    switch (info.ssi_signo) {
      case SIGTERM:
        spdlog::info("received SIGTERM: graceful shutdown");
        caf::anon_send(target_, atom::shutdown_v);
        break;
      case SIGINT:
        spdlog::info("received SIGINT: cancelling jobs with running tasks");
        caf::anon_send(target_, atom::cancel_v);
        break;
      case SIGHUP:
        spdlog::info("received SIGHUP: reloading the configuration");
        caf::anon_send(target_, atom::reload_v);
        break;
      default:
        break;
    }
  }
}

}  // namespace steward
