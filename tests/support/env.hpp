#pragma once

#include <string>

namespace steward::test {

/// The libpq connection string of the throwaway server that scripts/test started
/// (environment variable STEWARD_TEST_DSN). Database tests never skip: a missing
/// variable throws, so the test fails with a message saying how to run it.
std::string server_dsn();

/// `server_dsn()` with its `dbname` replaced by `dbname`.
std::string dsn_for_database(const std::string& dbname);

/// Directory of the built binaries (steward, steward-executor).
std::string bin_dir();

}  // namespace steward::test
