// The signal bridge with real signals: SIGTERM, SIGINT and SIGHUP sent to this process
// arrive at a (fake) supervisor as shutdown, cancel and reload, in order. The signals are
// blocked before the actor system starts, as in steward run; each test case runs in a
// process of its own under ctest.
#include "actors/actors.hpp"
#include "actors/error.hpp"
#include "actors/signal_bridge.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

using namespace steward;

namespace {

supervisor_actor::behavior_type recording_supervisor(supervisor_actor::pointer,
                                                     caf::actor observer) {
  auto tell = [=](std::string what) { caf::anon_send(observer, std::move(what)); };
  return {
    [=](atom::leader, std::int32_t) { tell("leader"); },
    [=](atom::lost, const std::string&) { tell("lost"); },
    [=](atom::wakeup, model::job_id) { tell("wakeup"); },
    [=](atom::cancel, model::job_id) { tell("cancel job"); },
    [=](atom::shutdown) { tell("shutdown"); },
    [=](atom::cancel) { tell("cancel"); },
    [=](atom::reload) { tell("reload"); },
    [=](atom::internal, atom::tick, std::uint64_t) {},
    [=](atom::get, atom::status) { return supervisor_status{}; },
  };
}

}  // namespace

TEST_CASE("the signal bridge turns SIGTERM, SIGINT and SIGHUP into supervisor messages") {
  signal_bridge::block_signals();
  caf::actor_system_config cfg;
  cfg.add_message_types<caf::id_block::steward>();
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto sup = sys.spawn(recording_supervisor, caf::actor{self});
  std::vector<std::string> received;
  {
    signal_bridge bridge{sup};
    for (int sig : {SIGHUP, SIGINT, SIGTERM}) {
      REQUIRE(::kill(::getpid(), sig) == 0);
      // Each one is awaited before the next is sent: the same signal pending twice
      // would be merged by the kernel, different ones could be read in any order.
      self->receive([&](std::string& what) { received.push_back(what); },
                    caf::after(std::chrono::seconds(10)) >> [&] { received.push_back("timeout"); });
    }
  }
  CHECK(received == std::vector<std::string>{"reload", "cancel", "shutdown"});
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
}

TEST_CASE("the signal bridge stops its thread when destroyed, with signals still blocked") {
  signal_bridge::block_signals();
  caf::actor_system_config cfg;
  cfg.add_message_types<caf::id_block::steward>();
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto sup = sys.spawn(recording_supervisor, caf::actor{self});
  { signal_bridge bridge{sup}; }
  // With no bridge, a SIGHUP stays pending (blocked) instead of killing the process.
  REQUIRE(::kill(::getpid(), SIGHUP) == 0);
  sigset_t pending;
  sigemptyset(&pending);
  REQUIRE(::sigpending(&pending) == 0);  // a process-directed signal is pending at once
  CHECK(sigismember(&pending, SIGHUP) == 1);
  bool got = false;
  self->receive([&](std::string&) { got = true; },
                caf::after(std::chrono::milliseconds(100)) >> [] {});
  CHECK_FALSE(got);
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  timespec none{0, 0};
  CHECK(::sigtimedwait(&hup, nullptr, &none) == SIGHUP);  // consumed here, not by a bridge
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
}
