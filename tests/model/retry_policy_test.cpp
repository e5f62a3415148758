#include <catch2/catch.hpp>

#include "model/retry_policy.hpp"

#include <limits>

using namespace steward::model;

TEST_CASE("the first failure of a task is retried after 5 seconds with retry_count 1") {
  auto d = on_failure(retry_policy{}, std::nullopt);
  CHECK_FALSE(d.give_up);
  CHECK(d.retry_count == 1);
  CHECK(d.delay_ms == 5000);
}

TEST_CASE("default back-off follows Citus's table up to the 33rd failure, which is final") {
  retry_policy p;
  std::optional<std::int32_t> count;
  for (std::int32_t failure = 1; failure <= 32; ++failure) {
    INFO("failure " << failure);
    auto d = on_failure(p, count);
    CHECK_FALSE(d.give_up);
    CHECK(d.retry_count == failure);
    CHECK(d.delay_ms == (failure == 1 ? 5000 : failure == 2 ? 20000 : 60000));
    count = d.retry_count;
  }
  auto last = on_failure(p, count);
  CHECK(last.give_up);
  CHECK(last.retry_count == 33);
  CHECK(last.delay_ms == 0);
}

TEST_CASE("cumulative default back-off is about thirty and a half minutes") {
  retry_policy p;
  std::int64_t total = 0;
  for (std::int32_t c = 1; c <= 32; ++c)
    total += retry_delay_ms(p, c);
  CHECK(total == (5 + 20 + 30 * 60) * 1000);
}

TEST_CASE("custom policies repeat their last delay and honour their retry limit") {
  retry_policy p{{1, 2}, 3};
  CHECK(on_failure(p, std::nullopt).delay_ms == 1000);
  CHECK(on_failure(p, 1).delay_ms == 2000);
  CHECK(on_failure(p, 2).delay_ms == 2000);
  CHECK_FALSE(on_failure(p, 2).give_up);
  CHECK(on_failure(p, 3).give_up);
  CHECK(on_failure(p, 3).retry_count == 4);
}

TEST_CASE("a policy without retries gives up on the first failure") {
  auto d = on_failure(retry_policy{{5}, 0}, std::nullopt);
  CHECK(d.give_up);
  CHECK(d.retry_count == 1);
}

TEST_CASE("degenerate delays and counts are handled without surprises") {
  CHECK(on_failure(retry_policy{{}, 5}, std::nullopt).delay_ms == 0);
  CHECK(on_failure(retry_policy{{-4}, 5}, std::nullopt).delay_ms == 0);
  CHECK(on_failure(retry_policy{{0, 7}, 5}, std::nullopt).delay_ms == 0);
  CHECK(on_failure(retry_policy{}, -3).retry_count == 1);
  auto huge = on_failure(retry_policy{}, std::numeric_limits<std::int32_t>::max());
  CHECK(huge.retry_count == std::numeric_limits<std::int32_t>::max());
  CHECK(huge.give_up);
  CHECK(retry_delay_ms(retry_policy{{3600 * 24 * 365}, 1}, 1) == 31536000000LL);
}
