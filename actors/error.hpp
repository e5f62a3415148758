#pragma once

// Errors of the actor layer, carried in caf::error with category "steward".

#include <caf/actor_system_config.hpp>
#include <caf/deep_to_string.hpp>
#include <caf/error.hpp>
#include <caf/message.hpp>

#include <cstdint>
#include <string>

namespace steward {

/// Values are pinned: they travel inside caf::error and show up in logs.
enum class ec : std::uint8_t {
  unspecified = 1,
  lock_lost = 2,       ///< the leader session (and with it the advisory lock) is gone
  db_unavailable = 3,  ///< the database cannot be reached right now
  db_failed = 4,       ///< the database rejected a statement
  not_found = 5,       ///< a job or task the caller named does not exist
  child_crashed = 6,   ///< an executor ended without reporting an outcome
  launch_failed = 7,   ///< an executor could not be started
  invalid_config = 8,  ///< a configuration file was rejected
  shutting_down = 9,   ///< the daemon stops starting tasks
};

inline std::string to_string(ec code) {
  switch (code) {
    case ec::unspecified: return "unspecified";
    case ec::lock_lost: return "lock_lost";
    case ec::db_unavailable: return "db_unavailable";
    case ec::db_failed: return "db_failed";
    case ec::not_found: return "not_found";
    case ec::child_crashed: return "child_crashed";
    case ec::launch_failed: return "launch_failed";
    case ec::invalid_config: return "invalid_config";
    case ec::shutting_down: return "shutting_down";
  }
  return "unknown";
}

/// Lets `sys.render(err)` print steward errors by name.
inline void add_error_rendering(caf::actor_system_config& cfg) {
  // (0.17.6's add_error_category<T> template does not compile; give the renderer.)
  cfg.add_error_category(caf::atom("steward"),
                         [](std::uint8_t code, caf::atom_value, const caf::message& ctx) {
                           std::string out = "steward: " + to_string(static_cast<ec>(code));
                           if (!ctx.empty())
                             out += " (" + caf::deep_to_string(ctx) + ")";
                           return out;
                         });
}

}  // namespace steward

CAF_ERROR_CODE_ENUM(steward::ec, "steward")
