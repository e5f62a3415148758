#pragma once

#include <cstdint>
#include <string>

namespace steward::app {

struct status_options {
  std::string dsn;         ///< empty: $STEWARD_DSN, else libpq's defaults (PGHOST, ...)
  bool watch = false;
  bool json = false;
  bool all = false;        ///< every terminal job, not only the most recent few
  int interval_ms = 1000;  ///< --watch redraw period
};

/// How many terminal jobs `steward status` shows without --all.
inline constexpr std::int64_t recent_terminal_jobs = 5;

/// `steward status`: prints once (or redraws until SIGINT/SIGTERM with --watch).
/// Exit code 0, or 1 when the database is unreachable or has no steward schema.
int run_status(const status_options& opts);

}  // namespace steward::app
