#include "tests/support/test_database.hpp"

#include "sql/migrations.hpp"
#include "tests/support/env.hpp"

#include <pqxx/pqxx>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <stdexcept>
#include <unistd.h>

namespace steward::test {

namespace {

std::string database_name(const std::string& prefix) {
  static std::atomic<unsigned> counter{0};
  std::string clean;
  for (char c : prefix)
    clean += std::isalnum(static_cast<unsigned char>(c)) != 0
               ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
               : '_';
  if (clean.empty())
    clean = "test";
  auto name = clean + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  if (name.size() > 63)  // NAMEDATALEN - 1; keep the unique suffix
    name = name.substr(name.size() - 63);
  return name;
}

// Runs one statement that cannot run inside a transaction block, on the server's
// own maintenance database (the one in STEWARD_TEST_DSN).
void exec_on_server(const std::string& statement) {
  pqxx::connection conn{server_dsn()};
  pqxx::nontransaction n{conn};
  n.exec(statement);
}

}  // namespace

test_database::test_database(std::string prefix)
  : name_(database_name(prefix)), dsn_(dsn_for_database(name_)) {
  {
    pqxx::connection conn{server_dsn()};
    pqxx::nontransaction n{conn};
    n.exec("CREATE DATABASE " + n.quote_name(name_));
  }
  try {
    sql::apply_migrations(dsn_);
  } catch (...) {
    try {
      exec_on_server("DROP DATABASE IF EXISTS \"" + name_ + "\" WITH (FORCE)");
    } catch (...) {
    }
    throw;
  }
}

test_database::~test_database() {
  try {
    exec_on_server("DROP DATABASE IF EXISTS \"" + name_ + "\" WITH (FORCE)");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "test_database: could not drop %s: %s\n", name_.c_str(), e.what());
  }
}

}  // namespace steward::test
