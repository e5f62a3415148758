#include "sql/error.hpp"
#include "sql/leader_session.hpp"
#include "tests/support/test_database.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <thread>

namespace {

using steward::sql::leader_session;
using steward::test::test_database;
using clock_type = std::chrono::steady_clock;
using notifications = std::vector<std::pair<std::string, std::string>>;

void exec(const std::string& dsn, const std::string& statement) {
  pqxx::connection c{dsn};
  pqxx::nontransaction n{c};
  n.exec(statement);
}

void terminate(const std::string& dsn, int pid) {
  pqxx::connection c{dsn};
  pqxx::nontransaction n{c};
  n.exec_params("SELECT pg_terminate_backend($1)", pid);
  // Wait until the backend is gone and has released its locks.
  for (int i = 0; i < 500; ++i) {
    if (n.exec_params1("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid)[0].as<int>() == 0)
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("backend " << pid << " did not exit");
}

long elapsed_ms(clock_type::time_point since) {
  return static_cast<long>(
    std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - since).count());
}

}  // namespace

TEST_CASE("only one leader session holds the leader lock", "[job_store][leader_session][db]") {
  test_database db{"leader"};
  leader_session a{db.dsn()};
  leader_session b{db.dsn()};
  CHECK(a.backend_pid() != 0);
  CHECK(a.backend_pid() != b.backend_pid());

  CHECK_FALSE(a.still_held());
  REQUIRE(a.try_acquire());
  CHECK_FALSE(b.try_acquire());
  CHECK(a.still_held());
  CHECK_FALSE(b.still_held());
  CHECK(a.try_acquire());  // already held: still true, not taken twice

  a.release();
  CHECK_FALSE(a.still_held());
  REQUIRE(b.try_acquire());  // one release freed it
  CHECK_FALSE(a.try_acquire());
  b.release();
  b.release();  // no-op
  CHECK(a.try_acquire());
}

TEST_CASE("a leader session whose backend was terminated has lost the lock",
          "[job_store][leader_session][db]") {
  test_database db{"leader_lost"};
  leader_session a{db.dsn()};
  leader_session b{db.dsn()};
  REQUIRE(a.try_acquire());
  int old_pid = a.backend_pid();

  terminate(db.dsn(), old_pid);
  CHECK_FALSE(a.still_held());
  CHECK_FALSE(a.still_held());
  CHECK(b.try_acquire());

  // libpqxx reconnects a on a later call; the new backend holds nothing.
  bool reconnected = false;
  for (int i = 0; i < 5 && !reconnected; ++i) {
    try {
      bool got = a.try_acquire();
      CHECK_FALSE(got);
      reconnected = true;
    } catch (const steward::sql::error& e) {
      CHECK(e.code() == steward::sql::errc::unavailable);
    }
  }
  REQUIRE(reconnected);
  CHECK(a.backend_pid() != old_pid);
  CHECK_FALSE(a.still_held());
  a.release();  // not held: nothing to do
  CHECK(b.still_held());

  b.release();
  CHECK(a.try_acquire());
  CHECK(a.still_held());
}

TEST_CASE("a leader session receives wake-up and cancel notifications",
          "[job_store][leader_session][db]") {
  test_database db{"leader_notify"};
  leader_session s{db.dsn()};

  SECTION("nothing arrives: returns empty after the timeout") {
    auto start = clock_type::now();
    CHECK(s.wait_for_notifications(200).empty());
    auto ms = elapsed_ms(start);
    CHECK(ms >= 190);
    CHECK(ms < 1000);
    start = clock_type::now();
    CHECK(s.wait_for_notifications(0).empty());
    CHECK(elapsed_ms(start) < 100);
  }

  SECTION("a notification sent before the call is returned at once") {
    exec(db.dsn(), "SELECT pg_notify('steward_wakeup', '42')");
    exec(db.dsn(), "SELECT pg_notify('steward_cancel', '7')");
    exec(db.dsn(), "SELECT pg_notify('some_other_channel', 'x')");
    auto got = s.wait_for_notifications(2000);
    if (got.size() < 2) {  // the second may still be in flight
      auto more = s.wait_for_notifications(2000);
      got.insert(got.end(), more.begin(), more.end());
    }
    CHECK(got == notifications{{"steward_wakeup", "42"}, {"steward_cancel", "7"}});
  }

  SECTION("a notification sent while waiting ends the wait early") {
    std::thread sender([dsn = db.dsn()] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      exec(dsn, "SELECT pg_notify('steward_wakeup', '42')");
    });
    auto start = clock_type::now();
    auto got = s.wait_for_notifications(5000);
    auto ms = elapsed_ms(start);
    sender.join();
    CHECK(got == notifications{{"steward_wakeup", "42"}});
    CHECK(ms < 2000);
  }

  SECTION("after a lost connection it listens again") {
    terminate(db.dsn(), s.backend_pid());
    bool listening = false;
    for (int i = 0; i < 5 && !listening; ++i) {
      try {
        s.wait_for_notifications(100);
        listening = true;
      } catch (const steward::sql::error& e) {
        CHECK(e.code() == steward::sql::errc::unavailable);
      }
    }
    REQUIRE(listening);
    exec(db.dsn(), "SELECT pg_notify('steward_wakeup', '43')");
    CHECK(s.wait_for_notifications(2000) == notifications{{"steward_wakeup", "43"}});
  }
}

TEST_CASE("a leader session reports an unreachable server without the password",
          "[job_store][leader_session][db]") {
  try {
    leader_session s{"host=127.0.0.1 port=1 dbname=x user=y password=hunter2 connect_timeout=2"};
    FAIL("connected to port 1");
  } catch (const steward::sql::error& e) {
    CHECK(e.code() == steward::sql::errc::unavailable);
    CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
  }
}
