#include <catch2/catch.hpp>

#include "model/statement_splitter.hpp"

using namespace steward::model;

namespace {
std::vector<std::string> split(std::string_view sql) {
  std::vector<std::string> out;
  for (auto s : split_statements(sql))
    out.emplace_back(s);
  return out;
}
}  // namespace

TEST_CASE("statements split on semicolons outside literals and comments") {
  CHECK(split("SELECT 1; SELECT 2") == std::vector<std::string>{"SELECT 1", " SELECT 2"});
  CHECK(split("SELECT ';'; SELECT \"a;b\"") ==
        std::vector<std::string>{"SELECT ';'", " SELECT \"a;b\""});
  CHECK(split("SELECT 'it''s; fine'; SELECT 2").size() == 2);
  CHECK(split("SELECT E'\\'; still'; SELECT 2").size() == 2);
  CHECK(split("SELECT $$;$$; SELECT $f$ $$; $f$; SELECT 3").size() == 3);
  CHECK(split("-- a; comment\nSELECT 1 /* and; /* nested; */ here; */; SELECT 2").size() == 2);
  CHECK(split("SELECT $1; SELECT a$b FROM t").size() == 2);
  CHECK(split("  ;; -- only comments ;\n ; /* x */").empty());
  CHECK(split("SELECT 1;").size() == 1);
}

TEST_CASE("BEGIN ATOMIC bodies of SQL functions are one statement, as in psql") {
  auto sql =
    "CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE sql BEGIN ATOMIC "
    "SELECT CASE WHEN x > 0 THEN 1 ELSE 2 END; SELECT x; END; SELECT f(1)";
  auto parts = split(sql);
  REQUIRE(parts.size() == 2);
  CHECK(parts[1] == " SELECT f(1)");
  CHECK_FALSE(find_transaction_control(sql).has_value());
}

TEST_CASE("transaction control statements are found wherever they are") {
  CHECK(find_transaction_control("BEGIN; SELECT 1") == std::string("BEGIN"));
  CHECK(find_transaction_control("select 1; commit") == std::string("COMMIT"));
  CHECK(find_transaction_control("SELECT 1;\n  -- c\n  RollBack") == std::string("ROLLBACK"));
  CHECK(find_transaction_control("/* x */ start transaction isolation level serializable") ==
        std::string("START TRANSACTION"));
  CHECK(find_transaction_control("END") == std::string("END"));
  CHECK(find_transaction_control("ABORT") == std::string("ABORT"));
  CHECK(find_transaction_control("SAVEPOINT s") == std::string("SAVEPOINT"));
  CHECK(find_transaction_control("RELEASE SAVEPOINT s") == std::string("RELEASE"));
  CHECK(find_transaction_control("PREPARE TRANSACTION 'x'") == std::string("PREPARE TRANSACTION"));
  CHECK(find_transaction_control("COMMIT PREPARED 'x'") == std::string("COMMIT"));
  CHECK(find_transaction_control("ROLLBACK PREPARED 'x'") == std::string("ROLLBACK"));
  CHECK(find_transaction_control("SELECT 1;BEGIN") == std::string("BEGIN"));
}

TEST_CASE("transaction words inside literals, comments, bodies or other statements are fine") {
  CHECK_FALSE(find_transaction_control("SELECT 'BEGIN; COMMIT'"));
  CHECK_FALSE(find_transaction_control("-- COMMIT\nSELECT 1"));
  CHECK_FALSE(find_transaction_control("/* ROLLBACK; */ SELECT 1"));
  CHECK_FALSE(find_transaction_control("DO $$ BEGIN RAISE NOTICE 'x'; END $$"));
  CHECK_FALSE(find_transaction_control("DO $body$ BEGIN COMMIT; END $body$"));
  CHECK_FALSE(find_transaction_control("PREPARE q AS SELECT 1; EXECUTE q"));
  CHECK_FALSE(find_transaction_control("SELECT \"commit\" FROM t"));
  CHECK_FALSE(find_transaction_control("INSERT INTO t VALUES (E'\\';commit;')"));
  CHECK_FALSE(find_transaction_control("SET LOCAL application_name = 'x'; SELECT 1"));
  CHECK_FALSE(find_transaction_control("SELECT begin FROM t"));
  CHECK_FALSE(find_transaction_control(""));
}

TEST_CASE("unterminated literals and comments end the text without reading past it") {
  CHECK(split("SELECT 'abc").size() == 1);
  CHECK(split("SELECT $tag$ abc").size() == 1);
  CHECK(split("SELECT /* abc").size() == 1);
  CHECK(split("SELECT E'abc\\").size() == 1);
  CHECK(split("SELECT $").size() == 1);
  CHECK(split("SELECT $a").size() == 1);
  CHECK_FALSE(find_transaction_control("SELECT 'x; COMMIT"));
}
