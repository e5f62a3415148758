#include "actors/leader.hpp"

#include "model/config.hpp"
#include "sql/leader_session.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <exception>
#include <memory>
#include <string>

namespace steward {

namespace {

void forward(const supervisor_actor& sup, const std::string& channel, const std::string& payload) {
  model::job_id job = 0;
  try {
    job = std::stoll(payload);
  } catch (const std::exception&) {
    spdlog::debug("notification on {} with payload '{}' (no job id)", channel, payload);
  }
  if (channel == sql::leader_session::cancel_channel)
    caf::anon_send(sup, atom::cancel_v, job);
  else
    caf::anon_send(sup, atom::wakeup_v, job);
}

void leader_loop(caf::blocking_actor* self, std::string dsn, supervisor_actor sup,
                 leader_options opts) {
  bool running = true;
  auto check_mailbox = [&](std::chrono::milliseconds wait) {
    self->receive([&](atom::shutdown) { running = false; },
                  [&](caf::exit_msg&) { running = false; },
                  caf::after(wait) >> [] {});
  };
  std::unique_ptr<sql::leader_session> session;
  bool said_standby = false;
  bool acquired = false;
  bool lost = false;
  // Standby: try the lock until it is ours. While the server cannot be reached, wait
  // longer after each failure (up to max_backoff) and say so once per outage.
  auto delay = opts.retry_every;
  bool said_unreachable = false;
  while (running && !acquired) {
    try {
      if (!session)
        session = std::make_unique<sql::leader_session>(dsn);
      acquired = session->try_acquire();
      if (said_unreachable)
        spdlog::info("leader session: the database is reachable again");
      said_unreachable = false;
      delay = opts.retry_every;
      if (!acquired && !said_standby) {
        spdlog::info("another coordinator holds the leader lock; waiting as standby (retrying "
                     "every {} ms)",
                     opts.retry_every.count());
        said_standby = true;
      }
    } catch (const std::exception& e) {
      if (!said_unreachable)
        spdlog::warn("leader session: {}; retrying with back-off (up to {} ms)", e.what(),
                     opts.max_backoff.count());
      said_unreachable = true;
      session.reset();
      check_mailbox(delay);
      delay = std::min(delay * 2, opts.max_backoff);
      continue;
    }
    if (!acquired)
      check_mailbox(opts.retry_every);
  }
  if (acquired) {
    caf::anon_send(sup, atom::leader_v, static_cast<std::int32_t>(session->backend_pid()));
    auto next_check = std::chrono::steady_clock::now() + opts.check_every;
    while (running) {
      check_mailbox(std::chrono::milliseconds(0));
      if (!running)
        break;
      try {
        for (const auto& [channel, payload] :
             session->wait_for_notifications(static_cast<int>(opts.listen_slice.count())))
          forward(sup, channel, payload);
        if (std::chrono::steady_clock::now() >= next_check) {
          next_check = std::chrono::steady_clock::now() + opts.check_every;
          if (!session->still_held()) {
            caf::anon_send(sup, atom::lost_v,
                           std::string{"the leader connection no longer holds the lock"});
            lost = true;
            break;
          }
        }
      } catch (const std::exception& e) {
        caf::anon_send(sup, atom::lost_v, std::string{e.what()});
        lost = true;
        break;
      }
    }
    // Wait for the supervisor to stop us, so that it sees `lost` before our exit.
    while (running)
      check_mailbox(std::chrono::milliseconds(250));
  }
  if (session) {
    try {
      session->release();
      if (acquired && !lost)
        spdlog::info("leader lock released");
    } catch (const std::exception& e) {
      spdlog::warn("leader session: releasing the lock: {}", e.what());
    }
  }
}

}  // namespace

leader_actor spawn_leader(caf::actor_system& sys, std::string dsn, supervisor_actor supervisor,
                          leader_options options) {
  auto hdl = sys.spawn<caf::detached>(leader_loop, std::move(dsn), std::move(supervisor), options);
  return caf::actor_cast<leader_actor>(hdl);
}

}  // namespace steward
