-- A running background rebalance (citus-reference §3.5, §6.3, §6.5): independent moves of
-- two colocation groups run at the same time up to the per-node limit, and
-- citus_rebalance_status shows each running move (phase, hosts, sizes) while it runs.
-- The moves are held in their "Copying Data" phase by the testing aid
-- steward.move_pause_at and the lock this session holds.
\set SHOW_CONTEXT never
\i input/cluster_helpers.sql

SELECT citus_add_node('127.0.0.1', :worker_1_port) AS node_1,
       citus_add_node('127.0.0.1', :worker_2_port) AS node_2;
CREATE TABLE left_side (id bigint PRIMARY KEY, pad text);
INSERT INTO left_side SELECT g, repeat('l', 100) FROM generate_series(1, 8000) g;
CREATE TABLE right_side (id bigint PRIMARY KEY, pad text);
INSERT INTO right_side SELECT g, repeat('r', 100) FROM generate_series(1, 8000) g;
SET client_min_messages = warning;
SELECT create_distributed_table('left_side', 'id', shard_count => 4);
SELECT create_distributed_table('right_side', 'id', shard_count => 4, colocate_with => 'none');
RESET client_min_messages;
SELECT table_summary('left_side') AS left_before, table_summary('right_side') AS right_before \gset
SELECT citus_add_node('127.0.0.1', :worker_3_port) AS node_3;
SELECT citus_set_default_rebalance_strategy('by_shard_count');

-- executors of this database pause their moves on entering "Copying Data"
SELECT current_database() AS db \gset
ALTER DATABASE :"db" SET steward.move_pause_at = 'Copying Data';
SELECT pg_advisory_lock(1398230096, 1);
\! ./daemon start 'max_executors = 4' 'max_executors_per_node = 2'
SELECT citus_rebalance_start(shard_transfer_mode => 'block_writes') AS job \gset
-- one move per group, both into node 3, with no dependency between them
SELECT count(*) AS moves, count(*) FILTER (WHERE status = 'runnable') AS runnable
  FROM pg_dist_background_task WHERE job_id = :job;
SELECT count(*) AS dependencies FROM pg_dist_background_task_depend WHERE job_id = :job;
-- both run at once
SELECT wait_until($$SELECT count(DISTINCT sessionid) = 2 FROM get_rebalance_progress()
                     WHERE status = 'Copying Data'$$);
SELECT table_name, targetport, status, operation_type, source_shard_size > 0 AS source_sized
  FROM get_rebalance_progress() ORDER BY table_name::text;
SELECT state FROM citus_rebalance_status();
SELECT t->>'state' AS state, t->>'phase' AS phase, t->>'retried' AS retried,
       t->'hosts'->>'target' = '127.0.0.1:' || :worker_3_port AS to_node_3,
       (t->'size'->>'source')::bigint > 0 AS source_size,
       t->>'command' LIKE 'SELECT steward.citus_move_shard_placement(%' AS is_move
  FROM citus_rebalance_status(true), jsonb_array_elements(details->'tasks') t
 ORDER BY t->>'task_id';
SELECT jsonb_typeof(details->'tasks'->0->'size'->'source') AS raw_size,
       (SELECT jsonb_typeof(details->'tasks'->0->'size'->'source') FROM citus_rebalance_status()) AS pretty_size
  FROM citus_rebalance_status(true);

-- let them go
SELECT pg_advisory_unlock(1398230096, 1);
SELECT citus_rebalance_wait();
SELECT state, details FROM citus_rebalance_status();
SELECT count(*) AS progress_rows FROM get_rebalance_progress();
SELECT nodeport, count(*) FROM citus_shards GROUP BY 1 ORDER BY 1;
SELECT table_summary('left_side') = :'left_before' AS left_intact,
       table_summary('right_side') = :'right_before' AS right_intact;
ALTER DATABASE :"db" RESET steward.move_pause_at;
\! ./daemon stop
