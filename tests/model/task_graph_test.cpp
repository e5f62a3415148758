#include <catch2/catch.hpp>

#include "model/task_graph.hpp"

#include <algorithm>
#include <random>

using namespace steward::model;
using ids = std::vector<task_id>;
using S = task_state;

namespace {

/// 1 <- 2 <- 4, 1 <- 3 <- 4, 4 <- 5 (an arrow points from a dependency to its dependent).
task_graph diamond() {
  task_graph g;
  for (task_id t = 1; t <= 5; ++t)
    REQUIRE(g.add_task(t, 7) == graph_error::none);
  REQUIRE(g.add_edge(2, 1) == graph_error::none);
  REQUIRE(g.add_edge(3, 1) == graph_error::none);
  REQUIRE(g.add_edge(4, 2) == graph_error::none);
  REQUIRE(g.add_edge(4, 3) == graph_error::none);
  REQUIRE(g.add_edge(5, 4) == graph_error::none);
  return g;
}

struct edge_snapshot {
  std::vector<std::pair<ids, ids>> edges;
  bool operator==(const edge_snapshot& o) const { return edges == o.edges; }
};

edge_snapshot snapshot(const task_graph& g) {
  edge_snapshot s;
  for (auto t : g.tasks())
    s.edges.emplace_back(g.dependencies(t), g.dependents(t));
  return s;
}

}  // namespace

TEST_CASE("a graph records tasks with their jobs and refuses duplicates") {
  task_graph g;
  CHECK(g.add_task(3, 1) == graph_error::none);
  CHECK(g.add_task(1, 1) == graph_error::none);
  CHECK(g.add_task(3, 1) == graph_error::duplicate_task);
  CHECK(g.contains(1));
  CHECK_FALSE(g.contains(2));
  CHECK(g.tasks() == ids{1, 3});
  CHECK(g.job_of(3) == 1);
  CHECK(g.dependencies(42).empty());
  CHECK(g.dependents(42).empty());
}

TEST_CASE("edges are kept ascending in both directions") {
  auto g = diamond();
  CHECK(g.dependencies(4) == ids{2, 3});
  CHECK(g.dependents(1) == ids{2, 3});
  CHECK(g.dependents(4) == ids{5});
  CHECK(g.dependencies(1).empty());
}

TEST_CASE("bad edges are refused and leave the graph unchanged") {
  auto g = diamond();
  REQUIRE(g.add_task(100, 8) == graph_error::none);
  auto before = snapshot(g);
  CHECK(g.add_edge(4, 99) == graph_error::unknown_task);
  CHECK(g.add_edge(99, 4) == graph_error::unknown_task);
  CHECK(g.add_edge(2, 2) == graph_error::self_edge);
  CHECK(g.add_edge(2, 100) == graph_error::other_job);
  CHECK(g.add_edge(100, 2) == graph_error::other_job);
  CHECK(g.add_edge(4, 2) == graph_error::duplicate_edge);
  CHECK(g.add_edge(1, 5) == graph_error::cycle);
  CHECK(g.add_edge(1, 2) == graph_error::cycle);
  CHECK(g.add_edge(2, 4) == graph_error::cycle);
  CHECK(snapshot(g) == before);
  // A shortcut edge is fine: it closes no cycle.
  CHECK(g.add_edge(5, 1) == graph_error::none);
}

TEST_CASE("graph errors have readable names") {
  CHECK(to_string(graph_error::cycle) == "dependency cycle");
  CHECK(to_string(graph_error::none) == "none");
  CHECK(to_string(graph_error::other_job) == "dependency on a task of another job");
}

TEST_CASE("transitive dependents are every task downstream, ascending, once each") {
  auto g = diamond();
  CHECK(g.transitive_dependents(1) == ids{2, 3, 4, 5});
  CHECK(g.transitive_dependents(3) == ids{4, 5});
  CHECK(g.transitive_dependents(5).empty());
  CHECK(g.transitive_dependents(99).empty());
}

TEST_CASE("ready tasks are runnable with every dependency done") {
  auto g = diamond();
  std::map<task_id, task_state> st{
    {1, S::done}, {2, S::runnable}, {3, S::running}, {4, S::runnable}, {5, S::blocked}};
  CHECK(g.ready(st) == ids{2});
  st[3] = S::done;
  CHECK(g.ready(st) == ids{2});
  st[2] = S::done;
  CHECK(g.ready(st) == ids{4});
  // A dependency missing from the states does not count as done.
  st.erase(1);
  st[2] = S::runnable;
  CHECK(g.ready(st).empty());
  st.erase(2);
  CHECK(g.ready(st).empty());
  CHECK(g.ready({}).empty());
}

