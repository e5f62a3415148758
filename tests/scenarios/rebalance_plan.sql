-- Rebalance planning (citus-reference §6.2) on fake metadata: which moves the planner
-- picks for balanced and unbalanced clusters, drain_only, nodes that should not have
-- shards, custom strategies (cost, capacity, allowed), the improvement threshold, and
-- the strategy checks.
\set SHOW_CONTEXT never
\i input/fake_cluster.sql

SELECT fake_node('a') AS a, fake_node('b') AS b, fake_node('c') AS c \gset
CREATE TABLE t1 (id int PRIMARY KEY);
CREATE TABLE t2 (id int PRIMARY KEY);
CREATE TABLE solo (id int PRIMARY KEY);
SELECT fake_table('t1', 6, 1, ARRAY[:a, :b, :c]);
SELECT fake_table('t2', 6, 1, ARRAY[:a, :b, :c]);
SELECT fake_table('solo', 3, 2, ARRAY[:a, :a, :b]);

-- balanced colocation group 1; group 2 has one shard too many on a
SELECT plan_text();
SELECT counts_after();
-- one row per colocated shard of each move
SELECT * FROM get_rebalance_table_shards_plan(rebalance_strategy => 'by_shard_count');
SELECT * FROM get_rebalance_table_shards_plan('t1', rebalance_strategy => 'by_shard_count');

-- a new node: every group gives it its share
SELECT fake_node('d') AS d \gset
SELECT plan_text();
SELECT counts_after();
-- drain_only moves nothing while every node may hold shards
SELECT plan_text(drain => true);

-- a node that should not have shards: drain_only empties it, a full plan also balances
UPDATE pg_dist_node SET shouldhaveshards = false WHERE nodeid = :a;
SELECT plan_text(drain => true);
SELECT counts_after(drain => true);
SELECT plan_text();
SELECT counts_after();
UPDATE pg_dist_node SET shouldhaveshards = true WHERE nodeid = :a;

-- no node may have shards
UPDATE pg_dist_node SET shouldhaveshards = false;
SELECT plan_text();
UPDATE pg_dist_node SET shouldhaveshards = true;

-- custom strategy: costs from a table, node c counts double, shards of t1 not on b
SELECT reset_fake();
SELECT fake_node('a') AS a, fake_node('b') AS b, fake_node('c') AS c \gset
SELECT fake_table('t1', 8, 1, ARRAY[:a, :b]);
CREATE TABLE shard_cost (shardid bigint PRIMARY KEY, cost real);
INSERT INTO shard_cost SELECT shardid, 1 FROM pg_dist_shard;
CREATE FUNCTION cost_from_table(shardid bigint) RETURNS real
  LANGUAGE sql AS $$ SELECT coalesce((SELECT cost FROM shard_cost c WHERE c.shardid = $1), 1) $$;
CREATE FUNCTION capacity_c_double(nodeid int) RETURNS real
  LANGUAGE sql AS $$ SELECT CASE WHEN nodename = 'c' THEN 2 ELSE 1 END::real FROM pg_dist_node n WHERE n.nodeid = $1 $$;
CREATE FUNCTION not_on_b(shardid bigint, nodeid int) RETURNS boolean
  LANGUAGE sql AS $$ SELECT nodename <> 'b' FROM pg_dist_node n WHERE n.nodeid = $2 $$;
SELECT citus_add_rebalance_strategy('custom', 'cost_from_table', 'capacity_c_double', 'not_on_b', 0);
SELECT plan_text(strategy => 'custom');
SELECT counts_after(strategy => 'custom');
-- a shard allowed nowhere stays, with a warning
CREATE FUNCTION only_on_b(shardid bigint, nodeid int) RETURNS boolean
  LANGUAGE sql AS $$ SELECT nodename = 'b' FROM pg_dist_node n WHERE n.nodeid = $2 $$;
SELECT citus_add_rebalance_strategy('only_b', 'citus_shard_cost_1', 'citus_node_capacity_1', 'only_on_b', 0);
UPDATE pg_dist_node SET shouldhaveshards = false WHERE nodename = 'b';
SELECT plan_text(drain => true, strategy => 'only_b');
UPDATE pg_dist_node SET shouldhaveshards = true WHERE nodename = 'b';

-- improvement threshold: on a, shard groups of cost 7 and 5; on b, one of cost 4. Moving
-- the 7 improves the balance by only 1/7: ignored at 0.5, with a notice; the 5 moves.
SELECT reset_fake();
SELECT fake_node('a') AS a, fake_node('b') AS b \gset
SELECT fake_table('t1', 3, 1, ARRAY[:a, :a, :b]);
DELETE FROM shard_cost;
INSERT INTO shard_cost SELECT shardid, (ARRAY[7, 5, 4])[row_number() OVER (ORDER BY shardid)] FROM pg_dist_shard;
SELECT citus_add_rebalance_strategy('costly', 'cost_from_table', 'citus_node_capacity_1',
                                    'citus_shard_allowed_on_node_true', 0, 0, 0.5);
SELECT plan_text(strategy => 'costly');
SELECT plan_text(strategy => 'costly', improvement => 0.1);
SET steward.max_rebalancer_logged_ignored_moves = 0;
SELECT plan_text(strategy => 'costly');
RESET steward.max_rebalancer_logged_ignored_moves;
-- a threshold below the strategy's minimum is raised to it
SELECT count(*) FROM steward.plan_rebalance(rebalance_strategy => 'by_disk_size', threshold => 0.001)
 WHERE false;

-- strategies: checks of the functions, names and the default
CREATE FUNCTION wrong_arity(bigint, int) RETURNS real LANGUAGE sql AS $$ SELECT 1::real $$;
CREATE FUNCTION wrong_result(bigint) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
CREATE FUNCTION wrong_arg(text) RETURNS real LANGUAGE sql AS $$ SELECT 1::real $$;
CREATE FUNCTION wrong_second(bigint, bigint) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
SELECT citus_add_rebalance_strategy('bad', 'wrong_arity', 'citus_node_capacity_1', 'citus_shard_allowed_on_node_true', 0);
SELECT citus_add_rebalance_strategy('bad', 'wrong_result', 'citus_node_capacity_1', 'citus_shard_allowed_on_node_true', 0);
SELECT citus_add_rebalance_strategy('bad', 'wrong_arg', 'citus_node_capacity_1', 'citus_shard_allowed_on_node_true', 0);
SELECT citus_add_rebalance_strategy('bad', 'citus_shard_cost_1', 'citus_node_capacity_1', 'wrong_second', 0);
SELECT citus_add_rebalance_strategy('bad', 'citus_shard_cost_1', 'citus_node_capacity_1', 'citus_shard_allowed_on_node_true', 0.1, 0.2);
SELECT citus_add_rebalance_strategy('custom', 'citus_shard_cost_1', 'citus_node_capacity_1', 'citus_shard_allowed_on_node_true', 0);
SELECT name, default_strategy, shard_cost_function, default_threshold, minimum_threshold, improvement_threshold
  FROM pg_dist_rebalance_strategy ORDER BY name;
SELECT plan_text(strategy => 'nonexistent');
SELECT citus_set_default_rebalance_strategy('nonexistent');
SELECT citus_set_default_rebalance_strategy('by_shard_count');
SELECT name FROM pg_dist_rebalance_strategy WHERE default_strategy;
UPDATE pg_dist_rebalance_strategy SET default_strategy = false;
SELECT plan_text(strategy => NULL);
