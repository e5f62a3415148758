#include "sql/leader_session.hpp"

#include "sql/connect.hpp"
#include "sql/error.hpp"
#include "sql/locks.hpp"

#include <pqxx/pqxx>

namespace steward::sql {

namespace {

// Statements run with plain exec(), never exec_params(): on a broken connection
// libpqxx 6.4 reconnects for exec() but exec_params() keeps failing with "Could not
// obtain client encoding" forever. The keys are compile-time constants.
const std::string keys =
  std::to_string(leader_lock_key1) + "::integer, " + std::to_string(leader_lock_key2) + "::integer";

const std::string try_lock = "SELECT pg_try_advisory_lock(" + keys + ")";
const std::string unlock = "SELECT pg_advisory_unlock(" + keys + ")";

// The two-int4 advisory form shows as classid = key1, objid = key2, objsubid = 2.
const std::string lock_is_mine =
  "SELECT count(*) FROM pg_catalog.pg_locks"
  " WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()"
  "   AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())"
  "   AND classid = " + std::to_string(leader_lock_key1) + "::integer::oid"
  "   AND objid = " + std::to_string(leader_lock_key2) + "::integer::oid AND objsubid = 2";

constexpr const char* ping = "SELECT 1";

using notification = std::pair<std::string, std::string>;

class receiver final : public pqxx::notification_receiver {
public:
  receiver(pqxx::connection_base& c, const std::string& channel, std::vector<notification>& out)
    : pqxx::notification_receiver(c, channel), out_(out) {}
  void operator()(const std::string& payload, int) override {
    out_.emplace_back(channel(), payload);
  }

private:
  std::vector<notification>& out_;
};

}  // namespace

struct leader_session::impl {
  std::unique_ptr<pqxx::connection> conn;
  std::vector<notification> pending;
  // Declared after conn: destroyed (UNLISTEN) before the connection closes.
  std::unique_ptr<receiver> wakeup;
  std::unique_ptr<receiver> cancel;
  bool held = false;
  int held_by = 0;  // backend pid that took the lock

  // Runs fn with libpqxx errors translated; a lost connection also loses the lock.
  template <class F>
  auto guarded(F&& fn) -> decltype(fn()) {
    try {
      return translate_errors(std::forward<F>(fn));
    } catch (const error& e) {
      if (e.code() == errc::unavailable)
        held = false;
      throw;
    }
  }
};

leader_session::leader_session(std::string dsn) : impl_(std::make_unique<impl>()) {
  impl_->conn = open_connection(dsn);
  impl_->guarded([&] {
    impl_->wakeup = std::make_unique<receiver>(*impl_->conn, wakeup_channel, impl_->pending);
    impl_->cancel = std::make_unique<receiver>(*impl_->conn, cancel_channel, impl_->pending);
  });
}

leader_session::~leader_session() = default;

bool leader_session::try_acquire() {
  if (impl_->held && still_held())
    return true;
  return impl_->guarded([&] {
    pqxx::nontransaction n{*impl_->conn};
    bool got = n.exec1(try_lock)[0].as<bool>();
    if (got) {
      impl_->held = true;
      impl_->held_by = impl_->conn->backendpid();
    }
    return got;
  });
}

bool leader_session::still_held() {
  auto& s = *impl_;
  if (!s.held)
    return false;
  try {
    s.guarded([&] {
      pqxx::nontransaction n{*s.conn};
      auto mine = n.exec1(lock_is_mine)[0].as<int>();
      if (mine == 0 || s.conn->backendpid() != s.held_by)
        s.held = false;
    });
  } catch (const error& e) {
    if (e.code() != errc::unavailable)
      throw;
  }
  return s.held;
}

void leader_session::release() {
  auto& s = *impl_;
  if (!s.held)
    return;
  s.held = false;
  try {
    s.guarded([&] {
      if (s.conn->backendpid() != s.held_by)
        return;  // a new backend never had the lock
      pqxx::nontransaction n{*s.conn};
      n.exec(unlock);
    });
  } catch (const error& e) {
    if (e.code() != errc::unavailable)
      throw;  // a lost connection has released the lock already
  }
}

int leader_session::backend_pid() const { return impl_->conn->backendpid(); }

std::vector<std::pair<std::string, std::string>> leader_session::wait_for_notifications(
  int timeout_ms) {
  auto& s = *impl_;
  return s.guarded([&] {
    if (!s.conn->is_open()) {
      // Reconnect (libpqxx LISTENs again) instead of waiting on a closed socket.
      pqxx::nontransaction n{*s.conn};
      n.exec(ping);
      if (s.conn->backendpid() != s.held_by)
        s.held = false;
    }
    s.conn->get_notifs();
    if (s.pending.empty() && timeout_ms > 0)
      s.conn->await_notification(timeout_ms / 1000, (timeout_ms % 1000) * 1000L);
    return std::exchange(s.pending, {});
  });
}

}  // namespace steward::sql
