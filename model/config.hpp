#pragma once

#include "model/pick_policy.hpp"
#include "model/retry_policy.hpp"

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace steward::model {

/// The daemon's configuration file (TOML, DESIGN.md "Config file"). Every key is
/// optional here; `dsn` is checked by the daemon together with --dsn.
struct config {
  std::string dsn;
  int max_executors = 4;
  int max_executors_per_node = 1;
  int poll_interval_ms = 1000;
  std::vector<int> retry_delays_s{5, 20, 60};
  int max_retries = 32;
  int terminate_grace_ms = 5000;
  std::string log_level = "info";

  retry_policy retry() const;
  pick_limits limits() const;
};

/// What is wrong with a configuration. `key` is empty for errors about the whole file
/// (unreadable, TOML syntax).
struct config_error {
  std::string key;
  std::string problem;
  /// "<key>: <problem>", or just the problem when key is empty, e.g.
  /// "max_executors: must be an integer between 1 and 1000, got -3".
  std::string message() const;
};

/// Parses and validates a configuration; the first problem found is reported. Unknown
/// keys are errors; a syntax error names its line and column.
std::variant<config, config_error> parse_config(std::string_view toml_text);

/// Reads and parses a file; an unreadable file gives key "" and a problem naming the path.
std::variant<config, config_error> load_config_file(const std::string& path);

/// The log levels accepted by `log_level` (spdlog's names).
inline constexpr std::string_view log_levels[] = {"trace", "debug", "info",     "warn",
                                                  "error", "critical", "off"};

/// Replaces the values of password (and sslpassword) in a libpq key/value connection
/// string, and the password of a postgresql:// or postgres:// URI (userinfo and query
/// parameters), with ********. Everything else is kept as written.
std::string redact_dsn(std::string_view dsn);

/// One line describing the configuration for the log, with the DSN redacted.
std::string describe(const config& c);

}  // namespace steward::model
