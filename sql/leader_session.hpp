#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace steward::sql {

/// The supervisor's dedicated connection: the leader lock and the wake-up channels.
///
/// Leadership is the session advisory lock (leader_lock_key1, leader_lock_key2) held
/// by this connection's backend. libpqxx 6.4 reconnects silently after a lost
/// connection, and the new backend holds no lock (TOOLCHAIN pitfall 8), so the lock
/// counts as lost as soon as a call sees the connection broken or the backend pid
/// changed; only a new try_acquire() can take it again.
///
/// The session LISTENs on `steward_wakeup` and `steward_cancel` from construction on
/// (re-LISTENed by libpqxx after a reconnect). Failures are sql::error; the
/// constructor reports an unreachable server as errc::unavailable with the password
/// redacted. Not thread-safe: one thread (actor) per session.
class leader_session {
public:
  explicit leader_session(std::string dsn);
  ~leader_session();

  leader_session(const leader_session&) = delete;
  leader_session& operator=(const leader_session&) = delete;

  /// Takes the leader lock without waiting (pg_try_advisory_lock); true if this
  /// session holds it afterwards (also when it already did).
  bool try_acquire();

  /// Whether this session still holds the lock: asks the server, so it also notices a
  /// connection that died quietly. False once the connection broke or its backend pid
  /// changed, and after release(); never throws for a lost connection.
  bool still_held();

  /// Gives the lock up (no-op if not held); a broken connection has given it up already.
  void release();

  /// Backend pid of the connection (0 while disconnected).
  int backend_pid() const;

  /// Notifications on steward_wakeup / steward_cancel as (channel, payload) pairs in
  /// arrival order. Returns as soon as at least one is there, or after `timeout_ms`
  /// (0: only what has arrived already) with none.
  std::vector<std::pair<std::string, std::string>> wait_for_notifications(int timeout_ms);

  /// The channels this session listens on.
  static constexpr const char* wakeup_channel = "steward_wakeup";
  static constexpr const char* cancel_channel = "steward_cancel";

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace steward::sql
