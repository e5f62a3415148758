#pragma once

#include "model/records.hpp"

#include <map>
#include <optional>
#include <vector>

namespace steward::model {

/// A runnable task as the pick sees it.
struct pick_candidate {
  task_id task = 0;
  job_id job = 0;
  std::optional<epoch_ms> not_before;                  ///< NULL = may start at once
  bool dependencies_done = true;
  std::optional<std::vector<node_id>> nodes_involved;  ///< NULL = never node-limited
};

struct pick_limits {
  int max_executors = 4;           ///< running tasks, all jobs together
  int max_executors_per_node = 1;  ///< running tasks whose nodes_involved contain a node
};

/// What is running now. A node listed twice in one task's nodes_involved counts once.
struct running_load {
  int total = 0;
  std::map<node_id, int> per_node;  ///< only nodes with a count > 0

  void add(const std::optional<std::vector<node_id>>& nodes_involved);
  /// Undoes add; counts never go below zero.
  void remove(const std::optional<std::vector<node_id>>& nodes_involved);
};

/// The tasks to start now, in start order (citus-reference §4.4 a–b): candidates are
/// taken in ascending task_id across jobs (whatever their order in the input; a repeated
/// task_id is considered once); one is skipped if its not_before lies after `now`, its
/// dependencies are not all done, or any node it involves is at max_executors_per_node
/// (NULL nodes_involved is never node-limited); the pick stops once `load` plus the
/// picked tasks reach max_executors. A picked task takes a slot on each of its nodes,
/// so later candidates see it; nothing is counted for tasks not picked (deviation 3).
std::vector<task_id> pick(const std::vector<pick_candidate>& candidates, const running_load& load,
                          const pick_limits& limits, epoch_ms now);

/// When to look again for back-off: the earliest not_before after `now` among
/// candidates whose dependencies are done; nullopt if there is none.
std::optional<epoch_ms> next_wakeup(const std::vector<pick_candidate>& candidates, epoch_ms now);

}  // namespace steward::model
