#pragma once

#include <stdexcept>
#include <string>

namespace steward::sql {

/// What went wrong at the database boundary; libpqxx exceptions stop in sql/ and
/// reach callers as this type.
enum class errc {
  unavailable,    ///< connection refused, lost, or the server went away
  sql_failed,     ///< the server rejected a statement (see sqlstate)
  lock_lost,      ///< the session holding the leader lock is gone
  not_found,      ///< a row the caller expected is missing
  conflict,       ///< a guarded update found another state than expected
};

class error : public std::runtime_error {
public:
  error(errc code, std::string message, std::string sqlstate = {})
    : std::runtime_error(std::move(message)), code_(code), sqlstate_(std::move(sqlstate)) {}
  errc code() const noexcept { return code_; }
  const std::string& sqlstate() const noexcept { return sqlstate_; }

private:
  errc code_;
  std::string sqlstate_;
};

/// Runs `fn`, translating libpqxx exceptions into steward::sql::error.
template <class F>
auto translate_errors(F&& fn) -> decltype(fn());

}  // namespace steward::sql

#include "sql/error_impl.hpp"
