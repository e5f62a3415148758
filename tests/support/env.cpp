#include "tests/support/env.hpp"

#include <cstdlib>
#include <regex>
#include <stdexcept>

namespace steward::test {

std::string server_dsn() {
  const char* dsn = std::getenv("STEWARD_TEST_DSN");
  if (dsn == nullptr || *dsn == '\0')
    throw std::runtime_error(
      "STEWARD_TEST_DSN is not set: database tests need the throwaway server that "
      "scripts/test starts (run scripts/test, or export STEWARD_TEST_DSN)");
  return dsn;
}

std::string dsn_for_database(const std::string& dbname) {
  static const std::regex dbname_kv{R"((^|\s)dbname=\S+)"};
  auto dsn = server_dsn();
  if (std::regex_search(dsn, dbname_kv))
    return std::regex_replace(dsn, dbname_kv, "$1dbname=" + dbname);
  return dsn + " dbname=" + dbname;
}

std::string bin_dir() {
  if (const char* dir = std::getenv("STEWARD_BIN_DIR"); dir != nullptr && *dir != '\0')
    return dir;
  return STEWARD_BIN_DIR;
}

}  // namespace steward::test
