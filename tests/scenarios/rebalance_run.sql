-- The background rebalancer end to end (citus-reference §6.1, §6.5): a daemon runs the
-- moves of citus_rebalance_start between real workers; the data stays intact and ends
-- balanced; a second start finds nothing to do; a rebalance stopped at once leaves one
-- placement per shard and no orphans; by_disk_size balances by size.
\set SHOW_CONTEXT never
\i input/cluster_helpers.sql

SELECT citus_add_node('127.0.0.1', :worker_1_port) AS node_1,
       citus_add_node('127.0.0.1', :worker_2_port) AS node_2;
CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL);
INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 20000) g;
CREATE TABLE orders (id bigint, item_id bigint, PRIMARY KEY (item_id, id));
INSERT INTO orders SELECT g, g % 20000 + 1 FROM generate_series(1, 10000) g;
CREATE TABLE countries (code text PRIMARY KEY, name text);
INSERT INTO countries VALUES ('de', 'Germany'), ('fr', 'France'), ('it', 'Italy');
SET client_min_messages = warning;
SELECT create_distributed_table('items', 'id', shard_count => 6);
SELECT create_distributed_table('orders', 'item_id', colocate_with => 'items');
SELECT create_reference_table('countries');
RESET client_min_messages;
SELECT table_summary('items') AS items_before, table_summary('orders') AS orders_before \gset

-- a third worker, and the rebalance
SELECT citus_add_node('127.0.0.1', :worker_3_port) AS node_3;
\! ./daemon start 'max_executors = 2' 'max_executors_per_node = 1'
SELECT citus_rebalance_start() AS job \gset
SELECT citus_rebalance_wait();
SELECT state, details FROM citus_rebalance_status();
SELECT status, count(*) FROM pg_dist_background_task WHERE job_id = :job GROUP BY 1;
-- balanced, every row still there, one placement per shard, countries on every node
SELECT nodeport, count(*) FROM citus_shards WHERE citus_table_type = 'distributed' GROUP BY 1 ORDER BY 1;
SELECT table_summary('items') = :'items_before' AS items_intact,
       table_summary('orders') = :'orders_before' AS orders_intact;
SELECT sum(misplaced) AS misplaced_rows FROM placement_rows('items');
SELECT shardid, count(*) FROM pg_dist_placement WHERE shardid IN (SELECT shardid FROM pg_dist_shard WHERE logicalrelid = 'items'::regclass)
 GROUP BY 1 HAVING count(*) <> 1;
SELECT node, row_count FROM placement_rows('countries') ORDER BY node;
-- nothing more to do
SELECT citus_rebalance_start();
CALL citus_cleanup_orphaned_resources();
SELECT * FROM worker_objects();

-- stopped at once: completed moves stay, nothing is lost or doubled
UPDATE pg_dist_node SET shouldhaveshards = false WHERE nodeport = :worker_3_port;
SELECT citus_rebalance_start() AS job \gset
SELECT citus_rebalance_stop();
-- (a warning when the stop left nothing running to wait for)
SET client_min_messages = error;
SELECT citus_rebalance_wait();
RESET client_min_messages;
SELECT state FROM citus_rebalance_status();
SELECT count(*) FILTER (WHERE status = 'cancelled') > 0 AS some_cancelled,
       count(*) FILTER (WHERE status NOT IN ('cancelled', 'done')) AS unfinished
  FROM pg_dist_background_task WHERE job_id = :job;
SELECT shardid, count(*) FROM pg_dist_placement GROUP BY 1
HAVING count(*) <> CASE WHEN shardid IN (SELECT shardid FROM pg_dist_shard WHERE logicalrelid = 'countries'::regclass) THEN 3 ELSE 1 END;
SELECT table_summary('items') = :'items_before' AS items_intact,
       table_summary('orders') = :'orders_before' AS orders_intact;
CALL citus_cleanup_orphaned_resources();
SELECT * FROM worker_objects();
-- then a drain to its end
SELECT citus_rebalance_start(drain_only => true) AS job \gset
SELECT citus_rebalance_wait();
SELECT state FROM citus_rebalance_status();
SELECT nodeport, count(*) FROM citus_shards WHERE citus_table_type = 'distributed' GROUP BY 1 ORDER BY 1;
SELECT table_summary('items') = :'items_before' AS items_intact;
UPDATE pg_dist_node SET shouldhaveshards = true WHERE nodeport = :worker_3_port;

