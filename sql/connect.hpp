#pragma once

#include <pqxx/connection>

#include <memory>
#include <string>

namespace steward::sql {

/// Opens a connection; failure -> sql::error(errc::unavailable) whose message names
/// the server by the connection string with its password redacted.
std::unique_ptr<pqxx::connection> open_connection(const std::string& dsn);

}  // namespace steward::sql
