#include "model/pick_policy.hpp"

#include <algorithm>
#include <set>

namespace steward::model {

namespace {

std::set<node_id> distinct(const std::vector<node_id>& nodes) {
  return {nodes.begin(), nodes.end()};
}

}  // namespace

void running_load::add(const std::optional<std::vector<node_id>>& nodes_involved) {
  ++total;
  if (nodes_involved)
    for (auto n : distinct(*nodes_involved))
      ++per_node[n];
}

void running_load::remove(const std::optional<std::vector<node_id>>& nodes_involved) {
  total = std::max(total - 1, 0);
  if (!nodes_involved)
    return;
  for (auto n : distinct(*nodes_involved)) {
    auto it = per_node.find(n);
    if (it == per_node.end())
      continue;
    if (--it->second <= 0)
      per_node.erase(it);
  }
}

std::vector<task_id> pick(const std::vector<pick_candidate>& candidates, const running_load& load,
                          const pick_limits& limits, epoch_ms now) {
  std::vector<const pick_candidate*> order;
  order.reserve(candidates.size());
  for (const auto& c : candidates)
    order.push_back(&c);
  std::stable_sort(order.begin(), order.end(),
                   [](const pick_candidate* a, const pick_candidate* b) { return a->task < b->task; });

  running_load after = load;
  std::vector<task_id> picked;
  const pick_candidate* previous = nullptr;
  for (const auto* c : order) {
    if (after.total >= limits.max_executors)
      break;
    if (previous && previous->task == c->task)
      continue;
    previous = c;
    if (c->not_before && *c->not_before > now)
      continue;
    if (!c->dependencies_done)
      continue;
    if (c->nodes_involved) {
      bool node_full = std::any_of(c->nodes_involved->begin(), c->nodes_involved->end(),
                                   [&](node_id n) {
                                     auto it = after.per_node.find(n);
                                     int running = it == after.per_node.end() ? 0 : it->second;
                                     return running >= limits.max_executors_per_node;
                                   });
      if (node_full)
        continue;
    }
    after.add(c->nodes_involved);
    picked.push_back(c->task);
  }
  return picked;
}

std::optional<epoch_ms> next_wakeup(const std::vector<pick_candidate>& candidates, epoch_ms now) {
  std::optional<epoch_ms> earliest;
  for (const auto& c : candidates)
    if (c.dependencies_done && c.not_before && *c.not_before > now
        && (!earliest || *c.not_before < *earliest))
      earliest = c.not_before;
  return earliest;
}

}  // namespace steward::model