TEST_CASE("a done task unblocks the blocked dependents whose dependencies are now all done") {
  auto g = diamond();
  std::map<task_id, task_state> st{
    {1, S::running}, {2, S::blocked}, {3, S::blocked}, {4, S::blocked}, {5, S::blocked}};
  CHECK(g.unblocked_by(1, st) == ids{2, 3});  // 1 counts as done
  st[1] = S::done;
  st[2] = S::done;
  CHECK(g.unblocked_by(2, st).empty());  // 4 still waits for 3
  st[3] = S::done;
  CHECK(g.unblocked_by(3, st) == ids{4});
}

TEST_CASE("a cancelled dependent is not unblocked") {
  auto g = diamond();
  std::map<task_id, task_state> st{
    {1, S::done}, {2, S::cancelled}, {3, S::blocked}, {4, S::cancelled}, {5, S::cancelled}};
  CHECK(g.unblocked_by(1, st) == ids{3});
}

TEST_CASE("topological order puts dependencies first and ties by ascending id") {
  auto g = diamond();
  CHECK(g.topological_order() == ids{1, 2, 3, 4, 5});
  task_graph h;
  for (task_id t : {10, 20, 30})
    REQUIRE(h.add_task(t, 1) == graph_error::none);
  REQUIRE(h.add_edge(10, 30) == graph_error::none);
  CHECK(h.topological_order() == ids{20, 30, 10});
  CHECK(task_graph{}.topological_order().empty());
}

TEST_CASE("random graphs stay acyclic and their topological order respects every edge") {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    task_graph g;
    std::uniform_int_distribution<int> n_dist(1, 12);
    int n = n_dist(rng);
    for (task_id t = 1; t <= n; ++t)
      REQUIRE(g.add_task(t, 1) == graph_error::none);
    std::uniform_int_distribution<task_id> id(1, n);
    for (int e = 0; e < 3 * n; ++e) {
      auto a = id(rng), b = id(rng);
      auto before = snapshot(g);
      auto err = g.add_edge(a, b);
      if (err != graph_error::none)
        CHECK(snapshot(g) == before);
      if (err == graph_error::cycle) {
        // b already depends on a, directly or not.
        auto down = g.transitive_dependents(a);
        CHECK(std::binary_search(down.begin(), down.end(), b));
      }
    }
    auto order = g.topological_order();
    REQUIRE(order.size() == static_cast<std::size_t>(n));
    std::map<task_id, std::size_t> pos;
    for (std::size_t i = 0; i < order.size(); ++i)
      pos[order[i]] = i;
    for (auto t : g.tasks()) {
      for (auto d : g.dependencies(t))
        CHECK(pos[d] < pos[t]);
      auto down = g.transitive_dependents(t);
      CHECK(std::is_sorted(down.begin(), down.end()));
      CHECK(std::adjacent_find(down.begin(), down.end()) == down.end());
      CHECK_FALSE(std::binary_search(down.begin(), down.end(), t));
      for (auto d : down)
        CHECK(pos[t] < pos[d]);
    }
  }
}

TEST_CASE("building a job's graph from task rows reports the first bad dependency") {
  auto row = [](job_id j, task_id t, ids deps) {
    task_record r;
    r.job = j;
    r.id = t;
    r.depends_on = std::move(deps);
    return r;
  };
  graph_error err = graph_error::cycle;
  auto g = build_graph(1, {row(1, 1, {}), row(1, 2, {1}), row(1, 3, {1, 2})}, &err);
  CHECK(err == graph_error::none);
  CHECK(g.tasks() == ids{1, 2, 3});
  CHECK(g.dependencies(3) == ids{1, 2});

  g = build_graph(1, {row(1, 1, {2}), row(1, 2, {1})}, &err);
  CHECK(err == graph_error::cycle);
  CHECK(g.topological_order().size() == 2);

  g = build_graph(1, {row(1, 1, {9}), row(2, 9, {}), row(1, 2, {1})}, &err);
  CHECK(err == graph_error::other_job);
  CHECK(g.tasks() == ids{1, 2});
  CHECK(g.dependencies(2) == ids{1});

  g = build_graph(1, {row(1, 1, {77})}, &err);
  CHECK(err == graph_error::unknown_task);

  g = build_graph(1, {row(1, 1, {})});  // no error out-parameter
  CHECK(g.contains(1));
}
