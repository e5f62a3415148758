#include "tests/support/env.hpp"
#include "tests/support/test_database.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

using steward::test::test_database;

TEST_CASE("test database is created with the catalog and dropped afterwards", "[job_store][test_database]") {
  std::string name;
  {
    test_database db{"store_contract"};
    name = db.name();
    pqxx::connection conn{db.dsn()};
    pqxx::nontransaction n{conn};
    CHECK(n.exec("SELECT count(*) FROM steward.pg_dist_background_job")[0][0].as<int>() == 0);
    CHECK(n.exec("SELECT current_database()")[0][0].as<std::string>() == name);
  }
  pqxx::connection conn{steward::test::server_dsn()};
  pqxx::nontransaction n{conn};
  CHECK(n.exec_params("SELECT count(*) FROM pg_database WHERE datname = $1", name)[0][0].as<int>() == 0);
}
