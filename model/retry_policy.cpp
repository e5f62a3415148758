#include "model/retry_policy.hpp"

#include <algorithm>
#include <limits>

namespace steward::model {

std::int64_t retry_delay_ms(const retry_policy& policy, std::int32_t retry_count) {
  if (policy.delays_s.empty())
    return 0;
  auto index = static_cast<std::size_t>(std::max<std::int32_t>(retry_count, 1) - 1);
  index = std::min(index, policy.delays_s.size() - 1);
  return std::max<std::int64_t>(policy.delays_s[index], 0) * 1000;
}

retry_decision on_failure(const retry_policy& policy,
                          std::optional<std::int32_t> previous_retry_count) {
  std::int32_t previous = std::max<std::int32_t>(previous_retry_count.value_or(0), 0);
  retry_decision d;
  d.retry_count = previous == std::numeric_limits<std::int32_t>::max() ? previous : previous + 1;
  d.give_up = d.retry_count > policy.max_retries;
  d.delay_ms = d.give_up ? 0 : retry_delay_ms(policy, d.retry_count);
  return d;
}

}  // namespace steward::model