-- by_disk_size: one big shard (the first hash range) and five small ones on 3 nodes; by
-- shard count all is balanced, by size the small shard beside the big one leaves
-- (without the base cost, which would make small shards weigh as much as big ones)
CREATE TABLE skewed (id integer PRIMARY KEY, pad text);
INSERT INTO skewed SELECT g, repeat('x', 200) FROM generate_series(1, 40000) g WHERE hashint4(g) < -1610612736;
INSERT INTO skewed SELECT g, 'small' FROM generate_series(1, 64) g WHERE hashint4(g) >= -1610612736;
SET client_min_messages = warning;
SELECT create_distributed_table('skewed', 'id', shard_count => 6, colocate_with => 'none');
RESET client_min_messages;
SELECT shardid, node, row_count FROM placement_rows('skewed') ORDER BY shardid;
SELECT * FROM get_rebalance_table_shards_plan('skewed', rebalance_strategy => 'by_shard_count');
SET steward.rebalancer_by_disk_size_base_cost = 0;
SELECT table_name, shardid, shard_size > 1000000 AS big, sourceport, targetport
  FROM get_rebalance_table_shards_plan('skewed', rebalance_strategy => 'by_disk_size');
RESET steward.rebalancer_by_disk_size_base_cost;

-- in the foreground: rebalance_table_shards moves in this session, citus_drain_node
-- empties a node and marks it
SELECT citus_set_default_rebalance_strategy('by_shard_count');
SELECT rebalance_table_shards('items', shard_transfer_mode => 'block_writes');
SELECT nodeport, count(*) FROM citus_shards WHERE table_name = 'items'::regclass GROUP BY 1 ORDER BY 1;
SELECT citus_drain_node('127.0.0.1', :worker_3_port, 'block_writes');
SELECT nodeport, count(*) FROM citus_shards WHERE citus_table_type = 'distributed' GROUP BY 1 ORDER BY 1;
SELECT shouldhaveshards FROM pg_dist_node WHERE nodeport = :worker_3_port;
SELECT table_summary('items') = :'items_before' AS items_intact,
       table_summary('orders') = :'orders_before' AS orders_intact;
SELECT sum(row_count) AS skewed_rows FROM placement_rows('skewed');

-- node 3 back, lacking its reference table (dropped behind the catalog's back): with
-- parallel_transfer_reference_tables the copy is a task of its own, then its foreign
-- keys, then the moves
UPDATE pg_dist_node SET shouldhaveshards = true WHERE nodeport = :worker_3_port;
SELECT on_port(:worker_3_port, 'DROP TABLE countries_' || (SELECT shardid FROM pg_dist_shard WHERE logicalrelid = 'countries'::regclass)
                               || '; SELECT ''dropped''') AS countries_on_node_3;
DELETE FROM pg_dist_placement
 WHERE shardid = (SELECT shardid FROM pg_dist_shard WHERE logicalrelid = 'countries'::regclass)
   AND groupid = (SELECT groupid FROM pg_dist_node WHERE nodeport = :worker_3_port);
SELECT citus_rebalance_start(parallel_transfer_reference_tables => true,
                             shard_transfer_mode => 'block_writes') AS job \gset
-- (the daemon runs the job meanwhile: what is fixed is the tasks and their dependencies)
SELECT regexp_replace(t.command, '\d+', 'N', 'g') AS command,
       (SELECT string_agg(regexp_replace(d.command, '\(.*', ''), ', ')
          FROM pg_dist_background_task_depend x JOIN pg_dist_background_task d ON d.task_id = x.depends_on
         WHERE x.task_id = t.task_id) AS depends_on
  FROM pg_dist_background_task t
 WHERE t.job_id = :job AND t.command NOT LIKE '%citus_move_shard_placement%' ORDER BY t.task_id;
SELECT citus_rebalance_wait();
SELECT state FROM citus_rebalance_status();
SELECT node, row_count FROM placement_rows('countries') ORDER BY node;
SELECT nodeport, count(*) FROM citus_shards WHERE table_name = 'items'::regclass GROUP BY 1 ORDER BY 1;
SELECT table_summary('items') = :'items_before' AS items_intact;
\! ./daemon stop
