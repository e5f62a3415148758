#include "model/task_graph.hpp"

#include <algorithm>
#include <functional>
#include <queue>
#include <set>

namespace steward::model {

namespace {

const std::vector<task_id> no_tasks;

void insert_sorted(std::vector<task_id>& xs, task_id x) {
  xs.insert(std::lower_bound(xs.begin(), xs.end(), x), x);
}

bool is_state(const std::map<task_id, task_state>& states, task_id id, task_state s) {
  auto it = states.find(id);
  return it != states.end() && it->second == s;
}

}  // namespace

std::string_view to_string(graph_error e) {
  switch (e) {
    case graph_error::none: return "none";
    case graph_error::unknown_task: return "unknown task";
    case graph_error::duplicate_task: return "duplicate task";
    case graph_error::duplicate_edge: return "duplicate dependency";
    case graph_error::self_edge: return "task depends on itself";
    case graph_error::other_job: return "dependency on a task of another job";
    case graph_error::cycle: return "dependency cycle";
  }
  return "?";
}

graph_error task_graph::add_task(task_id id, job_id job) {
  auto [it, inserted] = nodes_.try_emplace(id);
  if (!inserted)
    return graph_error::duplicate_task;
  it->second.job = job;
  return graph_error::none;
}

graph_error task_graph::add_edge(task_id task, task_id depends_on) {
  auto t = nodes_.find(task);
  auto d = nodes_.find(depends_on);
  if (t == nodes_.end() || d == nodes_.end())
    return graph_error::unknown_task;
  if (task == depends_on)
    return graph_error::self_edge;
  if (t->second.job != d->second.job)
    return graph_error::other_job;
  if (std::binary_search(t->second.dependencies.begin(), t->second.dependencies.end(),
                         depends_on))
    return graph_error::duplicate_edge;
  if (depends_transitively(depends_on, task))
    return graph_error::cycle;
  insert_sorted(t->second.dependencies, depends_on);
  insert_sorted(d->second.dependents, task);
  return graph_error::none;
}

bool task_graph::depends_transitively(task_id from, task_id to) const {
  std::set<task_id> seen{from};
  std::vector<task_id> stack{from};
  while (!stack.empty()) {
    auto id = stack.back();
    stack.pop_back();
    if (id == to)
      return true;
    for (auto dep : dependencies(id))
      if (seen.insert(dep).second)
        stack.push_back(dep);
  }
  return false;
}

bool task_graph::contains(task_id id) const {
  return nodes_.count(id) > 0;
}

job_id task_graph::job_of(task_id id) const {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? 0 : it->second.job;
}

std::vector<task_id> task_graph::tasks() const {
  std::vector<task_id> out;
  out.reserve(nodes_.size());
  for (const auto& [id, n] : nodes_)
    out.push_back(id);
  return out;
}

const std::vector<task_id>& task_graph::dependencies(task_id id) const {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? no_tasks : it->second.dependencies;
}

const std::vector<task_id>& task_graph::dependents(task_id id) const {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? no_tasks : it->second.dependents;
}

std::vector<task_id> task_graph::transitive_dependents(task_id id) const {
  std::set<task_id> seen;
  std::vector<task_id> stack{id};
  while (!stack.empty()) {
    auto cur = stack.back();
    stack.pop_back();
    for (auto dep : dependents(cur))
      if (seen.insert(dep).second)
        stack.push_back(dep);
  }
  seen.erase(id);  // only possible in a cyclic graph, which add_edge prevents
  return {seen.begin(), seen.end()};
}

std::vector<task_id> task_graph::ready(const std::map<task_id, task_state>& states) const {
  std::vector<task_id> out;
  for (const auto& [id, n] : nodes_) {
    if (!is_state(states, id, task_state::runnable))
      continue;
    bool all_done = std::all_of(n.dependencies.begin(), n.dependencies.end(), [&](task_id d) {
      return is_state(states, d, task_state::done);
    });
    if (all_done)
      out.push_back(id);
  }
  return out;
}

std::vector<task_id> task_graph::unblocked_by(task_id done_task,
                                              const std::map<task_id, task_state>& states) const {
  std::vector<task_id> out;
  for (auto dependent : dependents(done_task)) {
    if (!is_state(states, dependent, task_state::blocked))
      continue;
    const auto& deps = dependencies(dependent);
    bool all_done = std::all_of(deps.begin(), deps.end(), [&](task_id d) {
      return d == done_task || is_state(states, d, task_state::done);
    });
    if (all_done)
      out.push_back(dependent);
  }
  return out;
}

std::vector<task_id> task_graph::topological_order() const {
  std::map<task_id, std::size_t> missing;  // dependencies not yet emitted
  std::priority_queue<task_id, std::vector<task_id>, std::greater<task_id>> available;
  for (const auto& [id, n] : nodes_) {
    missing[id] = n.dependencies.size();
    if (n.dependencies.empty())
      available.push(id);
  }
  std::vector<task_id> out;
  out.reserve(nodes_.size());
  while (!available.empty()) {
    auto id = available.top();
    available.pop();
    out.push_back(id);
    for (auto dependent : dependents(id))
      if (--missing[dependent] == 0)
        available.push(dependent);
  }
  return out;
}

task_graph build_graph(job_id job, const std::vector<task_record>& tasks,
                       graph_error* first_error) {
  task_graph g;
  graph_error first = graph_error::none;
  auto note = [&](graph_error e) {
    if (first == graph_error::none)
      first = e;
  };
  for (const auto& t : tasks) {
    if (t.job != job) {
      note(graph_error::other_job);
      continue;
    }
    note(g.add_task(t.id, t.job));
  }
  std::map<task_id, job_id> job_of_row;
  for (const auto& t : tasks)
    job_of_row.emplace(t.id, t.job);
  for (const auto& t : tasks) {
    if (t.job != job)
      continue;
    for (auto dep : t.depends_on) {
      auto row = job_of_row.find(dep);
      if (row != job_of_row.end() && row->second != job)
        note(graph_error::other_job);  // the row was skipped, so add_edge would say unknown
      else
        note(g.add_edge(t.id, dep));
    }
  }
  if (first_error)
    *first_error = first;
  return g;
}

}  // namespace steward::model
