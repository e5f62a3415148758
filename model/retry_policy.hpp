#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace steward::model {

/// Back-off after failures (citus-reference §4.7; configurable, deviation 8).
struct retry_policy {
  /// Delay after the 1st, 2nd, ... failure; the last element repeats for later ones.
  std::vector<int> delays_s{5, 20, 60};
  /// Failures that may still be retried; the next one puts the task in `error`.
  int max_retries = 32;
};

struct retry_decision {
  bool give_up = false;            ///< the task goes to `error`
  std::int32_t retry_count = 0;    ///< the task's retry_count after this failure
  std::int64_t delay_ms = 0;       ///< not_before = now + delay_ms (0 when giving up)
};

/// Decides what a failure does. `previous_retry_count` is the task's retry_count before
/// the failure (NULL = never failed). The count is incremented (NULL -> 1, saturating);
/// the task gives up when the new count exceeds max_retries, so with the defaults the
/// 33rd failure puts it in error and it runs at most 1 + 32 times. An empty delay list
/// means no delay; negative delays count as 0.
retry_decision on_failure(const retry_policy& policy,
                          std::optional<std::int32_t> previous_retry_count);

/// The delay in ms before the next attempt once retry_count is `retry_count` (>= 1).
std::int64_t retry_delay_ms(const retry_policy& policy, std::int32_t retry_count);

}  // namespace steward::model
