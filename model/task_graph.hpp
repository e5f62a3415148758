#pragma once

#include "model/records.hpp"
#include "model/states.hpp"

#include <map>
#include <string_view>
#include <vector>

namespace steward::model {

/// Why add_task/add_edge refused (deviation 4: bad dependencies are rejected when inserted).
enum class graph_error : std::uint8_t {
  none,
  unknown_task,    ///< an endpoint of the edge is not in the graph
  duplicate_task,  ///< add_task of an id already present
  duplicate_edge,  ///< the dependency is already recorded
  self_edge,       ///< a task cannot depend on itself
  other_job,       ///< the two tasks belong to different jobs
  cycle,           ///< the edge would close a cycle
};

std::string_view to_string(graph_error e);

/// The dependency DAG of a job's tasks: plain containers, no clock, no I/O.
/// Edges point from a task to a task it depends on. Every task carries its job, and an
/// edge between tasks of different jobs is refused, so the graph may hold several jobs
/// but dependencies never cross them. Every vector returned is ascending.
class task_graph {
public:
  /// Adds a task without dependencies; duplicate_task if the id is already present.
  graph_error add_task(task_id id, job_id job);

  /// Records that `task` depends on `depends_on`. Checked before inserting (the graph is
  /// unchanged on error), in this order: unknown_task, self_edge, other_job,
  /// duplicate_edge, cycle.
  graph_error add_edge(task_id task, task_id depends_on);

  bool contains(task_id id) const;
  /// The job of a task; 0 for an unknown task.
  job_id job_of(task_id id) const;
  /// All task ids, ascending.
  std::vector<task_id> tasks() const;
  std::size_t size() const { return nodes_.size(); }

  /// Direct dependencies / dependents of a task (empty for an unknown task).
  const std::vector<task_id>& dependencies(task_id id) const;
  const std::vector<task_id>& dependents(task_id id) const;

  /// Every task that depends on `id` directly or indirectly (without `id`), ascending.
  std::vector<task_id> transitive_dependents(task_id id) const;

  /// Tasks whose state is runnable and whose dependencies are all done. Tasks (and
  /// dependencies) missing from `states` count as neither runnable nor done.
  std::vector<task_id> ready(const std::map<task_id, task_state>& states) const;

  /// After `done_task` became done: its direct dependents that are blocked and whose
  /// every dependency is now done (done_task counts as done whatever `states` says).
  /// Dependents in any other state (e.g. cancelled) are skipped.
  std::vector<task_id> unblocked_by(task_id done_task,
                                    const std::map<task_id, task_state>& states) const;

  /// Every task after all of its dependencies; among the tasks available at each step,
  /// the smallest id comes first (deterministic).
  std::vector<task_id> topological_order() const;

private:
  struct node {
    job_id job = 0;
    std::vector<task_id> dependencies;  // ascending
    std::vector<task_id> dependents;    // ascending
  };

  /// Whether `to` is reachable from `from` following dependency edges.
  bool depends_transitively(task_id from, task_id to) const;

  std::map<task_id, node> nodes_;
};

/// Builds the graph of one job from its task rows (ids and depends_on). Rows of another
/// job are skipped with other_job; bad dependencies are skipped with the error add_edge
/// reports. The first error (none if there was none) is stored in `first_error` if given.
task_graph build_graph(job_id job, const std::vector<task_record>& tasks,
                       graph_error* first_error = nullptr);

}  // namespace steward::model
