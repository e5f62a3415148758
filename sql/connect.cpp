#include "sql/connect.hpp"

#include "model/config.hpp"
#include "sql/error.hpp"

namespace steward::sql {

std::unique_ptr<pqxx::connection> open_connection(const std::string& dsn) {
  try {
    return std::make_unique<pqxx::connection>(dsn);
  } catch (const std::exception& e) {
    // libpq does not echo the password, but a malformed string may be quoted back.
    auto redacted = model::redact_dsn(dsn);
    std::string reason = e.what();
    if (redacted != dsn)
      for (auto at = reason.find(dsn); at != std::string::npos;
           at = reason.find(dsn, at + redacted.size()))
        reason.replace(at, dsn.size(), redacted);
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' '))
      reason.pop_back();
    throw error(errc::unavailable, "cannot connect to \"" + redacted + "\": " + reason);
  }
}

}  // namespace steward::sql
