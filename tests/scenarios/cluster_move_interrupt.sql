-- Moves cancelled or killed in each phase, then run again or cleaned up with
-- citus_cleanup_orphaned_resources(): exactly one live placement per shard, the rows
-- unchanged, and no orphan shard tables, triggers, slots, publications or
-- subscriptions on any worker.
\set SHOW_CONTEXT never
\i input/cluster_helpers.sql

SELECT citus_add_node('127.0.0.1', :worker_1_port) AS node_1,
       citus_add_node('127.0.0.1', :worker_2_port) AS node_2,
       citus_add_node('127.0.0.1', :worker_3_port) AS node_3;
CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL);
CREATE INDEX items_name ON items (name);
INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 9000) g;
CREATE TABLE orders (id integer, item_id integer, PRIMARY KEY (item_id, id));
INSERT INTO orders SELECT g, g % 9000 + 1 FROM generate_series(1, 6000) g;
SELECT create_distributed_table('items', 'id', shard_count => 3);
SELECT create_distributed_table('orders', 'item_id', colocate_with => 'items');
CREATE TABLE baseline AS SELECT table_summary('items') AS items, table_summary('orders') AS orders;
SELECT * FROM baseline;

-- The state after each step: the group's placements, and the rows unchanged.
CREATE FUNCTION consistent() RETURNS TABLE (shard_group text, placements bigint, items_same boolean, orders_same boolean)
  LANGUAGE sql AS $$
SELECT string_agg(s.shardid || '@' || p.groupid, ' ' ORDER BY s.shardid), count(*),
       table_summary('items') = (SELECT items FROM baseline), table_summary('orders') = (SELECT orders FROM baseline)
  FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid) WHERE s.shardid IN (102008, 102011)
$$;
SELECT shardid, count(*) AS placements FROM pg_dist_placement GROUP BY 1 HAVING count(*) <> 1;
SELECT * FROM consistent();

SELECT pg_advisory_lock(1398230096, 1);

-- block_writes killed while copying, then run again
SELECT start_paused_move('mover', 102008, 1, 2, 'block_writes', 'Copying Data') AS mover \gset
SELECT pg_terminate_backend(:mover), wait_for_exit(:mover);
SELECT dblink_disconnect('mover');
SELECT object_type, object_name, node_group_id, policy_type FROM pg_dist_cleanup ORDER BY record_id;
SELECT * FROM worker_objects();
SELECT count(*) AS progress_rows FROM get_rebalance_progress();
SELECT pg_advisory_unlock(1398230096, 1);
SELECT citus_move_shard_placement(102008, 1, 2, 'block_writes');
SELECT * FROM consistent();
SELECT pg_advisory_lock(1398230096, 1);

-- block_writes cancelled while creating constraints: cleaned up at once
SELECT start_paused_move('mover', 102008, 2, 3, 'block_writes', 'Creating Constraints') AS mover \gset
SELECT pg_cancel_backend(:mover);
SELECT * FROM dblink_get_result('mover') AS r(result text);
SELECT dblink_disconnect('mover');
SELECT object_type, object_name, node_group_id, policy_type FROM pg_dist_cleanup ORDER BY record_id;
SELECT * FROM worker_objects();
SELECT * FROM consistent();

-- block_writes killed while completing (target complete, source still live), then cleanup
SELECT start_paused_move('mover', 102008, 2, 3, 'block_writes', 'Completing') AS mover \gset
SELECT pg_terminate_backend(:mover), wait_for_exit(:mover);
SELECT dblink_disconnect('mover');
CALL citus_cleanup_orphaned_resources();
SELECT * FROM worker_objects();
SELECT * FROM consistent();
-- the source is still the live placement and takes writes
SELECT on_node(2, 'INSERT INTO items_102008 VALUES (-1, ''still writable'')'),
       on_node(2, 'DELETE FROM items_102008 WHERE id = -1');

-- block_writes killed after the old placements became unwritable, before the switch:
-- cleanup makes them writable again (they are still the live placements)
SELECT start_paused_move('mover', 102008, 2, 3, 'block_writes', 'Switching Metadata') AS mover \gset
SELECT reject_triggers FROM worker_objects() WHERE node = 'worker_2';
SELECT pg_terminate_backend(:mover), wait_for_exit(:mover);
SELECT dblink_disconnect('mover');
SELECT on_node(2, 'INSERT INTO items_102008 VALUES (-1, ''blocked'')');
CALL citus_cleanup_orphaned_resources();
SELECT * FROM worker_objects();
SELECT * FROM consistent();
SELECT on_node(2, 'INSERT INTO items_102008 VALUES (-1, ''writable again'')'),
       on_node(2, 'DELETE FROM items_102008 WHERE id = -1');

