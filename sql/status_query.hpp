#pragma once

#include "model/status_view.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace steward::sql {

/// Reads what `steward status` shows from the Steward catalog: the jobs with their tasks,
/// and the shard-move progress of get_rebalance_progress() when that function exists
/// (it comes with the cluster migrations; without it there is simply no progress).
///
/// Owns one libpqxx connection. Failures are sql::error: `unavailable` when the server
/// cannot be reached (the message names the server with its password redacted),
/// `not_found` when the database has no steward schema, `sql_failed` otherwise.
class status_reader {
public:
  /// Connects and checks that the steward schema is installed.
  explicit status_reader(const std::string& dsn);
  ~status_reader();
  status_reader(const status_reader&) = delete;
  status_reader& operator=(const status_reader&) = delete;

  /// Every job that is not terminal plus the `recent_terminal` most recent terminal ones
  /// (highest job ids; all of them when negative), read in one snapshot; then the move
  /// progress in a transaction of its own, so that a failing get_rebalance_progress()
  /// (a worker down) costs only the progress (snapshot.progress_error).
  model::status_snapshot read(std::int64_t recent_terminal);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace steward::sql
