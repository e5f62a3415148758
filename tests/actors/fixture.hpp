#pragma once

// Deterministic fixture (CAF's test_coordinator driven from Catch2, TOOLCHAIN §3.8)
// and the fakes of the actor-level tests: a process launcher that runs nothing, task
// channels filled by the test, and helpers to observe replies.

#include "actors/actors.hpp"
#include "actors/catalog.hpp"
#include "actors/executor_proxy.hpp"
#include "actors/os/process_launcher.hpp"
#include "tests/support/memory_job_store.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <catch2/catch.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace steward::test {

/// Raw wait statuses as waitpid reports them.
inline int exited_with(int code) { return code << 8; }
inline int killed_by(int sig) { return sig; }

/// A channel whose frames the test (or fake_launcher) pushes.
class fake_channel final : public task_channel {
public:
  explicit fake_channel(std::string name) : name_(std::move(name)) {}
  const std::string& name() const override { return name_; }
  std::vector<model::frame> read_available(std::string* error) override {
    if (error != nullptr) {
      *error = pending_error;
      pending_error.clear();
    }
    return std::exchange(frames, {});
  }
  std::vector<model::frame> frames;
  std::string pending_error;

private:
  std::string name_;
};

/// Every channel the proxies of a test opened, by task id.
struct channel_registry {
  std::map<model::task_id, std::shared_ptr<fake_channel>> channels;
  bool fail = false;  ///< open_channel throws

  channel_factory factory() {
    return [this](model::task_id task) -> std::shared_ptr<task_channel> {
      if (fail)
        throw std::runtime_error("no shared memory left");
      auto ch = std::make_shared<fake_channel>("/steward.test." + std::to_string(task));
      channels[task] = ch;
      return ch;
    };
  }
};

/// A launcher that starts nothing: the test decides when a "child" exits and with
/// what status. With `auto_succeed`, every child reports a pid, a command tag and
/// `finished` on its channel and exits 0 at its first poll.
class fake_launcher final : public process_launcher {
public:
  explicit fake_launcher(channel_registry* channels = nullptr) : channels_(channels) {}

  int launch(const launch_request& request) override {
    if (fail)
      throw std::runtime_error("exec failed: No such file or directory");
    int pid = next_pid++;
    launched.push_back(request);
    pids.push_back(pid);
    if (auto_succeed && channels_ != nullptr) {
      auto task = std::stoll(request.args.at(5));
      auto& ch = channels_->channels.at(task);
      ch->frames.push_back(model::started_frame{pid + 50000});
      ch->frames.push_back(model::command_complete_frame{"SELECT 1"});
      ch->frames.push_back(model::finished_frame{});
      exits[pid] = exited_with(0);
    }
    return pid;
  }

  std::optional<int> poll_exit(int pid) override {
    auto it = exits.find(pid);
    if (it == exits.end())
      return std::nullopt;
    auto status = it->second;
    exits.erase(it);
    reaped.push_back(pid);
    return status;
  }

  void signal(int pid, int sig) override { signals.emplace_back(pid, sig); }

  bool fail = false;
  bool auto_succeed = false;
  int next_pid = 1000;
  std::vector<launch_request> launched;
  std::vector<int> pids;
  std::map<int, int> exits;  ///< pid -> status its next poll_exit returns
  std::vector<int> reaped;
  std::vector<std::pair<int, int>> signals;

private:
  channel_registry* channels_;
};

struct deterministic_fixture {
  static caf::actor_system_config& prepare(caf::actor_system_config& cfg) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.file-verbosity", caf::atom("quiet"));
    cfg.add_message_types<caf::id_block::steward>();
    add_error_rendering(cfg);
    // The actors log to stderr; STEWARD_TEST_LOG=debug (etc.) shows it.
    const char* level = std::getenv("STEWARD_TEST_LOG");
    spdlog::set_level(spdlog::level::from_str(level != nullptr ? level : "off"));
    return cfg;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys{prepare(cfg)};
  caf::scheduler::test_coordinator& sched =
    dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  caf::scoped_actor self{sys, true};

  /// The fake wall clock every actor under test reads (ms since the epoch).
  std::shared_ptr<model::epoch_ms> wall = std::make_shared<model::epoch_ms>(1'000'000);
  wall_clock clock() {
    auto w = wall;
    return [w] { return *w; };
  }

  /// Drains all mailboxes (no timers).
  void run() { sched.run(); }

  /// Moves both clocks forward and fires the timers that became due, in steps of
  /// `step` (a periodic actor re-arms relative to "now": TOOLCHAIN §3.8).
  void advance(caf::timespan d, caf::timespan step = std::chrono::milliseconds(1)) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(step).count();
    for (caf::timespan done{0}; done < d; done += step) {
      *wall += ms;
      sched.clock().advance_time(step);
      run();
    }
  }

  ~deterministic_fixture() { run(); }
};

/// Sends a request from a helper actor and keeps the reply (or error) for the test,
/// so that the test never blocks on a reply that has not come yet.
template <class T>
struct pending_reply {
  std::shared_ptr<std::optional<T>> value = std::make_shared<std::optional<T>>();
  std::shared_ptr<std::optional<caf::error>> error =
    std::make_shared<std::optional<caf::error>>();
  bool ready() const { return value->has_value() || error->has_value(); }
  const T& get() const {
    REQUIRE(value->has_value());
    return **value;
  }
};

template <class T, class Handle, class... Ts>
pending_reply<T> ask(caf::actor_system& sys, const Handle& hdl, Ts... xs) {
  pending_reply<T> out;
  sys.spawn([out, hdl, xs...](caf::event_based_actor* req) {
    req->request(hdl, caf::infinite, xs...)
      .then([out](T& x) { *out.value = std::move(x); },
            [out](caf::error& e) { *out.error = std::move(e); });
  });
  return out;
}

}  // namespace steward::test
