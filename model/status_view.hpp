#pragma once
// `steward status`: what it reads (plain structs filled by sql/status_query) and how it
// shows them (pure functions: text for people, JSON for scripts). No clock is read here:
// the snapshot carries the database's "now".

#include "model/records.hpp"
#include "model/states.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace steward::model {

/// A task as the status shows it.
struct status_task {
  task_id id = 0;
  task_state state = task_state::runnable;
  std::int32_t retried = 0;             ///< coalesce(retry_count, 0)
  std::optional<std::int32_t> pid;      ///< executor backend while running
  std::optional<epoch_ms> not_before;   ///< next attempt of a retried task
  std::string message;
  std::string command;
  bool is_move = false;                 ///< a shard move (counts towards a rebalance's moves)
};

/// One row of get_rebalance_progress(): one shard (colocated shards included) of a move
/// that backend `sessionid` has registered.
struct move_progress_row {
  std::int32_t sessionid = 0;
  std::string table_name;
  std::int64_t shardid = 0;
  std::string sourcename;
  std::int32_t sourceport = 0;
  std::string targetname;
  std::int32_t targetport = 0;
  std::int64_t source_shard_size = 0;   ///< NULL read as 0
  std::int64_t target_shard_size = 0;
  std::string operation_type;
  std::string status;                   ///< the phase, e.g. "Copying Data"
};

struct status_job {
  job_record job;
  std::vector<status_task> tasks;       ///< ascending task id
};

/// Everything one `steward status` shows, read at one moment.
struct status_snapshot {
  epoch_ms now = 0;                        ///< the database's clock
  std::vector<status_job> jobs;            ///< ascending job id
  std::int64_t hidden_terminal_jobs = 0;   ///< terminal jobs left out (older ones)
  bool progress_available = false;         ///< get_rebalance_progress() exists
  std::optional<std::string> progress_error;  ///< it exists but failed
  std::vector<move_progress_row> progress;
};

/// A running move of a job: the progress rows of the backend that runs one of the job's
/// running tasks (grouped by sessionid like citus_job_status: sizes summed).
struct move_view {
  task_id task = 0;
  std::int64_t shardid = 0;              ///< the lowest shard id of the moved group
  std::vector<std::int64_t> shards;      ///< all shards moved together, ascending
  std::string table_name;                ///< of `shardid`
  std::string phase;                     ///< status of `shardid`'s row
  std::string source;                    ///< "host:port"
  std::string target;
  std::int64_t source_size = 0;          ///< bytes, summed over the group
  std::int64_t target_size = 0;
};

/// The running moves of `job`, in ascending task id.
std::vector<move_view> moves_of(const status_job& job, const std::vector<move_progress_row>& rows);

/// Like PostgreSQL's pg_size_pretty(bigint): "10239 bytes", "10 kB", "20 MB", ...
std::string format_bytes(std::int64_t bytes);

/// "[#####-----]" with `width` cells between the brackets, done/total filled (clamped to
/// 0..1; total <= 0 shows an empty bar).
std::string progress_bar(std::int64_t done, std::int64_t total, int width = 20);

/// Whole percent of done/total, clamped to 0..100 (0 when total <= 0).
int percent(std::int64_t done, std::int64_t total);

/// "2026-12-04 04:30:12 UTC" (seconds, truncated).
std::string format_time_utc(epoch_ms t);
/// "2026-12-04T04:30:12.123Z".
std::string format_iso8601(epoch_ms t);
/// "45s", "2m05s", "3h07m", "2d04h" (negative durations show as "0s").
std::string format_duration(epoch_ms ms);

/// The first line of a message, without trailing blanks.
std::string first_line(std::string_view message);

/// "done 3, running 2, runnable 5, blocked 4": the states present, in the order
/// done, running, runnable, blocked, cancelling, error, cancelled, unscheduled;
/// "no tasks" for a job without tasks.
std::string task_state_counts_text(const std::vector<status_task>& tasks);

/// Tasks shown as failures: in error, or retried and not yet terminal.
bool is_failure(const status_task& t);

/// The text for people: one block per job, then a line about jobs left out.
std::string render_text(const status_snapshot& s);

/// The JSON document (one line, no trailing newline); shape in README "Status".
std::string render_json(const status_snapshot& s);

/// {"error":"<message>"}: what `steward status --watch --json` prints for a refresh that
/// could not read the catalog.
std::string render_json_error(std::string_view message);

}  // namespace steward::model
