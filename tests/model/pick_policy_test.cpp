#include <catch2/catch.hpp>

#include "model/pick_policy.hpp"

#include <algorithm>
#include <random>
#include <set>

using namespace steward::model;
using ids = std::vector<task_id>;
using nodes = std::optional<std::vector<node_id>>;

namespace {

pick_candidate cand(task_id t, nodes n = std::nullopt, std::optional<epoch_ms> nb = std::nullopt,
                    bool deps = true, job_id j = 1) {
  pick_candidate c;
  c.task = t;
  c.job = j;
  c.not_before = nb;
  c.dependencies_done = deps;
  c.nodes_involved = std::move(n);
  return c;
}

constexpr epoch_ms now = 1'700'000'000'000;

}  // namespace

TEST_CASE("candidates are picked in ascending task id across jobs up to the global limit") {
  std::vector<pick_candidate> cs{cand(9, {}, {}, true, 2), cand(3, {}, {}, true, 1),
                                 cand(5, {}, {}, true, 3), cand(1, {}, {}, true, 2)};
  CHECK(pick(cs, {}, {2, 1}, now) == ids{1, 3});
  CHECK(pick(cs, {}, {10, 1}, now) == ids{1, 3, 5, 9});
}

TEST_CASE("tasks already running count against the global limit") {
  running_load load;
  load.add(std::nullopt);
  load.add(std::nullopt);
  load.add(std::nullopt);
  std::vector<pick_candidate> cs{cand(1), cand(2)};
  CHECK(pick(cs, load, {4, 1}, now) == ids{1});
  load.add(std::nullopt);
  CHECK(pick(cs, load, {4, 1}, now).empty());
}

TEST_CASE("a task waiting for its back-off or for dependencies is skipped") {
  std::vector<pick_candidate> cs{cand(1, {}, now + 1), cand(2, {}, {}, false), cand(3, {}, now),
                                 cand(4, {}, now - 5000)};
  CHECK(pick(cs, {}, {4, 1}, now) == ids{3, 4});
}

TEST_CASE("a task is skipped when any node it involves is at the per-node limit") {
  running_load load;
  load.add(std::vector<node_id>{2});
  std::vector<pick_candidate> cs{cand(1, std::vector<node_id>{1, 2}), cand(2, std::vector<node_id>{1, 3}),
                                 cand(3, std::vector<node_id>{3}), cand(4, std::vector<node_id>{4})};
  // 1 blocked by node 2; 2 takes nodes 1 and 3; 3 blocked by node 3; 4 takes node 4.
  CHECK(pick(cs, load, {10, 1}, now) == ids{2, 4});
  CHECK(pick(cs, load, {10, 2}, now) == ids{1, 2, 3, 4});
}

TEST_CASE("tasks without nodes_involved are never node-limited") {
  running_load load;
  load.add(std::vector<node_id>{1});
  std::vector<pick_candidate> cs{cand(1), cand(2), cand(3, std::vector<node_id>{}),
                                 cand(4, std::vector<node_id>{1})};
  CHECK(pick(cs, load, {10, 1}, now) == ids{1, 2, 3});
}

TEST_CASE("reaching the global limit takes no per-node slot from later tasks") {
  // Citus would count node 1 for the task it could not start and then refuse task 3
  // next time; here nothing leaks because a slot is taken only by a picked task.
  std::vector<pick_candidate> cs{cand(1, std::vector<node_id>{1}), cand(2, std::vector<node_id>{2})};
  running_load load;
  auto first = pick(cs, load, {1, 1}, now);
  REQUIRE(first == ids{1});
  load.add(cs[0].nodes_involved);
  CHECK(pick(cs, load, {1, 1}, now).empty());
  load.remove(cs[0].nodes_involved);
  CHECK(load.total == 0);
  CHECK(load.per_node.empty());
  CHECK(pick({cs[1]}, load, {1, 1}, now) == ids{2});
}