-- force_logical cancelled while copying
SELECT start_paused_move('mover', 102008, 2, 3, 'force_logical', 'Copying Data') AS mover \gset
SELECT pg_cancel_backend(:mover);
SELECT * FROM dblink_get_result('mover') AS r(result text);
SELECT dblink_disconnect('mover');
SELECT * FROM pg_dist_cleanup;
SELECT * FROM worker_objects();

-- force_logical killed while catching up (subscription running), then cleanup
SELECT start_paused_move('mover', 102008, 2, 3, 'force_logical', 'Catching Up') AS mover \gset
SELECT source_shard_size > 0 AS source_has_size, target_shard_size > 0 AS target_has_size,
       target_lsn IS NOT NULL AS has_target_lsn, status
  FROM get_rebalance_progress() ORDER BY shardid;
-- citus_job_status shows the phase of a running task that does this move
INSERT INTO pg_dist_background_job (job_type, description) VALUES ('rebalance', 'move in a task') RETURNING job_id AS job \gset
INSERT INTO pg_dist_background_task (job_id, status, pid, command)
  VALUES (:job, 'running', :mover, 'SELECT citus_move_shard_placement(102008, 2, 3, ''force_logical'')');
SELECT t->>'phase' AS phase, t->'hosts' AS hosts, (t->'size'->>'source')::bigint > 0 AS has_source_size,
       t->'LSN' ? 'lag' AS has_lag
  FROM citus_job_status(:job, raw => true), jsonb_array_elements(details->'tasks') t;
SELECT pg_terminate_backend(:mover), wait_for_exit(:mover);
SELECT dblink_disconnect('mover');
SELECT object_type, object_name ~ '^citus_shard_move_|^public\.' AS named_like_citus, node_group_id, policy_type
  FROM pg_dist_cleanup ORDER BY record_id;
SELECT * FROM worker_objects();
CALL citus_cleanup_orphaned_resources();
SELECT * FROM worker_objects();
SELECT * FROM consistent();

-- force_logical killed in the final catch-up, then run again
SELECT start_paused_move('mover', 102008, 2, 3, 'force_logical', 'Final Catchup') AS mover \gset
SELECT pg_terminate_backend(:mover), wait_for_exit(:mover);
SELECT dblink_disconnect('mover');
SELECT pg_advisory_unlock(1398230096, 1);
SELECT citus_move_shard_placement(102008, 2, 3, 'force_logical');
SELECT * FROM consistent();
SELECT pg_advisory_lock(1398230096, 1);

-- force_logical cancelled while completing, back to node 1
SELECT start_paused_move('mover', 102008, 3, 1, 'force_logical', 'Completing') AS mover \gset
SELECT pg_cancel_backend(:mover);
SELECT * FROM dblink_get_result('mover') AS r(result text);
SELECT dblink_disconnect('mover');
SELECT * FROM consistent();
SELECT pg_advisory_unlock(1398230096, 1);

-- a second move of the same group waits for nobody: it fails at once
SELECT pg_advisory_lock(1398230096, 1);
SELECT start_paused_move('mover', 102008, 3, 1, 'block_writes', 'Setting Up') IS NOT NULL AS first_move_paused;
SELECT citus_move_shard_placement(102011, 3, 2, 'block_writes');
SELECT pg_advisory_unlock(1398230096, 1);
SELECT * FROM dblink_get_result('mover') AS r(result text);
SELECT dblink_disconnect('mover');

-- moves whose transaction rolls back after they returned: cleanup undoes their remote work
BEGIN;
SELECT citus_move_shard_placement(102008, 1, 2, 'block_writes');
ROLLBACK;
BEGIN;
SELECT citus_move_shard_placement(102008, 1, 3, 'force_logical');
ROLLBACK;
SELECT object_type, node_group_id, policy_type FROM pg_dist_cleanup ORDER BY record_id;
CALL citus_cleanup_orphaned_resources();
SELECT on_node(1, 'INSERT INTO items_102008 VALUES (-1, ''writable'')'),
       on_node(1, 'DELETE FROM items_102008 WHERE id = -1');

CALL citus_cleanup_orphaned_resources();
SELECT shardid, count(*) AS placements FROM pg_dist_placement GROUP BY 1 HAVING count(*) <> 1;
SELECT * FROM consistent();
SELECT * FROM worker_objects();
SELECT * FROM pg_dist_cleanup;
SELECT count(*) AS progress_rows_left FROM steward.shard_move_progress;
