#pragma once

#include <string>

namespace steward::test {

/// A throwaway database on the test server (cgimap style: one per test run).
/// The constructor creates `<prefix>_<pid>_<counter>` and applies every Steward
/// migration to it; the destructor drops it, disconnecting whatever still uses it.
/// Throws (and so fails the test) when the server is unreachable: database tests
/// never skip.
class test_database {
public:
  explicit test_database(std::string prefix);
  ~test_database();

  test_database(const test_database&) = delete;
  test_database& operator=(const test_database&) = delete;

  /// Connection string for this database (the server DSN with `dbname` replaced).
  const std::string& dsn() const { return dsn_; }
  /// The database name.
  const std::string& name() const { return name_; }

private:
  std::string name_;
  std::string dsn_;
};

}  // namespace steward::test
