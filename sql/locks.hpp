#pragma once

#include <cstdint>
#include <utility>

namespace steward::sql {

// Advisory locks Steward takes on the coordinator database. All use the two-int4 form
// of pg_advisory_lock, which does not collide with the single-bigint form that task
// commands may use themselves. Visible in pg_locks as locktype 'advisory', objsubid 2.

/// Session lock of the active coordinator daemon: (classid, objid) = ('SWLD', 0).
inline constexpr std::int32_t leader_lock_key1 = 0x53574C44;
inline constexpr std::int32_t leader_lock_key2 = 0;

/// Session lock held by `steward init` while it migrates: ('SWLD', 1).
inline constexpr std::int32_t migrate_lock_key1 = leader_lock_key1;
inline constexpr std::int32_t migrate_lock_key2 = 1;

/// Per-task execution lock, held by the executor while it runs a task:
/// classid = 'ST' << 16 | bits 32..47 of the task id, objid = bits 0..31.
inline std::pair<std::int32_t, std::int32_t> task_lock_keys(std::int64_t task_id) {
  auto high = static_cast<std::uint32_t>(0x53540000u | ((static_cast<std::uint64_t>(task_id) >> 32) & 0xFFFFu));
  auto low = static_cast<std::uint32_t>(static_cast<std::uint64_t>(task_id) & 0xFFFFFFFFu);
  return {static_cast<std::int32_t>(high), static_cast<std::int32_t>(low)};
}

}  // namespace steward::sql