TEST_CASE("running load counts each node once per task and never goes negative") {
  running_load load;
  load.add(std::vector<node_id>{1, 1, 2});
  CHECK(load.total == 1);
  CHECK(load.per_node == std::map<node_id, int>{{1, 1}, {2, 1}});
  load.remove(std::vector<node_id>{1, 1, 2});
  load.remove(std::vector<node_id>{1});
  load.remove(std::nullopt);
  CHECK(load.total == 0);
  CHECK(load.per_node.empty());
}

TEST_CASE("a repeated candidate is picked once") {
  CHECK(pick({cand(4), cand(4), cand(2)}, {}, {4, 1}, now) == ids{2, 4});
}

TEST_CASE("the next wake-up is the earliest future not_before of a task whose dependencies are done") {
  std::vector<pick_candidate> cs{cand(1, {}, now + 9000), cand(2, {}, now + 5000, false),
                                 cand(3, {}, now + 7000), cand(4, {}, now), cand(5)};
  CHECK(next_wakeup(cs, now) == now + 7000);
  CHECK_FALSE(next_wakeup({cand(4, {}, now), cand(5)}, now).has_value());
  CHECK_FALSE(next_wakeup({}, now).has_value());
}

TEST_CASE("random picks respect the limits, ascend, and skip an eligible task only for a limit") {
  std::mt19937 rng(424242);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int round = 0; round < 3000; ++round) {
    pick_limits limits{uni(0, 6), uni(0, 3)};
    int node_count = uni(1, 5);
    auto random_nodes = [&]() -> nodes {
      if (uni(0, 3) == 0)
        return std::nullopt;
      std::vector<node_id> ns;
      for (int k = uni(0, 3); k > 0; --k)
        ns.push_back(uni(1, node_count));
      return ns;
    };
    running_load load;
    for (int k = uni(0, 4); k > 0; --k)
      load.add(random_nodes());
    std::vector<pick_candidate> cs;
    std::set<task_id> used;
    for (int k = uni(0, 12); k > 0; --k) {
      task_id t = uni(1, 40);
      if (!used.insert(t).second)
        continue;
      std::optional<epoch_ms> nb;
      if (uni(0, 2) == 0)
        nb = now + uni(-3, 3) * 1000;
      cs.push_back(cand(t, random_nodes(), nb, uni(0, 4) != 0, uni(1, 3)));
    }
    std::shuffle(cs.begin(), cs.end(), rng);
    INFO("round " << round);

    auto picked = pick(cs, load, limits, now);
    CHECK(std::is_sorted(picked.begin(), picked.end()));
    CHECK(std::adjacent_find(picked.begin(), picked.end()) == picked.end());

    // Replay independently: the load after starting the picked tasks stays within limits.
    std::map<task_id, const pick_candidate*> by_id;
    for (const auto& c : cs)
      by_id[c.task] = &c;
    running_load after = load;
    for (auto t : picked) {
      REQUIRE(by_id.count(t));
      const auto& c = *by_id[t];
      CHECK(c.dependencies_done);
      CHECK((!c.not_before || *c.not_before <= now));
      if (c.nodes_involved)
        for (auto n : *c.nodes_involved)
          CHECK(after.per_node[n] < limits.max_executors_per_node);
      after.add(c.nodes_involved);
    }
    CHECK((picked.empty() || after.total <= limits.max_executors));
    CHECK(picked.size() <= static_cast<std::size_t>(std::max(0, limits.max_executors - load.total)));

    // Greedy maximality: walking in ascending order, every eligible candidate that was not
    // picked is blocked by a limit given what was picked before it.
    running_load walk = load;
    std::set<task_id> picked_set(picked.begin(), picked.end());
    for (const auto& [t, c] : by_id) {
      if (picked_set.count(t)) {
        walk.add(c->nodes_involved);
        continue;
      }
      bool eligible = c->dependencies_done && (!c->not_before || *c->not_before <= now);
      if (!eligible)
        continue;
      bool global_full = walk.total >= limits.max_executors;
      bool node_full = false;
      if (c->nodes_involved)
        for (auto n : *c->nodes_involved)
          node_full = node_full || walk.per_node[n] >= limits.max_executors_per_node;
      CHECK((global_full || node_full));
    }
  }
}
